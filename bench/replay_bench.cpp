// Replay benchmark (issue 5): replay_exec, re-executing recorded inputs under the deterministic
// executor, beside a scan of the same log in the same run.
//
//   replay/exec   replay_controller::replay_scenario over a log of one actor's 200,000 inputs
//                 (a codec message: two u64) with a STATE_HASH every 64 inputs: planning (two
//                 scans), read-ahead, decode, set_clock, send_encoded, the activation, the hash
//                 of the state after each hashed input and its comparison. Reported:
//                 events_per_second (floor: 1 M, 10x the seed's 100 k) and vs_scan (its ns per
//                 input over the scan's ns per record).
//   replay/scan   log_reader::scan of the same log, headers and checksums (the reference).
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "bench_util.h"
#include "harness.h"

#include <keel/core/codec.h>
#include <keel/core/rng.h>
#include <keel/core/state.h>
#include <keel/eventlog/log.h>
#include <keel/eventlog/reader.h>
#include <keel/eventlog/replay.h>

namespace keel::bench {
namespace {

namespace el = keel::eventlog;

struct rp_add {
  static constexpr std::string_view keel_name = "bench.replay.add/1";
  std::uint64_t n = 0;
  std::uint64_t k = 0;
  static constexpr auto keel_fields =
      keel::fields(keel::field("n", &rp_add::n), keel::field("k", &rp_add::k));
};

class rp_counter : public actor<rp_counter, rp_add> {
 public:
  static constexpr std::string_view keel_name = "bench.replay.counter";
  void on(rp_add& a) {
    sum_ += a.n;
    last_ = a.k;
  }
  void save_state(state_writer& w) const { w.write(sum_).write(last_); }
  void load_state(state_reader& r) {
    r.read(sum_);
    r.read(last_);
  }

 private:
  std::uint64_t sum_ = 0;
  std::uint64_t last_ = 0;
};

constexpr std::uint32_t k_hash_every = 64;
constexpr actor_id k_actor = 1;
constexpr std::uint64_t k_seed = 42;

// A log as the recorder writes it for one rp_counter: SPAWN, RNG_SEED, then its inputs, with
// the STATE_HASH that the actor's state has after every k_hash_every-th.
struct replay_log {
  bench_dir tmp{"replay"};
  std::uint64_t inputs = 0;
  bool ok = false;

  explicit replay_log(std::uint64_t n) : inputs(n) {
    el::log_options o;
    o.segment_size = 256ull << 20;
    o.compression_level = 0;
    auto log = el::event_log::open(dir(), o);
    if (!log) return;
    const std::string type(rp_counter::keel_name);
    el::record_in spawn;
    spawn.type = el::record_type::spawn;
    spawn.actor_id = k_actor;
    spawn.payload = std::as_bytes(std::span(type.data(), type.size()));
    const std::uint64_t seeds[2] = {k_seed, actor_rng::seed_for(k_seed, k_actor)};
    el::record_in seed;
    seed.type = el::record_type::rng_seed;
    seed.actor_id = k_actor;
    seed.payload = std::as_bytes(std::span(seeds));
    if (!(*log)->append(spawn) || !(*log)->append(seed)) return;
    std::uint64_t sum = 0;
    std::vector<std::byte> bytes;
    state_writer w;
    for (std::uint64_t i = 1; i <= n; ++i) {
      const rp_add a{i % 97, i};
      bytes.clear();
      codec_ops_of<rp_add>.encode(&a, bytes);
      el::record_in r;
      r.ts_ns = static_cast<std::int64_t>(1'000'000 + i * 1000);
      r.actor_id = k_actor;
      r.actor_seq = i;
      r.message_id = 1000 + i;
      r.correlation = 1000 + i;
      r.payload_type = type_id_of<rp_add>();
      r.payload = bytes;
      if (!(*log)->append(r)) return;
      sum += a.n;
      if (i % k_hash_every == 0) {
        w.clear();
        w.write(sum).write(a.k);
        const std::uint64_t h = state_hash(w.bytes());
        el::record_in hr;
        hr.type = el::record_type::state_hash;
        hr.actor_id = k_actor;
        hr.actor_seq = i;
        hr.payload = std::as_bytes(std::span(&h, 1));
        if (!(*log)->append(hr)) return;
      }
    }
    ok = true;
  }
  std::string dir() const { return tmp.log(); }
};

double g_scan_ns = 0;

void bm_replay_scan(benchmark::State& state) {
  replay_log rl(sized<std::uint64_t>(200'000, 2'000));
  if (!check(state, rl.ok, "writing the log")) return;
  auto reader = el::log_reader::open(rl.dir());
  if (!check(state, reader.has_value(), "log_reader::open")) return;
  double total = 0;
  std::uint64_t all = 0;
  for (auto _ : state) {
    std::uint64_t records = 0;
    const std::uint64_t t0 = now_ns();
    const el::scan_report rep = reader->scan([&](const el::record_view&) {
      ++records;
      return true;
    });
    const std::uint64_t took = now_ns() - t0;
    if (!check(state, !rep.corrupt(), "scan")) return;
    state.SetIterationTime(static_cast<double>(took) / 1e9);
    total += static_cast<double>(took);
    all += records;
  }
  g_scan_ns = total / static_cast<double>(all);
  state.counters["ns_per_record"] = g_scan_ns;
  set_rate(state, all, total);
}

void bm_replay_exec(benchmark::State& state) {
  replay_log rl(sized<std::uint64_t>(200'000, 2'000));
  if (!check(state, rl.ok, "writing the log")) return;
  type_registry types;
  if (!check(state, types.add<rp_add>().is_ok(), "types")) return;
  el::replay_controller rc(rl.dir(), types,
                           [](actor_factory_registry& f) { (void)f.add<rp_counter>(); });
  double total = 0;
  std::uint64_t all = 0;
  std::uint64_t hashes = 0;
  for (auto _ : state) {
    const std::uint64_t t0 = now_ns();
    auto report = rc.replay_scenario(1001);  // the first input's correlation
    const std::uint64_t took = now_ns() - t0;
    if (!check(state, report.has_value(), "replay_scenario")) return;
    if (!check(state, report->matched() && report->inputs == rl.inputs, report->summary())) return;
    hashes = report->hashes_compared;
    state.SetIterationTime(static_cast<double>(took) / 1e9);
    total += static_cast<double>(took);
    all += report->inputs;
  }
  const double per = total / static_cast<double>(all);
  state.counters["ns_per_input"] = per;
  state.counters["events_per_second"] = 1e9 / per;
  state.counters["hashes_compared"] = static_cast<double>(hashes);
  if (g_scan_ns > 0) state.counters["vs_scan"] = per / g_scan_ns;
  set_rate(state, all, total);
}

void register_replay() {
  benchmark::RegisterBenchmark("replay/scan", bm_replay_scan)
      ->UseManualTime()
      ->Iterations(iterations(5))
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("replay/exec", bm_replay_exec)
      ->UseManualTime()
      ->Iterations(iterations(5))
      ->Unit(benchmark::kMillisecond);
}

const registrar reg(&register_replay);

}  // namespace
}  // namespace keel::bench
