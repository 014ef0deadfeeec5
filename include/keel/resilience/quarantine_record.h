// The payload of a QUARANTINE record (eventlog record_type::quarantine), written by
// cascade_guard: one quarantine, extension or release. The byte layout is in
// docs/eventlog-format.md ("QUARANTINE payload"). Pure functions; any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <keel/base/result.h>
#include <keel/core/ids.h>

namespace keel::resilience {

enum class quarantine_event : std::uint8_t { quarantined = 0, extended = 1, released = 2 };
std::string_view to_string(quarantine_event e) noexcept;

inline constexpr std::uint8_t k_quarantine_record_version = 1;
inline constexpr std::size_t k_quarantine_reason_max = 200;
inline constexpr std::size_t k_quarantine_record_fixed = 32;
// Set in the event byte when the quarantine covers the actor's supervision subtree.
inline constexpr std::uint8_t k_quarantine_subtree_bit = 0x80;

using quarantine_record_buffer =
    std::array<std::byte, k_quarantine_record_fixed + k_quarantine_reason_max>;

struct quarantine_record {
  quarantine_event event = quarantine_event::quarantined;
  std::uint32_t level = 0;
  actor_handle actor;
  actor_id id = 0;
  std::uint64_t until = 0;  // quarantined, extended: when the next probe may pass
  bool subtree = false;     // the quarantine covers the actors below it too
  std::string reason;
};

// Writes `r` (its reason cut to k_quarantine_reason_max bytes) into `buf`; returns the bytes.
std::span<const std::byte> encode_quarantine_record(const quarantine_record& r,
                                                    quarantine_record_buffer& buf) noexcept;
// errc::corrupt (naming what is wrong) for a payload that is not a version-1 QUARANTINE payload.
result<quarantine_record> decode_quarantine_record(std::span<const std::byte> payload);

}  // namespace keel::resilience
