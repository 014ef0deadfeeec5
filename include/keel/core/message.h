// Messages: any movable C++ type that declares a stable name.
//
//   struct order_placed {
//     static constexpr std::string_view keel_name = "shop.order_placed/1";
//     std::uint64_t order_id;
//   };
//
// A type from a library you cannot edit gets its name by specialising keel::message_name:
//   template <> struct keel::message_name<lib::point> {
//     static constexpr std::string_view value = "lib.point/1";
//   };
//
// The type id is the XXH3-64 of the name, computed at compile time: the same in every build and
// process. A type without a name is not a message and fails to compile where it is sent.
//
// Thread safety: everything here is compile-time or immutable.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>

#include <keel/base/xxh3.h>

namespace keel {

using type_id = std::uint64_t;

// Specialise to name a type you cannot edit (see above).
template <class T>
struct message_name {};

namespace detail {
template <class T>
concept has_member_name = requires {
  { T::keel_name } -> std::convertible_to<std::string_view>;
};
template <class T>
concept has_trait_name = requires {
  { message_name<T>::value } -> std::convertible_to<std::string_view>;
};
}  // namespace detail

// A type keel can carry in an envelope.
template <class T>
concept message = std::is_object_v<T> && !std::is_const_v<T> && std::move_constructible<T> &&
                  std::destructible<T> && (detail::has_member_name<T> || detail::has_trait_name<T>);

template <message M>
consteval std::string_view name_of() {
  if constexpr (detail::has_member_name<M>) {
    return std::string_view(M::keel_name);
  } else {
    return std::string_view(message_name<M>::value);
  }
}

template <message M>
consteval type_id type_id_of() {
  constexpr std::string_view name = name_of<M>();
  static_assert(!name.empty(), "a message name must not be empty");
  static_assert(name.size() <= k_max_hashed_name, "a message name is at most 240 bytes");
  return xxh3_64(name);
}

// What keel needs to know about a message type at run time: one constant table per type.
struct message_ops {
  type_id id;
  std::string_view name;
  std::uint32_t size;
  std::uint32_t align;
  void (*destroy)(void* payload) noexcept;
  // Move-constructs a payload at `dst` from `src` (src is left moved-from, still to destroy).
  void (*move_to)(void* src, void* dst) noexcept;
  // Copy-constructs; nullptr for types that are not copyable (hooks cannot duplicate them).
  void (*copy_to)(const void* src, void* dst);
};

namespace detail {
template <class M>
void destroy_payload(void* p) noexcept {
  std::launder(static_cast<M*>(p))->~M();
}
template <class M>
void move_payload(void* src, void* dst) noexcept {
  ::new (dst) M(std::move(*std::launder(static_cast<M*>(src))));
}
template <class M>
void copy_payload(const void* src, void* dst) {
  ::new (dst) M(*std::launder(static_cast<const M*>(src)));
}
template <class M>
constexpr auto copy_fn() noexcept -> void (*)(const void*, void*) {
  if constexpr (std::is_copy_constructible_v<M>) {
    return &copy_payload<M>;
  } else {
    return nullptr;
  }
}
}  // namespace detail

template <message M>
inline constexpr message_ops ops_of = {
    type_id_of<M>(),
    name_of<M>(),
    static_cast<std::uint32_t>(sizeof(M)),
    static_cast<std::uint32_t>(alignof(M)),
    &detail::destroy_payload<M>,
    &detail::move_payload<M>,
    detail::copy_fn<M>(),
};

}  // namespace keel
