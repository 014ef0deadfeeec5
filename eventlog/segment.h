// Private to eventlog/: one segment file's header handling and the frame scanner that both the
// writer's recovery and the readers use (docs/eventlog-format.md, "Reading a segment").
//
// Thread safety: the functions are pure over the bytes they are given. A scanner may read a
// segment that a writer in this or another process is appending to: it reads each commit word
// with an acquire load and reads a frame only after seeing it committed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <keel/base/status.h>
#include <keel/eventlog/format.h>

namespace keel::eventlog::detail {

// "seg/00000000000000000042.evl" for segment 42, relative to the log directory.
std::string segment_file_name(std::uint64_t segment_no);
// The number in such a name; false if `name` is not one.
bool parse_segment_file_name(std::string_view name, std::uint64_t& segment_no);

// A segment as the directory holds it: its .evl file, or, once compressed, its .evz file.
struct segment_file {
  std::uint64_t no = 0;
  bool compressed = false;
  bool also_uncompressed = false;  // both files exist (a compression cut short): .evl is used
  std::string rel() const;         // "seg/<n>.evl" or "seg/<n>.evz"
};
// The segments among the names in <dir>/seg, ascending.
std::vector<segment_file> list_segments(const std::vector<std::string>& names);

// CLOCK_REALTIME in ns (vDSO: no system call): segment and snapshot timestamps.
std::int64_t wall_clock_ns() noexcept;

std::uint64_t header_checksum(const segment_header& h) noexcept;
// XXH3-64 of the frame's bytes [16, len) seeded with salt ^ (its first 8 bytes): everything but
// the checksum field. `frame` holds `len` bytes and its len field already says `len`.
std::uint64_t frame_checksum(const char* frame, std::uint32_t len, std::uint64_t salt) noexcept;
// Writes a padding frame of `len` bytes at `frame` over bytes that are already zero: type and
// checksum first, the length last (release), so that a reader sees a complete frame or none.
void write_padding(char* frame, std::uint64_t len, std::uint64_t salt) noexcept;

// What is wrong with a segment's header, or OK. `log_id` null: any log.
enum class header_problem : std::uint8_t {
  none,
  not_a_log,     // the magic is not ours (or the file is shorter than a header)
  version,       // a format version this build does not read
  not_active,    // a spare the writer prepared but never used
  checksum,      // the checked part of the header does not match its checksum
  wrong_log,     // the segment belongs to another log
  bad_geometry,  // capacity, alignment or sizes out of range
};
header_problem check_header(const segment_header& h, std::uint64_t file_size,
                            const std::uint8_t* log_id) noexcept;
std::string_view to_string(header_problem p) noexcept;

// Why a scan stopped.
enum class scan_end : std::uint8_t {
  clean,         // an unwritten frame (zero) or the end of the segment: nothing after it
  in_flight,     // a frame claimed and not (yet) committed
  bad_length,    // a committed length that is impossible here
  checksum,      // a committed frame whose bytes do not match its checksum
  unknown_type,  // a type this build does not know, without the safe-to-ignore bit
};
std::string_view to_string(scan_end e) noexcept;

struct scan_result {
  std::uint64_t end = k_header_size;  // the offset after the last valid frame
  std::uint64_t records = 0;          // valid records (padding excluded)
  std::uint64_t aborted = 0;          // claims a killed writer left, stepped over (same boot)
  scan_end stop = scan_end::clean;
  std::uint64_t stop_offset = 0;  // where the scan stopped (== end unless it skipped)
};

// Scans the frames of a segment mapped at `base` (`size` bytes, at most the file's size),
// calling visit(const frame_header&, std::uint64_t offset) for each valid record in order;
// visit returns false to stop. Padding frames are stepped over. `claimed_limit`: when the
// caller trusts the header's tail (the writer that died had this machine's current boot id),
// the tail's offset; zero-filled gaps and negative (claimed) frames below it are claims a killed
// writer left, stepped over after skip(std::uint64_t offset, std::uint64_t length). 0: trust
// nothing (they end the scan). `start`: where the walk begins, a frame boundary (a resumed scan).
template <class Visit, class Skip>
scan_result scan_frames(const char* base, std::uint64_t size, std::uint64_t salt,
                        std::uint64_t claimed_limit, Visit&& visit, Skip&& skip,
                        std::uint64_t start = k_header_size) noexcept;

}  // namespace keel::eventlog::detail

#include "eventlog/scan_frames.h"
