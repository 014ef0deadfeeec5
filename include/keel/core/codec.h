// Message codecs: the bytes and the JSON of a message type, for what leaves the process or must
// be read back later (the event log's payloads and replay, JSON injection, tools, other nodes).
// Only message types with a codec can do those things; any type can still be sent in-process.
//
// A message type gets its codec by naming its fields, in order, in `keel_fields`:
//
//   struct order_placed {
//     static constexpr std::string_view keel_name = "shop.order_placed/1";
//     std::uint64_t order = 0;
//     std::string sku;
//     std::int32_t qty = 0;
//     static constexpr auto keel_fields = keel::fields(keel::field("order", &order_placed::order),
//                                                       keel::field("sku", &order_placed::sku),
//                                                       keel::field("qty", &order_placed::qty));
//   };
//
// Field types: bool, integers (8 to 64 bits), float, double, enums (as their underlying
// integer), std::string, std::vector<T>, std::optional<T>, and types with their own
// keel_fields. The type must be default-constructible (decoding fills a default value).
// Change the fields of a type, change its name's version ("/2"): the bytes carry no field names.
//
// Binary encoding (docs/codecs.md): fields in declaration order; integers and floats little-endian
// at their own width; bool one byte (0 or 1); std::string and std::vector a LEB128 length, then
// the bytes or the elements; std::optional one byte (0 or 1), then the value. Decoding checks
// every length against the bytes left, rejects trailing bytes, and names the field that failed.
//
// JSON: an object with the field names as keys, in order. from_json rejects missing and unknown
// fields, wrong kinds and integers out of the field's range, naming the path (e.g.
// "items[2].qty"); to_json refuses non-finite floats and strings that are not UTF-8 (the bytes
// carry both).
//
// Thread safety: codec functions are pure; call them from any thread.
#pragma once

#include <array>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <keel/base/result.h>
#include <keel/base/splitmix.h>
#include <keel/core/json.h>
#include <keel/core/message.h>

namespace keel {

// One field of a codec: its JSON name and its member pointer.
template <class C, class T>
struct field_desc {
  std::string_view name;
  T C::*member;
};
template <class C, class T>
constexpr field_desc<C, T> field(std::string_view name, T C::*member) noexcept {
  return {name, member};
}
template <class... F>
constexpr std::tuple<F...> fields(F... f) noexcept {
  return std::tuple<F...>(f...);
}

// A type whose fields are named in `keel_fields`.
template <class T>
concept has_fields = requires {
  std::tuple_size<std::remove_cvref_t<decltype(T::keel_fields)>>::value;
};

// A message type with a codec.
template <class M>
concept codec_message = message<M> && has_fields<M> && std::default_initializable<M>;

// The type-erased codec of one message type, kept in the type registry beside message_ops.
struct codec_ops {
  // Appends the encoding of the message at `msg` to `out`. Throws std::bad_alloc.
  void (*encode)(const void* msg, std::vector<std::byte>& out);
  // Constructs a message at `dst` (storage of message_ops::size and ::align) from `in`; on
  // error nothing is constructed. errc::invalid_argument naming the field.
  status (*decode)(std::span<const std::byte> in, void* dst);
  // The message at `msg` as a JSON object. errc::invalid_argument for a non-finite float.
  result<json_value> (*to_json)(const void* msg);
  // Constructs a message at `dst` from a JSON object; on error nothing is constructed.
  status (*from_json)(const json_value& in, void* dst);
  // Constructs a message at `dst` whose fields are filled from `seed` (round-trip tests).
  void (*sample)(void* dst, std::uint64_t seed);
};

namespace detail_codec {

template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
concept scalar = (std::is_arithmetic_v<T> || std::is_enum_v<T>);

// ---- binary ----

inline void put_raw(std::vector<std::byte>& out, const void* p, std::size_t n) {
  const auto* b = static_cast<const std::byte*>(p);
  out.insert(out.end(), b, b + n);
}

inline void put_varint(std::vector<std::byte>& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<std::byte>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::byte>(v));
}

template <class T>
void put_le(std::vector<std::byte>& out, T v) {
  static_assert(std::endian::native == std::endian::little, "keel's codecs assume little-endian");
  put_raw(out, &v, sizeof(T));
}

struct reader {
  std::span<const std::byte> in;
  std::size_t pos = 0;
  std::string error;  // empty while all is well

