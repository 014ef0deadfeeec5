// Recording benchmarks (issue 5): what the recorder adds to each message, beside a raw append
// of the same record in the same run.
//
//   recording/ring/off   100 actors pass a token (a codec message: two u64) around a ring,
//                        200,000 hops per iteration, no recorder attached.
//   recording/ring/on    the same with a recorder attached that records every actor: each hop
//                        is also a MESSAGE record (80-byte header + 16-byte payload) appended
//                        to a page_cache log. Reported: ns_per_hop, and for /on, added_ns (its
//                        ns_per_hop minus /off's, from the same process) and vs_append
//                        (added_ns / the raw append's ns): floor <= 1.3.
//   recording/append     event_log::append of the same record from one thread (the reference).
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "bench_util.h"
#include "harness.h"

#include <keel/core/codec.h>
#include <keel/eventlog/log.h>
#include <keel/eventlog/recorder.h>

namespace keel::bench {
namespace {

namespace el = keel::eventlog;

constexpr std::uint32_t k_members = 100;

struct rec_run {
  completion* done = nullptr;
};

struct rec_token {
  static constexpr std::string_view keel_name = "bench.recording.token/1";
  std::uint64_t remaining = 0;
  std::uint64_t hops = 0;
  static constexpr auto keel_fields = keel::fields(keel::field("remaining", &rec_token::remaining),
                                                   keel::field("hops", &rec_token::hops));
};

class rec_member;
struct rec_link {
  static constexpr std::string_view keel_name = "bench.recording.link/1";
  actor_ref<rec_member> next;
};

class rec_member : public actor<rec_member, rec_token, rec_link> {
 public:
  static constexpr std::string_view keel_name = "bench.recording.member";
  explicit rec_member(rec_run* run) : run_(run) {}
  void on(rec_link& l) { next_ = l.next; }
  void on(rec_token& t) {
    ++t.hops;
    if (--t.remaining == 0) {
      run_->done->signal();
      return;
    }
    (void)next_.send(std::move(t));
  }

 private:
  rec_run* run_;
  actor_ref<rec_member> next_;
};

struct temp_log {
  bench_dir tmp{"rec"};  // removed after the log (declared first)
  std::unique_ptr<el::event_log> log;
  temp_log() {
    el::log_options o;
    o.segment_size = smoke() ? 4ull << 20 : 256ull << 20;
    o.compression_level = 0;
    auto l = el::event_log::open(tmp.log(), o);
    if (l) log = std::move(*l);
  }
};

// ns per hop of the last /off run, for /on's added cost (the two run back to back).
double g_off_ns = 0;
double g_append_ns = 0;

void bm_recording_ring(benchmark::State& state, bool record) {
  temp_log tl;
  if (!check(state, tl.log != nullptr, "log")) return;
  std::shared_ptr<el::recorder> rec;
  if (record) rec = el::recorder::create(*tl.log).value();
  auto sys = make_system(state, [&](system_config& c) {
    if (rec) c.hooks.push_back(rec);
  });
  if (!sys) return;
  if (rec) rec->use_types(sys->types());
  rec_run run;
  std::vector<actor_ref<rec_member>> members;
  for (std::uint32_t i = 0; i < k_members; ++i)
    members.push_back(sys->spawn<rec_member>(&run).value());
  for (std::uint32_t i = 0; i < k_members; ++i) {
    (void)members[i].send(rec_link{members[(i + 1) % k_members]});
  }
  const std::uint64_t hops = sized<std::uint64_t>(200'000, 2'000);
  double total = 0;
  std::uint64_t all = 0;
  for (auto _ : state) {
    completion done;
    run.done = &done;
    const std::uint64_t t0 = now_ns();
    (void)members[0].send(rec_token{hops, 0});
    if (!check(state, done.wait(), "the token's last hop")) return;
    const std::uint64_t took = now_ns() - t0;
    state.SetIterationTime(static_cast<double>(took) / 1e9);
    total += static_cast<double>(took);
    all += hops;
  }
  const double per = total / static_cast<double>(all);
  state.counters["ns_per_hop"] = per;
  if (!record) {
    g_off_ns = per;
  } else {
    state.counters["added_ns"] = per - g_off_ns;
    if (g_append_ns > 0) state.counters["vs_append"] = (per - g_off_ns) / g_append_ns;
    state.counters["recorded"] = static_cast<double>(rec->counters().inputs);
  }
  set_rate(state, all, total);
}

void bm_recording_append(benchmark::State& state) {
  temp_log tl;
  if (!check(state, tl.log != nullptr, "log")) return;
  rec_token t{1, 2};
  const std::vector<std::byte> payload = keel::encode(t);
  el::record_in r;
  r.actor_id = 7;
  r.actor_seq = 1;
  r.message_id = 9;
  r.payload_type = keel::type_id_of<rec_token>();
  r.payload = payload;
  const std::uint64_t n = sized<std::uint64_t>(200'000, 2'000);
  double total = 0;
  std::uint64_t all = 0;
  for (auto _ : state) {
    const std::uint64_t t0 = now_ns();
    for (std::uint64_t i = 0; i < n; ++i) {
      r.ts_ns = static_cast<std::int64_t>(i);
      if (!tl.log->append(r)) {
        check(state, false, "append");
        return;
      }
    }
    const std::uint64_t took = now_ns() - t0;
    state.SetIterationTime(static_cast<double>(took) / 1e9);
    total += static_cast<double>(took);
    all += n;
  }
  g_append_ns = total / static_cast<double>(all);
  state.counters["ns_per_append"] = g_append_ns;
  set_rate(state, all, total);
}

void register_recording() {
  benchmark::RegisterBenchmark("recording/append", bm_recording_append)
      ->UseManualTime()
      ->Iterations(iterations(10))
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("recording/ring/off", bm_recording_ring, false)
      ->UseManualTime()
      ->Iterations(iterations(10))
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("recording/ring/on", bm_recording_ring, true)
      ->UseManualTime()
      ->Iterations(iterations(10))
      ->Unit(benchmark::kMillisecond);
}

const registrar reg(&register_recording);

}  // namespace
}  // namespace keel::bench
