// The deterministic executor at the sched/ level: plain tasks, the calling thread as the worker,
// policies, yield, timers and await in virtual time.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <keel/sched/scheduler.h>

namespace {

using namespace std::chrono_literals;
using keel::sched::executor_kind;
using keel::sched::run_result;
using keel::sched::scheduler;
using keel::sched::scheduler_config;
using keel::sched::task;
using keel::sched::worker;

struct step_task : task {
  int id = 0;
  int yields = 0;                    // run_result::yield this many times before done
  std::vector<step_task*> children;  // scheduled by the first run
};

struct recording_runner : keel::sched::task_runner {
  std::vector<int> order;
  std::vector<std::thread::id> threads;
  std::vector<std::uint64_t> clocks;
  int starts = 0;
  int stops = 0;
  run_result run(task* t, worker& w) noexcept override {
    auto* s = static_cast<step_task*>(t);
    order.push_back(s->id);
    threads.push_back(std::this_thread::get_id());
    clocks.push_back(w.now());
    EXPECT_EQ(worker::current(), &w);
    for (step_task* c : s->children) w.owner().schedule(c);
    s->children.clear();
    if (s->yields > 0) {
      --s->yields;
      return run_result::yield;
    }
    return run_result::done;
  }
  void on_worker_start(worker&) noexcept override { ++starts; }
  void on_worker_stop(worker&) noexcept override { ++stops; }
};

std::unique_ptr<scheduler> make_det(recording_runner& r,
                                    std::shared_ptr<keel::sched::delivery_policy> p = nullptr) {
  scheduler_config cfg;
  cfg.executor = executor_kind::deterministic;
  cfg.policy = std::move(p);
  auto s = scheduler::create(cfg, r);
  EXPECT_TRUE(s) << s.error().to_string();
  return std::move(s).value();
}

TEST(deterministic_executor, runs_tasks_on_the_driving_thread_oldest_first) {
  recording_runner r;
  auto s = make_det(r);
  s->start();
  EXPECT_EQ(r.starts, 1);
  EXPECT_EQ(s->worker_count(), 1U);
  EXPECT_EQ(worker::current(), nullptr) << "start() left the caller looking like a worker";
  keel::sched::deterministic_executor& ex = *s->deterministic();
  EXPECT_FALSE(ex.run_one());
  std::vector<step_task> t(5);
  for (int i = 0; i < 5; ++i) t[i].id = i;
  t[1].children = {&t[3], &t[4]};  // scheduled from inside a task: after 2
  t[0].yields = 1;                 // back of the line once
  s->schedule(&t[0]);
  s->schedule(&t[1]);
  s->schedule(&t[2]);
  EXPECT_EQ(ex.runnable(), 3U);
  EXPECT_EQ(ex.run_until_idle(), 6U);
  EXPECT_EQ(r.order, (std::vector<int>{0, 1, 2, 0, 3, 4}));
  for (const auto& id : r.threads) EXPECT_EQ(id, std::this_thread::get_id());
  EXPECT_EQ(ex.activations(), 6U);
  EXPECT_EQ(worker::current(), nullptr);
  s->stop();
  EXPECT_EQ(r.stops, 1);
}

TEST(deterministic_executor, a_limit_stops_a_task_that_keeps_itself_runnable) {
  recording_runner r;
  auto s = make_det(r);
  s->start();
  step_task forever;
  forever.yields = 1'000'000;
  s->schedule(&forever);
  EXPECT_EQ(s->deterministic()->run_until_idle(100), 100U);
  EXPECT_EQ(s->deterministic()->runnable(), 1U);
}

TEST(deterministic_executor, a_seeded_random_policy_repeats_its_order) {
  auto run = [](std::uint64_t seed) {
    recording_runner r;
    auto s = make_det(r, std::make_shared<keel::sched::seeded_random_policy>(seed));
    s->start();
    std::vector<step_task> t(8);
    for (int i = 0; i < 8; ++i) {
      t[i].id = i;
      s->schedule(&t[i]);
    }
    s->deterministic()->run_until_idle();
    return r.order;
  };
  const auto a = run(3);
  EXPECT_EQ(a, run(3));
  EXPECT_NE(a, run(4));
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
}

struct probe : keel::sched::timer_node {
  std::vector<std::uint64_t>* fired_at = nullptr;
};

TEST(deterministic_executor, timers_fire_at_their_virtual_deadlines) {
  recording_runner r;
  auto s = make_det(r);
  s->start();
  keel::sched::deterministic_executor& ex = *s->deterministic();
  const std::uint64_t t0 = ex.now();
  EXPECT_EQ(s->now(), t0);
  std::vector<std::uint64_t> fired;
  probe p;
  p.fired_at = &fired;
  p.deadline_ns = t0 + 2'000'000;  // 2 ms
  p.period_ns = 3'000'000;         // then every 3 ms
  p.fire = [](keel::sched::timer_node* n, worker* w) noexcept {
    static_cast<probe*>(n)->fired_at->push_back(w->now());
  };
  s->add_timer(&p);
  ex.advance(1ms);
  EXPECT_TRUE(fired.empty());
  ex.advance(10ms);  // to t0 + 11 ms: fires at 2, 5, 8, 11
  EXPECT_EQ(fired, (std::vector<std::uint64_t>{t0 + 2'000'000, t0 + 5'000'000, t0 + 8'000'000,
                                               t0 + 11'000'000}));
  EXPECT_EQ(ex.now(), t0 + 11'000'000);
  EXPECT_TRUE(s->cancel_timer(&p));
  ex.advance(1s);
  EXPECT_EQ(fired.size(), 4U);
}

TEST(deterministic_executor, await_runs_tasks_and_times_out_in_virtual_time) {
  recording_runner r;
  auto s = make_det(r);
  s->start();
  std::vector<step_task> t(3);
  for (int i = 0; i < 3; ++i) {
    t[i].id = i;
    s->schedule(&t[i]);
  }
  int blocked = 0;
  EXPECT_TRUE(s->await(
      1s, [&] { return r.order.size() == 3; }, [&](std::chrono::nanoseconds) { ++blocked; }));
  EXPECT_EQ(blocked, 0) << "the deterministic executor blocked instead of running";
  const std::uint64_t before = s->now();
  EXPECT_FALSE(s->await(
      250ms, [] { return false; }, [&](std::chrono::nanoseconds) { ++blocked; }));
  EXPECT_EQ(s->now(), before + 250'000'000);
  EXPECT_EQ(blocked, 0);
}

TEST(deterministic_executor, the_work_stealing_await_blocks_between_checks) {
  recording_runner r;
  scheduler_config cfg;
  cfg.workers = 1;
  auto s = scheduler::create(cfg, r).value();
  EXPECT_EQ(s->deterministic(), nullptr);
  int checks = 0;
  int blocks = 0;
  EXPECT_TRUE(s->await(
      10s, [&] { return ++checks == 3; },
      [&](std::chrono::nanoseconds left) {
        EXPECT_GT(left.count(), 0);
        ++blocks;
      }));
  EXPECT_EQ(blocks, 2);
  EXPECT_FALSE(s->await(
      1ms, [] { return false; },
      [](std::chrono::nanoseconds left) { std::this_thread::sleep_for(left); }));
}

TEST(deterministic_executor, config_is_validated) {
  scheduler_config cfg;
  cfg.executor = executor_kind::deterministic;
  cfg.virtual_start_ns = 0;
  auto e = cfg.validate();
  EXPECT_FALSE(e);
  EXPECT_NE(e.message().find("virtual_start_ns"), std::string_view::npos);
  cfg.virtual_start_ns = 1;
  cfg.workers = 1;
  EXPECT_TRUE(cfg.validate());
}

}  // namespace
