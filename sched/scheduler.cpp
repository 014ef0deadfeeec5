// The work-stealing scheduler. The wake-up protocol is Tokio's and Go's ("searching" workers,
// last searcher re-checks) with a bounded spin before parking; see docs/scheduler.md.
//
// Wake-up protocol, why no wake-up is lost:
//   Producer: publish work with a seq_cst RMW (ring tail exchange, inject pending fetch_add),
//             then notify_parked(): seq_cst load of idle_; wake a sleeper unless someone
//             searches or nobody sleeps.
//   Parker:   seq_cst RMW on idle_ (fewer unparked / searching), then, if it was the last
//             searcher, seq_cst loads of every queue (work_visible()).
//   In the single total order of seq_cst operations one of the two RMWs comes first, so either
//   the producer sees the parker gone and wakes someone, or the parker sees the work.
//   Non-last searchers may park without re-checking: a remaining searcher covers the work, and a
//   searcher that finds work wakes the next one (the wake chain in stop_searching()).
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "sched/alloc.h"
#include "sched/scheduler_impl.h"

namespace keel::sched {
namespace {

inline std::uint64_t next_random(std::uint64_t& s) noexcept {  // xorshift64*
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return s * 0x2545F4914F6CDD1DULL;
}

// A thief may take a victim's run-next task only if the victim has been inside one activation
// for at least this long (Go uses 3 us): request/response chains stay on one core.
constexpr std::uint64_t k_lifo_steal_age_ns = 5'000;

}  // namespace

scheduler_impl::scheduler_impl(const scheduler_config& config, task_runner& r, scheduler* f)
    : cfg(config), runner(r), face(f) {
  n_workers = cfg.workers != 0 ? cfg.workers : std::max(1U, std::thread::hardware_concurrency());
#if !defined(KEEL_BENCH_WS_ONLY)
  if (cfg.executor == executor_kind::deterministic) n_workers = 1;
#endif
  workers.reserve(n_workers);
  for (std::uint32_t i = 0; i < n_workers; ++i) {
    workers.push_back(std::make_unique<worker_core>(face, i));
    workers.back()->rng = 0x9E3779B97F4A7C15ULL * (i + 1);
  }
  idle_->store(static_cast<std::uint64_t>(n_workers) << 32, std::memory_order_relaxed);
  start_ns_ = clock_now();
  tick_ns_ = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(cfg.timer_tick.count()));
  steal_min_age_ns_ = static_cast<std::uint64_t>(cfg.steal_min_age.count());
  dedicated_.reset(new std::atomic<worker_core*>[k_max_dedicated]);
  for (std::uint32_t i = 0; i < k_max_dedicated; ++i) dedicated_[i].store(nullptr);
  if (cfg.long_activation.count() > 0 && cfg.executor == executor_kind::work_stealing) {
    long_ns_ = static_cast<std::uint64_t>(cfg.long_activation.count());
    watch_period_ = long_ns_ / 2;
    due_.watch.store(start_ns_ + watch_period_, std::memory_order_relaxed);
  }
#if !defined(KEEL_BENCH_WS_ONLY)
  if (cfg.executor == executor_kind::deterministic) det_init();
#endif
}

scheduler_impl::~scheduler_impl() { stop(); }

void scheduler_impl::start() {
  if (started) return;
  started = true;
#if !defined(KEEL_BENCH_WS_ONLY)
  if (deterministic_) {
    det_start();
    return;
  }
#endif
  for (auto& w : workers) {
    worker_core* c = w.get();
    c->thread = std::thread([this, c] { run_worker(*c); });
    std::string name = cfg.thread_name_prefix + std::to_string(c->face.index());
    if (name.size() > 15) name.resize(15);
    pthread_setname_np(c->thread.native_handle(), name.c_str());
    if (cfg.pin_threads) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(c->face.index() % std::max(1U, std::thread::hardware_concurrency()), &set);
      pthread_setaffinity_np(c->thread.native_handle(), sizeof(set), &set);
    }
  }
}

void scheduler_impl::stop() {
#if !defined(KEEL_BENCH_WS_ONLY)
  if (started && deterministic_) {
    det_stop();
    started = false;
  }
#endif
  if (started) {
    shutdown_.store(true, std::memory_order_seq_cst);
    for (auto& w : workers) w->park.unpark();
    for (auto& w : workers) {
      if (w->thread.joinable()) w->thread.join();
    }
    stop_dedicated();
    started = false;
  }
  std::lock_guard<std::mutex> lock(timer_mu_);
  wheel_.advance(UINT64_MAX - 1, [](timer_node* n) {
    if (n->unlinked != nullptr) n->unlinked(n);
  });
}

