// Resilient calls: what protected_call and a quorum cost over a plain ask, measured in the same
// run with the same actors.
//
// Scenarios (a driver actor makes `calls` asks one after another, each started from the
// previous one's continuation; it reads the steady clock once per batch of k_batch calls and
// records the batch's mean per-call time as one sample; default placement):
//   resilient_call/plain          actor::ask to one server that replies at once.
//   resilient_call/protected      protected_call through a closed circuit breaker to the same
//                                 server. Floor: p50 <= plain p50 + 100 ns.
//   resilient_call/quorum/3, /5   quorum_group::ask to 3 or 5 such servers, agree = a majority.
//                                 Floor: p50 <= 3x plain p50.
// Counters: p50_ns, p99_ns, p999_ns per call, items_per_second = calls per second.
#include <memory>
#include <vector>

#include "harness.h"

#include <keel/resilience/protected_call.h>
#include <keel/resilience/quorum.h>

namespace keel::bench {
namespace {

constexpr std::uint32_t k_batch = 16;

struct rc_question {
  static constexpr std::string_view keel_name = "bench.rc.question/1";
  std::uint64_t n = 0;
};
struct rc_answer {
  static constexpr std::string_view keel_name = "bench.rc.answer/1";
  std::uint64_t n = 0;
};

class rc_server : public actor<rc_server, rc_question> {
 public:
  static constexpr std::string_view keel_name = "bench.rc.server";
  void on(rc_question& q) { reply(rc_answer{q.n}); }
};

enum class rc_mode : std::uint8_t { plain, protect, quorum };

struct rc_run {
  std::uint64_t calls = 0;
  std::vector<double>* samples = nullptr;
  completion* done = nullptr;
  std::uint64_t completed = 0;
  std::uint64_t wrong = 0;  // answers that did not match the question (or fallbacks)
  std::uint64_t start_ns = 0;
  std::uint64_t end_ns = 0;
};

struct rc_go {
  static constexpr std::string_view keel_name = "bench.rc.go/1";
  rc_run* run;
};

class rc_driver : public actor<rc_driver, rc_go> {
 public:
  static constexpr std::string_view keel_name = "bench.rc.driver";
  rc_driver(rc_mode mode, std::vector<actor_ref<rc_server>> servers,
            resilience::circuit_breaker* breaker, std::uint32_t agree)
      : mode_(mode),
        servers_(std::move(servers)),
        breaker_(breaker),
        group_(resilience::quorum_group<rc_server>::create(
                   servers_, resilience::quorum_config{agree, std::chrono::seconds(10)})
                   .value()) {}

  void on(rc_go& g) {
    run_ = g.run;
    n_ = 0;
    run_->start_ns = now_ns();
    batch_start_ = run_->start_ns;
    next();
  }

 private:
  void next() {
    const std::uint64_t q = n_;
    switch (mode_) {
      case rc_mode::plain:
        ask<rc_answer>(servers_[0], rc_question{q}, std::chrono::seconds(10),
                       [this, q](result<rc_answer> r) { done(r && r->n == q); });
        break;
      case rc_mode::protect:
        resilience::protected_call<rc_answer>(
            self(), *breaker_, servers_[0], rc_question{q}, std::chrono::seconds(10),
            [this, q](resilience::protected_reply<rc_answer> r) {
              done(r.source == resilience::served_by::target && r.value.n == q);
            },
            [] { return rc_answer{~std::uint64_t{0}}; });
        break;
      case rc_mode::quorum:
        group_.ask<rc_answer>(
            self(), rc_question{q},
            [](const rc_answer& a, const rc_answer& b) { return a.n == b.n; },
            [this, q](result<resilience::quorum_answer<rc_answer>> r) {
              done(r && r->value.n == q);
            });
        break;
    }
  }

  void done(bool right) {
    if (!right) ++run_->wrong;
    ++n_;
    if (n_ % k_batch == 0) {
      const std::uint64_t t = now_ns();
      run_->samples->push_back(static_cast<double>(t - batch_start_) / k_batch);
      batch_start_ = t;
    }
    if (n_ == run_->calls) {
      run_->end_ns = now_ns();
      run_->completed = n_;
      run_->done->signal();
      return;
    }
    next();
  }

  rc_mode mode_;
  std::vector<actor_ref<rc_server>> servers_;
  resilience::circuit_breaker* breaker_;
  resilience::quorum_group<rc_server> group_;
  rc_run* run_ = nullptr;
  std::uint64_t n_ = 0;
  std::uint64_t batch_start_ = 0;
};

std::uint64_t calls_per_iteration() { return sized<std::uint64_t>(20'000, 2'000); }
constexpr benchmark::IterationCount k_iterations = 30;

void bm_call(benchmark::State& state, rc_mode mode, int replicas) {
  auto sys = make_system(state, [](system_config&) {});
  if (!sys) return;
  std::vector<actor_ref<rc_server>> servers;
  for (int i = 0; i < replicas; ++i) {
    auto s = sys->spawn<rc_server>();
    if (!check(state, s.has_value(), "spawn server")) return;
    servers.push_back(*s);
  }
  resilience::breaker_config bc;
  bc.name = "bench";
  auto breaker = resilience::circuit_breaker::create(bc);
  if (!check(state, breaker.has_value(), "breaker")) return;
  auto driver = sys->spawn<rc_driver>(mode, servers, breaker->get(),
                                      static_cast<std::uint32_t>(replicas / 2 + 1));
  if (!check(state, driver.has_value(), "spawn driver")) return;

  const std::uint64_t n = calls_per_iteration();
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(state.max_iterations) * (n / k_batch + 1));
  std::uint64_t total = 0;
  double total_ns = 0;
  for (auto _ : state) {
    completion done;
    rc_run run;
    run.calls = n;
    run.samples = &samples;
    run.done = &done;
    driver->send(rc_go{&run});
    if (!wait_or_fail(state, done, "the last call")) break;
    if (!check(state, run.completed == n && run.wrong == 0, "calls wrong or missing")) break;
    const double ns = static_cast<double>(run.end_ns - run.start_ns);
    state.SetIterationTime(ns / 1e9);
    total += run.completed;
    total_ns += ns;
  }
  if (mode == rc_mode::protect) {
    check(state, (*breaker)->stats().successes == total, "breaker successes != calls");
  }
  set_rate(state, total, total_ns);
  set_latency_counters(state, samples);
  sys->shutdown();
}

void register_resilient_calls() {
  auto reg1 = [](const char* name, rc_mode mode, int replicas) {
    benchmark::RegisterBenchmark(name, bm_call, mode, replicas)
        ->UseManualTime()
        ->Iterations(iterations(k_iterations))
        ->Unit(benchmark::kMillisecond);
  };
  reg1("resilient_call/plain", rc_mode::plain, 1);
  reg1("resilient_call/protected", rc_mode::protect, 1);
  reg1("resilient_call/quorum/3", rc_mode::quorum, 3);
  reg1("resilient_call/quorum/5", rc_mode::quorum, 5);
}

const registrar reg(&register_resilient_calls);

}  // namespace
}  // namespace keel::bench
