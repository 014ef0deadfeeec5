// ring: 1000 actors pass one token around a ring, M hops.
//
// Scenarios:
//   ring/keel        1000 unpinned actors, default configuration (as a user runs it). Each
//                    handler records the worker it runs on (sched::worker::current()->index());
//                    the token counts hops and the hops whose handler ran on another worker than
//                    the previous one (cross_worker_share). The last hop signals the harness
//                    thread, which blocks meanwhile. Checked: hop count and the actor that got
//                    the last hop. Also reported: the workers' wake-ups and steals during the
//                    run (the idle worker should stay parked).
//   ring/reference   a raw single-message activation loop on one thread, no keel code
//                    (reference/ring_ref.h: intrusive Vyukov MPSC push and pop, malloc/free of
//                    the token, one mark-idle CAS per hop).
//   ring/required    the same loop plus only what the issue requires of every hop (a clock
//                    read per activation, a stealable run-next slot, the envelope header's
//                    fields): the design's ceiling, for the analysis of the floor (not a floor).
// Floor: keel's hop cost <= 1.5x the reference. Goal: >= 20 M hops/s. items_per_second = hops
// per second.
#include <vector>

#include "harness.h"
#include "reference/ring_ref.h"

#include <keel/sched/worker.h>

namespace keel::bench {
namespace {

constexpr std::uint32_t k_actors = 1000;

struct ring_run {
  completion* done = nullptr;
  std::uint64_t start_ns = 0;
  std::uint64_t end_ns = 0;
  std::uint64_t hops = 0;
  std::uint64_t cross = 0;
  std::uint32_t last_actor = 0;
};

struct rg_token {
  static constexpr std::string_view keel_name = "bench.ring.token/1";
  std::uint64_t remaining;
  std::uint64_t hops;
  std::uint64_t cross;
  std::uint32_t last_worker;
  ring_run* run;
};

class ring_member;
struct rg_link {
  static constexpr std::string_view keel_name = "bench.ring.link/1";
  actor_ref<ring_member> next;
};

class ring_member : public actor<ring_member, rg_token, rg_link> {
 public:
  static constexpr std::string_view keel_name = "bench.ring.member";
  ring_member(std::uint32_t index, actor_ref<ring_member> next) : index_(index), next_(next) {}

  void on(rg_link& l) { next_ = l.next; }
  void on(rg_token& t) {
    const std::uint32_t w = sched::worker::current()->index();
    std::uint64_t cross = t.cross;
    if (t.hops == 0) {
      t.run->start_ns = now_ns();
    } else if (w != t.last_worker) {
      ++cross;
    }
    if (t.remaining == 0) {
      ring_run* run = t.run;
      run->end_ns = now_ns();
      run->hops = t.hops;
      run->cross = cross;
      run->last_actor = index_;
      run->done->signal();
      return;
    }
    next_.send(rg_token{t.remaining - 1, t.hops + 1, cross, w, t.run});
  }

 private:
  std::uint32_t index_;
  actor_ref<ring_member> next_;
};

std::uint64_t hops_per_iteration() { return sized<std::uint64_t>(2'000'000, 20'000); }
constexpr benchmark::IterationCount k_iterations = 3;

void bm_keel(benchmark::State& state) {
  auto sys = make_system(state);
  if (!sys) return;
  // Spawned last to first so each gets its successor in the constructor; the last one gets the
  // first through a link message.
  std::vector<actor_ref<ring_member>> members(k_actors);
  for (std::uint32_t i = k_actors; i-- > 0;) {
    auto next = i + 1 < k_actors ? members[i + 1] : actor_ref<ring_member>();
    auto r = sys->spawn<ring_member>(i, next);
    if (!check(state, r.has_value(), "spawn ring member")) return;
    members[i] = *r;
  }
  members[k_actors - 1].send(rg_link{members[0]});

  const std::uint64_t m = hops_per_iteration();
  std::uint64_t total = 0;
  std::uint64_t cross = 0;
  double total_ns = 0;
  const sched::worker_stats before = sys->scheduler().total_stats();
  for (auto _ : state) {
    completion done;
    ring_run run;
    run.done = &done;
    members[0].send(rg_token{m, 0, 0, 0, &run});
    if (!wait_or_fail(state, done, "the token's last hop")) break;
    if (!check(state, run.hops == m, "ring hop count != requested")) break;
    if (!check(state, run.last_actor == m % k_actors, "ring token ended at the wrong actor")) {
      break;
    }
    const double ns = static_cast<double>(run.end_ns - run.start_ns);
    state.SetIterationTime(ns / 1e9);
    total += run.hops;
    cross += run.cross;
    total_ns += ns;
  }
  set_rate(state, total, total_ns);
  const sched::worker_stats after = sys->scheduler().total_stats();
  // How often the idle worker woke (and searched) while one worker passed the token.
  state.counters["wakeups"] = static_cast<double>(after.wakeups - before.wakeups);
  state.counters["steals"] = static_cast<double>(after.steals - before.steals);
  state.counters["cross_worker_share"] =
      total == 0 ? 0 : static_cast<double>(cross) / static_cast<double>(total);
  sys->shutdown();
}

void bm_reference(benchmark::State& state, bool required) {
  const std::uint64_t m = hops_per_iteration();
  std::uint64_t total = 0;
  double total_ns = 0;
  for (auto _ : state) {
    const std::uint64_t t0 = now_ns();
    const reference::ring_result r =
        required ? reference::raw_ring_required(k_actors, m) : reference::raw_ring(k_actors, m);
    const double ns = static_cast<double>(now_ns() - t0);
    if (!check(state, r.hops == m, "reference hop count != requested")) break;
    if (!check(state, r.last_actor == m % k_actors, "reference ended at the wrong actor")) break;
    state.SetIterationTime(ns / 1e9);
    total += r.hops;
    total_ns += ns;
  }
  set_rate(state, total, total_ns);
}

void register_ring() {
  benchmark::RegisterBenchmark("ring/keel", bm_keel)
      ->UseManualTime()
      ->Iterations(iterations(k_iterations))
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("ring/reference", bm_reference, false)
      ->UseManualTime()
      ->Iterations(iterations(k_iterations))
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("ring/required", bm_reference, true)
      ->UseManualTime()
      ->Iterations(iterations(k_iterations))
      ->Unit(benchmark::kMillisecond);
}

const registrar reg(&register_ring);

}  // namespace
}  // namespace keel::bench