std::uint64_t scheduler_impl::now() const noexcept {
#if !defined(KEEL_BENCH_WS_ONLY)
  if (deterministic_) return virtual_now_.load(std::memory_order_relaxed);
#endif
  return clock_now();
}

bool scheduler_impl::await(std::chrono::nanoseconds timeout, bool (*ready)(void*), void* ready_arg,
                           void (*block)(void*, std::chrono::nanoseconds), void* block_arg) {
#if !defined(KEEL_BENCH_WS_ONLY)
  if (deterministic_) return det_await(timeout, ready, ready_arg);
#endif
  const std::uint64_t deadline =
      clock_now() + static_cast<std::uint64_t>(std::max<std::int64_t>(0, timeout.count()));
  for (;;) {
    if (ready(ready_arg)) return true;
    const std::uint64_t now = clock_now();
    if (now >= deadline) return ready(ready_arg);
    block(block_arg, std::chrono::nanoseconds(deadline - now));
  }
}

// ---- scheduling ---------------------------------------------------------------------------------

void scheduler_impl::schedule(task* t, std::uint32_t pin) noexcept {
  if (pin != k_any_worker) [[unlikely]] {
    if (pin >= k_dedicated_pin) {
      schedule_dedicated(t, pin);
      return;
    }
    worker_core& target = *workers[pin % n_workers];
    target.pinned.push(t);  // seq_cst exchange of its head, then a seq_cst load below
    if (target.park.state() == parker::k_parked) unpark_specific(target);
    return;
  }
  worker* w = worker::current();
  if (w != nullptr && w->local_of_ == face) {
    schedule_local(*w->core_, t);
    return;
  }
  if (hand_to_sleeper(t)) return;
  inject_.push(t);
  notify_parked();
}

void scheduler_impl::schedule_local(worker_core& c, task* t) noexcept {
  // The task just woken by the running task runs next on this core (cache-warm, no wake-up);
  // whatever it displaces goes to the ring, where other workers may steal it.
  // Only the owner puts into its slot; thieves only take. An empty slot therefore stays empty
  // until this store, which needs no read-modify-write.
  if (c.lifo->load(std::memory_order_relaxed) == nullptr) {
    c.lifo->store(t, std::memory_order_release);
    return;
  }
  task* prev = c.lifo->exchange(t, std::memory_order_acq_rel);
  if (prev == nullptr) return;
  push_back_or_overflow(c, prev);
  notify_parked();
}

void scheduler_impl::push_back_or_overflow(worker_core& c, task* t) noexcept {
  while (!c.ring.push_back(t, c.face.now())) {
    task* batch[run_queue::k_capacity / 2 + 1];
    std::uint32_t n = c.ring.take_half_for_overflow(batch);
    if (n != 0) {
      batch[n++] = t;
      inject_.push_bulk(batch, n);
      return;
    }
  }
}

// ---- the worker loop ----------------------------------------------------------------------------

void scheduler_impl::enter_worker(worker_core& c) noexcept {
  worker::tls_current_ = &c.face;
#if defined(KEEL_USE_MIMALLOC)
  c.face.heap_ = detail_heap_new();
#endif
  runner.on_worker_start(c.face);
}

void scheduler_impl::leave_worker(worker_core& c) noexcept {
  runner.on_worker_stop(c.face);
#if defined(KEEL_USE_MIMALLOC)
  detail_heap_delete(c.face.heap_);
  c.face.heap_ = nullptr;
#endif
  worker::tls_current_ = nullptr;
}

