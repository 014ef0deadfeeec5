#include <algorithm>
#include <cstring>

#include <keel/resilience/breaker_record.h>

namespace keel::resilience {
namespace {

// Little-endian, as the rest of the log (docs/eventlog-format.md).
template <class T>
void put(std::byte* p, T v) noexcept {
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    p[i] = static_cast<std::byte>(static_cast<std::uint64_t>(v) >> (8 * i));
  }
}
template <class T>
T get(const std::byte* p) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    v |= static_cast<std::uint64_t>(std::to_integer<std::uint8_t>(p[i])) << (8 * i);
  }
  return static_cast<T>(v);
}

bool valid_state(std::uint8_t s) noexcept {
  return s <= static_cast<std::uint8_t>(breaker_state::metrics_only);
}

}  // namespace

std::span<const std::byte> encode_breaker_record(const breaker_event& e, std::string_view name,
                                                 breaker_record_buffer& buf) noexcept {
  const std::size_t n = std::min(name.size(), k_breaker_name_max);
  std::byte* p = buf.data();
  put<std::uint8_t>(p + 0, k_breaker_record_version);
  put<std::uint8_t>(p + 1, static_cast<std::uint8_t>(e.kind));
  put<std::uint8_t>(p + 2, static_cast<std::uint8_t>(e.from));
  put<std::uint8_t>(p + 3, static_cast<std::uint8_t>(e.to));
  put<std::uint32_t>(p + 4, e.generation);
  put<std::uint64_t>(p + 8, e.open_for_ns);
  put<std::uint32_t>(p + 16, e.calls);
  put<std::uint32_t>(p + 20, e.failures);
  put<std::uint32_t>(p + 24, e.slow);
  put<std::uint32_t>(p + 28, e.consecutive);
  put<std::uint16_t>(p + 32, static_cast<std::uint16_t>(n));
  put<std::uint16_t>(p + 34, 0);
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
  if (get<std::uint8_t>(p) != k_breaker_record_version) {
    return status(errc::corrupt, "BREAKER payload version " + std::to_string(get<std::uint8_t>(p)) +
                                     "; 1 expected");
  }
  const auto kind = get<std::uint8_t>(p + 1);
  const auto from = get<std::uint8_t>(p + 2);
  const auto to = get<std::uint8_t>(p + 3);
  if (kind > static_cast<std::uint8_t>(breaker_event_kind::would_trip) || !valid_state(from) ||
      !valid_state(to)) {
    return status(errc::corrupt, "BREAKER payload names an unknown event kind or state");
  }
  const auto n = get<std::uint16_t>(p + 32);
  if (n > k_breaker_name_max || payload.size() != k_breaker_record_fixed + n) {
    return status(errc::corrupt, "BREAKER payload's name length " + std::to_string(n) +
                                     " does not match its " + std::to_string(payload.size()) +
                                     " bytes");
  }
  breaker_record r;
  r.event.kind = static_cast<breaker_event_kind>(kind);
  r.event.from = static_cast<breaker_state>(from);
  r.event.to = static_cast<breaker_state>(to);
  r.event.generation = get<std::uint32_t>(p + 4);
  r.event.open_for_ns = get<std::uint64_t>(p + 8);
  r.event.calls = get<std::uint32_t>(p + 16);
  r.event.failures = get<std::uint32_t>(p + 20);
  r.event.slow = get<std::uint32_t>(p + 24);
  r.event.consecutive = get<std::uint32_t>(p + 28);
  r.name.assign(reinterpret_cast<const char*>(p + k_breaker_record_fixed), n);
  return r;
}

}  // namespace keel::resilience
