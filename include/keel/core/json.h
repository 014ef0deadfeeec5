// keel::json_value: a small JSON document, the form in which codecs (codec.h) read and write
// JSON: injecting a message from JSON, printing one in a tool or a dashboard. Objects keep their
// members in order. Integers keep all 64 bits (signed and unsigned apart from doubles).
//
// parse_json and dump_json are implemented with nlohmann/json (a private dependency: it is not
// needed to use keel's headers).
//
// Thread safety: a value is a plain value type; the functions are reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <keel/base/result.h>

namespace keel {

class json_value {
 public:
  using array = std::vector<json_value>;
  using object = std::vector<std::pair<std::string, json_value>>;

  json_value() = default;  // null
  json_value(std::nullptr_t) {}
  json_value(bool b) : v_(b) {}
  json_value(std::int64_t i) : v_(i) {}
  json_value(std::uint64_t u) : v_(u) {}
  json_value(double d) : v_(d) {}
  json_value(std::string s) : v_(std::move(s)) {}
  json_value(const char* s) : v_(std::string(s)) {}
  json_value(array a) : v_(std::move(a)) {}
  json_value(object o) : v_(std::move(o)) {}

  bool is_null() const noexcept { return std::holds_alternative<std::monostate>(v_); }
  bool is_bool() const noexcept { return std::holds_alternative<bool>(v_); }
  // A number written without fraction or exponent (int64 or, above its range, uint64).
  bool is_integer() const noexcept {
    return std::holds_alternative<std::int64_t>(v_) || std::holds_alternative<std::uint64_t>(v_);
  }
  bool is_number() const noexcept { return is_integer() || std::holds_alternative<double>(v_); }
  bool is_string() const noexcept { return std::holds_alternative<std::string>(v_); }
  bool is_array() const noexcept { return std::holds_alternative<array>(v_); }
  bool is_object() const noexcept { return std::holds_alternative<object>(v_); }

  // REQUIRES the matching is_...() (std::bad_variant_access otherwise).
  bool as_bool() const { return std::get<bool>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const array& as_array() const { return std::get<array>(v_); }
  array& as_array() { return std::get<array>(v_); }
  const object& as_object() const { return std::get<object>(v_); }
  object& as_object() { return std::get<object>(v_); }
  // Any number as a double (integers above 2^53 lose precision).
  double as_double() const;
  // The integer, if it is one and fits; false otherwise.
  bool get_int(std::int64_t& out) const noexcept;
  bool get_uint(std::uint64_t& out) const noexcept;

  // An object's member, or nullptr (also when this is not an object).
  const json_value* find(std::string_view key) const noexcept;
  // "null", "bool", "integer", "number", "string", "array" or "object".
  std::string_view kind_name() const noexcept;

  friend bool operator==(const json_value&, const json_value&) = default;

 private:
  std::variant<std::monostate, bool, std::int64_t, std::uint64_t, double, std::string, array,
               object>
      v_;
};

// Parses one JSON document. errc::invalid_argument with the byte offset and the reason when the
// text is not JSON (or has anything but whitespace after the document).
result<json_value> parse_json(std::string_view text);
// Compact JSON text. Non-finite doubles (which JSON cannot hold) are written as null and
// strings that are not valid UTF-8 get U+FFFD for each bad byte: codecs refuse both before
// they get here (to_json returns an error), so only hand-built values can lose data this way.
std::string dump_json(const json_value& v);
// Whether `s` is valid UTF-8 (what a JSON string can hold).
bool valid_utf8(std::string_view s) noexcept;

}  // namespace keel
