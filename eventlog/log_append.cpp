// The append path: claim, write, commit; and the roll to the next segment.
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstring>
#include <thread>

#include "eventlog/log_impl.h"

#include <keel/base/splitmix.h>
#include <keel/sched/clock.h>

namespace keel::eventlog {
namespace {

// The commit word's stores. relaxed for the claim marker (-len): it only tells a reader that
// the frame is in flight; release for the commit (+len): a reader that loads it with acquire
// sees every byte of the frame.
void store_claimed(char* frame, std::int32_t len) noexcept {
  __atomic_store_n(reinterpret_cast<std::int32_t*>(frame), -len, __ATOMIC_RELAXED);
}
void store_committed(char* frame, std::int32_t len) noexcept {
  __atomic_store_n(reinterpret_cast<std::int32_t*>(frame), len, __ATOMIC_RELEASE);
}

}  // namespace

result<std::uint64_t> event_log::impl::append(const record_in& r) noexcept {
  const std::uint64_t len64 = k_frame_header + r.payload.size();
  if (len64 > opt_.max_record) [[unlikely]] {
    return status(errc::invalid_argument, "event_log::append: the record exceeds max_record");
  }
  if (r.type == record_type::padding) [[unlikely]] {
    return status(errc::invalid_argument, "event_log::append: padding is not a record");
  }
  const auto len = static_cast<std::uint32_t>(len64);
  const std::uint64_t step = (std::uint64_t{1} << 32) + align_up(len);
  for (;;) {
    if (failed_.load(std::memory_order_relaxed)) [[unlikely]] {
      return status(errc::log_failed, "the event log failed earlier; see failure()");
    }
    log_segment* s = active_.load(std::memory_order_acquire);
    const std::uint64_t old = __atomic_fetch_add(s->tail_word(), step, __ATOMIC_RELAXED);
    const std::uint64_t off = old & 0xffffffffu;
    const std::uint64_t ordinal = old >> 32;
    if (off + align_up(len) <= s->capacity) [[likely]] {
      char* f = s->base + off;
      const segment_header& h = s->header();
      store_claimed(f, static_cast<std::int32_t>(len));
      frame_header fh;
      fh.len = static_cast<std::int32_t>(len);
      fh.type = static_cast<std::uint16_t>(r.type);
      fh.flags = r.flags;
      fh.checksum = 0;
      fh.seq = h.base_seq + ordinal;
      fh.ts_ns = r.ts_ns;
      fh.actor_id = r.actor_id;
      fh.actor_seq = r.actor_seq;
      fh.message_id = r.message_id;
      fh.correlation = r.correlation;
      fh.causation = r.causation;
      fh.payload_type = r.payload_type;
      // Everything but the commit word, which goes last.
      std::memcpy(f + 4, reinterpret_cast<const char*>(&fh) + 4, k_frame_header - 4);
      if (!r.payload.empty()) std::memcpy(f + k_frame_header, r.payload.data(), r.payload.size());
      // The checksum's seed covers the first word as committed (positive length).
      char first[8];
      std::memcpy(first, &fh, sizeof(first));
      std::uint64_t word0 = 0;
      std::memcpy(&word0, first, sizeof(word0));
      const std::uint64_t sum = XXH3_64bits_withSeed(f + 16, len - 16, h.salt ^ word0);
      std::memcpy(f + 8, &sum, sizeof(sum));
      store_committed(f, static_cast<std::int32_t>(len));
      return fh.seq;
    }
    if (off <= s->capacity) {
      roll(s, off, ordinal);  // this claim is the first that does not fit (invariant 2)
    } else {
      // Past the end: wait for the roller to publish the next segment.
      for (unsigned spins = 0; active_.load(std::memory_order_acquire) == s; ++spins) {
        if (failed_.load(std::memory_order_relaxed)) break;
        if (spins < 64) {
          sched::cpu_relax();
        } else {
          std::this_thread::yield();
        }
      }
    }
  }
}

void event_log::impl::activate(log_segment* s, std::uint64_t base_seq,
                               std::uint64_t prev_salt) noexcept {
  segment_header& h = s->header();
  h.base_seq = base_seq;
  h.salt = splitmix64(salt_state_) | 1;  // never 0
  h.prev_salt = prev_salt;
  std::memcpy(h.writer_boot_id, boot_id_, sizeof(h.writer_boot_id));
  h.writer_pid = static_cast<std::uint32_t>(::getpid());
  std::memcpy(h.writer_incarnation, incarnation_, sizeof(h.writer_incarnation));
  h.created_ns = detail::wall_clock_ns();
  h.tail = k_header_size;  // ordinal 0
  s->base_seq = base_seq;
  s->created_ns = h.created_ns;
  // The active flag goes in last: a writer killed part-way leaves a spare without it (deleted by
  // recovery), never an active header whose checksum does not match. The checksum covers the
  // flag, so it is computed over a copy that has it. (release: the compiler keeps the flag's
  // store after the others; a killed process's stores are all in the page cache.)
  segment_header copy = h;
  copy.flags |= k_segment_active;
  h.header_xxh3 = detail::header_checksum(copy);
  __atomic_store_n(&h.flags, copy.flags, __ATOMIC_RELEASE);
  s->synced_offset = k_header_size;
  s->synced_records = 0;
}

// The claim at `off` (ordinal `ordinal`) is the first that does not fit in `s`. Closes `s` with
// a padding frame, activates the spare as the next segment and publishes it. Waits for the
// spare if the log's thread has not finished it (the only wait an append can meet).
void event_log::impl::roll(log_segment* s, std::uint64_t off, std::uint64_t ordinal) noexcept {
  const std::uint64_t room = s->capacity - off;
  if (room >= k_min_frame) detail::write_padding(s->base + off, room, s->header().salt);
  s->roll_offset = off;
  s->roll_ordinal = ordinal;
  log_segment* next = nullptr;
  for (unsigned spins = 0; (next = spare_.exchange(nullptr, std::memory_order_acq_rel)) == nullptr;
       ++spins) {
    if (failed_.load(std::memory_order_relaxed)) return;  // the waiters see it too
    if (spare_failed_.load(std::memory_order_acquire)) {
      status why;
      {
        std::lock_guard<std::mutex> lock(fail_mu_);  // (rare path: locks are fine here)
        why = spare_error_;
      }
      fail(why);
      report_failure();
      return;
    }
    if (spins < 64) {
      sched::cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
  activate(next, s->header().base_seq + ordinal, s->header().salt);
  active_.store(next, std::memory_order_release);
  // Wake the log's thread: it seals `s` and prepares the next spare. (One futex wake per
  // segment, not per append.)
  roll_epoch_.fetch_add(1, std::memory_order_release);
  wake_thread();
}

}  // namespace keel::eventlog
