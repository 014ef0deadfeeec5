// A compile-time list of types (the messages an actor handles).
#pragma once

#include <type_traits>

namespace keel {

template <class... Ts>
struct type_list {};

template <class T, class List>
struct contains;
template <class T, class... Ts>
struct contains<T, type_list<Ts...>> : std::bool_constant<(std::is_same_v<T, Ts> || ...)> {};
template <class T, class List>
inline constexpr bool contains_v = contains<T, List>::value;

}  // namespace keel
