// keel::eventlog::snapshot_store: snapshots of actor state beside an event log, so that
// recovery and replay start from a recent state instead of the log's beginning.
//
// A snapshot is one scope's state (an event-sourced actor's persistence id, or an actor id for
// replay checkpoints) as of one record of the log: `covers_seq`, the seq of the last record
// the state includes. It is written as <log>/snap/<scope>/<covers_seq>.snap: LZ4 in
// independent blocks, XXH3 per block and over the whole state (the state hash), to a temporary
// file that is synced and renamed (then the directory synced). Format:
// docs/eventlog-format.md, "Snapshots".
//
// load() returns the newest valid snapshot: one that is damaged (a block or the whole state
// that does not match its checksum, a truncated file) is skipped, named in `skipped`, and the
// next older one is tried, so that recovery falls back to an older state plus a longer replay.
// save() keeps the newest `keep` snapshots of a scope and deletes older ones.
//
// With a log attached (open()'s `log`), save() also appends a SNAPSHOT_MARK record (so that the
// log alone says which snapshots exist) and keeps the log's retention floor at the oldest seq
// that a kept snapshot, or a scope declared with need() and not yet snapshotted, still needs.
//
// Thread safety: save(), load(), list() and need() may be called from any thread; saves are
// serialised by a mutex (snapshots are not a hot path).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include <keel/base/result.h>
#include <keel/eventlog/io_env.h>

namespace keel::eventlog {

class event_log;

struct snapshot_options {
  // Snapshots kept per scope (1 to 1000). More means older fallbacks and a lower retention floor.
  std::size_t keep = 3;
  // Bytes of state per LZ4 block (4 KiB to 64 MiB).
  std::uint32_t block_size = 256u << 10;
  io_env* env = nullptr;  // null: io_env::posix()

  status validate() const;
};

struct snapshot_info {
  std::uint64_t scope = 0;
  std::uint64_t covers_seq = 0;
  std::uint64_t covers_actor_seq = 0;
  std::int64_t ts_ns = 0;
  std::uint64_t raw_size = 0;
  std::uint64_t file_size = 0;
  std::uint64_t state_hash = 0;
  std::string file;
};

struct loaded_snapshot {
  snapshot_info info;
  std::vector<std::byte> state;
  std::uint8_t log_id[16] = {};      // the log it was taken from
  std::vector<std::string> skipped;  // "<file>: <why>" for each newer snapshot that was damaged
};

class snapshot_store {
 public:
  // `log_dir` must hold a keel log (its LOG.meta names the log the snapshots belong to).
  // `log`, if not null, is that log's writer: marks and the retention floor (see above).
  static result<std::unique_ptr<snapshot_store>> open(const std::string& log_dir,
                                                      snapshot_options o = {},
                                                      event_log* log = nullptr);

  // Writes a snapshot of `scope` covering the log up to `covers_seq`. errc::invalid_argument
  // if covers_seq is not newer than the scope's newest snapshot; errc::io_error / no_space.
  result<snapshot_info> save(std::uint64_t scope, std::uint64_t covers_seq,
                             std::uint64_t covers_actor_seq, std::span<const std::byte> state);
  // The newest valid snapshot of `scope` with covers_seq <= max_seq. errc::not_found if there
  // is none (the message lists the damaged ones skipped).
  result<loaded_snapshot> load(std::uint64_t scope,
                               std::uint64_t max_seq = ~std::uint64_t{0}) const;
  // The snapshots of `scope`, newest first, from their headers (not verified).
  std::vector<snapshot_info> list(std::uint64_t scope) const;
  // Every scope with a snapshot directory.
  std::vector<std::uint64_t> scopes() const;
  // Declares a scope whose state is rebuilt from the log: until its first snapshot, retention
  // keeps the whole log.
  void need(std::uint64_t scope);

  // Reads and verifies one snapshot file (keel-log snapshot verify).
  static result<loaded_snapshot> read_file(const std::string& path, io_env* env = nullptr);

 private:
  snapshot_store() = default;
  void update_floor();  // mu_ held

  std::string dir_;
  snapshot_options opt_;
  io_env* env_ = nullptr;
  event_log* log_ = nullptr;
  std::uint8_t log_id_[16] = {};
  mutable std::mutex mu_;
  std::map<std::uint64_t, std::uint64_t> oldest_kept_;  // scope -> oldest kept covers_seq (0: none)
};

}  // namespace keel::eventlog