  std::size_t left() const noexcept { return in.size() - pos; }
  bool fail(std::string_view path, std::string_view why) {
    if (error.empty()) {
      error = "field '";
      error += path;
      error += "': ";
      error += why;
    }
    return false;
  }
  bool take(void* dst, std::size_t n, std::string_view path) {
    if (left() < n) return fail(path, "truncated");
    std::memcpy(dst, in.data() + pos, n);
    pos += n;
    return true;
  }
  bool varint(std::uint64_t& v, std::string_view path) {
    v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      if (left() == 0) return fail(path, "truncated length");
      const auto b = static_cast<std::uint8_t>(in[pos++]);
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return fail(path, "length longer than 10 bytes");
  }
};

// "items[2]" + "qty" -> "items[2].qty" (the names errors use).
inline std::string field_path(const std::string& path, std::string_view name) {
  return path.empty() ? std::string(name) : path + "." + std::string(name);
}

template <class T>
void encode_value(std::vector<std::byte>& out, const T& v);
template <class T>
bool decode_value(reader& r, T& v, const std::string& path);

template <class C>
void encode_fields(std::vector<std::byte>& out, const C& c) {
  std::apply([&](const auto&... f) { (encode_value(out, c.*(f.member)), ...); }, C::keel_fields);
}

template <class C>
bool decode_fields(reader& r, C& c, const std::string& path) {
  return std::apply(
      [&](const auto&... f) {
        return (decode_value(r, c.*(f.member), field_path(path, f.name)) && ...);
      },
      C::keel_fields);
}

template <class T>
void encode_value(std::vector<std::byte>& out, const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    out.push_back(static_cast<std::byte>(v ? 1 : 0));
  } else if constexpr (std::is_enum_v<T>) {
    put_le(out, static_cast<std::underlying_type_t<T>>(v));
  } else if constexpr (std::is_arithmetic_v<T>) {
    put_le(out, v);
  } else if constexpr (std::is_same_v<T, std::string>) {
    put_varint(out, v.size());
    put_raw(out, v.data(), v.size());
  } else if constexpr (is_vector<T>::value) {
    put_varint(out, v.size());
    for (const auto& e : v) encode_value(out, e);
  } else if constexpr (is_optional<T>::value) {
    out.push_back(static_cast<std::byte>(v.has_value() ? 1 : 0));
    if (v) encode_value(out, *v);
  } else {
    static_assert(has_fields<T>,
                  "a codec field must be a scalar, string, vector, optional or a "
                  "type with keel_fields");
    encode_fields(out, v);
  }
}

template <class T>
bool decode_value(reader& r, T& v, const std::string& path) {
  if constexpr (std::is_same_v<T, bool>) {
    std::uint8_t b = 0;
    if (!r.take(&b, 1, path)) return false;
    if (b > 1) return r.fail(path, "a bool is 0 or 1");
    v = b == 1;
    return true;
  } else if constexpr (std::is_enum_v<T>) {
    std::underlying_type_t<T> u{};
    if (!r.take(&u, sizeof(u), path)) return false;
    v = static_cast<T>(u);
    return true;
  } else if constexpr (std::is_arithmetic_v<T>) {
    return r.take(&v, sizeof(T), path);
  } else if constexpr (std::is_same_v<T, std::string>) {
    std::uint64_t n = 0;
    if (!r.varint(n, path)) return false;
    if (n > r.left()) return r.fail(path, "string longer than the bytes left");
    v.assign(reinterpret_cast<const char*>(r.in.data() + r.pos), static_cast<std::size_t>(n));
    r.pos += static_cast<std::size_t>(n);
    return true;
  } else if constexpr (is_vector<T>::value) {
    std::uint64_t n = 0;
    if (!r.varint(n, path)) return false;
    // Every element takes at least one byte (an empty string or vector is its length byte).
    if (n > r.left()) return r.fail(path, "more elements than bytes left");
    v.clear();
    v.resize(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (!decode_value(r, v[i], path + "[" + std::to_string(i) + "]")) return false;
    }
    return true;
  } else if constexpr (is_optional<T>::value) {
    std::uint8_t b = 0;
    if (!r.take(&b, 1, path)) return false;
    if (b > 1) return r.fail(path, "an optional's flag is 0 or 1");
    if (b == 0) {
      v.reset();
      return true;
    }
    v.emplace();
    return decode_value(r, *v, path);
  } else {
    return decode_fields(r, v, path);
  }
}

// ---- JSON ----

template <class T>
result<json_value> to_json_value(const T& v, const std::string& path);
template <class T>
status from_json_value(const json_value& j, T& v, const std::string& path);

inline status bad(const std::string& path, std::string_view why) {
  return status(
      errc::invalid_argument,
      (path.empty() ? std::string("message") : "field '" + path + "'") + ": " + std::string(why));
}

