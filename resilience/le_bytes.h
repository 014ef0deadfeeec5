// Little-endian integers in a byte buffer, for the resilience layer's record payloads (BREAKER,
// QUARANTINE; the event log is little-endian throughout). Pure functions; any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace keel::resilience::detail {

// Writes the low sizeof(T) bytes of v at p, least significant first.
template <class T>
void put_le(std::byte* p, T v) noexcept {
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    p[i] = static_cast<std::byte>(static_cast<std::uint64_t>(v) >> (8 * i));
  }
}

// Reads sizeof(T) bytes at p, least significant first.
template <class T>
T get_le(const std::byte* p) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    v |= static_cast<std::uint64_t>(std::to_integer<std::uint8_t>(p[i])) << (8 * i);
  }
  return static_cast<T>(v);
}

}  // namespace keel::resilience::detail
