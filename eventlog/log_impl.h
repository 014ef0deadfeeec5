// Private to eventlog/: the writer's state, shared by log_open.cpp (open and recovery),
// log_append.cpp (the hot path and the roll) and log_sync.cpp (sync and the log's thread).
//
// Invariants:
// 1. `active_` points at an activated, writable, mapped segment for the log's whole life.
// 2. Only the append whose claim crosses the active segment's end (off <= capacity < off + len)
//    rolls: it closes the segment, activates the spare and publishes it in `active_` (release).
//    Claims past the end wait for `active_` to change and claim again there.
// 3. A segment's `roll_ordinal` (its record count) and `roll_offset` are written before the
//    next segment is published, and read by others only after they load `active_` (acquire) or
//    `roll_epoch_` (acquire).
// 4. A rolled segment's frames stay mapped until it is sealed: sealing waits for every claim
//    below its roll offset to commit, after which no append writes a frame there. Then
//    release() unmaps it, all but the header page, which is replaced by an anonymous copy: an
//    appender that loaded `active_` before the roll may still fetch_add its tail word (and will
//    find its claim past the end). free_released() frees the page and the log_segment after
//    release_grace, in ticks of the log's thread (rounds at least a second apart), so a stall
//    of the whole process does not shorten it.
// 5. `mu_` guards `segments_`, `retained_`, the spare's creation, sealing and sync(); append()
//    never takes it. The log's thread runs its rounds under it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "eventlog/segment.h"

#include <keel/eventlog/log.h>

namespace keel::eventlog {

struct log_segment {
  std::uint64_t no = 0;
  int fd = -1;  // -1 once released
  char* base = nullptr;
  std::uint64_t capacity = 0;
  std::uint64_t base_seq = 0;            // copied from the header at activation or recovery
  std::int64_t created_ns = 0;           // likewise
  bool sealed = false;                   // mu_: sealed (its record count is final)
  bool released = false;                 // mu_: only the anonymous header page is left
  std::uint64_t released_tick = 0;       // mu_: the log thread's tick at release
  std::uint64_t roll_offset = 0;         // set when rolled: where its last frame ends
  std::uint64_t roll_ordinal = 0;        // set when rolled: its record count
  std::uint64_t synced_offset = 0;       // sync(): frames below this are durable
  std::uint64_t synced_records = 0;      // sync(): the records below synced_offset
  bool activated_since_dir_sync = true;  // sync(): the directory entry may not be durable yet

  segment_header& header() const noexcept { return *reinterpret_cast<segment_header*>(base); }
  // The tail word, shared by every appender. relaxed in fetch_add: the claim only needs
  // atomicity; what a frame publishes is published by its own commit store.
  std::uint64_t* tail_word() const noexcept { return &header().tail; }
};

// A sealed segment, as retention sees it (mu_).
struct retained_segment {
  std::uint64_t no = 0;
  std::uint64_t end_seq = 0;  // one past its last record's seq
  std::uint64_t bytes = 0;    // its file's size
  std::int64_t created_ns = 0;
  bool synced = false;      // its records are on stable storage (sync() need not reopen it)
  bool compressed = false;  // its file is the .evz
};

class event_log::impl {
 public:
  impl(std::string dir, log_options o);
  ~impl();

  // log_open.cpp
  status open();
  status recover_segment(const segment_header& hdr, log_segment*& out, std::uint64_t& ordinals);
  // log_append.cpp
  result<std::uint64_t> append(const record_in& r) noexcept;
  // log_sync.cpp
  status sync();
  status sync_locked(std::uint64_t& durable);  // mu_ held
  void request_sync() noexcept;
  status wait_durable(std::uint64_t seq);
  // Records the first failure (appends and syncs then return log_failed). The sink is told, and
  // wait_durable()'s waiters woken, by report_failure(), which the callers of fail() run once
  // they hold none of the log's locks: a sink may call sync() or failure().
  void fail(status why);
  void report_failure();
  void start_thread();
  void stop_thread();