void scheduler_impl::run_worker(worker_core& c) noexcept {
  enter_worker(c);
  task* handed = nullptr;  // given to us while we were parked (hand_to_sleeper)
  while (!shutdown_.load(std::memory_order_acquire)) {
    const std::uint64_t now = c.face.refresh_clock();
    if (c.run_began != 0) {  // the last task ended just now: its time, from reads made anyway
      const std::uint64_t took = now > c.run_began ? now - c.run_began : 0;
      c.face.last_activation_ns_ = took;
      owner_add(c.stats->busy_ns, took);
      c.run_began = 0;
    }
    if (now >= due_.timer.load(std::memory_order_relaxed)) poll_timers(c);
    if (now >= due_.watch.load(std::memory_order_relaxed)) watch_activations(now);
    // Our own last activation, if it was long and nobody saw it while it ran (one worker).
    if (now >= c.long_deadline) [[unlikely]] {
      report_if_long(c, c.long_deadline - long_ns_, now);
      c.long_deadline = UINT64_MAX;
    }
    bool pinned = false;
    task* t = std::exchange(handed, nullptr);
    if (t == nullptr) {
      t = pop_pinned(c);
      pinned = t != nullptr;
    }
    if (t == nullptr) {
      t = next_task(c);
      if (t == nullptr) t = steal_work(c);
    }
    if (t != nullptr) {
      if (c.woke_by_watchdog) owner_add(c.stats->watchdog_rescues);
      c.woke_by_watchdog = false;
      run_task(c, t, pinned);
      continue;
    }
    c.woke_by_watchdog = false;
    // After a park that only timed out for the long-activation watch, nothing arrived: park
    // again at once rather than spin (an idle runtime's watch wake-ups cost a few us each).
    if (!std::exchange(c.watch_timeout, false) && spin_for_work(c)) continue;
    handed = park_worker(c);
  }
  // Shutdown raced with a hand-off: leave the task with the rest of the work queued at stop.
  if (handed != nullptr) inject_.push(handed);
  leave_worker(c);
}

task* scheduler_impl::pop_pinned(worker_core& c) noexcept { return c.pinned.pop(); }

task* scheduler_impl::next_task(worker_core& c) noexcept {
  if (--c.until_global == 0) {
    c.until_global = cfg.global_queue_interval;
    // Fairness: the injection queue is not starved by a busy local queue.
    if (task* t = pop_global(c)) return t;
  }
  // The slot is read first: an empty one (most of the time on a busy worker) costs no RMW.
  if (c.lifo->load(std::memory_order_relaxed) != nullptr) {
    if (task* t = c.lifo->exchange(nullptr, std::memory_order_acquire)) {
      if (c.lifo_run < cfg.lifo_limit) {
        ++c.lifo_run;
        return t;
      }
      // The run-next slot has had its turns: send its task to the back of the line.
      push_back_or_overflow(c, t);
    }
  }
  c.lifo_run = 0;
  if (task* t = c.ring.pop()) return t;
  return pop_global(c);
}

task* scheduler_impl::pop_global(worker_core& c) noexcept {
  const std::int64_t pending = inject_.pending();
  if (pending <= 0) return nullptr;
  // Take a fair share, at most half a ring: n = pending / workers + 1.
  std::size_t want = static_cast<std::size_t>(pending) / n_workers + 1;
  want = std::min<std::size_t>(want, run_queue::k_capacity / 2);
  task* batch[run_queue::k_capacity / 2];
  const std::size_t n = inject_.try_pop_bulk(batch, want);
  if (n == 0) return nullptr;
  owner_add(c.stats->inject_pops, n);
  for (std::size_t i = 1; i < n; ++i) push_back_or_overflow(c, batch[i]);
  if (n > 1) notify_parked();
  return batch[0];
}

task* scheduler_impl::steal_work(worker_core& c) noexcept {
  if (n_workers == 1 || !try_become_searching(c)) return pop_global(c);
  const std::uint32_t start = static_cast<std::uint32_t>(next_random(c.rng) % n_workers);
  for (std::uint32_t i = 0; i < n_workers; ++i) {
    worker_core& victim = *workers[(start + i) % n_workers];
    if (&victim == &c) continue;
    std::uint32_t stolen = 0;
    if (task* t = victim.ring.steal_into(c.ring, &stolen, c.face.now(), steal_min_age_ns_)) {
      owner_add(c.stats->steals);
      owner_add(c.stats->stolen_tasks, stolen);
      return t;
    }
  }
  if (task* t = pop_global(c)) return t;
  // Last pass: a run-next task whose worker is stuck in a long activation.
  const std::uint64_t now = c.face.now();
  for (std::uint32_t i = 0; i < n_workers; ++i) {
    worker_core& victim = *workers[(start + i) % n_workers];
    if (&victim == &c) continue;
    const std::uint64_t began = victim.activation->start.load(std::memory_order_relaxed);
    if (began == 0 || now < began + k_lifo_steal_age_ns) continue;
    task* t = victim.lifo->load(std::memory_order_acquire);
    if (t != nullptr && victim.lifo->compare_exchange_strong(t, nullptr, std::memory_order_acq_rel,
                                                             std::memory_order_relaxed)) {
      owner_add(c.stats->steals);
      owner_add(c.stats->stolen_tasks);
      return t;
    }
  }
  return nullptr;
}

