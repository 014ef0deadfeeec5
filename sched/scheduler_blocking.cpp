// Blocking work: dedicated workers (one thread each, for detached actors), block_in_place, and
// the watch that reports long activations. See include/keel/sched/scheduler.h.
#include <algorithm>
#include <string>

#include "sched/scheduler_impl.h"

namespace keel::sched {

// ---- dedicated workers --------------------------------------------------------------------------

result<std::uint32_t> scheduler_impl::start_dedicated(std::string_view name) {
#if !defined(KEEL_BENCH_WS_ONLY)
  if (deterministic_) return std::uint32_t{0};  // the executor's one worker runs it
#endif
  if (!started || shutdown_.load(std::memory_order_acquire)) {
    return status(errc::shutting_down, "no dedicated worker: the scheduler is not running");
  }
  std::lock_guard<std::mutex> lock(dedicated_mu_);
  join_retired_locked();
  std::uint32_t slot = k_max_dedicated;
  for (std::uint32_t i = 0; i < k_max_dedicated; ++i) {
    if (dedicated_[i].load(std::memory_order_relaxed) == nullptr) {
      slot = i;
      break;
    }
  }
  if (slot == k_max_dedicated) {
    return status(errc::full, "at most " + std::to_string(k_max_dedicated) +
                                  " dedicated workers (detached actors) at once");
  }
  auto core = std::make_unique<worker_core>(face, k_dedicated_pin + slot);
  core->dedicated = true;
  worker_core* c = core.get();
  try {
    c->thread = std::thread([this, c] { run_dedicated(*c); });
  } catch (const std::exception& ex) {
    return status(errc::out_of_memory, std::string("no thread for a detached actor: ") + ex.what());
  }
  std::string thread_name = "keel-d-" + std::string(name);
  if (thread_name.size() > 15) thread_name.resize(15);
  pthread_setname_np(c->thread.native_handle(), thread_name.c_str());
  dedicated_owned_.push_back(std::move(core));
  // release: the core's construction is visible to whoever schedules with this pin.
  dedicated_[slot].store(c, std::memory_order_release);
  dedicated_live_.fetch_add(1, std::memory_order_relaxed);
  return k_dedicated_pin + slot;
}

void scheduler_impl::schedule_dedicated(task* t, std::uint32_t pin) noexcept {
  const std::uint32_t slot = pin - k_dedicated_pin;
  worker_core* c =
      slot < k_max_dedicated ? dedicated_[slot].load(std::memory_order_acquire) : nullptr;
  if (c == nullptr || c->retired_flag.load(std::memory_order_acquire)) {
    // No such worker (it retired): the pool runs the task. (The actor layer moves a detached
    // actor's pin back to the pool before its worker retires, so this is a safety net.)
    inject_.push(t);
    notify_parked();
    return;
  }
  c->pinned.push(t);  // seq_cst exchange, then the seq_cst state() load in unpark
  if (c->park.state() == parker::k_parked) c->park.unpark();
}

void scheduler_impl::run_dedicated(worker_core& c) noexcept {
  enter_worker(c);
  while (!c.retired && !shutdown_.load(std::memory_order_acquire)) {
    const std::uint64_t began = c.face.refresh_clock();
    if (task* t = c.pinned.pop()) {
      owner_add(c.stats->activations);
      const run_result r = runner.run(t, c.face);
      const std::uint64_t ended = c.face.refresh_clock();  // (a blocking thread: one read more)
      c.face.last_activation_ns_ = ended > began ? ended - began : 0;
      owner_add(c.stats->busy_ns, c.face.last_activation_ns_);
      if (r == run_result::yield) {
        if (c.retired) {
          inject_.push(t);  // retired mid-way: the pool finishes it
          notify_parked();
        } else {
          c.pinned.push(t);
        }
      }
      continue;
    }
    owner_add(c.stats->parks);
    c.park.park(0, [&] { return !c.pinned.empty() || shutdown_.load(std::memory_order_seq_cst); });
  }
  // Anything still queued here goes to the pool (only after a retire that raced a schedule).
  while (task* t = c.pinned.pop()) inject_.push(t);
  notify_parked();
  leave_worker(c);
  c.finished.store(true, std::memory_order_release);
}

void scheduler_impl::retire_dedicated() noexcept {
  worker* w = worker::current();
  if (w == nullptr || !w->dedicated() || &w->owner() != face) return;
  w->core_->retired = true;
  w->core_->retired_flag.store(true, std::memory_order_release);
  dedicated_live_.fetch_sub(1, std::memory_order_relaxed);
}

void scheduler_impl::join_retired_locked() {
  for (auto it = dedicated_owned_.begin(); it != dedicated_owned_.end();) {
    worker_core* c = it->get();
    if (!c->finished.load(std::memory_order_acquire)) {
      ++it;
      continue;
    }
    if (c->thread.joinable()) c->thread.join();
    dedicated_[c->face.index() - k_dedicated_pin].store(nullptr, std::memory_order_release);
    it = dedicated_owned_.erase(it);
  }
}

void scheduler_impl::stop_dedicated() {
  std::lock_guard<std::mutex> lock(dedicated_mu_);
  for (auto& c : dedicated_owned_) c->park.unpark();
  for (auto& c : dedicated_owned_) {
    if (c->thread.joinable()) c->thread.join();
  }
  for (auto& c : dedicated_owned_) {
    dedicated_[c->face.index() - k_dedicated_pin].store(nullptr, std::memory_order_relaxed);
  }
  dedicated_owned_.clear();
  dedicated_live_.store(0, std::memory_order_relaxed);
}

// ---- block_in_place -----------------------------------------------------------------------------

void scheduler_impl::block_in_place(void (*fn)(void*), void* arg) {
  worker* w = worker::current();
#if !defined(KEEL_BENCH_WS_ONLY)
  if (deterministic_) {
    fn(arg);  // inline: the virtual clock does not move meanwhile
    return;
  }
#endif
  if (w == nullptr || &w->owner() != face || w->dedicated()) {
    fn(arg);  // not a pool worker: nobody waits for this thread's queue
    return;
  }
  worker_core& c = *w->core_;
  // Hand the queue over: the run-next task and the ring go to the injection queue, where any
  // worker takes them; a sleeper is woken. Tasks pinned here wait (they cannot move).
  if (task* t = c.lifo->exchange(nullptr, std::memory_order_acquire)) inject_.push(t);
  task* batch[run_queue::k_capacity];
  std::uint32_t n = 0;
  while (task* t = c.ring.pop()) batch[n++] = t;
  if (n != 0) inject_.push_bulk(batch, n);
  notify_parked();
  // Blocking on purpose: no long-activation report, and no thief waits for this activation.
  const std::uint64_t began = c.activation->start.load(std::memory_order_relaxed);
  c.activation->start.store(0, std::memory_order_relaxed);
  // While fn runs this thread is not a worker: what it wakes goes to the injection queue
  // (not to this worker's run-next slot, which nobody would run), and a blocking wait on the
  // runtime (an ask from outside) is allowed.
  worker::tls_current_ = nullptr;
  struct restore {
    worker* w;
    worker_core& c;
    std::uint64_t began;
    ~restore() {
      worker::tls_current_ = w;
      // The time fn took is not the activation's: the watch starts over from now. The cached
      // tick stays as it was (now() is constant within a handler).
      c.long_deadline = UINT64_MAX;
      c.activation->start.store(began == 0 ? 0 : (c.face.clock_.now() | 1),
                                std::memory_order_relaxed);
    }
  } guard{w, c, began};
  fn(arg);
}

// ---- long activations ---------------------------------------------------------------------------

void scheduler_impl::watch_activations(std::uint64_t now) noexcept {
  std::uint64_t due = due_.watch.load(std::memory_order_relaxed);
  // One scanner per period: the worker whose CAS moves the mark.
  if (now < due ||
      !due_.watch.compare_exchange_strong(due, now + watch_period_, std::memory_order_relaxed)) {
    return;
  }
  for (auto& w : workers) {
    const std::uint64_t start = w->activation->start.load(std::memory_order_relaxed);
    if (start != 0 && now > start && now - start >= long_ns_) report_if_long(*w, start, now);
  }
}

void scheduler_impl::report_if_long(worker_core& w, std::uint64_t start,
                                    std::uint64_t now) noexcept {
  std::uint64_t seen = w.activation->reported.load(std::memory_order_relaxed);
  if (seen == start) return;
  // Claim the report: once per activation, whoever sees it first (a peer or the owner).
  if (!w.activation->reported.compare_exchange_strong(seen, start, std::memory_order_relaxed)) {
    return;
  }
  task* t = w.activation->running.load(std::memory_order_acquire);
  runner.on_long_activation(w.face.index(), t, now - start);
}

}  // namespace keel::sched