template <class C>
result<json_value> fields_to_json(const C& c, const std::string& path) {
  json_value::object o;
  status err;
  std::apply(
      [&](const auto&... f) {
        (([&] {
           if (!err) return;
           const std::string p = field_path(path, f.name);
           auto r = to_json_value(c.*(f.member), p);
           if (!r) {
             err = r.error();
           } else {
             o.emplace_back(std::string(f.name), std::move(r).value());
           }
         }()),
         ...);
      },
      C::keel_fields);
  if (!err) return err;
  return json_value(std::move(o));
}

template <class C>
status fields_from_json(const json_value& j, C& c, const std::string& path) {
  if (!j.is_object()) return bad(path, "expected an object, got " + std::string(j.kind_name()));
  status err;
  std::size_t known = 0;
  std::apply(
      [&](const auto&... f) {
        (([&] {
           if (!err) return;
           const std::string p = field_path(path, f.name);
           const json_value* m = j.find(f.name);
           if (m == nullptr) {
             err = bad(p, "missing");
             return;
           }
           ++known;
           err = from_json_value(*m, c.*(f.member), p);
         }()),
         ...);
      },
      C::keel_fields);
  if (!err) return err;
  if (known != j.as_object().size()) {
    for (const auto& member : j.as_object()) {
      const std::string& k = member.first;  // (clang 14 cannot capture a structured binding)
      bool found = false;
      std::apply([&](const auto&... f) { found = ((f.name == k) || ...); }, C::keel_fields);
      if (!found) return bad(field_path(path, k), "unknown field");
    }
    return bad(path, "a field appears twice");
  }
  return status::ok();
}

template <class T>
result<json_value> to_json_value(const T& v, const std::string& path) {
  if constexpr (std::is_same_v<T, bool>) {
    return json_value(v);
  } else if constexpr (std::is_enum_v<T>) {
    return to_json_value(static_cast<std::underlying_type_t<T>>(v), path);
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    return json_value(static_cast<std::int64_t>(v));
  } else if constexpr (std::is_integral_v<T>) {
    const auto u = static_cast<std::uint64_t>(v);
    if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return json_value(static_cast<std::int64_t>(u));
    }
    return json_value(u);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!(v == v) || v == std::numeric_limits<T>::infinity() ||
        v == -std::numeric_limits<T>::infinity()) {
      return bad(path, "not finite: JSON cannot hold it");
    }
    return json_value(static_cast<double>(v));
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!valid_utf8(v)) return bad(path, "not valid UTF-8: JSON cannot hold it");
    return json_value(v);
  } else if constexpr (is_vector<T>::value) {
    json_value::array a;
    a.reserve(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
      auto e = to_json_value(v[i], path + "[" + std::to_string(i) + "]");
      if (!e) return e.error();
      a.push_back(std::move(e).value());
    }
    return json_value(std::move(a));
  } else if constexpr (is_optional<T>::value) {
    if (!v) return json_value();
    return to_json_value(*v, path);
  } else {
    return fields_to_json(v, path);
  }
}

template <class T>
status from_json_value(const json_value& j, T& v, const std::string& path) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!j.is_bool()) return bad(path, "expected a bool, got " + std::string(j.kind_name()));
    v = j.as_bool();
    return status::ok();
  } else if constexpr (std::is_enum_v<T>) {
    std::underlying_type_t<T> u{};
    if (status s = from_json_value(j, u, path); !s) return s;
    v = static_cast<T>(u);
    return status::ok();
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    std::int64_t i = 0;
    if (!j.get_int(i)) {
      return bad(path, j.is_integer() ? "out of range"
                                      : "expected an integer, got " + std::string(j.kind_name()));
    }
    if (i < std::numeric_limits<T>::min() || i > std::numeric_limits<T>::max()) {
      return bad(path, "out of range");
    }
    v = static_cast<T>(i);
    return status::ok();
  } else if constexpr (std::is_integral_v<T>) {
    std::uint64_t u = 0;
    if (!j.get_uint(u)) {
      return bad(path, j.is_integer() ? "out of range (negative)"
                                      : "expected an integer, got " + std::string(j.kind_name()));
    }
    if (u > std::numeric_limits<T>::max()) return bad(path, "out of range");
    v = static_cast<T>(u);
    return status::ok();
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!j.is_number()) return bad(path, "expected a number, got " + std::string(j.kind_name()));
    v = static_cast<T>(j.as_double());
    return status::ok();
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!j.is_string()) return bad(path, "expected a string, got " + std::string(j.kind_name()));
    v = j.as_string();
    return status::ok();
  } else if constexpr (is_vector<T>::value) {
    if (!j.is_array()) return bad(path, "expected an array, got " + std::string(j.kind_name()));
    const auto& a = j.as_array();
    v.clear();
    v.resize(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (status s = from_json_value(a[i], v[i], path + "[" + std::to_string(i) + "]"); !s) {
        return s;
      }
    }
    return status::ok();
  } else if constexpr (is_optional<T>::value) {
    if (j.is_null()) {
      v.reset();
      return status::ok();
    }
    v.emplace();
    return from_json_value(j, *v, path);
  } else {
    return fields_from_json(j, v, path);
  }
}

