// Snapshot benchmarks (issue 5), beside raw LZ4 on the same state:
//
//   snapshot/save    snapshot_store::save of a ledger-like state (200,000 accounts: id,
//                    balance, an order count and a short name, in keel's state encoding, about
//                    6 MB): LZ4 blocks, XXH3 per block and over the state, write, fdatasync,
//                    rename, directory sync. Reported: mb_s (state bytes per second), ratio
//                    (state bytes / file bytes).
//   snapshot/load    snapshot_store::load of it: read, verify every block, decompress, check the
//                    state's hash.
//   snapshot/reference/compress, /decompress   one LZ4_compress_default / LZ4_decompress_safe
//                    call over the same state in memory: the codec alone.
#include <lz4.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "bench_util.h"
#include "harness.h"

#include <keel/core/state.h>
#include <keel/eventlog/log.h>
#include <keel/eventlog/snapshot.h>

namespace keel::bench {
namespace {

namespace el = keel::eventlog;

std::vector<std::byte> ledger_state() {
  keel::state_writer w;
  const std::uint64_t n = smoke() ? 2'000 : 200'000;
  w.write(n);
  std::uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (std::uint64_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    w.write(i + 1)
        .write(static_cast<std::int64_t>(x % 10'000'000))
        .write(static_cast<std::uint32_t>(x % 97))
        .write(std::string("customer-") + std::to_string(i % 5000));
  }
  return w.take();
}

struct store_fixture {
  bench_dir tmp{"snap"};  // removed after the store and the log (declared first)
  std::unique_ptr<el::event_log> log;
  std::unique_ptr<el::snapshot_store> store;
  store_fixture() {
    el::log_options o;
    o.segment_size = 4u << 20;
    auto l = el::event_log::open(tmp.log(), o);
    if (!l) return;
    log = std::move(*l);
    el::snapshot_options so;
    so.keep = 2;
    auto s = el::snapshot_store::open(tmp.log(), so);
    if (s) store = std::move(*s);
  }
  ~store_fixture() {
    store.reset();  // before the log it reads
    log.reset();
  }
};

void bm_snapshot_save(benchmark::State& state) {
  const std::vector<std::byte> s = ledger_state();
  store_fixture fx;
  if (!check(state, fx.store != nullptr, "snapshot store")) return;
  std::uint64_t seq = 0;
  std::uint64_t file = 0;
  double ns = 0;
  for (auto _ : state) {
    const std::uint64_t t0 = now_ns();
    ++seq;
    auto info = fx.store->save(1, seq, seq, s);
    const std::uint64_t t1 = now_ns();
    if (!check(state, info.has_value(), "save")) return;
    file = info->file_size;
    ns += static_cast<double>(t1 - t0);
    state.SetIterationTime(static_cast<double>(t1 - t0) / 1e9);
  }
  const double iters = static_cast<double>(state.iterations());
  state.counters["mb_s"] = static_cast<double>(s.size()) / (ns / iters) * 1e3;
  state.counters["ratio"] = static_cast<double>(s.size()) / static_cast<double>(file);
  state.counters["state_mb"] = static_cast<double>(s.size()) / 1e6;
}

void bm_snapshot_load(benchmark::State& state) {
  const std::vector<std::byte> s = ledger_state();
  store_fixture fx;
  if (!check(state, fx.store != nullptr && fx.store->save(1, 1, 1, s).has_value(), "save")) {
    return;
  }
  double ns = 0;
  for (auto _ : state) {
    const std::uint64_t t0 = now_ns();
    auto loaded = fx.store->load(1);
    const std::uint64_t t1 = now_ns();
    if (!check(state, loaded.has_value() && loaded->state.size() == s.size(), "load")) return;
    ns += static_cast<double>(t1 - t0);
    state.SetIterationTime(static_cast<double>(t1 - t0) / 1e9);
  }
  const double iters = static_cast<double>(state.iterations());
  state.counters["mb_s"] = static_cast<double>(s.size()) / (ns / iters) * 1e3;
}

void bm_snapshot_reference(benchmark::State& state, bool compress) {
  const std::vector<std::byte> s = ledger_state();
  const char* src = reinterpret_cast<const char*>(s.data());
  const int n = static_cast<int>(s.size());
  std::vector<char> packed(static_cast<std::size_t>(LZ4_compressBound(n)));
  const int c = LZ4_compress_default(src, packed.data(), n, static_cast<int>(packed.size()));
  std::vector<char> out(s.size());
  double ns = 0;
  for (auto _ : state) {
    const std::uint64_t t0 = now_ns();
    const int r = compress
                      ? LZ4_compress_default(src, packed.data(), n, static_cast<int>(packed.size()))
                      : LZ4_decompress_safe(packed.data(), out.data(), c, n);
    const std::uint64_t t1 = now_ns();
    if (!check(state, r > 0, "lz4")) return;
    ns += static_cast<double>(t1 - t0);
    state.SetIterationTime(static_cast<double>(t1 - t0) / 1e9);
  }
  const double iters = static_cast<double>(state.iterations());
  state.counters["mb_s"] = static_cast<double>(s.size()) / (ns / iters) * 1e3;
  state.counters["ratio"] = static_cast<double>(s.size()) / static_cast<double>(c);
}

void register_snapshot() {
  benchmark::RegisterBenchmark("snapshot/reference/compress", bm_snapshot_reference, true)
      ->UseManualTime()
      ->Iterations(iterations(20))
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("snapshot/save", bm_snapshot_save)
      ->UseManualTime()
      ->Iterations(iterations(20))
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("snapshot/reference/decompress", bm_snapshot_reference, false)
      ->UseManualTime()
      ->Iterations(iterations(20))
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("snapshot/load", bm_snapshot_load)
      ->UseManualTime()
      ->Iterations(iterations(20))
      ->Unit(benchmark::kMillisecond);
}

const registrar reg(&register_snapshot);

}  // namespace
}  // namespace keel::bench
