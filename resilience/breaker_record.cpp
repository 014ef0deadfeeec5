#include <algorithm>
#include <cstring>

#include "resilience/le_bytes.h"

#include <keel/resilience/breaker_record.h>

namespace keel::resilience {
namespace {

bool valid_state(std::uint8_t s) noexcept {
  return s <= static_cast<std::uint8_t>(breaker_state::metrics_only);
}

}  // namespace

std::span<const std::byte> encode_breaker_record(const breaker_event& e, std::string_view name,
                                                 breaker_record_buffer& buf) noexcept {
  const std::size_t n = std::min(name.size(), k_breaker_name_max);
  std::byte* p = buf.data();
  detail::put_le<std::uint8_t>(p + 0, k_breaker_record_version);
  detail::put_le<std::uint8_t>(p + 1, static_cast<std::uint8_t>(e.kind));
  detail::put_le<std::uint8_t>(p + 2, static_cast<std::uint8_t>(e.from));
  detail::put_le<std::uint8_t>(p + 3, static_cast<std::uint8_t>(e.to));
  detail::put_le<std::uint32_t>(p + 4, e.generation);
  detail::put_le<std::uint64_t>(p + 8, e.open_for_ns);
  detail::put_le<std::uint32_t>(p + 16, e.calls);
  detail::put_le<std::uint32_t>(p + 20, e.failures);
  detail::put_le<std::uint32_t>(p + 24, e.slow);
  detail::put_le<std::uint32_t>(p + 28, e.consecutive);
  detail::put_le<std::uint16_t>(p + 32, static_cast<std::uint16_t>(n));
  detail::put_le<std::uint16_t>(p + 34, 0);
  std::memcpy(p + k_breaker_record_fixed, name.data(), n);
  return {buf.data(), k_breaker_record_fixed + n};
}

result<breaker_record> decode_breaker_record(std::span<const std::byte> payload) {
  if (payload.size() < k_breaker_record_fixed) {
    return status(errc::corrupt, "BREAKER payload of " + std::to_string(payload.size()) +
                                     " bytes; at least " + std::to_string(k_breaker_record_fixed) +
                                     " expected");
  }
  const std::byte* p = payload.data();
  if (detail::get_le<std::uint8_t>(p) != k_breaker_record_version) {
    return status(errc::corrupt, "BREAKER payload version " +
                                     std::to_string(detail::get_le<std::uint8_t>(p)) +
                                     "; 1 expected");
  }
  const auto kind = detail::get_le<std::uint8_t>(p + 1);
  const auto from = detail::get_le<std::uint8_t>(p + 2);
  const auto to = detail::get_le<std::uint8_t>(p + 3);
  if (kind > static_cast<std::uint8_t>(breaker_event_kind::would_trip) || !valid_state(from) ||
      !valid_state(to)) {
    return status(errc::corrupt, "BREAKER payload names an unknown event kind or state");
  }
  const auto n = detail::get_le<std::uint16_t>(p + 32);
  if (n > k_breaker_name_max || payload.size() != k_breaker_record_fixed + n) {
    return status(errc::corrupt, "BREAKER payload's name length " + std::to_string(n) +
                                     " does not match its " + std::to_string(payload.size()) +
                                     " bytes");
  }
  breaker_record r;
  r.event.kind = static_cast<breaker_event_kind>(kind);
  r.event.from = static_cast<breaker_state>(from);
  r.event.to = static_cast<breaker_state>(to);
  r.event.generation = detail::get_le<std::uint32_t>(p + 4);
  r.event.open_for_ns = detail::get_le<std::uint64_t>(p + 8);
  r.event.calls = detail::get_le<std::uint32_t>(p + 16);
  r.event.failures = detail::get_le<std::uint32_t>(p + 20);
  r.event.slow = detail::get_le<std::uint32_t>(p + 24);
  r.event.consecutive = detail::get_le<std::uint32_t>(p + 28);
  r.name.assign(reinterpret_cast<const char*>(p + k_breaker_record_fixed), n);
  return r;
}

}  // namespace keel::resilience