void scheduler_impl::run_task(worker_core& c, task* t, bool pinned) noexcept {
  if (c.searching) stop_searching(c);
  owner_add(c.stats->activations);
  const std::uint64_t began = c.face.now() | 1;
  c.long_deadline = began + long_ns_;
  c.run_began = began;
  // release: a watcher that loads `t` (acquire) may read what was written before it ran (the
  // actor layer reads the cell's id and type). A plain store on x86.
  c.activation->running.store(t, std::memory_order_release);
  c.activation->start.store(began, std::memory_order_relaxed);
  const run_result r = runner.run(t, c.face);
  c.activation->start.store(0, std::memory_order_relaxed);
  if (r == run_result::yield) {
    if (pinned) {
      c.pinned.push(t);
    } else {
      push_back_or_overflow(c, t);
      notify_parked();
    }
  }
}

// ---- searching and parking ----------------------------------------------------------------------

bool scheduler_impl::try_become_searching(worker_core& c) noexcept {
  if (c.searching) return true;
  const std::uint64_t s = idle_->load(std::memory_order_seq_cst);
  if (2 * searching_of(s) >= n_workers) return false;  // at most half the workers search
  idle_->fetch_add(k_one_searching, std::memory_order_seq_cst);
  c.searching = true;
  return true;
}

void scheduler_impl::stop_searching(worker_core& c) noexcept {
  c.searching = false;
  const std::uint64_t prev = idle_->fetch_sub(k_one_searching, std::memory_order_seq_cst);
  // The last searcher found work: if more is queued, wake the next one (the wake chain). Only
  // then: an unconditional wake put a futex syscall, and a sleeping vCPU's wake-up, in front of
  // every task that woke an idle system (wake latency 8.7x the raw futex reference).
  if (searching_of(prev) == 1 && work_visible()) notify_parked();
}

// Takes the most recently parked worker off the sleepers list and unparks it, if nobody searches
// and somebody sleeps. Without a task the worker is counted back in as a searcher (it will look
// for the work that made us call). With `handed` (hand_to_sleeper: an outside thread's task when
// the runtime is idle) it gets that task in its `handed` field, under the same mutex, and runs it
// before looking at any queue: no injection-queue push, pop or search on that path (wake latency
// 1.45x -> 1.33x the raw futex reference). Returns whether a worker was woken.
bool scheduler_impl::wake_sleeper(task* handed) noexcept {
  const std::uint64_t s = idle_->load(std::memory_order_seq_cst);
  if (searching_of(s) > 0 || unparked_of(s) >= n_workers) return false;
  const bool searcher = handed == nullptr;
  worker_core* target = nullptr;
  {
    std::lock_guard<std::mutex> lock(sleepers_mu_);
    const std::uint64_t s2 = idle_->load(std::memory_order_seq_cst);
    if (searching_of(s2) > 0 || unparked_of(s2) >= n_workers || sleepers_.empty()) return false;
    idle_->fetch_add(k_one_unparked | (searcher ? k_one_searching : 0), std::memory_order_seq_cst);
    target = workers[sleepers_.back()].get();
    sleepers_.pop_back();
    target->woken_as_searcher = searcher;
    target->handed = handed;
  }
  target->park.unpark();
  return true;
}

void scheduler_impl::unpark_specific(worker_core& target) noexcept {
  {
    std::lock_guard<std::mutex> lock(sleepers_mu_);
    auto it = std::find(sleepers_.begin(), sleepers_.end(), target.face.index());
    if (it != sleepers_.end()) {
      sleepers_.erase(it);
      idle_->fetch_add(k_one_unparked, std::memory_order_seq_cst);
      target.woken_as_searcher = false;
    }
  }
  target.park.unpark();
}

bool scheduler_impl::has_local_work(worker_core& c) const noexcept {
  return c.lifo->load(std::memory_order_seq_cst) != nullptr || !c.ring.is_empty() ||
         !c.pinned.empty();
}

bool scheduler_impl::has_work_for(worker_core& c) noexcept {
  return has_local_work(c) || inject_.pending() > 0 ||
         c.face.now() >= due_.timer.load(std::memory_order_relaxed) ||
         shutdown_.load(std::memory_order_relaxed);
}

