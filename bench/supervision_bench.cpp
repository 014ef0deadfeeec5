// Supervision: what a restart costs, what a supervised child costs while nothing fails, and how
// fast a whole tree comes back.
//
// Scenarios:
//   restart_latency/<where>/<trace>   a supervised child (one_for_one, no backoff) fails on a
//                   message; the clock runs from the failure (read in the handler, just before
//                   it throws or calls fail()) to the restarted child handling the next message,
//                   which was queued behind the failing one. The restarted child sends itself
//                   the next pair, so no thread outside the runtime takes a core meanwhile.
//                   <where>: same_worker (supervisor and child pinned to worker 0) or other_worker
//                   (child on worker 1). <trace>: no_capture (it throws; keel-bench does not link
//                   the throw hook, so nothing walks the stack) or capture (it calls fail(), which
//                   takes a stack trace). Floor: p50 <= the same-run reference + 2 us. Goal: p50 <=
//                   5 us without capture.
//   restart_latency/reference/<trace>  the floor's reference, on the harness thread: one
//                   throw and catch of the same exception (no_capture), plus one
//                   stack_trace::capture (capture). p50 of single operations.
//   supervised_overhead   ping-pong between a driver and a child, alternately unsupervised and
//                   supervised (10 rounds each, interleaved); ns per message of each, medians.
//                   Floor: supervised / unsupervised <= 1.03.
//   supervised_memory     100,000 idle children of one supervisor (child spec, record, cell and
//                   actor object), measured in a fresh process like idle_memory, with mimalloc
//                   told to give freed pages back at once (the start-up's garbage is not counted).
//                   Floor: <= 512 bytes per child.
//   restart_storm   10,000 children of one supervisor each fail once, with one more message
//                   behind the failing one; the clock stops when all 10,000 have handled it.
//                   Reference, same run: spawning 10,000 actors from the harness thread and
//                   each handling one message. Floor: storm <= 3x the reference.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

#include <keel/core/supervisor.h>

namespace keel::bench {
namespace {

// ---- restart_latency ---------------------------------------------------------------------------

// The child drives the run itself: once a restarted object has served, it sends its own next
// failure and the message behind it. The harness thread sleeps until the last one, so the two
// workers have the two cores to themselves.
struct rl_shared {
  std::uint64_t crashed_at = 0;
  std::vector<double> samples;  // written by the child; read by the harness after `done`
  std::uint64_t want = 0;
  completion* done = nullptr;
  bool capture = false;
};

struct rl_crash {
  static constexpr std::string_view keel_name = "bench.restart.crash/1";
};
struct rl_next {
  static constexpr std::string_view keel_name = "bench.restart.next/1";
};

class rl_child : public actor<rl_child, rl_crash, rl_next> {
 public:
  static constexpr std::string_view keel_name = "bench.restart.child";
  explicit rl_child(rl_shared* s) : s_(s) {}
  void on(rl_crash&) {
    s_->crashed_at = now_ns();
    if (s_->capture) {
      fail("bench failure");
      return;
    }
    throw std::runtime_error("bench failure");
  }
  void on(rl_next&) {
    const std::uint64_t t = now_ns();
    s_->samples.push_back(static_cast<double>(t - s_->crashed_at));
    if (s_->samples.size() >= s_->want) {
      s_->done->signal();
      return;
    }
    self().send(rl_crash{});
    self().send(rl_next{});
  }

