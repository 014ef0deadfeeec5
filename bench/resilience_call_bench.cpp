// Resilient calls: what protected_call and a quorum cost over a plain ask, measured in the same
// run with the same actors.
//
// Scenarios (a driver actor makes `calls` calls one after another; default placement):
//   resilient_call/plain          actor::ask to one server that replies at once.
//   resilient_call/protected      protected_call through a closed circuit breaker to the same
//                                 server. Floor: p50 <= plain p50 + 100 ns.
//   resilient_call/quorum/3, /5   quorum_group::ask to 3 or 5 such servers, agree = a majority.
//                                 Floor: p50 <= 3x plain p50.
// Each call is timed alone: the driver reads the steady clock before the call and in its
// continuation (one sample per call), and starts the next call only when every server has
// answered and the driver has handled those answers, so a quorum's late answers are not charged
// to the next round. A steady-clock read (about 20 ns here, `clock_read` below) is inside every
// sample, the plain ask's included.
//   resilient_call_back_to_back/<same>   the next call starts from the previous one's
//                                 continuation (a quorum's late answers overlap the next round);
//                                 the clock is read once per k_batch calls and each sample is a
//                                 batch's mean: throughput, not latency. Reported, no floor.
//   resilient_call_one_worker/<plain, quorum/3, quorum/5>   the isolated pace on a system of
//                                 one worker: nothing is stolen, so no call crosses cores.
//                                 Reported, no floor (it shows what the steals cost).
//   resilient_call/clock_read     one steady-clock read, for scale.
// Counters: p50_ns, p99_ns, p999_ns per call, items_per_second = calls per second.
#include <atomic>
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
  explicit rc_server(std::atomic<std::uint64_t>* answered) : answered_(answered) {}
  void on(rc_question& q) {
    reply(rc_answer{q.n});
    // After the reply is in the driver's mailbox (release: see rc_driver::on(rc_step)).
    answered_->fetch_add(1, std::memory_order_release);
  }

 private:
  std::atomic<std::uint64_t>* answered_;
};

enum class rc_mode : std::uint8_t { plain, protect, quorum };
enum class rc_pace : std::uint8_t { isolated, back_to_back };

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
// Isolated pace: the driver's note to itself to start the next call once the last one has
// settled.
struct rc_step {
  static constexpr std::string_view keel_name = "bench.rc.step/1";
  bool settled = false;  // every answer was in the mailbox ahead of this message
};

class rc_driver : public actor<rc_driver, rc_go, rc_step> {
 public:
  static constexpr std::string_view keel_name = "bench.rc.driver";
  rc_driver(rc_mode mode, rc_pace pace, std::vector<actor_ref<rc_server>> servers,
            resilience::circuit_breaker* breaker, std::uint32_t agree,
            std::atomic<std::uint64_t>* answered)
      : mode_(mode),
        pace_(pace),
        servers_(std::move(servers)),
        breaker_(breaker),
        group_(resilience::quorum_group<rc_server>::create(
                   servers_, resilience::quorum_config{agree, std::chrono::seconds(10)})
                   .value()),
        answered_(answered) {}

  void on(rc_go& g) {
    run_ = g.run;
    n_ = 0;
    run_->start_ns = now_ns();
    batch_start_ = run_->start_ns;
    next();
  }

  // Isolated pace. Each server counts its answer after replying, so once the count covers every
  // request sent, every answer is in this mailbox; a step sent after that sees them handled.
  void on(rc_step& s) {
    if (s.settled) {
      next();
      return;
    }
    const bool all_in = answered_->load(std::memory_order_acquire) == requests_;
    self().send(rc_step{all_in});
  }