// ---- samples (round-trip tests) ----

inline std::uint64_t next_sample(std::uint64_t& s) noexcept { return splitmix64(s); }

template <class T>
void sample_value(T& v, std::uint64_t& s, int depth) {
  if constexpr (std::is_same_v<T, bool>) {
    v = (next_sample(s) & 1) != 0;
  } else if constexpr (std::is_enum_v<T>) {
    v = static_cast<T>(static_cast<std::underlying_type_t<T>>(next_sample(s) & 3));
  } else if constexpr (std::is_integral_v<T>) {
    v = static_cast<T>(next_sample(s));
  } else if constexpr (std::is_floating_point_v<T>) {
    v = static_cast<T>(static_cast<double>(next_sample(s) % 2000001) / 1000.0 - 1000.0);
  } else if constexpr (std::is_same_v<T, std::string>) {
    const std::size_t n = next_sample(s) % 12;
    v.clear();
    for (std::size_t i = 0; i < n; ++i) {
      v.push_back(static_cast<char>('a' + next_sample(s) % 26));
    }
    if (n > 3) v[1] = '"';  // something JSON must escape
  } else if constexpr (is_vector<T>::value) {
    v.clear();
    v.resize(depth > 3 ? 0 : next_sample(s) % 4);
    for (auto& e : v) sample_value(e, s, depth + 1);
  } else if constexpr (is_optional<T>::value) {
    if (depth > 3 || (next_sample(s) & 1) == 0) {
      v.reset();
    } else {
      v.emplace();
      sample_value(*v, s, depth + 1);
    }
  } else {
    std::apply([&](const auto&... f) { (sample_value(v.*(f.member), s, depth + 1), ...); },
               T::keel_fields);
  }
}

template <class M>
void encode_erased(const void* msg, std::vector<std::byte>& out) {
  encode_fields(out, *std::launder(static_cast<const M*>(msg)));
}
template <class M>
status decode_erased(std::span<const std::byte> in, void* dst) {
  M m{};
  reader r{in};
  if (!decode_fields(r, m, std::string())) {
    return status(errc::invalid_argument, std::string(name_of<M>()) + ": " + r.error);
  }
  if (r.left() != 0) {
    return status(
        errc::invalid_argument,
        std::string(name_of<M>()) + ": " + std::to_string(r.left()) + " bytes after the message");
  }
  ::new (dst) M(std::move(m));
  return status::ok();
}
template <class M>
result<json_value> to_json_erased(const void* msg) {
  return fields_to_json(*std::launder(static_cast<const M*>(msg)), std::string());
}
template <class M>
status from_json_erased(const json_value& in, void* dst) {
  M m{};
  if (status s = fields_from_json(in, m, std::string()); !s) {
    return status(s.code(), std::string(name_of<M>()) + ": " + std::string(s.message()));
  }
  ::new (dst) M(std::move(m));
  return status::ok();
}
template <class M>
void sample_erased(void* dst, std::uint64_t seed) {
  M* m = ::new (dst) M{};
  sample_value(*m, seed, 0);
}

}  // namespace detail_codec

template <codec_message M>
inline constexpr codec_ops codec_ops_of = {
    &detail_codec::encode_erased<M>,  &detail_codec::decode_erased<M>,
    &detail_codec::to_json_erased<M>, &detail_codec::from_json_erased<M>,
    &detail_codec::sample_erased<M>,
};

// Typed conveniences.
template <codec_message M>
std::vector<std::byte> encode(const M& m) {
  std::vector<std::byte> out;
  detail_codec::encode_fields(out, m);
  return out;
}
template <codec_message M>
result<M> decode(std::span<const std::byte> in) {
  alignas(M) unsigned char buf[sizeof(M)];
  if (status s = detail_codec::decode_erased<M>(in, buf); !s) return s;
  M* p = std::launder(reinterpret_cast<M*>(buf));
  M out(std::move(*p));
  p->~M();
  return out;
}
template <codec_message M>
result<std::string> to_json(const M& m) {
  auto j = detail_codec::to_json_erased<M>(&m);
  if (!j) return j.error();
  return dump_json(*j);
}
template <codec_message M>
result<M> from_json(std::string_view text) {
  auto j = parse_json(text);
  if (!j) return j.error();
  M m{};
  if (status s = detail_codec::fields_from_json(*j, m, std::string()); !s) {
    return status(s.code(), std::string(name_of<M>()) + ": " + std::string(s.message()));
  }
  return m;
}

}  // namespace keel
