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
// Durability (log_options::mode): an append is in the page cache when it returns (it survives
// the process, not the machine). sync() writes everything appended before it to stable storage
// and advances durable_seq(). In `interval` mode the log's thread syncs every sync_interval when
// something was appended; in `group_commit` mode it also syncs as soon as someone asks
// (request_sync(), wait_durable()), one sync for every request that arrived meanwhile. Appends
// never wait for a sync. A failed msync or fdatasync puts the log in a failed state for good:
// every later append and sync returns errc::log_failed, and `log_options::on_failure` is told
// once; the log never retries a failed sync, because the kernel may have dropped the pages it
// could not write.
//
// Segments roll by size (and, with roll_after, by age). A sealed segment's mapping is released:
// only its 4 KiB header page stays mapped, as an anonymous copy, for release_grace (a late
// appender may still bump its tail word), then it is freed too. Retention (retain_bytes,
// retain_age) deletes the oldest sealed segments, never one that holds a record at or after
// retention_floor().
//
// Thread safety: append(), sync(), request_sync(), wait_durable(), durable_seq(), next_seq(),
// set_retention_floor() and failure() may be called from any number of threads at once. open()
// and the destructor are not concurrent with anything.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <keel/base/result.h>
#include <keel/eventlog/format.h>
#include <keel/eventlog/io_env.h>

namespace keel::eventlog {

// When appended records reach stable storage (see event_log).
enum class durability : std::uint8_t {
  page_cache,    // only when someone calls sync() (or wait_durable())
  interval,      // the log's thread syncs every sync_interval
  group_commit,  // the log's thread syncs when asked, and at least every sync_interval
};

struct log_options {
  // Bytes per segment file: 1 MiB to 1 GiB, a multiple of 4 KiB. Larger segments mean fewer
  // files and a longer recovery scan of the last one (about 50 ms for 256 MiB).
  std::uint64_t segment_size = 256ull << 20;
  // The largest frame (80-byte header plus payload): 128 B to segment_size / 4.
  std::uint32_t max_record = 1u << 20;
  durability mode = durability::page_cache;
  // interval: the period of the log's syncs; group_commit: the longest a record waits for a
  // sync nobody asked for. 1 ms to 1 h.
  std::chrono::milliseconds sync_interval{100};
  // Roll the active segment once it is this old and holds a record (0: roll by size only).
  std::chrono::seconds roll_after{0};
  // How long a released segment's header page (and its bookkeeping) outlives the release: an
  // appender that read the active segment just before a roll bumps that page's tail word, and
  // must find it mapped. Counted in rounds of the log's thread at least a second apart, so time
  // while the process is stopped does not count. 1 s to 1 h.
  std::chrono::seconds release_grace{60};
  // Delete the oldest sealed segments while the log's segments take more than this many bytes
  // (0: no limit) or while they are older than retain_age (0: no limit). The active segment and
  // every segment at or after retention_floor() are kept whatever their size or age.
  std::uint64_t retain_bytes = 0;
  std::chrono::seconds retain_age{0};
  // Retention deletes nothing until set_retention_floor() has been called once (a journal sets
  // this: its snapshot store sets the floor right after the log opens, and the log's thread
  // must not delete by size or age before it knows what the snapshots still need).
  bool retention_waits_for_floor = false;
  // Sealed segments are compressed in the background (a .evz beside, then in place of, the
  // .evl) with this LZ4HC level, 1 to 12; 0: not compressed. The default, 4, saves more than
  // gzip -6 on keel's records at about 180 MB/s of one core (docs/benchmarks.md).
  int compression_level = 4;
  // Null: io_env::posix(). Must outlive the log.
  io_env* env = nullptr;
  // Told once, from the thread that saw it, when the log enters its failed state.
  std::function<void(const status&)> on_failure;
  // Told about a problem that does not fail the log, from the thread that met it: a sealed
  // segment that does not verify (it stays uncompressed, and keel-log verify names it), or a
  // compression that could not be written.
  std::function<void(const status&)> on_warning;
  // Told the new durable_seq() after each sync that advanced it, from the thread that synced
  // (the log's thread in interval and group_commit modes), outside the log's locks. It may call
  // the log's methods; it should be quick: the next sync waits for it.
  std::function<void(std::uint64_t durable_seq)> on_durable;

  // errc::invalid_config naming the field, or OK.
  status validate() const;
};

// What append() writes. The payload is copied into the log.
struct record_in {
  record_type type = record_type::message;
  std::uint16_t flags = 0;  // k_flag_* (format.h)
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
  // Sealed segments that an earlier writer never synced and that do not verify (pages lost with
  // the machine), each named with the offset of the damage; also told to on_warning. Their
  // records from there on are lost; readers and keel-log verify stop there too.
  std::vector<std::string> damaged;
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
  // Asks the log's thread for a sync soon (group_commit; in interval mode the next periodic sync
  // comes anyway; page_cache: nothing). No allocation; it wakes the thread (one futex call) only
  // if no request is already pending.
  void request_sync() noexcept;
  // Blocks until the record `seq` is durable (durable_seq() > seq), syncing itself in page_cache
  // mode and asking the log's thread otherwise. errc::log_failed; errc::invalid_argument for a
  // seq never handed out.
  status wait_durable(std::uint64_t seq);
  // The sequence number below which every record is on stable storage. acquire: a caller that
  // reads n may rely on sync() having completed for every record below n.
  std::uint64_t durable_seq() const noexcept;
  // The sequence number the next append would get if nothing else appended first (a hint while
  // others append).
  std::uint64_t next_seq() const noexcept;
  // The oldest seq that retention must keep (a snapshot store sets it to the first record its
  // newest valid snapshot does not cover). Default: no floor. relaxed: the log's thread reads it
  // on its next round.
  void set_retention_floor(std::uint64_t seq) noexcept;
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
