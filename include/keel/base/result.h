// keel::result<T>: either a T or the status that explains why there is none. keel's own
// replacement for std::expected, which libstdc++ 12 lacks in C++20.
//
// Thread safety: a value type, like std::optional.
#pragma once

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

#include <keel/base/status.h>

namespace keel {

template <class T>
class [[nodiscard]] result {
  static_assert(!std::is_same_v<std::remove_cv_t<T>, status>, "use status directly");

 public:
  // A result that holds a value.
  template <class U = T>
  requires std::is_constructible_v<T, U&&> &&(!std::is_same_v<std::remove_cvref_t<U>, status>)&&(
      !std::is_same_v<std::remove_cvref_t<U>, result>)result(U&& value)
      : v_(std::in_place_index<0>, std::forward<U>(value)) {}
  // A result that holds an error. REQUIRES: !s.is_ok().
  result(status s) : v_(std::in_place_index<1>, std::move(s)) {
    assert(!std::get<1>(v_).is_ok() && "a result<T> error must not be OK");
  }
  result(errc code, std::string_view message) : result(status(code, message)) {}

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  // REQUIRES: has_value().
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The error; OK when has_value().
  status error() const { return has_value() ? status() : std::get<1>(v_); }
  errc code() const noexcept { return has_value() ? errc::ok : std::get<1>(v_).code(); }

 private:
  std::variant<T, status> v_;
};

}  // namespace keel
