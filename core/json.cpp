// keel::json_value text conversion, through nlohmann/json (private to this file).
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include <keel/core/json.h>

namespace keel {
namespace {

using njson = nlohmann::json;

json_value from_n(const njson& n) {
  switch (n.type()) {
    case njson::value_t::null:
      return json_value();
    case njson::value_t::boolean:
      return json_value(n.get<bool>());
    case njson::value_t::number_integer:
      return json_value(n.get<std::int64_t>());
    case njson::value_t::number_unsigned: {
      const auto u = n.get<std::uint64_t>();
      // nlohmann reads every non-negative integer as unsigned: keep int64 where it fits.
      if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return json_value(static_cast<std::int64_t>(u));
      }
      return json_value(u);
    }
    case njson::value_t::number_float:
      return json_value(n.get<double>());
    case njson::value_t::string:
      return json_value(n.get<std::string>());
    case njson::value_t::array: {
      json_value::array a;
      a.reserve(n.size());
      for (const auto& e : n) a.push_back(from_n(e));
      return json_value(std::move(a));
    }
    case njson::value_t::object: {
      json_value::object o;
      o.reserve(n.size());
      for (auto it = n.begin(); it != n.end(); ++it) o.emplace_back(it.key(), from_n(it.value()));
      return json_value(std::move(o));
    }
    case njson::value_t::binary:
    case njson::value_t::discarded:
      break;
  }
  return json_value();
}

// Written by hand rather than through nlohmann's ordered_json: members stay in order and
// integers keep their signedness.
void dump_to(const json_value& v, std::string& out) {
  if (v.is_null()) {
    out += "null";
  } else if (v.is_bool()) {
    out += v.as_bool() ? "true" : "false";
  } else if (std::int64_t i = 0; v.get_int(i)) {
    out += std::to_string(i);
  } else if (std::uint64_t u = 0; v.get_uint(u)) {
    out += std::to_string(u);
  } else if (v.is_number()) {
    const double d = v.as_double();
    out += std::isfinite(d) ? njson(d).dump() : "null";
  } else if (v.is_string()) {
    out += njson(v.as_string()).dump(-1, ' ', false, njson::error_handler_t::replace);
  } else if (v.is_array()) {
    out += '[';
    bool first = true;
    for (const auto& e : v.as_array()) {
      if (!first) out += ',';
      first = false;
      dump_to(e, out);
    }
    out += ']';
  } else {
    out += '{';
    bool first = true;
    for (const auto& [k, e] : v.as_object()) {
      if (!first) out += ',';
      first = false;
      out += njson(k).dump(-1, ' ', false, njson::error_handler_t::replace);
      out += ':';
      dump_to(e, out);
    }
    out += '}';
  }
}

}  // namespace

double json_value::as_double() const {
  if (const auto* i = std::get_if<std::int64_t>(&v_)) return static_cast<double>(*i);
  if (const auto* u = std::get_if<std::uint64_t>(&v_)) return static_cast<double>(*u);
  return std::get<double>(v_);
}

bool json_value::get_int(std::int64_t& out) const noexcept {
  if (const auto* i = std::get_if<std::int64_t>(&v_)) {
    out = *i;
    return true;
  }
  return false;  // a uint64 here is above INT64_MAX (parse_json keeps int64 where it fits)
}

bool json_value::get_uint(std::uint64_t& out) const noexcept {
  if (const auto* u = std::get_if<std::uint64_t>(&v_)) {
    out = *u;
    return true;
  }
  if (const auto* i = std::get_if<std::int64_t>(&v_); i != nullptr && *i >= 0) {
    out = static_cast<std::uint64_t>(*i);
    return true;
  }
  return false;
}

const json_value* json_value::find(std::string_view key) const noexcept {
  const auto* o = std::get_if<object>(&v_);
  if (o == nullptr) return nullptr;
  for (const auto& [k, v] : *o) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::string_view json_value::kind_name() const noexcept {
  switch (v_.index()) {
    case 0:
      return "null";
    case 1:
      return "bool";
    case 2:
    case 3:
      return "integer";
    case 4:
      return "number";
    case 5:
      return "string";
    case 6:
      return "array";
    default:
      return "object";
  }
}

result<json_value> parse_json(std::string_view text) {
  try {
    return from_n(njson::parse(text.begin(), text.end()));
  } catch (const njson::parse_error& e) {
    return status(errc::invalid_argument,
                  "not JSON at byte " + std::to_string(e.byte) + ": " + e.what());
  } catch (const std::exception& e) {
    return status(errc::invalid_argument, std::string("not JSON: ") + e.what());
  }
}

bool valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;  // the sequence runs past the end
    for (std::size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    static constexpr std::uint32_t k_min[] = {0, 0x80, 0x800, 0x10000};
    if (cp < k_min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

std::string dump_json(const json_value& v) {
  std::string out;
  dump_to(v, out);
  return out;
}

}  // namespace keel
