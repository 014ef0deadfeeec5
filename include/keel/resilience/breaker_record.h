// The payload of a BREAKER record (eventlog record_type::breaker): one breaker event, with the
// breaker's name. The byte layout is in docs/eventlog-format.md ("BREAKER payload"); this header
// is the code that writes and reads it. Pure functions; any thread.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include <keel/base/result.h>
#include <keel/resilience/circuit_breaker.h>

namespace keel::resilience {

inline constexpr std::uint8_t k_breaker_record_version = 1;
inline constexpr std::size_t k_breaker_name_max = 64;
inline constexpr std::size_t k_breaker_record_fixed = 36;  // bytes before the name

// Room for the largest payload: encoding allocates nothing.
using breaker_record_buffer = std::array<std::byte, k_breaker_record_fixed + k_breaker_name_max>;

// Writes `e` and `name` (cut to k_breaker_name_max bytes) into `buf`; returns the bytes written.
std::span<const std::byte> encode_breaker_record(const breaker_event& e, std::string_view name,
                                                 breaker_record_buffer& buf) noexcept;

struct breaker_record {
  std::string name;
  breaker_event event;
};
// errc::corrupt (naming what is wrong) for a payload that is not a version-1 BREAKER payload.
result<breaker_record> decode_breaker_record(std::span<const std::byte> payload);

}  // namespace keel::resilience
