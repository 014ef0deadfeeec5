// Blocking work on the work-stealing scheduler: block_in_place hands the worker's queue to the
// others and allows a blocking ask; detached actors block without holding up the pool and take
// their thread with them when they stop; long handlers are reported (while they run, and by
// their own worker when it is the only one), except where blocking is the point.
// Every wait is for an event, with a 10 s limit that turns a hang into a failure.
#include <dirent.h>
#include <gtest/gtest.h>

#include <fstream>

#include "core/test_actors.h"

namespace {

using namespace std::chrono_literals;
using keel::errc;
using keel::send_status;
using namespace keel::test;

struct go {
  static constexpr std::string_view keel_name = "test.blocking.go/1";
};
struct poke {
  static constexpr std::string_view keel_name = "test.blocking.poke/1";
};

struct flags {
  std::atomic<bool> poked{false};
  std::atomic<bool> release{false};
  std::atomic<bool> saw_poke{false};
  std::atomic<bool> done{false};
  std::atomic<keel::actor_id> running{0};
};

class poked : public keel::actor<poked, poke> {
 public:
  static constexpr std::string_view keel_name = "test.blocking.poked";
  explicit poked(flags* f) : f_(f) {}
  void on(poke&) { f_->poked.store(true, std::memory_order_release); }

 private:
  flags* f_;
};

// Pokes `other` (which then waits in this worker's run-next slot), then blocks until it ran.
class waits_for_peer : public keel::actor<waits_for_peer, go> {
 public:
  static constexpr std::string_view keel_name = "test.blocking.waits_for_peer";
  waits_for_peer(keel::actor_ref<poked> other, flags* f) : other_(other), f_(f) {}
  void on(go&) {
    other_.send(poke{});
    const bool saw = block_in_place([&] { return eventually([&] { return f_->poked.load(); }); });
    f_->saw_poke.store(saw, std::memory_order_release);
    f_->done.store(true, std::memory_order_release);
  }

 private:
  keel::actor_ref<poked> other_;
  flags* f_;
};

TEST(block_in_place, the_blocked_workers_queue_runs_elsewhere) {
  flags f;  // before the system: it outlives every handler that reads it
  auto sys = make_system();
  auto p = sys->spawn<poked>(&f).value();
  auto w = sys->spawn<waits_for_peer>(p, &f).value();
  ASSERT_EQ(w.send(go{}), send_status::ok);
  ASSERT_TRUE(eventually([&] { return f.done.load(); }));
  EXPECT_TRUE(f.saw_poke.load());
}

struct ask_inside {
  static constexpr std::string_view keel_name = "test.blocking.ask_inside/1";
  keel::actor_ref<adder> to;
};
struct asked {
  static constexpr std::string_view keel_name = "test.blocking.asked/1";
  int value;
  int code;
};

class blocking_asker : public keel::actor<blocking_asker, ask_inside> {
 public:
  static constexpr std::string_view keel_name = "test.blocking.asker";
  void on(ask_inside& m) {
    // A blocking ask from a handler is refused; inside block_in_place it is allowed.
    auto refused = m.to.ask<sum>(add{1, 1}, 1s);
    auto r = block_in_place([&] { return m.to.ask<sum>(add{2, 3}, 10s); });
    reply(asked{r ? r->value : -1, static_cast<int>(refused.code())});
  }
};

TEST(block_in_place, allows_a_blocking_ask) {
  auto sys = make_system();
  auto a = sys->spawn<adder>().value();
  auto b = sys->spawn<blocking_asker>().value();
  auto r = b.ask<asked>(ask_inside{a}, 10s);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->value, 5);
  EXPECT_EQ(r->code, static_cast<int>(errc::wrong_thread));
}

// ---- detached actors ----

// Blocks its handler until a pool actor (through `f`) says so.
class blocks_until_released : public keel::actor<blocks_until_released, go> {
 public:
  static constexpr std::string_view keel_name = "test.blocking.blocks";
  explicit blocks_until_released(flags* f) : f_(f) {}
  void on(go&) {
    f_->saw_poke.store(eventually([&] { return f_->poked.load(); }), std::memory_order_release);
    f_->done.store(true, std::memory_order_release);
  }

 private:
  flags* f_;
};

