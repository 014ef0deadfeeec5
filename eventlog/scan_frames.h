// Private: scan_frames (declared in segment.h), a template so that the per-record visit inlines.
#pragma once

#include <cstring>

namespace keel::eventlog::detail {

// The commit word, read with acquire: a positive length published by the writer's release store
// makes the whole frame visible. (The mapping may be shared with a writer in another process;
// lock-free atomics on shared memory are address-free, and this is a plain load on x86-64.)
inline std::int32_t load_commit(const char* frame) noexcept {
  return __atomic_load_n(reinterpret_cast<const std::int32_t*>(frame), __ATOMIC_ACQUIRE);
}

inline bool known_type(std::uint16_t type) noexcept {
  if (type & k_safe_ignore) return true;
  return type >= 1 && type <= k_last_known_type;
}

template <class Visit, class Skip>
scan_result scan_frames(const char* base, std::uint64_t size, std::uint64_t salt,
                        std::uint64_t claimed_limit, Visit&& visit, Skip&& skip,
                        std::uint64_t start) noexcept {
  scan_result r;
  std::uint64_t off = start;
  const std::uint64_t limit = claimed_limit < size ? claimed_limit : size;
  for (;;) {
    r.end = off;
    r.stop_offset = off;
    if (off + k_min_frame > size) return r;  // no room for a frame: the segment is done
    const std::int32_t len = load_commit(base + off);
    if (len == 0) {
      // Unwritten. Below a trusted tail it is a claim whose writer died before its first store:
      // step to the next non-zero word if everything up to it is zero.
      if (off < limit) {
        std::uint64_t n = off + k_align;
        std::uint64_t word = 0;
        while (n < limit) {
          std::memcpy(&word, base + n, sizeof(word));
          if (word != 0) break;
          n += k_align;
        }
        if (n < limit && word != 0) {
          ++r.aborted;
          skip(off, n - off);
          off = n;
          continue;
        }
      }
      return r;
    }
    if (len < 0) {
      const std::uint64_t claimed = static_cast<std::uint64_t>(-static_cast<std::int64_t>(len));
      if (claimed >= k_min_frame && off + align_up(claimed) <= limit) {
        ++r.aborted;  // claimed by a writer that died before committing
        skip(off, align_up(claimed));
        off += align_up(claimed);
        continue;
      }
      r.stop = scan_end::in_flight;
      return r;
    }
    const auto ulen = static_cast<std::uint64_t>(len);
    if (ulen < k_min_frame || off + ulen > size) {
      r.stop = scan_end::bad_length;
      return r;
    }
    const char* f = base + off;
    std::uint64_t sum = 0;
    std::memcpy(&sum, f + 8, sizeof(sum));
    if (frame_checksum(f, static_cast<std::uint32_t>(ulen), salt) != sum) {
      r.stop = scan_end::checksum;
      return r;
    }
    std::uint16_t type = 0;
    std::memcpy(&type, f + 4, sizeof(type));
    if (type == static_cast<std::uint16_t>(record_type::padding)) {
      off += align_up(ulen);  // filler: the end of a segment, or a claim a killed writer left
      continue;
    }
    if (ulen < k_frame_header) {
      r.stop = scan_end::bad_length;
      return r;
    }
    if (!known_type(type)) {
      r.stop = scan_end::unknown_type;
      return r;
    }
    frame_header h;
    std::memcpy(&h, f, sizeof(h));
    h.len = len;
    ++r.records;
    off += align_up(ulen);
    if (!visit(static_cast<const frame_header&>(h), off - align_up(ulen))) {
      r.end = off;
      r.stop_offset = off;
      return r;
    }
  }
}

}  // namespace keel::eventlog::detail
