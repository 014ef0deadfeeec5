#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "stress.h"

#include <keel/sched/scheduler.h>

namespace {

using namespace std::chrono_literals;
using keel::sched::run_result;
using keel::sched::scheduler;
using keel::sched::scheduler_config;
using keel::sched::task;
using keel::sched::worker;

struct counted_task : task {
  std::atomic<int> runs{0};
  std::atomic<std::uint32_t> last_worker{0};
  int spin_iterations = 0;  // simulated work
  int children = 0;         // tasks this one schedules when it runs (imbalance tests)
  counted_task* first_child = nullptr;
  // Rendezvous (spreading test): the task marks its worker's bit here, then waits (bounded)
  // until both workers have marked it. Only a steal lets a burst queued on one worker do that.
  std::atomic<std::uint32_t>* round_workers = nullptr;
};

constexpr std::uint32_t k_gave_up = 1U << 31;

struct counting_runner : keel::sched::task_runner {
  std::atomic<std::uint64_t> total{0};
  std::atomic<std::uint64_t> sink{0};  // keeps the simulated work from being optimised away
  std::vector<std::atomic<std::uint64_t>> per_worker = std::vector<std::atomic<std::uint64_t>>(64);

  run_result run(task* t, worker& w) noexcept override {
    auto* c = static_cast<counted_task*>(t);
    c->runs.fetch_add(1, std::memory_order_relaxed);
    c->last_worker.store(w.index(), std::memory_order_relaxed);
    std::uint64_t x = 1;
    for (int i = 0; i < c->spin_iterations; ++i) x = x * 6364136223846793005ULL + 1;
    sink.store(x, std::memory_order_relaxed);
    for (int i = 0; i < c->children; ++i) w.owner().schedule(c->first_child + i);
    if (c->round_workers != nullptr) {
      // Bounded so that a broken steal fails the test instead of hanging it: 30 s is far
      // beyond any OS scheduling delay on a loaded CI machine. A timeout sets k_gave_up, so
      // the round's other tasks do not wait again and the test's check sees it.
      auto& mask = *c->round_workers;
      mask.fetch_or(1U << w.index(), std::memory_order_acq_rel);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      std::uint32_t seen = 0;
      while ((seen = mask.load(std::memory_order_acquire)) != 3U && (seen & k_gave_up) == 0) {
        if (std::chrono::steady_clock::now() > deadline) mask.fetch_or(k_gave_up);
        std::this_thread::yield();
      }
    }
    per_worker[w.index()].fetch_add(1, std::memory_order_relaxed);
    total.fetch_add(1, std::memory_order_release);
    return run_result::done;
  }
};

std::unique_ptr<scheduler> make(keel::sched::task_runner& r, scheduler_config cfg) {
  auto s = scheduler::create(cfg, r);
  EXPECT_TRUE(s) << s.error().to_string();
  return std::move(s).value();
}

void wait_for(const std::atomic<std::uint64_t>& v, std::uint64_t n) {
  while (v.load(std::memory_order_acquire) < n) std::this_thread::sleep_for(100us);
}

TEST(scheduler, rejects_bad_config_naming_the_field) {
  counting_runner r;
  scheduler_config cfg;
  cfg.global_queue_interval = 0;
  auto s = scheduler::create(cfg, r);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.code(), keel::errc::invalid_config);
  EXPECT_NE(s.error().message().find("global_queue_interval"), std::string_view::npos);
  cfg = scheduler_config{};
  cfg.thread_name_prefix = "a-very-long-prefix";
  EXPECT_FALSE(scheduler::create(cfg, r));
}

// Busy time and the last activation's length come from the clock reads the worker loop makes
// anyway: a task that holds its worker for 2 ms by that worker's own clock shows up in both.
struct clocked_runner : keel::sched::task_runner {
  task hold;
  task after;
  std::atomic<std::uint64_t> seen_last{0};
  std::atomic<bool> done{false};
  run_result run(task* t, worker& w) noexcept override {
    if (t == &hold) {
      const std::uint64_t start = w.now();
      while (w.refresh_clock() - start < 2'000'000) {
      }
      w.owner().schedule(&after);  // one worker: it runs next, on this worker
    } else {
      seen_last.store(w.last_activation_ns(), std::memory_order_relaxed);
      done.store(true, std::memory_order_release);
    }
    return run_result::done;
  }
};

TEST(scheduler, busy_time_and_the_last_activation_come_from_the_loops_clock_reads) {
  clocked_runner r;
  scheduler_config cfg;
  cfg.workers = 1;
  auto s = make(r, cfg);
  s->start();
  const auto t0 = std::chrono::steady_clock::now();
  s->schedule(&r.hold);
  for (int i = 0; i < 10'000 && !r.done.load(std::memory_order_acquire); ++i) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_TRUE(r.done.load(std::memory_order_acquire));
  const auto wall = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
          .count());
  EXPECT_GE(r.seen_last.load(), 2'000'000u);  // the hold, seen by the task after it
  const std::uint64_t busy = s->total_stats().busy_ns;
  EXPECT_GE(busy, 2'000'000u);
  EXPECT_LE(busy, 2 * wall + 1'000'000);  // never more than the time that passed (loosely)
  s->stop();
}

