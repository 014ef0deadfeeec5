// sync(), the failed state, and the log's own thread: spare segments, sealing and releasing
// rolled segments, periodic and group syncs, the roll by age, and retention.
#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <thread>

#include "eventlog/compress.h"
#include "eventlog/index.h"
#include "eventlog/log_impl.h"

#include <keel/sched/clock.h>

namespace keel::eventlog {
namespace {

// Waits until the frame at `f`, which a claim below the tail covers, is committed, and returns
// its length. The appender that claimed it is a thread of this process: it may not have stored
// even its claim marker yet (0) or be writing the frame (negative). 0 only if the log failed.
std::int32_t wait_committed(const char* f, const std::atomic<bool>& failed) {
  for (unsigned spins = 0;; ++spins) {
    const std::int32_t len = detail::load_commit(f);
    if (len > 0) return len;
    if (failed.load(std::memory_order_relaxed)) return 0;
    if (spins < 64) {
      sched::cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
}

}  // namespace

// Creates the next segment as a spare: built under a temporary name (preallocated, its header
// written, mapped and pre-faulted), then renamed, so that a file with a segment's name always
// has a header; a crash part-way leaves only a .tmp that recovery deletes.
status event_log::impl::prepare_spare() {
  const std::uint64_t no = next_segment_no_;
  const std::string path = dir_ + "/" + detail::segment_file_name(no);
  const std::string tmp = path + ".tmp";
  auto space = env_->free_space(dir_);
  if (!space) return space.error();
  if (*space < opt_.segment_size) {
    return status(errc::no_space, "no room for the next segment (" +
                                      std::to_string(opt_.segment_size) + " bytes) in " + dir_);
  }
  auto fd = env_->open(tmp, true, true);
  if (!fd) return fd.error();
  auto seg = std::make_unique<log_segment>();
  seg->no = no;
  seg->fd = *fd;
  seg->capacity = opt_.segment_size;
  auto give_up = [&](status st) {
    if (seg->base != nullptr) (void)env_->unmap(seg->base, seg->capacity);
    (void)env_->close(seg->fd);
    (void)env_->unlink(tmp);
    return st;
  };
  if (status st = env_->allocate(seg->fd, seg->capacity); !st) return give_up(st);
  segment_header h{};
  std::memcpy(h.magic, k_segment_magic.data(), sizeof(h.magic));
  h.version = k_format_version;
  h.header_size = k_header_size;
  std::memcpy(h.log_id, log_id_, sizeof(h.log_id));
  h.segment_no = no;
  h.capacity = seg->capacity;
  h.max_record = opt_.max_record;
  h.align = k_align;
  if (status st = env_->write_at(seg->fd, 0, &h, sizeof(h)); !st) return give_up(st);
  auto mem = env_->map(seg->fd, seg->capacity, true);
  if (!mem) return give_up(mem.error());
  seg->base = static_cast<char*>(*mem);
  // The header on disk before the name: a crash never leaves a segment file without one.
  if (status st = env_->fdatasync(seg->fd); !st) return give_up(st);
  if (status st = env_->rename(tmp, path); !st) return give_up(st);
  seg->activated_since_dir_sync = true;
  ++next_segment_no_;
  log_segment* p = seg.get();
  segments_.push_back(std::move(seg));
  spare_.store(p, std::memory_order_release);
  return status();
}

// Walks the frames of `s` from `from` to `limit` (every offset below it is claimed), waiting
// for those in flight; adds the records passed (padding is not one) to `records`. A roll's
// padding runs to the segment's end, past any limit.
// Returns the end of the frames walked, or 0 if the log failed meanwhile.
std::uint64_t event_log::impl::committed_end(log_segment* s, std::uint64_t from,
                                             std::uint64_t limit, std::uint64_t& records) {
  std::uint64_t off = from;
  while (off + k_min_frame <= limit) {
    const std::int32_t len = wait_committed(s->base + off, failed_);
    if (len <= 0) return 0;
    std::uint16_t type = 0;
    std::memcpy(&type, s->base + off + 4, sizeof(type));
    off += align_up(static_cast<std::uint64_t>(len));
    if (type != static_cast<std::uint16_t>(record_type::padding)) ++records;
  }
  return off;
}

void event_log::impl::seal(log_segment* s) {
  // Every claim below the roll offset was made before the roll; wait for its commit.
  std::uint64_t records = 0;
  if (committed_end(s, k_header_size, s->roll_offset, records) == 0) {
    return;  // the log failed: leave it unsealed for recovery
  }
  segment_header& h = s->header();
  h.sealed_end = s->roll_offset;
  h.record_count = records;
  s->sealed = true;
}

// Invariant 4: unmaps a sealed segment's frames and closes its file; its header page becomes an
// anonymous copy, kept until close, for appenders that may still bump the tail word.
void event_log::impl::release(log_segment* s) {
  retained_segment r;
  r.no = s->no;
  r.end_seq = s->base_seq + s->roll_ordinal;
  r.bytes = s->capacity;
  r.created_ns = detail::wall_clock_ns();  // sealed now: its newest record is older than this
  r.synced = s->synced_offset >= s->capacity;
  void* copy =
      ::mmap(nullptr, k_header_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (copy == MAP_FAILED) return;  // keep it mapped: it costs address space, nothing else
  // The tail word atomically (late appenders may be bumping it), the rest as bytes.
  constexpr std::size_t tail_at = offsetof(segment_header, tail);
  std::memcpy(copy, s->base, tail_at);
  const std::uint64_t tail = __atomic_load_n(s->tail_word(), __ATOMIC_RELAXED);
  std::memcpy(static_cast<char*>(copy) + tail_at, &tail, sizeof(tail));
  std::memcpy(static_cast<char*>(copy) + tail_at + 8, s->base + tail_at + 8,
              k_header_size - tail_at - 8);
  // One step: the header page's address now holds the copy (a claim made meanwhile on the file's
  // page is past the end either way).
  if (::mremap(copy, k_header_size, k_header_size, MREMAP_MAYMOVE | MREMAP_FIXED, s->base) ==
      MAP_FAILED) {
    (void)::munmap(copy, k_header_size);
    return;
  }
  (void)env_->unmap(s->base + k_header_size, s->capacity - k_header_size);
  (void)env_->close(s->fd);
  s->fd = -1;
  s->released = true;
  s->released_tick = ticks_;
  retained_.push_back(r);
  queue_compression(r.no);
}

// Invariant 4: frees the header pages (and bookkeeping) of segments released release_grace
// ticks ago.
void event_log::impl::free_released() {
  const auto grace = static_cast<std::uint64_t>(opt_.release_grace.count());
  std::erase_if(segments_, [&](const std::unique_ptr<log_segment>& s) {
    if (!s->released || ticks_ - s->released_tick < grace) return false;
    (void)env_->unmap(s->base, k_header_size);
    return true;
  });
}

// roll_after: rolls the active segment when it is old enough and holds a record, by claiming
// the rest of it like an append that does not fit (invariant 2).
void event_log::impl::roll_by_age() {
  if (opt_.roll_after.count() <= 0 || failed_.load(std::memory_order_acquire)) return;
  log_segment* s = active_.load(std::memory_order_acquire);
  const std::uint64_t tail = __atomic_load_n(s->tail_word(), __ATOMIC_RELAXED);
  const auto age = std::chrono::nanoseconds(detail::wall_clock_ns() - s->created_ns);
  if ((tail >> 32) == 0 || age < opt_.roll_after) return;
  // The spare must be ready: roll() would wait for this thread to make it.
  if (spare_.load(std::memory_order_acquire) == nullptr) return;
  const std::uint64_t old =
      __atomic_fetch_add(s->tail_word(), (std::uint64_t{1} << 32) + s->capacity, __ATOMIC_RELAXED);
  const std::uint64_t off = old & 0xffffffffu;
  if (off <= s->capacity) roll(s, off, old >> 32);  // else an append rolled it first
}

// Deletes the oldest sealed segments beyond retain_bytes or retain_age, never one holding a
// record at or after the retention floor.
void event_log::impl::apply_retention() {
  if (opt_.retain_bytes == 0 && opt_.retain_age.count() <= 0) return;
  if (opt_.retention_waits_for_floor && !floor_set_.load(std::memory_order_acquire)) return;
  std::uint64_t total = 0;
  for (const retained_segment& r : retained_) total += r.bytes;
  for (const auto& s : segments_) {
    if (!s->released) total += s->capacity;
  }
  const std::int64_t now = detail::wall_clock_ns();
  const std::uint64_t floor = retention_floor_.load(std::memory_order_relaxed);
  bool removed = false;
  while (!retained_.empty()) {
    const retained_segment& r = retained_.front();
    const bool too_big = opt_.retain_bytes != 0 && total > opt_.retain_bytes;
    const bool too_old = opt_.retain_age.count() > 0 &&
                         std::chrono::nanoseconds(now - r.created_ns) > opt_.retain_age;
    if (!(too_big || too_old) || r.end_seq > floor) break;
    const std::string file =
        r.compressed ? detail::compressed_file_name(r.no) : detail::segment_file_name(r.no);
    if (status st = env_->unlink(dir_ + "/" + file); !st) {
      fail(st);
      return;
    }
    (void)env_->unlink(dir_ + "/" + detail::index_file_name(r.no));  // derived; may be missing
    total -= r.bytes;
    retained_.pop_front();
    removed = true;
  }
  if (removed) {
    if (status st = env_->sync_dir(dir_ + "/seg"); !st) fail(st);
  }
}

status event_log::impl::sync_locked(std::uint64_t& durable) {
  if (failed_.load(std::memory_order_acquire)) {
    return status(errc::log_failed, "the event log failed earlier; see failure()");
  }
  log_segment* a = active_.load(std::memory_order_acquire);
  const std::uint64_t tail = __atomic_load_n(a->tail_word(), __ATOMIC_ACQUIRE);
  durable = durable_seq_.load(std::memory_order_relaxed);
  auto failed_with = [this](status st) {
    fail(st);
    return failure_;
  };
  // Sealed and released segments whose records are not yet on stable storage, oldest first.
  for (retained_segment& r : retained_) {
    if (r.synced) continue;
    const std::string path = dir_ + "/" + detail::segment_file_name(r.no);
    auto fd = env_->open(path, false, false);
    if (!fd) return failed_with(fd.error());
    status st = env_->fdatasync(*fd);
    (void)env_->close(*fd);
    if (!st) return failed_with(st);
    r.synced = true;
    durable = std::max(durable, r.end_seq);
  }
  // The mapped ones: rolled and not released yet, then the active one (not the spare).
  bool dir_dirty = false;
  for (const auto& sp : segments_) {
    log_segment* s = sp.get();
    if (s->released || s->no > a->no) continue;
    if (s->synced_offset >= s->capacity && s != a) continue;
    const bool rolled = s != a;
    const std::uint64_t limit =
        rolled ? s->capacity : std::min<std::uint64_t>(tail & 0xffffffffu, s->capacity);
    std::uint64_t records = 0;
    const std::uint64_t end = committed_end(s, s->synced_offset, limit, records);
    if (end == 0) return status(errc::log_failed, "the event log failed during sync()");
    if (status st = env_->msync(s->base, end); !st) return failed_with(st);
    if (status st = env_->fdatasync(s->fd); !st) return failed_with(st);
    dir_dirty = dir_dirty || s->activated_since_dir_sync;
    s->activated_since_dir_sync = false;
    s->synced_records += records;
    s->synced_offset = rolled ? s->capacity : end;
    durable = s->base_seq + (rolled ? s->roll_ordinal : s->synced_records);
    s->header().durable = s->synced_offset;
  }
  if (dir_dirty) {
    if (status st = env_->sync_dir(dir_ + "/seg"); !st) return failed_with(st);
  }
  return status();
}

status event_log::impl::sync() {
  status st;
  std::uint64_t durable = 0;
  bool advanced = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    st = sync_locked(durable);
    advanced = st && durable > durable_seq_.load(std::memory_order_relaxed);
    if (advanced) durable_seq_.store(durable, std::memory_order_release);
  }
  if (!st) {
    report_failure();  // outside mu_: the sink may call the log
    return st;
  }
  if (advanced) {
    { std::lock_guard<std::mutex> lock(durable_mu_); }
    durable_cv_.notify_all();
    if (opt_.on_durable) {
      try {
        opt_.on_durable(durable);
      } catch (...) {
        // A callback that throws must not stop the log's syncs.
      }
    }
  }
  return status();
}

void event_log::impl::request_sync() noexcept {
  if (opt_.mode != durability::group_commit) return;
  if (sync_requested_.exchange(true, std::memory_order_acq_rel)) return;  // already pending
  wake_thread();
}

status event_log::impl::wait_durable(std::uint64_t seq) {
  if (seq == 0 || seq >= next_seq()) {
    return status(errc::invalid_argument,
                  "wait_durable: seq " + std::to_string(seq) + " was never appended");
  }
  auto done = [&] { return durable_seq_.load(std::memory_order_acquire) > seq; };
  if (opt_.mode == durability::page_cache) {
    while (!done()) {
      if (status st = sync(); !st) return st;
    }
    return status();
  }
  request_sync();
  std::unique_lock<std::mutex> lock(durable_mu_);
  durable_cv_.wait(lock,
                   [&] { return done() || failure_reported_.load(std::memory_order_acquire); });
  if (done()) return status();
  return status(errc::log_failed, "the event log failed before the record was durable");
}

void event_log::impl::fail(status why) {
  std::lock_guard<std::mutex> lock(fail_mu_);
  if (failed_.load(std::memory_order_relaxed)) return;
  failure_ = why;
  failed_.store(true, std::memory_order_release);
}

void event_log::impl::report_failure() {
  if (!failed_.load(std::memory_order_acquire)) return;
  if (failure_told_.exchange(true, std::memory_order_acq_rel)) return;
  status why;
  {
    std::lock_guard<std::mutex> lock(fail_mu_);
    why = failure_;
  }
  if (opt_.on_failure) {
    try {
      opt_.on_failure(why);
    } catch (...) {
      // A callback that throws must not take the log's caller down.
    }
  }
  // Then the waiters: wait_durable() returns log_failed once the sink has been told.
  failure_reported_.store(true, std::memory_order_release);
  { std::lock_guard<std::mutex> lock(durable_mu_); }
  durable_cv_.notify_all();
}

void event_log::impl::wake_thread() noexcept {
  // Under wake_mu_, so that the wake-up cannot fall between the thread's check of its flags and
  // its wait.
  { std::lock_guard<std::mutex> lock(wake_mu_); }
  wake_cv_.notify_one();
}

void event_log::impl::start_thread() {
  thread_ = std::thread([this] {
    using clock = std::chrono::steady_clock;
    const bool syncs = opt_.mode != durability::page_cache;
    const bool housekeeping = opt_.roll_after.count() > 0 || opt_.retain_age.count() > 0;
    auto next_sync = clock::now() + opt_.sync_interval;
    auto next_tick = clock::now() + std::chrono::seconds(1);
    std::uint64_t seen = roll_epoch_.load(std::memory_order_acquire);
    for (;;) {
      bool holding_released = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_.load(std::memory_order_acquire)) return;
        if (clock::now() >= next_tick) {
          ++ticks_;
          next_tick = clock::now() + std::chrono::seconds(1);
        }
        free_released();
        // Seal and release what was rolled since the last round, oldest first.
        log_segment* a = active_.load(std::memory_order_acquire);
        for (const auto& sp : segments_) {
          log_segment* s = sp.get();
          if (s->no >= a->no || s->released) continue;
          if (!s->sealed) seal(s);
          if (s->sealed) release(s);
        }
        roll_by_age();
        apply_retention();
        // A spare that could not be made (no space, say) is tried again each round, so that
        // room freed before the next roll saves the log; a roll that finds none fails it.
        if (spare_.load(std::memory_order_acquire) == nullptr &&
            !failed_.load(std::memory_order_acquire)) {
          // While this try runs, a roll waits for its outcome instead of failing the log on the
          // last try's error (the spare's file can appear before the spare is published).
          spare_failed_.store(false, std::memory_order_release);
          if (status st = prepare_spare(); !st) {
            {
              std::lock_guard<std::mutex> fl(fail_mu_);
              spare_error_ = st;
            }
            spare_failed_.store(true, std::memory_order_release);
          } else {
            spare_failed_.store(false, std::memory_order_release);
          }
        }
        holding_released = std::any_of(segments_.begin(), segments_.end(),
                                       [](const auto& s) { return s->released; });
      }
      report_failure();  // outside mu_ (a failure met in this round)
      if (syncs) {
        const bool asked = sync_requested_.exchange(false, std::memory_order_acq_rel);
        if (asked || clock::now() >= next_sync) {
          // A failure is final and reported by report_failure(). Nothing new: no system
          // call.
          if (next_seq() > durable_seq_.load(std::memory_order_acquire)) (void)sync();
          next_sync = clock::now() + opt_.sync_interval;
        }
      }
      std::unique_lock<std::mutex> lock(wake_mu_);
      auto woken = [&] {
        return stopping_.load(std::memory_order_acquire) ||
               roll_epoch_.load(std::memory_order_acquire) != seen ||
               sync_requested_.load(std::memory_order_acquire);
      };
      const bool retry_spare =
          spare_failed_.load(std::memory_order_acquire) && !failed_.load(std::memory_order_acquire);
      if (syncs || housekeeping || retry_spare || holding_released) {
        auto until = syncs ? next_sync : clock::now() + std::chrono::seconds(1);
        if (housekeeping || retry_spare || holding_released) {
          until = std::min(until, clock::now() + std::chrono::seconds(1));
        }
        wake_cv_.wait_until(lock, until, woken);
      } else {
        wake_cv_.wait(lock, woken);
      }
      seen = roll_epoch_.load(std::memory_order_acquire);
    }
  });
}

void event_log::impl::stop_thread() {
  if (!thread_.joinable()) return;
  stopping_.store(true, std::memory_order_release);
  wake_thread();
  thread_.join();
}

}  // namespace keel::eventlog
