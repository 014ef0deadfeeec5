// keel::eventlog::journal: the event log and snapshot store that event-sourced actors share
// (event_sourced.h), with what they need from them: appending an event, being told when it is
// durable, and reading a persistence id's events back in bounded batches.
//
// The journal owns both: open() opens the log (and chains its own on_durable / on_failure
// callbacks in front of the caller's) and the snapshot store beside it.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include <keel/base/result.h>
#include <keel/eventlog/log.h>
#include <keel/eventlog/reader.h>
#include <keel/eventlog/snapshot.h>

namespace keel::eventlog {

struct journal_options {
  log_options log;
  snapshot_options snapshots;
  // Events an actor replays per step of its recovery (each step is one message to itself, so a
  // long recovery holds a worker for one step at a time and keeps one batch in memory).
  std::uint32_t recovery_batch = 4096;
  // An event-sourced actor saves a snapshot after this many events (0: only when it asks).
  std::uint64_t snapshot_every = 0;

  status validate() const;
};

class journal {
 public:
  static result<std::unique_ptr<journal>> open(const std::string& dir, journal_options o);
  ~journal();
  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;

  event_log& log() noexcept { return *log_; }
  snapshot_store& snapshots() noexcept { return *snapshots_; }
  const journal_options& options() const noexcept { return opt_; }

  // Calls `done` once record `seq` is durable: at once, from this thread, in page_cache mode or
  // if it already is; otherwise from the log's thread after the sync that covers it (with
  // errc::log_failed if the log fails first). `done` must be quick and must not block.
  void when_durable(std::uint64_t seq, std::function<void(const status&)> done);

  // One step of a recovery: calls visit(header, payload) for up to `max` EVENT records of
  // `persistence_id` with from_seq <= seq < until_seq, in order. `until_seq` is log().next_seq()
  // when the recovery began: every record below it was claimed, and each is waited for, even
  // one that another thread is still writing (the step then ends early; the next goes on from
  // it). Returns the seq to continue from, or 0 once every record below until_seq was read.
  // errc::corrupt if the log is damaged before its end; errc::log_failed if it failed with
  // records below until_seq never written.
  result<std::uint64_t> read_events(
      std::uint64_t persistence_id, std::uint64_t from_seq, std::uint64_t until_seq,
      std::uint32_t max,
      const std::function<void(const frame_header&, std::span<const std::byte>)>& visit) const;

 private:
  journal() = default;
  void durable(std::uint64_t d);
  void failed(const status& why);

  journal_options opt_;
  std::string dir_;
  std::unique_ptr<event_log> log_;
  std::unique_ptr<snapshot_store> snapshots_;
  std::mutex mu_;
  std::multimap<std::uint64_t, std::function<void(const status&)>> waiters_;  // by seq
  bool failed_ = false;
  status failure_;
};

}  // namespace keel::eventlog