bool scheduler_impl::work_visible() const noexcept {
  if (inject_.pending() > 0) return true;
  for (const auto& w : workers) {
    if (!w->ring.is_empty() || w->lifo->load(std::memory_order_seq_cst) != nullptr) return true;
  }
  return false;
}

bool scheduler_impl::spin_for_work(worker_core& c) noexcept {
  const std::uint64_t budget = static_cast<std::uint64_t>(cfg.spin.count());
  if (budget == 0) return false;
  const std::uint64_t deadline = clock_now() + budget;
  try_become_searching(c);
  // When the other rings are worth reading again. Only work a steal would take ends the spin:
  // tasks younger than steal_min_age are about to run on their owner, and going back to the
  // loop for them would read its lines (run-next slot, activation start) on every pass. A task
  // queued after a look is young until min_age after it, so the rings are read at most once per
  // steal_min_age, or when a task seen queued becomes old enough.
  std::uint64_t look_at = 0;
  for (std::uint32_t i = 1;; ++i) {
    if (has_local_work(c) || inject_.pending() > 0) return true;
    if (c.searching && (i & 7) == 0) {
      const std::uint64_t now = c.face.refresh_clock();
      if (now >= look_at) {
        look_at = now + steal_min_age_ns_;
        for (const auto& w : workers) {
          if (w.get() == &c) continue;
          const std::uint64_t at = w->ring.stealable_at(steal_min_age_ns_);
          if (at <= now) return true;
          look_at = std::min(look_at, at);
        }
      }
    }
    if ((i & 15) == 0) {
      const std::uint64_t now = clock_now();
      if (now >= deadline || shutdown_.load(std::memory_order_relaxed)) return false;
      if (now >= due_.timer.load(std::memory_order_relaxed)) return true;
    }
    cpu_relax();
  }
}

task* scheduler_impl::park_worker(worker_core& c) noexcept {
  bool was_last_searcher = false;
  {
    std::lock_guard<std::mutex> lock(sleepers_mu_);
    const std::uint64_t dec = k_one_unparked | (c.searching ? k_one_searching : 0);
    const std::uint64_t prev = idle_->fetch_sub(dec, std::memory_order_seq_cst);
    was_last_searcher = c.searching && searching_of(prev) == 1;
    sleepers_.push_back(c.face.index());
  }
  c.searching = false;
  // The last searcher re-checks every queue (seq_cst loads after the seq_cst RMW above): work
  // published before our decrement is seen here; work published after it sees us parked.
  if (was_last_searcher && work_visible()) notify_parked();
#if defined(KEEL_USE_MIMALLOC)
  detail_heap_collect(c.face.heap_);  // reclaim blocks other threads freed, before sleeping
#endif
  owner_add(c.stats->parks);
  c.long_deadline = UINT64_MAX;  // the time parked is nobody's activation
  const std::uint64_t now = clock_now();
  std::uint64_t timeout = park_timeout(now);
  // The long-activation watch: wake in time to see whether another worker's activation runs
  // too long -- one may begin after we park (a message that wakes just one worker), so every
  // parked worker of a pool of two or more wakes each watch period (about 10 us of CPU each,
  // twice a second with the default 1 s limit; 0 turns the watch and these wake-ups off).
  bool for_watch = false;
  if (long_ns_ != k_long_off && n_workers > 1 && (timeout == 0 || timeout > watch_period_)) {
    timeout = watch_period_;
    for_watch = true;
  }
  const std::uint64_t watchdog = static_cast<std::uint64_t>(cfg.park_watchdog.count());
  const bool notified = c.park.park(
      timeout, [&] { return !c.pinned.empty() || shutdown_.load(std::memory_order_seq_cst); });
  owner_add(c.stats->wakeups);
  task* handed = nullptr;
  {
    std::lock_guard<std::mutex> lock(sleepers_mu_);
    auto it = std::find(sleepers_.begin(), sleepers_.end(), c.face.index());
    if (it != sleepers_.end()) {
      // We woke on our own (timeout, timer, pinned work, shutdown): nobody counted us back in.
      sleepers_.erase(it);
      idle_->fetch_add(k_one_unparked, std::memory_order_seq_cst);
      c.searching = false;
    } else if (c.woken_as_searcher) {
      c.searching = true;  // the waker counted us as a searcher
      c.woken_as_searcher = false;
    }
    handed = std::exchange(c.handed, nullptr);
  }
  if (handed != nullptr) owner_add(c.stats->handoffs);
  c.woke_by_watchdog = !notified && watchdog != 0 && timeout == watchdog;
  c.watch_timeout = !notified && for_watch && handed == nullptr;
  return handed;
}

