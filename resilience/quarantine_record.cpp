#include <algorithm>
#include <cstring>

#include <keel/resilience/quarantine_record.h>

namespace keel::resilience {
namespace {

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

}  // namespace

std::string_view to_string(quarantine_event e) noexcept {
  switch (e) {
    case quarantine_event::quarantined:
      return "quarantined";
    case quarantine_event::extended:
      return "extended";
    case quarantine_event::released:
      return "released";
  }
  return "unknown";
}

std::span<const std::byte> encode_quarantine_record(const quarantine_record& r,
                                                    quarantine_record_buffer& buf) noexcept {
  const std::size_t n = std::min(r.reason.size(), k_quarantine_reason_max);
  std::byte* p = buf.data();
  put<std::uint8_t>(p + 0, k_quarantine_record_version);
  put<std::uint8_t>(p + 1, static_cast<std::uint8_t>(r.event));
  put<std::uint16_t>(p + 2, static_cast<std::uint16_t>(n));
  put<std::uint32_t>(p + 4, r.level);
  put<std::uint32_t>(p + 8, r.actor.slot);
  put<std::uint32_t>(p + 12, r.actor.generation);
  put<std::uint64_t>(p + 16, r.id);
  put<std::uint64_t>(p + 24, r.until);
  std::memcpy(p + k_quarantine_record_fixed, r.reason.data(), n);
  return {buf.data(), k_quarantine_record_fixed + n};
}

result<quarantine_record> decode_quarantine_record(std::span<const std::byte> payload) {
  if (payload.size() < k_quarantine_record_fixed) {
    return status(errc::corrupt, "QUARANTINE payload of " + std::to_string(payload.size()) +
                                     " bytes; at least " +
                                     std::to_string(k_quarantine_record_fixed) + " expected");
  }
  const std::byte* p = payload.data();
  if (get<std::uint8_t>(p) != k_quarantine_record_version) {
    return status(errc::corrupt, "QUARANTINE payload version " +
                                     std::to_string(get<std::uint8_t>(p)) + "; 1 expected");
  }
  const auto kind = get<std::uint8_t>(p + 1);
  if (kind > static_cast<std::uint8_t>(quarantine_event::released)) {
    return status(errc::corrupt,
                  "QUARANTINE payload names an unknown event " + std::to_string(kind));
  }
  const auto n = get<std::uint16_t>(p + 2);
  if (n > k_quarantine_reason_max || payload.size() != k_quarantine_record_fixed + n) {
    return status(errc::corrupt, "QUARANTINE payload's reason length " + std::to_string(n) +
                                     " does not match its " + std::to_string(payload.size()) +
                                     " bytes");
  }
  quarantine_record r;
  r.event = static_cast<quarantine_event>(kind);
  r.level = get<std::uint32_t>(p + 4);
  r.actor.slot = get<std::uint32_t>(p + 8);
  r.actor.generation = get<std::uint32_t>(p + 12);
  r.id = get<std::uint64_t>(p + 16);
  r.until = get<std::uint64_t>(p + 24);
  r.reason.assign(reinterpret_cast<const char*>(p + k_quarantine_record_fixed), n);
  return r;
}

}  // namespace keel::resilience