std::size_t threads_named(std::string_view prefix) {
  std::size_t n = 0;
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
    std::string name;
    std::getline(comm, name);
    if (name.rfind(prefix, 0) == 0) ++n;
  }
  closedir(d);
  return n;
}

TEST(detached_actor, blocks_without_holding_up_the_pool) {
  keel::system_config cfg;
  cfg.scheduler.workers = 1;  // one pool worker: a blocked handler there would stall everything
  flags f;
  auto sys = make_system(std::move(cfg));
  keel::spawn_options o;
  o.detached = true;
  auto blocker = sys->spawn_with<blocks_until_released>(o, &f).value();
  auto p = sys->spawn<poked>(&f).value();
  ASSERT_EQ(blocker.send(go{}), send_status::ok);
  ASSERT_EQ(p.send(poke{}), send_status::ok);  // runs on the pool while the blocker blocks
  ASSERT_TRUE(eventually([&] { return f.done.load(); }));
  EXPECT_TRUE(f.saw_poke.load());
}

TEST(detached_actor, its_thread_ends_when_it_stops) {
  flags f;
  auto sys = make_system();
  std::vector<keel::actor_ref<blocks_until_released>> refs;
  keel::spawn_options o;
  o.detached = true;
  o.name = "thr";
  const std::size_t before = threads_named("keel-d-");
  for (int i = 0; i < 3; ++i) {
    o.name = "thr" + std::to_string(i);
    refs.push_back(sys->spawn_with<blocks_until_released>(o, &f).value());
  }
  ASSERT_TRUE(eventually([&] { return threads_named("keel-d-thr") == 3; }));
  for (auto& r : refs) ASSERT_EQ(r.stop(), send_status::ok);
  ASSERT_TRUE(eventually([&] { return threads_named("keel-d-") == before; }));
  // A message to a stopped detached actor is an ordinary dead letter, run by the pool.
  EXPECT_EQ(refs[0].send(go{}), send_status::dead_letter);
}

TEST(detached_actor, cannot_also_be_pinned) {
  flags f;
  auto sys = make_system();
  keel::spawn_options o;
  o.detached = true;
  o.pin = 0;
  auto r = sys->spawn_with<blocks_until_released>(o, &f);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), errc::invalid_argument);
}

// ---- long handlers ----

struct diag_sink {
  std::mutex mu;
  std::vector<keel::diagnostic> seen;
  std::vector<keel::diagnostic> long_ones() {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<keel::diagnostic> out;
    for (const auto& d : seen) {
      if (d.kind == keel::diagnostic_kind::long_handler) out.push_back(d);
    }
    return out;
  }
};

keel::system_config watched(diag_sink* sink, std::uint32_t workers) {
  keel::system_config cfg;
  cfg.scheduler.workers = workers;
  cfg.scheduler.long_activation = 20ms;
  cfg.diagnostics = [sink](const keel::diagnostic& d) {
    std::lock_guard<std::mutex> lock(sink->mu);
    sink->seen.push_back(d);
  };
  return cfg;
}

// Its handler runs until told to stop (spinning: a stuck computation), recording its id.
class stuck : public keel::actor<stuck, go> {
 public:
  static constexpr std::string_view keel_name = "test.blocking.stuck";
  explicit stuck(flags* f) : f_(f) {}
  void on(go&) {
    f_->running.store(id(), std::memory_order_release);
    while (!f_->release.load(std::memory_order_acquire)) std::this_thread::yield();
    f_->done.store(true, std::memory_order_release);
  }

 private:
  flags* f_;
};

// Lets a stuck handler go on every way out of a test (it reads the test's flags).
struct release_on_exit {
  flags& f;
  ~release_on_exit() {
    f.release.store(true);
    (void)eventually([&] { return f.done.load(); });
  }
};

TEST(long_handler, is_reported_while_it_runs) {
  diag_sink sink;
  flags f;
  auto sys = make_system(watched(&sink, 2));
  release_on_exit guard{f};
  // Let the pool go idle first: the other worker is parked when the handler starts, and
  // still notices it (a parked worker wakes each watch period).
  ASSERT_TRUE(eventually([&] { return sys->scheduler().total_stats().parks >= 2; }));
  auto s = sys->spawn<stuck>(&f).value();
  ASSERT_EQ(s.send(go{}), send_status::ok);
  // The handler does not return until the report arrives: it was made while it ran.
  ASSERT_TRUE(eventually([&] { return !sink.long_ones().empty(); }));
  f.release.store(true);
  ASSERT_TRUE(eventually([&] { return f.done.load(); }));
  const auto reports = sink.long_ones();
  ASSERT_EQ(reports.size(), 1U);  // once per activation
  EXPECT_EQ(reports[0].actor, f.running.load());
  EXPECT_EQ(reports[0].actor_type, "test.blocking.stuck");
  EXPECT_GE(reports[0].value, 20'000'000U);
  EXPECT_NE(reports[0].to_string().find("long_handler"), std::string::npos);
}