TEST(scheduler, runs_every_task_exactly_once_from_outside_threads) {
  counting_runner r;
  scheduler_config cfg;
  cfg.workers = 2;
  auto s = make(r, cfg);
  s->start();
  const std::size_t n = keel::test::scaled(200'000, 1000);
  std::vector<counted_task> tasks(n);
  std::vector<std::thread> producers;
  for (int p = 0; p < 3; ++p) {
    producers.emplace_back([&, p] {
      for (std::size_t i = p; i < n; i += 3) s->schedule(&tasks[i]);
    });
  }
  for (auto& t : producers) t.join();
  wait_for(r.total, n);
  s->stop();
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(tasks[i].runs.load(), 1) << i;
  EXPECT_EQ(r.total.load(), n);
}

TEST(scheduler, spreads_a_burst_from_one_worker_by_stealing) {
  counting_runner r;
  scheduler_config cfg;
  cfg.workers = 2;
  auto s = make(r, cfg);
  s->start();
  // Each round, one root task schedules a burst of children on the worker that runs it. Every
  // child waits until a child of its round has run on each worker, so the round completes
  // promptly only if the idle worker steals from the busy one. (A share-of-work check would
  // depend on how the OS schedules the two threads; this depends only on the steal.)
  const int rounds = static_cast<int>(keel::test::scaled(40, 8));
  const int fanout = 200;
  std::vector<counted_task> children(static_cast<std::size_t>(rounds) * fanout);
  std::vector<counted_task> roots(static_cast<std::size_t>(rounds));
  std::vector<std::atomic<std::uint32_t>> round_workers(static_cast<std::size_t>(rounds));
  for (int k = 0; k < rounds; ++k) {
    roots[k].children = fanout;
    roots[k].first_child = &children[static_cast<std::size_t>(k) * fanout];
    for (int i = 0; i < fanout; ++i) {
      children[k * fanout + i].spin_iterations = 2'000;
      children[k * fanout + i].round_workers = &round_workers[k];
    }
  }
  std::uint64_t expected = 0;
  for (int k = 0; k < rounds; ++k) {
    s->schedule(&roots[k]);
    expected += 1 + fanout;
    wait_for(r.total, expected);
  }
  s->stop();
  for (auto& c : children) ASSERT_EQ(c.runs.load(), 1);
  for (int k = 0; k < rounds; ++k) {
    EXPECT_EQ(round_workers[k].load(), 3U) << "round " << k << " ran on one worker only";
  }
  EXPECT_GE(s->total_stats().steals, static_cast<std::uint64_t>(rounds));
}

// Producers schedule with pauses long enough for workers to park between bursts. Test builds
// park with a watchdog: a worker that times out and then finds work counts a lost wake-up.
TEST(scheduler, park_and_unpark_lose_no_wakeup) {
  counting_runner r;
  scheduler_config cfg;
  cfg.workers = 2;
  cfg.spin = 0ns;  // park at once: the most wake-ups
  cfg.park_watchdog = 50ms;
  auto s = make(r, cfg);
  s->start();
  const std::size_t rounds = keel::test::scaled(3000, 300);
  std::vector<counted_task> tasks(rounds * 2);
  for (std::size_t i = 0; i < rounds; ++i) {
    s->schedule(&tasks[2 * i]);
    if (i % 3 == 0) std::this_thread::sleep_for(20us);
    s->schedule(&tasks[2 * i + 1]);
    if (i % 7 == 0) {
      wait_for(r.total, 2 * i + 2);  // everything idle: both workers park
      std::this_thread::sleep_for(50us);
    }
  }
  wait_for(r.total, rounds * 2);
  s->stop();
  const auto stats = s->total_stats();
  EXPECT_GT(stats.parks, 0U);
  EXPECT_EQ(stats.watchdog_rescues, 0U) << "a worker only found work after its watchdog fired";
  for (auto& t : tasks) ASSERT_EQ(t.runs.load(), 1);
}

TEST(scheduler, an_outside_task_for_an_idle_runtime_is_handed_to_a_parked_worker) {
  counting_runner r;
  scheduler_config cfg;
  cfg.workers = 2;
  cfg.spin = 0ns;  // park as soon as there is no work
  auto s = make(r, cfg);
  s->start();
  // Both workers have parked (parks counts a worker once it is on the sleepers list) and, with
  // no timer and no watchdog, stay parked.
  while (s->total_stats().parks < 2) std::this_thread::sleep_for(100us);
  counted_task t;
  s->schedule(&t);
  wait_for(r.total, 1);
  const auto one = s->total_stats();
  EXPECT_EQ(one.handoffs, 1U) << "the task went through the injection queue";
  EXPECT_EQ(one.inject_pops, 0U);
  // A burst from outside: the first tasks may be handed over, the rest queue; each runs once.
  std::vector<counted_task> burst(1000);
  for (auto& b : burst) s->schedule(&b);
  wait_for(r.total, 1 + burst.size());
  s->stop();
  EXPECT_EQ(t.runs.load(), 1);
  for (auto& b : burst) ASSERT_EQ(b.runs.load(), 1);
}

TEST(scheduler, presets_set_the_spin_budget_and_power_parks_at_once) {
  using keel::sched::worker_preset;
  EXPECT_EQ(scheduler_config::preset(worker_preset::balanced).spin, 50us);
  EXPECT_EQ(scheduler_config::preset(worker_preset::latency).spin, 1ms);
  EXPECT_EQ(scheduler_config::preset(worker_preset::power).spin, 0ns);
  EXPECT_EQ(scheduler_config::preset(worker_preset::balanced).spin, scheduler_config{}.spin);
  for (auto p : {worker_preset::balanced, worker_preset::latency, worker_preset::power}) {
    EXPECT_TRUE(scheduler_config::preset(p).validate());
  }
  // Power: a worker that ran out of work parks without spinning, so a task scheduled from
  // outside afterwards is always handed to a parked worker.
  counting_runner r;
  scheduler_config cfg = scheduler_config::preset(worker_preset::power);
  cfg.workers = 1;
  auto s = make(r, cfg);
  s->start();
  std::vector<counted_task> tasks(20);
  for (auto& t : tasks) {
    while (s->total_stats().parks == s->total_stats().wakeups) std::this_thread::sleep_for(50us);
    const auto before = r.total.load();
    s->schedule(&t);
    wait_for(r.total, before + 1);
  }
  s->stop();
  EXPECT_EQ(s->total_stats().handoffs, tasks.size());
}

TEST(scheduler, pinned_tasks_run_only_on_their_worker) {
  counting_runner r;
  scheduler_config cfg;
  cfg.workers = 2;
  auto s = make(r, cfg);
  s->start();
  std::vector<counted_task> tasks(2000);
  for (std::size_t i = 0; i < tasks.size(); ++i) s->schedule(&tasks[i], i % 2);
  wait_for(r.total, tasks.size());
  s->stop();
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    ASSERT_EQ(tasks[i].runs.load(), 1);
    ASSERT_EQ(tasks[i].last_worker.load(), i % 2);
  }
}

