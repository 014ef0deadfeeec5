// sync(), the failed state, and the log's own thread (spare segments and sealing).
#include <cstring>
#include <thread>

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
  if (status st = env_->rename(tmp, path); !st) return give_up(st);
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
}

status event_log::impl::sync() {
  std::lock_guard<std::mutex> lock(mu_);
  if (failed_.load(std::memory_order_acquire)) {
    return status(errc::log_failed, "the event log failed earlier; see failure()");
  }
  log_segment* a = active_.load(std::memory_order_acquire);
  const std::uint64_t tail = __atomic_load_n(a->tail_word(), __ATOMIC_ACQUIRE);
  // The segments between the last synced one and the active one, oldest first.
  std::deque<log_segment*> chain;
  for (log_segment* s = a; s != nullptr; s = s->prev) {
    chain.push_front(s);
    if (s->synced_offset >= s->capacity) break;
  }
  std::uint64_t durable = durable_seq_.load(std::memory_order_relaxed);
  bool dir_dirty = false;
  for (log_segment* s : chain) {
    if (s->synced_offset >= s->capacity && s != a) continue;
    const bool rolled = s != a;
    const std::uint64_t limit =
        rolled ? s->capacity : std::min<std::uint64_t>(tail & 0xffffffffu, s->capacity);
    std::uint64_t records = 0;
    const std::uint64_t end = committed_end(s, s->synced_offset, limit, records);
    if (end == 0) return status(errc::log_failed, "the event log failed during sync()");
    if (status st = env_->msync(s->base, end); !st) {
      fail(st);
      return failure_;
    }
    if (status st = env_->fdatasync(s->fd); !st) {
      fail(st);
      return failure_;
    }
    dir_dirty = dir_dirty || s->activated_since_dir_sync;
    s->activated_since_dir_sync = false;
    s->synced_records += records;
    s->synced_offset = rolled ? s->capacity : end;
    durable = s->header().base_seq + (rolled ? s->roll_ordinal : s->synced_records);
    s->header().durable = s->synced_offset;
  }
  if (dir_dirty) {
    if (status st = env_->sync_dir(dir_ + "/seg"); !st) {
      fail(st);
      return failure_;
    }
  }
  durable_seq_.store(durable, std::memory_order_release);
  return status();
}

void event_log::impl::fail(status why) {
  {
    std::lock_guard<std::mutex> lock(fail_mu_);
    if (failed_.load(std::memory_order_relaxed)) return;
    failure_ = why;
    failed_.store(true, std::memory_order_release);
  }
  if (opt_.on_failure) {
    try {
      opt_.on_failure(why);
    } catch (...) {
      // A callback that throws must not take the log's caller down.
    }
  }
}

void event_log::impl::start_thread() {
  thread_ = std::thread([this] {
    std::uint64_t seen = roll_epoch_.load(std::memory_order_acquire);
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_.load(std::memory_order_acquire)) return;
        // Seal what was rolled since the last round, oldest first.
        log_segment* a = active_.load(std::memory_order_acquire);
        std::deque<log_segment*> rolled;
        for (log_segment* s = a->prev; s != nullptr && s != sealed_upto_; s = s->prev) {
          rolled.push_front(s);
        }
        for (log_segment* s : rolled) seal(s);
        if (a->prev != nullptr) sealed_upto_ = a->prev;
        if (spare_.load(std::memory_order_acquire) == nullptr &&
            !failed_.load(std::memory_order_acquire)) {
          if (status st = prepare_spare(); !st) {
            spare_error_ = st;
            spare_failed_.store(true, std::memory_order_release);
            return;  // the next roll fails the log with it
          }
        }
      }
      roll_epoch_.wait(seen, std::memory_order_acquire);
      seen = roll_epoch_.load(std::memory_order_acquire);
    }
  });
}

void event_log::impl::stop_thread() {
  if (!thread_.joinable()) return;
  stopping_.store(true, std::memory_order_release);
  roll_epoch_.fetch_add(1, std::memory_order_release);
  roll_epoch_.notify_one();
  thread_.join();
}

}  // namespace keel::eventlog