 private:
  void next() {
    const std::uint64_t q = n_;
    requests_ += mode_ == rc_mode::quorum ? servers_.size() : 1;
    if (pace_ == rc_pace::isolated) call_start_ = now_ns();
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
    if (pace_ == rc_pace::isolated) {
      run_->samples->push_back(static_cast<double>(now_ns() - call_start_));
    }
    if (!right) ++run_->wrong;
    ++n_;
    if (pace_ == rc_pace::back_to_back && n_ % k_batch == 0) {
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
    if (pace_ == rc_pace::isolated) {
      self().send(rc_step{false});
    } else {
      next();
    }
  }

  rc_mode mode_;
  rc_pace pace_;
  std::vector<actor_ref<rc_server>> servers_;
  resilience::circuit_breaker* breaker_;
  resilience::quorum_group<rc_server> group_;
  rc_run* run_ = nullptr;
  std::uint64_t n_ = 0;
  std::uint64_t batch_start_ = 0;
  std::uint64_t call_start_ = 0;
  std::atomic<std::uint64_t>* answered_;
  std::uint64_t requests_ = 0;  // sent over the driver's life, to compare with *answered_
};

std::uint64_t calls_per_iteration() { return sized<std::uint64_t>(20'000, 2'000); }
constexpr benchmark::IterationCount k_iterations = 30;

void bm_call(benchmark::State& state, rc_mode mode, rc_pace pace, int replicas,
             std::uint32_t workers) {
  auto sys = make_system(state, [workers](system_config& c) { c.scheduler.workers = workers; });
  if (!sys) return;
  std::atomic<std::uint64_t> answered{0};
  std::vector<actor_ref<rc_server>> servers;
  for (int i = 0; i < replicas; ++i) {
    auto s = sys->spawn<rc_server>(&answered);
    if (!check(state, s.has_value(), "spawn server")) return;
    servers.push_back(*s);
  }
  resilience::breaker_config bc;
  bc.name = "bench";
  auto breaker = resilience::circuit_breaker::create(bc);
  if (!check(state, breaker.has_value(), "breaker")) return;
  auto driver = sys->spawn<rc_driver>(mode, pace, servers, breaker->get(),
                                      static_cast<std::uint32_t>(replicas / 2 + 1), &answered);
  if (!check(state, driver.has_value(), "spawn driver")) return;

  const std::uint64_t n = calls_per_iteration();
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(state.max_iterations) * (n / k_batch + 1));
  std::uint64_t total = 0;
  double total_ns = 0;
  const sched::worker_stats before = sys->scheduler().total_stats();
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
  // Where a call's time goes: activations, steals and parks per call (the scheduler's counts).
  const sched::worker_stats after = sys->scheduler().total_stats();
  const double calls = total > 0 ? static_cast<double>(total) : 1.0;
  state.counters["activations_per_call"] =
      static_cast<double>(after.activations - before.activations) / calls;
  state.counters["steals_per_call"] =
      static_cast<double>(after.stolen_tasks - before.stolen_tasks) / calls;
  state.counters["parks_per_call"] = static_cast<double>(after.parks - before.parks) / calls;
  sys->shutdown();
}

// One steady-clock read, timed over a batch (the isolated samples each contain about one).
void bm_clock_read(benchmark::State& state) {
  std::vector<double> samples;
  for (auto _ : state) {
    const std::uint64_t t0 = now_ns();
    std::uint64_t sink = 0;
    for (std::uint32_t i = 0; i < 1024; ++i) sink += now_ns();
    benchmark::DoNotOptimize(sink);
    const std::uint64_t ns = now_ns() - t0;
    samples.push_back(static_cast<double>(ns) / 1024);
    state.SetIterationTime(static_cast<double>(ns) / 1e9);
  }
  set_latency_counters(state, samples);
}

void register_resilient_calls() {
  auto reg1 = [](const char* name, rc_mode mode, rc_pace pace, int replicas,
                 std::uint32_t workers = 0) {
    benchmark::RegisterBenchmark(name, bm_call, mode, pace, replicas, workers)
        ->UseManualTime()
        ->Iterations(iterations(k_iterations))
        ->Unit(benchmark::kMillisecond);
  };
  reg1("resilient_call/plain", rc_mode::plain, rc_pace::isolated, 1);
  reg1("resilient_call/protected", rc_mode::protect, rc_pace::isolated, 1);
  reg1("resilient_call/quorum/3", rc_mode::quorum, rc_pace::isolated, 3);
  reg1("resilient_call/quorum/5", rc_mode::quorum, rc_pace::isolated, 5);
  reg1("resilient_call_one_worker/plain", rc_mode::plain, rc_pace::isolated, 1, 1);
  reg1("resilient_call_one_worker/quorum/3", rc_mode::quorum, rc_pace::isolated, 3, 1);
  reg1("resilient_call_one_worker/quorum/5", rc_mode::quorum, rc_pace::isolated, 5, 1);
  reg1("resilient_call_back_to_back/plain", rc_mode::plain, rc_pace::back_to_back, 1);
  reg1("resilient_call_back_to_back/protected", rc_mode::protect, rc_pace::back_to_back, 1);
  reg1("resilient_call_back_to_back/quorum/3", rc_mode::quorum, rc_pace::back_to_back, 3);
  reg1("resilient_call_back_to_back/quorum/5", rc_mode::quorum, rc_pace::back_to_back, 5);
  benchmark::RegisterBenchmark("resilient_call/clock_read", bm_clock_read)
      ->UseManualTime()
      ->Iterations(iterations(1000));
}

const registrar reg(&register_resilient_calls);

}  // namespace
}  // namespace keel::bench