std::uint64_t scheduler_impl::park_timeout(std::uint64_t now) const noexcept {
  std::uint64_t timeout = static_cast<std::uint64_t>(cfg.park_watchdog.count());
  const std::uint64_t next = due_.timer.load(std::memory_order_acquire);
  if (next != UINT64_MAX) {
    const std::uint64_t until = next > now ? next - now : 1;
    if (timeout == 0 || until < timeout) timeout = until;
  }
  return timeout;
}

// ---- the public face ----------------------------------------------------------------------------

constinit thread_local worker* worker::tls_current_ = nullptr;

result<std::unique_ptr<scheduler>> scheduler::create(const scheduler_config& config,
                                                     task_runner& runner) {
  if (status s = config.validate(); !s) return s;
  std::unique_ptr<scheduler> s(new scheduler(nullptr));
  s->impl_ = std::make_unique<scheduler_impl>(config, runner, s.get());
  return s;
}

scheduler::scheduler(std::unique_ptr<scheduler_impl> impl) noexcept : impl_(std::move(impl)) {}
scheduler::~scheduler() = default;
void scheduler::start() { impl_->start(); }
void scheduler::stop() { impl_->stop(); }
result<std::uint32_t> scheduler::start_dedicated(std::string_view name) {
  return impl_->start_dedicated(name);
}
void scheduler::retire_dedicated() noexcept { impl_->retire_dedicated(); }
void scheduler::block_in_place_erased(void (*fn)(void*), void* arg) {
  impl_->block_in_place(fn, arg);
}
bool scheduler::running() const noexcept { return impl_->started; }
void scheduler::schedule(task* t, std::uint32_t pin) noexcept { impl_->schedule(t, pin); }
std::uint64_t scheduler::now() const noexcept { return impl_->now(); }
bool scheduler::await_erased(std::chrono::nanoseconds timeout, bool (*ready)(void*),
                             void* ready_arg, void (*block)(void*, std::chrono::nanoseconds),
                             void* block_arg) {
  return impl_->await(timeout, ready, ready_arg, block, block_arg);
}
executor_kind scheduler::kind() const noexcept { return impl_->cfg.executor; }
deterministic_executor* scheduler::deterministic() noexcept { return impl_->det_face_.get(); }
void scheduler::add_timer(timer_node* n) noexcept { impl_->add_timer(n); }
bool scheduler::cancel_timer(timer_node* n) noexcept { return impl_->cancel_timer(n); }
std::uint32_t scheduler::worker_count() const noexcept { return impl_->n_workers; }
worker& scheduler::worker_at(std::uint32_t i) noexcept { return impl_->workers[i]->face; }
const scheduler_config& scheduler::config() const noexcept { return impl_->cfg; }

worker_stats scheduler::total_stats() const noexcept {
  worker_stats total;
  for (const auto& w : impl_->workers) {
    const worker_stats s = w->face.stats();
    total.activations += s.activations;
    total.steals += s.steals;
    total.stolen_tasks += s.stolen_tasks;
    total.parks += s.parks;
    total.wakeups += s.wakeups;
    total.watchdog_rescues += s.watchdog_rescues;
    total.inject_pops += s.inject_pops;
    total.handoffs += s.handoffs;
    total.busy_ns += s.busy_ns;
  }
  return total;
}

bool worker::has_pending_work() const noexcept { return owner_->impl_->has_work_for(*core_); }

worker_stats worker::stats() const noexcept {
  const auto& c = *core_->stats;
  worker_stats s;
  s.activations = c.activations.load(std::memory_order_relaxed);
  s.steals = c.steals.load(std::memory_order_relaxed);
  s.stolen_tasks = c.stolen_tasks.load(std::memory_order_relaxed);
  s.parks = c.parks.load(std::memory_order_relaxed);
  s.wakeups = c.wakeups.load(std::memory_order_relaxed);
  s.watchdog_rescues = c.watchdog_rescues.load(std::memory_order_relaxed);
  s.inject_pops = c.inject_pops.load(std::memory_order_relaxed);
  s.handoffs = c.handoffs.load(std::memory_order_relaxed);
  s.busy_ns = c.busy_ns.load(std::memory_order_relaxed);
  return s;
}

}  // namespace keel::sched