  // Shared with the functions above.
  status prepare_spare();  // mu_ held
  void activate(log_segment* s, std::uint64_t base_seq, std::uint64_t prev_salt) noexcept;
  void roll(log_segment* s, std::uint64_t off, std::uint64_t ordinal) noexcept;
  void seal(log_segment* s);     // the log's thread, mu_ held
  void release(log_segment* s);  // the log's thread, mu_ held
  void free_released();          // the log's thread, mu_ held
  void roll_by_age();            // the log's thread, mu_ held
  void apply_retention();        // the log's thread, mu_ held
  void wake_thread() noexcept;
  // log_compress.cpp: the compressor thread (started on the first segment queued) indexes each
  // sealed segment (idx/, eventlog/index.h) and compresses it.
  void queue_compression(std::uint64_t no);  // any thread
  void stop_compressor();
  void compress_one(std::uint64_t no);  // the compressor thread
  // Writes idx/<no>.idx for the sealed segment `base` (its header first); a failure is a
  // warning (the index only saves readers time).
  void write_index(const char* base);
  // Indexes a compressed segment (restored from its .evz) that has no valid index.
  void index_compressed(std::uint64_t no);
  void warn(const status& why);
  std::uint64_t next_seq() const noexcept;
  std::uint64_t committed_end(log_segment* s, std::uint64_t from, std::uint64_t limit,
                              std::uint64_t& records);

  std::string dir_;
  log_options opt_;
  io_env* env_ = nullptr;
  int lock_fd_ = -1;
  std::uint8_t log_id_[16] = {};
  std::uint8_t boot_id_[16] = {};
  std::uint8_t incarnation_[16] = {};
  std::uint64_t salt_state_ = 0;  // splitmix state for segment salts (the roller only)
  recovery_report recovery_;

  alignas(64) std::atomic<log_segment*> active_{nullptr};
  std::atomic<log_segment*> spare_{nullptr};
  std::atomic<bool> failed_{false};
  // Set (release) while the log's thread cannot prepare the spare (it tries again each round and
  // clears it when it can); spare_error_ (fail_mu_) says why. A roll that needs the spare then
  // fails the log with it.
  std::atomic<bool> spare_failed_{false};
  status spare_error_;
  std::atomic<bool> failure_told_{false};      // report_failure() has begun telling the sink
  std::atomic<bool> failure_reported_{false};  // ... and has told it
  alignas(64) std::atomic<std::uint64_t> durable_seq_{0};
  // Bumped by each roll; with sync_requested_ and stopping_, what wakes the log's thread
  // (wake_mu_ and wake_cv_; the writers of these flags notify under wake_mu_).
  std::atomic<std::uint64_t> roll_epoch_{0};
  std::atomic<bool> sync_requested_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> retention_floor_{~std::uint64_t{0}};
  std::atomic<bool> floor_set_{false};  // set_retention_floor() was called
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  // wait_durable() sleeps on durable_cv_; sync() notifies it, as does report_failure().
  std::mutex durable_mu_;
  std::condition_variable durable_cv_;

  std::mutex mu_;
  std::deque<std::unique_ptr<log_segment>> segments_;  // guarded by mu_ (see invariant 5)
  std::deque<retained_segment> retained_;              // sealed segments, oldest first (mu_)
  std::uint64_t next_segment_no_ = 0;                  // guarded by mu_
  std::uint64_t ticks_ = 0;  // mu_: rounds of the log's thread at least a second apart
  status failure_;           // guarded by fail_mu_
  std::mutex fail_mu_;
  std::thread thread_;

  std::mutex compress_mu_;  // guards the three below
  std::condition_variable compress_cv_;
  std::deque<std::uint64_t> compress_queue_;
  bool compress_stop_ = false;
  std::thread compress_thread_;
};

}  // namespace keel::eventlog