// Its handler runs until the clock has moved `ns` past its start.
class slow : public keel::actor<slow, go> {
 public:
  static constexpr std::string_view keel_name = "test.blocking.slow";
  slow(std::uint64_t ns, bool in_place, flags* f) : ns_(ns), in_place_(in_place), f_(f) {}
  void on(go&) {
    auto wait = [this] {
      const std::uint64_t until = keel::sched::clock_now() + ns_;
      while (keel::sched::clock_now() < until) std::this_thread::yield();
    };
    f_->running.store(id(), std::memory_order_release);
    if (in_place_) {
      block_in_place(wait);
    } else {
      wait();
    }
    f_->done.store(true, std::memory_order_release);
  }

 private:
  std::uint64_t ns_;
  bool in_place_;
  flags* f_;
};

TEST(long_handler, is_reported_by_its_own_worker_when_it_is_the_only_one) {
  diag_sink sink;
  flags f;
  auto sys = make_system(watched(&sink, 1));
  auto s = sys->spawn<slow>(60'000'000, false, &f).value();
  ASSERT_EQ(s.send(go{}), send_status::ok);
  ASSERT_TRUE(eventually([&] { return f.done.load(); }));
  ASSERT_TRUE(eventually([&] { return !sink.long_ones().empty(); }));
  const auto reports = sink.long_ones();
  ASSERT_EQ(reports.size(), 1U);
  EXPECT_EQ(reports[0].actor, f.running.load());
  EXPECT_GE(reports[0].value, 60'000'000U);
}

// Keeps a worker looping (so that the watch scans) until told to stop.
class busy : public keel::actor<busy, go> {
 public:
  static constexpr std::string_view keel_name = "test.blocking.busy";
  explicit busy(std::atomic<bool>* stop) : stop_(stop) {}
  void on(go&) {
    if (!stop_->load(std::memory_order_acquire)) self().send(go{});
  }

 private:
  std::atomic<bool>* stop_;
};

TEST(long_handler, block_in_place_and_detached_actors_are_exempt) {
  diag_sink sink;
  std::atomic<bool> stop_busy{false};
  flags in_place, detached;
  auto sys = make_system(watched(&sink, 2));
  auto b = sys->spawn<busy>(&stop_busy).value();
  ASSERT_EQ(b.send(go{}), send_status::ok);
  auto s1 = sys->spawn<slow>(100'000'000, true, &in_place).value();
  keel::spawn_options o;
  o.detached = true;
  auto s2 = sys->spawn_with<slow>(o, 100'000'000, false, &detached).value();
  ASSERT_EQ(s1.send(go{}), send_status::ok);
  ASSERT_EQ(s2.send(go{}), send_status::ok);
  ASSERT_TRUE(eventually([&] { return in_place.done.load() && detached.done.load(); }));
  stop_busy.store(true);
  // Both blocked for 5 watch periods while the busy worker scanned: no report names them. (The
  // busy actor itself may be reported: an activation of it that the OS preempts for 20 ms is
  // long in wall time, which happens on a loaded 2-core machine under TSan.)
  for (const auto& d : sink.long_ones()) {
    EXPECT_NE(d.actor, in_place.running.load()) << d.to_string();
    EXPECT_NE(d.actor, detached.running.load()) << d.to_string();
  }
}

TEST(long_handler, a_watch_below_one_millisecond_is_refused) {
  keel::system_config cfg;
  cfg.scheduler.long_activation = 500us;
  auto sys = keel::actor_system::create(std::move(cfg));
  ASSERT_FALSE(sys);
  EXPECT_EQ(sys.code(), errc::invalid_config);
  EXPECT_NE(sys.error().message().find("long_activation"), std::string::npos);
}

}  // namespace
