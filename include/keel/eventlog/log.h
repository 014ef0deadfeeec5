// keel::eventlog::event_log: the writer of an append-only log of records in memory-mapped
// segment files (format: docs/eventlog-format.md; design: docs/eventlog.md).
//
// One writer per log directory: open() takes an flock on <dir>/LOCK, and a second opener, in
// this process or another, gets errc::log_locked. Tools read a log with log_reader (reader.h),
// also while it is being written.
//
// append() is the hot path: one fetch_add on the active segment's tail reserves the frame's
// space and its sequence number, the frame is written into the mapping, and its length is
// published last with a release store. It takes no lock, makes no system call and allocates
// nothing. The next segment is created, preallocated and pre-faulted ahead of time by the log's
// own thread; only when an append finds that spare not yet ready does it wait for it.
//
// Durability: an append is in the page cache when it returns (it survives the process, not the
// machine). sync() writes everything appended before it to stable storage and advances
// durable_seq(). A failed msync or fdatasync puts the log in a failed state for good: every later
// append and sync returns errc::log_failed, and `log_options::on_failure` is told once; the log
// never retries a failed sync, because the kernel may have dropped the pages it could not write.
//
// Thread safety: append(), sync(), durable_seq(), next_seq() and failure() may be called from
// any number of threads at once. open() and the destructor are not concurrent with anything.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include <keel/base/result.h>
#include <keel/eventlog/format.h>
#include <keel/eventlog/io_env.h>

namespace keel::eventlog {

struct log_options {
  // Bytes per segment file: 1 MiB to 1 GiB, a multiple of 4 KiB. Larger segments mean fewer
  // files and a longer recovery scan of the last one (about 50 ms for 256 MiB).
  std::uint64_t segment_size = 256ull << 20;
  // The largest frame (80-byte header plus payload): 128 B to segment_size / 4.
  std::uint32_t max_record = 1u << 20;
  // Null: io_env::posix(). Must outlive the log.
  io_env* env = nullptr;
  // Told once, from the thread that saw it, when the log enters its failed state.
  std::function<void(const status&)> on_failure;

  // errc::invalid_config naming the field, or OK.
  status validate() const;
};

// What append() writes. The payload is copied into the log.
struct record_in {
  record_type type = record_type::message;
  std::int64_t ts_ns = 0;
  std::uint64_t actor_id = 0;
  std::uint64_t actor_seq = 0;
  std::uint64_t message_id = 0;
  std::uint64_t correlation = 0;
  std::uint64_t causation = 0;
  std::uint64_t payload_type = 0;
  std::span<const std::byte> payload;
};

// What open() found and did, for the caller's logs.
struct recovery_report {
  std::uint64_t segments = 0;        // segment files in the log
  std::uint64_t records = 0;         // valid records found in the last segment
  std::uint64_t aborted = 0;         // claims of a killed writer stepped over
  std::uint64_t zeroed_bytes = 0;    // torn tail cleared after the last valid frame
  std::uint64_t spares_removed = 0;  // prepared segments never used
  bool created = false;              // the log did not exist and was created
};

class event_log {
 public:
  // Opens the log in `dir` for writing, creating it if it does not exist, and recovers it: the
  // last segment is scanned, a torn tail after its last valid frame is zeroed, and appending
  // resumes after it. Errors: invalid_config; log_locked; io_error / no_space (the operation and
  // the path); corrupt (a segment that is not this log's, or a gap in the chain, named).
  static result<std::unique_ptr<event_log>> open(const std::string& dir, log_options options);
  ~event_log();
  event_log(const event_log&) = delete;
  event_log& operator=(const event_log&) = delete;

  // Appends a record; returns its sequence number. Any thread. errc::invalid_argument if the
  // frame would exceed max_record or the type is padding; errc::log_failed in the failed state.
  // No lock, no system call, no allocation.
  result<std::uint64_t> append(const record_in& r) noexcept;

  // Makes every record appended before the call durable (msync + fdatasync of the segments that
  // hold them), then returns. Any thread; concurrent calls are serialised. errc::log_failed.
  status sync();
  // The sequence number below which every record is on stable storage. acquire: a caller that
  // reads n may rely on sync() having completed for every record below n.
  std::uint64_t durable_seq() const noexcept;
  // The sequence number the next append would get if nothing else appended first (a hint while
  // others append).
  std::uint64_t next_seq() const noexcept;
  // OK, or why the log failed.
  status failure() const;

  const recovery_report& recovery() const noexcept;
  const std::string& dir() const noexcept;

  class impl;

 private:
  explicit event_log(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace keel::eventlog
