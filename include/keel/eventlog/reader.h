// keel::eventlog::log_reader: reads an event log's records in order, checking each one, from a
// log directory that a writer may have open (in this process or another) or that a crash left
// behind. It never writes, never maps past a file's size, and installs no signal handler: a file
// truncated by someone else while it is mapped would raise SIGBUS in the reading process, as with
// any mapped file (docs/eventlog.md).
//
// The writer's retention may delete the oldest segments while a reader is open: a scan starts at
// the oldest segment still there.
//
// A scan stops at the first frame that is not valid and says why and where (scan_report). At the
// end of the last segment that is normal (a record being written, or the torn tail a crash
// left); anywhere else it is corruption.
//
// Thread safety: a log_reader is a value; one object is used by one thread at a time. Any number
// of readers may read one log.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <keel/base/result.h>
#include <keel/eventlog/format.h>
#include <keel/eventlog/io_env.h>

namespace keel::eventlog {

// A record as a scan hands it over; the payload points into the mapping and is valid only during
// the visit.
struct record_view {
  frame_header header;  // len is the frame's length; type, seq and the rest as written
  std::span<const std::byte> payload;
  std::uint64_t segment_no = 0;
  std::uint64_t offset = 0;  // of the frame in its segment file
};

// "message", "spawn", ... for a known type (the safe-to-ignore bit is ignored); "" otherwise.
std::string_view to_string(record_type t) noexcept;
// The record type named `name` ("message", "state_hash", ...); false if there is none.
bool parse_record_type(std::string_view name, record_type& out) noexcept;

enum class log_problem : std::uint8_t {
  none,               // the scan reached the end of the log (or the visitor stopped it)
  in_flight,          // the last segment ends with a frame being written (a live log)
  not_a_log,          // a file without our magic, or shorter than a header
  version,            // a format version this build does not read
  wrong_log,          // a segment of another log (its log id differs from LOG.meta's)
  header_checksum,    // a segment header that does not match its checksum
  bad_geometry,       // a segment header whose sizes are out of range
  missing_segment,    // a gap in the segment numbers
  chain_broken,       // a segment that does not follow the one before it (salt or seq)
  truncated,          // a segment file shorter than its header says, or one that ends early
  bad_length,         // a frame length that cannot be
  checksum_mismatch,  // a frame whose bytes do not match its checksum
  unknown_type,       // a record type this build does not know and may not skip
  bad_compressed,     // a compressed segment (.evz) that does not restore
};
std::string_view to_string(log_problem p) noexcept;

struct scan_report {
  std::uint64_t records = 0;   // records visited
  std::uint64_t segments = 0;  // segments read
  // Sealed segments a scan_query skipped unread because their index (idx/) shows that none of
  // their records matches.
  std::uint64_t segments_skipped = 0;
  log_problem problem = log_problem::none;
  std::string file;          // the file the problem is in
  std::uint64_t offset = 0;  // the byte offset in that file
  bool in_last_segment = false;

  // A problem that is not the normal end of a log: anything but none, or the end of the last
  // segment (in_flight, or a torn frame after the last valid one).
  bool corrupt() const noexcept;
  // "ok", or "<file> at offset <n>: <problem>".
  std::string message() const;
};

// One segment file as its header says now (a live writer changes the mutable fields).
struct segment_info {
  std::uint64_t no = 0;
  std::string file;
  std::uint64_t file_size = 0;
  segment_header header{};
  bool spare = false;                       // prepared by the writer, never used
  bool compressed = false;                  // a .evz (file_size is the compressed size)
  log_problem problem = log_problem::none;  // what is wrong with the header, if anything
};

// What a scan looks for. A record matches when its seq is in [from_seq, to_seq), its ts_ns in
// [from_ts, to_ts], and its correlation and actor id equal the ones given (0: any). The reader
// skips, unread, each sealed segment whose derived index (idx/<n>.idx, written by the writer
// after the seal and rebuilt at its next open when missing) shows that none of its records
// matches, and starts inside a segment at the index's sparse entry for from_seq / from_ts. A
// segment without a valid index is read whole: the index only saves time.
struct scan_query {
  std::uint64_t from_seq = 0;
  std::uint64_t to_seq = UINT64_MAX;
  std::int64_t from_ts = INT64_MIN;
  std::int64_t to_ts = INT64_MAX;
  std::uint64_t correlation = 0;
  std::uint64_t actor = 0;

  bool matches(const frame_header& h) const noexcept {
    return h.seq >= from_seq && h.seq < to_seq && h.ts_ns >= from_ts && h.ts_ns <= to_ts &&
           (correlation == 0 || h.correlation == correlation) &&
           (actor == 0 || h.actor_id == actor);
  }
};

// Where a scan stood: a segment and a frame boundary in it.
struct scan_position {
  std::uint64_t segment_no = 0;
  std::uint64_t offset = 0;  // 0: the segment's first frame
};

class log_reader {
 public:
  // Reads LOG.meta and lists the segments. errc::corrupt if `dir` holds no keel log (the message
  // says which file and why); errc::io_error.
  static result<log_reader> open(const std::string& dir, io_env* env = nullptr);

  // Visits the records with seq >= from_seq, in order; the visitor returns false to stop.
  // Segments that end before from_seq are skipped by their headers, without being read.
  scan_report scan(const std::function<bool(const record_view&)>& visit,
                   std::uint64_t from_seq = 0) const;
  // The same, resuming a scan of this log: the walk of segment `resume.segment_no` starts at
  // `resume.offset` instead of its first frame. That offset must be a frame boundary a scan
  // returned: a record_view's offset, or its offset plus align_up(header.len). (Anything else
  // stops the scan with a problem, never a wrong record.) A stepwise reader (replay)
  // then reads a long segment once, not once per step.
  scan_report scan(const std::function<bool(const record_view&)>& visit, std::uint64_t from_seq,
                   const scan_position& resume) const;

  // Visits the records that match `q`, in order; the visitor returns false to stop. Sealed
  // segments the index shows hold no match are skipped (scan_report::segments_skipped).
  scan_report scan(const scan_query& q, const std::function<bool(const record_view&)>& visit) const;

  // The segments' headers, in order (a file that cannot be read has problem not_a_log).
  std::vector<segment_info> segments() const;
  // LOG.meta's log id and creation time.
  const std::uint8_t* log_id() const noexcept { return log_id_; }
  std::int64_t created_ns() const noexcept { return created_ns_; }

  const std::string& dir() const noexcept { return dir_; }
  std::size_t segment_count() const noexcept { return segments_.size(); }

 private:
  log_reader() = default;
  std::string dir_;
  io_env* env_ = nullptr;
  std::uint8_t log_id_[16] = {};
  std::int64_t created_ns_ = 0;
  struct seg_file {
    std::uint64_t no = 0;
    bool compressed = false;
  };
  std::vector<seg_file> segments_;  // ascending
  // Opens segment `f` read-only, following a .evl that became a .evz since open(); sets the
  // path opened and whether it is compressed.
  result<int> open_segment(const seg_file& f, std::string& path, bool& compressed) const;
  scan_report scan_impl(const scan_query& q, const std::function<bool(const record_view&)>& visit,
                        const scan_position& resume) const;
};

}  // namespace keel::eventlog
