#include <algorithm>
#include <cstring>

#include "resilience/le_bytes.h"

#include <keel/resilience/quarantine_record.h>

namespace keel::resilience {

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
  detail::put_le<std::uint8_t>(p + 0, k_quarantine_record_version);
  detail::put_le<std::uint8_t>(
      p + 1, static_cast<std::uint8_t>(static_cast<std::uint8_t>(r.event) |
                                       (r.subtree ? k_quarantine_subtree_bit : 0)));
  detail::put_le<std::uint16_t>(p + 2, static_cast<std::uint16_t>(n));
  detail::put_le<std::uint32_t>(p + 4, r.level);
  detail::put_le<std::uint32_t>(p + 8, r.actor.slot);
  detail::put_le<std::uint32_t>(p + 12, r.actor.generation);
  detail::put_le<std::uint64_t>(p + 16, r.id);
  detail::put_le<std::uint64_t>(p + 24, r.until);
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
  if (detail::get_le<std::uint8_t>(p) != k_quarantine_record_version) {
    return status(errc::corrupt, "QUARANTINE payload version " +
                                     std::to_string(detail::get_le<std::uint8_t>(p)) +
                                     "; 1 expected");
  }
  const auto kind =
      static_cast<std::uint8_t>(detail::get_le<std::uint8_t>(p + 1) & ~k_quarantine_subtree_bit);
  if (kind > static_cast<std::uint8_t>(quarantine_event::released)) {
    return status(errc::corrupt,
                  "QUARANTINE payload names an unknown event " + std::to_string(kind));
  }
  const auto n = detail::get_le<std::uint16_t>(p + 2);
  if (n > k_quarantine_reason_max || payload.size() != k_quarantine_record_fixed + n) {
    return status(errc::corrupt, "QUARANTINE payload's reason length " + std::to_string(n) +
                                     " does not match its " + std::to_string(payload.size()) +
                                     " bytes");
  }
  quarantine_record r;
  r.event = static_cast<quarantine_event>(kind);
  r.subtree = (detail::get_le<std::uint8_t>(p + 1) & k_quarantine_subtree_bit) != 0;
  r.level = detail::get_le<std::uint32_t>(p + 4);
  r.actor.slot = detail::get_le<std::uint32_t>(p + 8);
  r.actor.generation = detail::get_le<std::uint32_t>(p + 12);
  r.id = detail::get_le<std::uint64_t>(p + 16);
  r.until = detail::get_le<std::uint64_t>(p + 24);
  r.reason.assign(reinterpret_cast<const char*>(p + k_quarantine_record_fixed), n);
  return r;
}

}  // namespace keel::resilience