 private:
  rl_shared* s_;
};

std::uint64_t restarts_per_iteration() { return sized<std::uint64_t>(5'000, 50); }

void bm_restart_latency(benchmark::State& state, bool other_worker, bool capture) {
  auto sys = make_system(state, [](system_config& c) { c.scheduler.workers = 2; });
  if (!sys) return;
  rl_shared shared;
  shared.capture = capture;
  supervisor_config cfg;
  cfg.intensity = {1'000'000'000, std::chrono::seconds(1)};
  cfg.report_history = 4;
  cfg.children = {child_spec::of<rl_child>("child", &shared)};
  cfg.children[0].options.pin = other_worker ? 1 : 0;
  spawn_options so;
  so.pin = 0;
  auto sup = sys->spawn_with<supervisor>(so, cfg);
  if (!check(state, sup.has_value(), "spawn supervisor")) return;
  auto st = sup->ask<supervisor_status>(supervisor_status_request{}, std::chrono::seconds(5));
  if (!check(state, st.has_value() && st->children.size() == 1, "supervisor status")) return;
  auto child =
      actor_ref<rl_child>::from_cell(st->children[0].ref.cell(), st->children[0].ref.generation());
  std::vector<double> all;
  for (auto _ : state) {
    completion done;
    shared.samples.clear();
    shared.want = restarts_per_iteration();
    shared.done = &done;
    const std::uint64_t t0 = now_ns();
    child.send(rl_crash{});
    child.send(rl_next{});
    if (!wait_or_fail(state, done, "restart_latency: the restarts did not all serve")) break;
    state.SetIterationTime(static_cast<double>(now_ns() - t0) / 1e9);
    all.insert(all.end(), shared.samples.begin(), shared.samples.end());
  }
  auto after = sup->ask<supervisor_status>(supervisor_status_request{}, std::chrono::seconds(5));
  check(state, after.has_value() && after->restarts >= all.size(),
        "restarts counted by the supervisor");
  set_latency_counters(state, all);
  sys->shutdown();
}

void bm_restart_reference(benchmark::State& state, bool capture) {
  std::vector<double> samples;
  const std::uint64_t n = restarts_per_iteration() * 4;
  for (auto _ : state) {
    const std::uint64_t t0 = now_ns();
    for (std::uint64_t i = 0; i < n; ++i) {
      const std::uint64_t a = now_ns();
      try {
        if (capture) benchmark::DoNotOptimize(stack_trace::capture());
        throw std::runtime_error("bench failure");
      } catch (const std::exception& e) {
        benchmark::DoNotOptimize(e.what());
      }
      samples.push_back(static_cast<double>(now_ns() - a));
    }
    state.SetIterationTime(static_cast<double>(now_ns() - t0) / 1e9);
  }
  set_latency_counters(state, samples);
}

// ---- supervised_overhead -----------------------------------------------------------------------

struct so_ball {
  static constexpr std::string_view keel_name = "bench.supervised.ball/1";
  std::uint64_t left;
};

struct so_run {
  completion* done = nullptr;
  std::uint64_t end_ns = 0;
};

// Both players: the ball goes back to whoever sent it until it has made its last trip.
// (A template: send_to and sender() are the actor's own.)
template <class Actor>
void bounce(Actor& a, const so_ball& b, so_run* run) {
  if (b.left == 0) {
    run->end_ns = now_ns();
    run->done->signal();
    return;
  }
  a.send_back(so_ball{b.left - 1});
}

class so_player : public actor<so_player, so_ball> {
 public:
  static constexpr std::string_view keel_name = "bench.supervised.player";
  explicit so_player(so_run** run) : run_(run) {}
  void on(so_ball& b) { bounce(*this, b, *run_); }
  void send_back(so_ball b) { send_to(sender(), std::move(b)); }

 private:
  so_run** run_;
};

struct so_serve {
  static constexpr std::string_view keel_name = "bench.supervised.serve/1";
  actor_ref<so_player> to;
  std::uint64_t trips;
};
class so_server : public actor<so_server, so_serve, so_ball> {
 public:
  static constexpr std::string_view keel_name = "bench.supervised.server";
  explicit so_server(so_run** run) : run_(run) {}
  void on(so_serve& s) { s.to.send(so_ball{s.trips}); }
  void on(so_ball& b) { bounce(*this, b, *run_); }
  void send_back(so_ball b) { send_to(sender(), std::move(b)); }

 private:
  so_run** run_;
};

void bm_supervised_overhead(benchmark::State& state) {
  auto sys = make_system(state);
  if (!sys) return;
  so_run* current = nullptr;
  auto plain = sys->spawn<so_player>(&current);
  supervisor_config cfg;
  cfg.children = {child_spec::of<so_player>("player", &current)};
  auto sup = sys->spawn<supervisor>(cfg);
  auto server = sys->spawn<so_server>(&current);
  if (!check(state, plain && sup && server, "spawn")) return;
  auto st = sup->ask<supervisor_status>(supervisor_status_request{}, std::chrono::seconds(5));
  if (!check(state, st.has_value() && st->children.size() == 1, "supervisor status")) return;
  auto supervised =
      actor_ref<so_player>::from_cell(st->children[0].ref.cell(), st->children[0].ref.generation());
  const std::uint64_t trips = sized<std::uint64_t>(200'000, 1'000);
  std::vector<double> plain_ns;
  std::vector<double> supervised_ns;
  auto one = [&](const actor_ref<so_player>& to) -> double {
    completion done;
    so_run run;
    run.done = &done;
    current = &run;
    const std::uint64_t t0 = now_ns();
    server->send(so_serve{to, trips});
    if (!wait_or_fail(state, done, "supervised_overhead: the ball was lost")) return -1;
    return static_cast<double>(run.end_ns - t0) / static_cast<double>(trips);
  };
  for (auto _ : state) {
    double total = 0;
    for (int round = 0; round < 10; ++round) {  // interleaved, so drift hits both alike
      const double a = one(*plain);
      const double b = one(supervised);
      if (a < 0 || b < 0) return;
      plain_ns.push_back(a);
      supervised_ns.push_back(b);
      total += (a + b) * static_cast<double>(trips);
    }
    state.SetIterationTime(total / 1e9);
  }
  std::sort(plain_ns.begin(), plain_ns.end());
  std::sort(supervised_ns.begin(), supervised_ns.end());
  const double p = plain_ns[plain_ns.size() / 2];
  const double q = supervised_ns[supervised_ns.size() / 2];
  state.counters["unsupervised_ns_per_msg"] = p;
  state.counters["supervised_ns_per_msg"] = q;
  state.counters["ratio"] = q / p;
  sys->shutdown();
}

// ---- supervised_memory -------------------------------------------------------------------------

struct sm_never {
  static constexpr std::string_view keel_name = "bench.supmem.never/1";
};
class sm_idle : public actor<sm_idle, sm_never> {
 public:
  static constexpr std::string_view keel_name = "bench.supmem.idle";
  void on(sm_never&) {}
};

// "c<i>" (appended, not "c" + std::to_string(i): GCC 12 warns falsely about that at -O3).
std::string child_name(std::uint64_t i) {
  std::string name(1, 'c');
  name += std::to_string(i);
  return name;
}

std::string self_exe() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return {};
  return std::string(buf, static_cast<std::size_t>(n));
}

void bm_supervised_memory(benchmark::State& state) {
  const std::uint64_t children = sized<std::uint64_t>(100'000, 2'000);
  double bytes = 0;
  for (auto _ : state) {
    // The allocator gives freed pages back at once, so that what is counted is what the
    // children keep: the 100,000-entry configuration the supervisor consumed at start-up is freed
    // by then, but with mimalloc's defaults whether its pages are still resident depends on size
    // thresholds and timing (e.g. 488 bytes a child at 100,000 children, 706 at 50,000).
    std::string cmd = "MIMALLOC_PAGE_RESET=1 MIMALLOC_RESET_DELAY=0 '";
    cmd += self_exe();
    cmd += "' --bench-child=supervised_memory:";
    cmd += std::to_string(children);
    std::FILE* p = popen(cmd.c_str(), "r");
    if (!check(state, p != nullptr, "cannot run the supervised_memory child")) break;
    unsigned long long before = 0;
    unsigned long long after = 0;
    unsigned long long ns = 0;
    unsigned long long running = 0;
    const int fields = std::fscanf(p, "%llu %llu %llu %llu", &before, &after, &ns, &running);
    const int rc = pclose(p);
    if (!check(state, fields == 4 && rc == 0, "the supervised_memory child failed")) break;
    if (!check(state, running == children, "children running != configured")) break;
    bytes =
        after > before ? static_cast<double>(after - before) / static_cast<double>(children) : 0;
    state.SetIterationTime(static_cast<double>(ns) / 1e9);
  }
  state.counters["bytes_per_child"] = bytes;
}

// The child process: prints "<rss before> <rss after> <start ns> <children running>".
int supervised_memory_child(const char* arg) {
  const std::uint64_t n = std::strtoull(arg, nullptr, 10);
  auto s = actor_system::create(system_config{});
  if (!s) return 1;
  std::unique_ptr<actor_system> sys = std::move(s).value();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const std::uint64_t before = rss_bytes();
  const std::uint64_t t0 = now_ns();
  supervisor_config cfg;
  cfg.intensity = {1000, std::chrono::seconds(1)};
  cfg.children.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) {
    cfg.children.push_back(child_spec::of<sm_idle>(child_name(i)));
  }
  auto sup = sys->spawn<supervisor>(std::move(cfg));
  if (!sup) {
    std::fprintf(stderr, "supervised_memory child: %s\n", sup.error().to_string().c_str());
    return 1;
  }
  // Every child running: the live actors are the children and the supervisor. (Counted, not
  // asked for: a status reply would leave 100,000 entries' worth of freed memory resident.)
  const std::uint64_t deadline = now_ns() + 60'000'000'000ULL;
  while (sys->actor_count() < n + 1 && now_ns() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const std::uint64_t running = sys->actor_count() - 1;
  const std::uint64_t t1 = now_ns();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const std::uint64_t after = rss_bytes();
  std::printf("%llu %llu %llu %llu\n", static_cast<unsigned long long>(before),
              static_cast<unsigned long long>(after), static_cast<unsigned long long>(t1 - t0),
              static_cast<unsigned long long>(running));
  std::fflush(stdout);
  std::_Exit(0);
}

// ---- restart_storm -----------------------------------------------------------------------------

struct rs_state {
  std::atomic<std::uint64_t> left{0};
  std::uint64_t end_ns = 0;
  completion* done = nullptr;
  void served() {
    if (left.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      end_ns = now_ns();
      done->signal();
    }
  }
};

struct rs_crash {
  static constexpr std::string_view keel_name = "bench.storm.crash/1";
};
struct rs_next {
  static constexpr std::string_view keel_name = "bench.storm.next/1";
};
class rs_child : public actor<rs_child, rs_crash, rs_next> {
 public:
  static constexpr std::string_view keel_name = "bench.storm.child";
  explicit rs_child(rs_state** s) : s_(s) {}
  void on(rs_crash&) { throw std::runtime_error("storm"); }
  void on(rs_next&) { (*s_)->served(); }

 private:
  rs_state** s_;
};

void bm_restart_storm(benchmark::State& state) {
  const std::uint64_t n = sized<std::uint64_t>(10'000, 500);
  auto sys = make_system(state);
  if (!sys) return;
  rs_state* current = nullptr;
  supervisor_config cfg;
  cfg.intensity = {1'000'000'000, std::chrono::seconds(1)};
  cfg.report_history = 16;
  for (std::uint64_t i = 0; i < n; ++i) {
    cfg.children.push_back(child_spec::of<rs_child>(child_name(i), &current));
  }
  auto sup = sys->spawn<supervisor>(std::move(cfg));
  if (!check(state, sup.has_value(), "spawn supervisor")) return;
  auto st = sup->ask<supervisor_status>(supervisor_status_request{}, std::chrono::seconds(30));
  if (!check(state, st.has_value() && st->children.size() == n, "supervisor status")) return;
  std::vector<actor_ref<rs_child>> kids;
  for (const auto& c : st->children) {
    kids.push_back(actor_ref<rs_child>::from_cell(c.ref.cell(), c.ref.generation()));
  }
  std::vector<double> storm_ns;
  std::vector<double> spawn_ns;
  for (auto _ : state) {
    // The storm.
    completion done;
    rs_state run;
    run.left.store(n, std::memory_order_relaxed);
    run.done = &done;
    current = &run;
    const std::uint64_t t0 = now_ns();
    for (const auto& k : kids) {
      k.send(rs_crash{});
      k.send(rs_next{});
    }
    if (!wait_or_fail(state, done, "restart_storm: not every child served again")) break;
    storm_ns.push_back(static_cast<double>(run.end_ns - t0));
    // The reference: n spawns, each actor handling one message.
    completion done2;
    rs_state ref;
    ref.left.store(n, std::memory_order_relaxed);
    ref.done = &done2;
    current = &ref;
    const std::uint64_t t1 = now_ns();
    std::vector<actor_ref<rs_child>> fresh;
    fresh.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) {
      auto r = sys->spawn<rs_child>(&current);
      if (!r) break;
      r->send(rs_next{});
      fresh.push_back(*r);
    }
    if (!check(state, fresh.size() == n, "reference spawn failed")) break;
    if (!wait_or_fail(state, done2, "restart_storm reference: not every actor served")) break;
    spawn_ns.push_back(static_cast<double>(ref.end_ns - t1));
    for (const auto& f : fresh) f.stop();
    state.SetIterationTime((storm_ns.back() + spawn_ns.back()) / 1e9);
  }
  if (storm_ns.empty()) return;
  std::sort(storm_ns.begin(), storm_ns.end());
  std::sort(spawn_ns.begin(), spawn_ns.end());
  const double a = storm_ns[storm_ns.size() / 2];
  const double b = spawn_ns[spawn_ns.size() / 2];
  state.counters["storm_ms"] = a / 1e6;
  state.counters["spawn_ms"] = b / 1e6;
  state.counters["ratio"] = a / b;
  auto after = sup->ask<supervisor_status>(supervisor_status_request{}, std::chrono::seconds(30));
  check(state, after.has_value() && after->restarts == n * storm_ns.size(),
        "every child restarted once per storm");
  sys->shutdown();
}

void register_supervision() {
  for (bool other : {false, true}) {
    for (bool capture : {false, true}) {
      const std::string name = std::string("restart_latency/") +
                               (other ? "other_worker/" : "same_worker/") +
                               (capture ? "capture" : "no_capture");
      benchmark::RegisterBenchmark(name.c_str(), bm_restart_latency, other, capture)
          ->UseManualTime()
          ->Iterations(iterations(3))
          ->Unit(benchmark::kMillisecond);
    }
  }
  for (bool capture : {false, true}) {
    benchmark::RegisterBenchmark(
        capture ? "restart_latency/reference/capture" : "restart_latency/reference/no_capture",
        bm_restart_reference, capture)
        ->UseManualTime()
        ->Iterations(iterations(3))
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark("supervised_overhead", bm_supervised_overhead)
      ->UseManualTime()
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("supervised_memory", bm_supervised_memory)
      ->UseManualTime()
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("restart_storm", bm_restart_storm)
      ->UseManualTime()
      ->Iterations(iterations(15))
      ->Unit(benchmark::kMillisecond);
}

const registrar reg(&register_supervision);
const child_registrar child_reg("supervised_memory", &supervised_memory_child);

}  // namespace
}  // namespace keel::bench