TEST(scheduler, idle_workers_park_instead_of_running) {
  counting_runner r;
  scheduler_config cfg;
  cfg.workers = 2;
  auto s = make(r, cfg);
  s->start();
  std::this_thread::sleep_for(20ms);  // far beyond the 50 us spin
  const auto before = s->total_stats();
  std::this_thread::sleep_for(100ms);
  const auto after = s->total_stats();
  s->stop();
  EXPECT_GE(before.parks, 2U);
  // A parked worker with no timer and no watchdog does not wake up at all.
  EXPECT_EQ(after.wakeups, before.wakeups);
}

struct timer_probe : keel::sched::timer_node {
  std::atomic<int> fired{0};
  std::atomic<int> unlinked_calls{0};
};

TEST(scheduler, timers_fire_once_periodic_timers_repeat_and_cancel_is_idempotent) {
  counting_runner r;
  scheduler_config cfg;
  cfg.workers = 2;
  auto s = make(r, cfg);
  s->start();
  auto fire = [](keel::sched::timer_node* n, worker*) noexcept {
    static_cast<timer_probe*>(n)->fired.fetch_add(1);
  };
  auto unlinked = [](keel::sched::timer_node* n) noexcept {
    static_cast<timer_probe*>(n)->unlinked_calls.fetch_add(1);
  };
  timer_probe once, periodic, cancelled;
  for (timer_probe* p : {&once, &periodic, &cancelled}) {
    p->fire = fire;
    p->unlinked = unlinked;
  }
  const std::uint64_t now = keel::sched::clock_now();
  once.deadline_ns = now + 5'000'000;
  periodic.deadline_ns = now + 2'000'000;
  periodic.period_ns = 2'000'000;
  cancelled.deadline_ns = now + 20'000'000;
  s->add_timer(&once);
  s->add_timer(&periodic);
  s->add_timer(&cancelled);
  EXPECT_TRUE(s->cancel_timer(&cancelled));
  EXPECT_FALSE(s->cancel_timer(&cancelled));
  while (periodic.fired.load() < 5 || once.fired.load() < 1) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(s->cancel_timer(&periodic));
  const int periodic_fired = periodic.fired.load();
  std::this_thread::sleep_for(30ms);
  s->stop();
  EXPECT_EQ(once.fired.load(), 1);
  EXPECT_EQ(once.unlinked_calls.load(), 1);
  EXPECT_EQ(periodic.fired.load(), periodic_fired);
  EXPECT_EQ(periodic.unlinked_calls.load(), 1);
  EXPECT_EQ(cancelled.fired.load(), 0);
  EXPECT_EQ(cancelled.unlinked_calls.load(), 1);
  EXPECT_GE(once.deadline_ns, now);
}

}  // namespace
