// The deterministic executor (include/keel/sched/deterministic.h): the scheduler's one worker,
// run by whichever thread drives it. Tasks are scheduled by the same code as on the
// work-stealing scheduler (run-next slot, ring, pinned inbox, injection queue); before each
// activation the driver moves everything queued there into one runnable list, oldest first, and
// the delivery policy picks from that list.
#include <algorithm>
#include <utility>

#include "sched/scheduler_impl.h"

#include <keel/base/splitmix.h>

namespace keel::sched {

std::size_t seeded_random_policy::pick(std::span<task* const> runnable) noexcept {
  // SplitMix64, then Lemire's multiply-shift onto [0, n).
  const std::uint64_t z = splitmix64(state_);
  __extension__ using u128 = unsigned __int128;
  return static_cast<std::size_t>((static_cast<u128>(z) * runnable.size()) >> 64);
}

bool deterministic_executor::run_one() { return impl_->det_run_one(nullptr); }
task* deterministic_executor::next() { return impl_->det_next(); }
bool deterministic_executor::run(task* t) { return t != nullptr && impl_->det_run_one(t); }

std::size_t deterministic_executor::run_until_idle(std::size_t limit) {
  std::size_t n = 0;
  while (n < limit && impl_->det_run_one(nullptr)) ++n;
  return n;
}

std::size_t deterministic_executor::advance(std::chrono::nanoseconds d) {
  return impl_->det_advance(d);
}

std::uint64_t deterministic_executor::now() const noexcept {
  return impl_->virtual_now_.load(std::memory_order_relaxed);
}

void deterministic_executor::set_clock(std::uint64_t ns) noexcept {
  impl_->virtual_now_.store(ns, std::memory_order_relaxed);
}

std::size_t deterministic_executor::runnable() { return impl_->det_runnable(); }

std::uint64_t deterministic_executor::activations() const noexcept {
  return impl_->workers[0]->stats->activations.load(std::memory_order_relaxed);
}

// ---- scheduler_impl: the driver
// ------------------------------------------------------------------

void scheduler_impl::det_init() {
  deterministic_ = true;
  cfg.spin = std::chrono::nanoseconds(0);  // a spin would wait for a clock that never moves
  if (cfg.policy == nullptr) cfg.policy = std::make_shared<fifo_policy>();
  virtual_now_.store(cfg.virtual_start_ns, std::memory_order_relaxed);
  start_ns_ = cfg.virtual_start_ns;
  worker_core& c = *workers[0];
  c.face.clock_.use_virtual(&virtual_now_);
  c.face.now_ = cfg.virtual_start_ns;
  det_face_.reset(new deterministic_executor(this));
}

bool scheduler_impl::det_driving_here() const noexcept {
  return worker::tls_current_ == &workers[0]->face;
}

// The calling thread acts as worker 0 for `f`. REQUIRES: drive_mu_ held.
template <class F>
void scheduler_impl::as_worker(F&& f) {
  worker* prev = std::exchange(worker::tls_current_, &workers[0]->face);
  f(*workers[0]);
  worker::tls_current_ = prev;
}

// Oldest first: the injection queue (outside threads, ring overflow), the pinned inbox, the
// ring, then the run-next slot (the most recent). REQUIRES: drive_mu_ held.
void scheduler_impl::det_collect(worker_core& c) {
  task* batch[64];
  while (std::size_t n = inject_.try_pop_bulk(batch, 64)) {
    runnable_.insert(runnable_.end(), batch, batch + n);
  }
  while (task* t = c.pinned.pop()) runnable_.push_back(t);
  while (task* t = c.ring.pop()) runnable_.push_back(t);
  if (task* t = c.lifo->exchange(nullptr, std::memory_order_acquire)) runnable_.push_back(t);
}

// Fires due timers and collects queued work. REQUIRES: drive_mu_ held, inside as_worker.
void scheduler_impl::det_prepare(worker_core& c) {
  c.face.refresh_clock();
  if (c.face.now() >= due_.timer.load(std::memory_order_acquire)) poll_timers(c);
  det_collect(c);
}

// The index of the task to run next: the one already picked by next(), else the policy's
// choice; runnable_.size() when nothing is runnable. REQUIRES: det_prepare() just ran.
std::size_t scheduler_impl::det_pick() {
  if (runnable_.empty()) return 0;
  if (picked_ != nullptr) {
    auto it = std::find(runnable_.begin(), runnable_.end(), picked_);
    if (it != runnable_.end()) return static_cast<std::size_t>(it - runnable_.begin());
  }
  std::size_t i = cfg.policy->pick(std::span<task* const>(runnable_.data(), runnable_.size()));
  if (i >= runnable_.size()) i = 0;
  picked_ = runnable_[i];
  return i;
}

task* scheduler_impl::det_next() {
  if (!started || det_driving_here()) return nullptr;
  std::lock_guard<std::mutex> lock(drive_mu_);
  task* t = nullptr;
  as_worker([&](worker_core& c) {
    det_prepare(c);
    const std::size_t i = det_pick();
    if (i < runnable_.size()) t = runnable_[i];
  });
  return t;
}

// Runs `want` if it is runnable, or the next pick when `want` is nullptr.
bool scheduler_impl::det_run_one(task* want) {
  if (!started || det_driving_here()) return false;  // not from inside an activation
  std::lock_guard<std::mutex> lock(drive_mu_);
  bool ran = false;
  as_worker([&](worker_core& c) {
    det_prepare(c);
    std::size_t i = 0;
    if (want != nullptr) {
      i = static_cast<std::size_t>(std::find(runnable_.begin(), runnable_.end(), want) -
                                   runnable_.begin());
    } else {
      i = det_pick();
    }
    if (i >= runnable_.size()) return;
    task* t = runnable_[i];
    runnable_.erase(runnable_.begin() + static_cast<std::ptrdiff_t>(i));
    if (t == picked_) picked_ = nullptr;
    c.face.refresh_clock();
    owner_add(c.stats->activations);
    if (runner.run(t, c.face) == run_result::yield) runnable_.push_back(t);
    ran = true;
  });
  return ran;
}

std::size_t scheduler_impl::det_runnable() {
  if (!started || det_driving_here()) return runnable_.size();
  std::lock_guard<std::mutex> lock(drive_mu_);
  as_worker([&](worker_core& c) { det_collect(c); });
  return runnable_.size();
}

// Fires the timers due at the virtual clock's current value. REQUIRES: nothing else drives.
void scheduler_impl::det_fire_due() {
  std::lock_guard<std::mutex> lock(drive_mu_);
  as_worker([&](worker_core& c) {
    c.face.refresh_clock();
    poll_timers(c);
  });
}

// Moves the clock to the next timer if it is due by `limit`; false if there is none.
bool scheduler_impl::det_step_to_timer(std::uint64_t limit) {
  const std::uint64_t next = due_.timer.load(std::memory_order_acquire);
  if (next == UINT64_MAX || next > limit) return false;
  if (next > virtual_now_.load(std::memory_order_relaxed)) {
    virtual_now_.store(next, std::memory_order_relaxed);
  }
  det_fire_due();
  return true;
}

std::size_t scheduler_impl::det_advance(std::chrono::nanoseconds d) {
  if (!started || det_driving_here()) return 0;
  const std::uint64_t now = virtual_now_.load(std::memory_order_relaxed);
  const auto step = static_cast<std::uint64_t>(std::max<std::int64_t>(0, d.count()));
  const std::uint64_t target = now > UINT64_MAX - step ? UINT64_MAX - 1 : now + step;
  std::size_t n = det_face_->run_until_idle();
  while (det_step_to_timer(target)) n += det_face_->run_until_idle();
  if (target > virtual_now_.load(std::memory_order_relaxed)) {
    virtual_now_.store(target, std::memory_order_relaxed);
  }
  return n;
}

bool scheduler_impl::det_await(std::chrono::nanoseconds timeout, bool (*ready)(void*), void* arg) {
  if (!started || det_driving_here())
    return ready(arg);  // nothing to run, or it would wait on itself
  const std::uint64_t now = virtual_now_.load(std::memory_order_relaxed);
  const auto span = static_cast<std::uint64_t>(std::max<std::int64_t>(0, timeout.count()));
  const std::uint64_t deadline = now > UINT64_MAX - span ? UINT64_MAX - 1 : now + span;
  for (;;) {
    if (ready(arg)) return true;
    if (det_run_one(nullptr)) continue;
    if (!det_step_to_timer(deadline)) break;
  }
  if (deadline > virtual_now_.load(std::memory_order_relaxed)) {
    virtual_now_.store(deadline, std::memory_order_relaxed);
  }
  return ready(arg);
}

void scheduler_impl::det_start() {
  std::lock_guard<std::mutex> lock(drive_mu_);
  as_worker([&](worker_core& c) { runner.on_worker_start(c.face); });
}

void scheduler_impl::det_stop() {
  std::lock_guard<std::mutex> lock(drive_mu_);
  as_worker([&](worker_core& c) { runner.on_worker_stop(c.face); });
}

}  // namespace keel::sched
