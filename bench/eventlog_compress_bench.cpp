// Sealed-segment compression (issue 5), beside its same-run references:
//
//   log_compress/demo/<level>   a 32 MiB segment of the demo's order traffic (records as keel
//                   records them: 80-byte headers, payloads in keel's codec) compressed to a
//                   .evz with the delta transform and LZ4HC at <level>, then restored.
//                   Reported: saved (fraction of the frame bytes saved), gzip6_saved (what
//                   `gzip -6` saves on the same bytes, run in the same process), vs_gzip
//                   (saved / gzip6_saved: floor >= 0.9), lz4_saved and lz4hc_saved (plain LZ4 and
//                   LZ4HC on the untransformed bytes), compress_mb_s, restore_mb_s.
//   log_compress/recorded/<level>   the same on the first sealed segment of a log that
//                   keel-demo recorded (`keel-demo --log-dir DIR`), named by the environment
//                   variable KEEL_BENCH_DEMO_LOG (skipped without it): the demo's real traffic,
//                   every hop of every order plus the state hashes, timer ticks and lifecycle.
#include <lz4.h>
#include <lz4hc.h>
#include <stdlib.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bench_util.h"
#include "eventlog/compress.h"
#include "harness.h"

#include <keel/core/codec.h>
#include <keel/core/message.h>
#include <keel/eventlog/log.h>
#include <keel/eventlog/reader.h>

namespace keel::bench {
namespace {

namespace el = keel::eventlog;

// The demo's order as it was when this benchmark was written (keel-demo's now carries the card
// and the fault too; log_compress/recorded measures its real traffic): the synthetic segment
// stays the same across runs.
struct order {
  std::uint64_t id = 0;
  std::uint64_t customer = 0;
  std::int64_t amount_cents = 0;
  std::uint64_t received_ns = 0;
  static constexpr auto keel_fields =
      keel::fields(keel::field("id", &order::id), keel::field("customer", &order::customer),
                   keel::field("amount_cents", &order::amount_cents),
                   keel::field("received_ns", &order::received_ns));
};
struct order_msg {
  static constexpr std::string_view keel_name = "demo.validate_order/1";
  order o;
  static constexpr auto keel_fields = keel::fields(keel::field("o", &order_msg::o));
};

// The frame bytes [4096, end) of one segment of demo traffic: each order passes gateway ->
// validator (one of four) -> payment -> database -> ledger, one record per hop, correlated by
// order id and caused by the previous hop's message.
std::vector<char> demo_segment(std::uint64_t bytes, std::uint64_t& salt_out) {
  std::vector<char> out;
  const bench_dir tmp("z");
  {
    el::log_options o;
    o.segment_size = 64ull << 20;
    auto log = el::event_log::open(tmp.log(), o);
    if (!log) return out;
    std::mt19937_64 rng(42);
    std::uint64_t msg = 1;
    std::uint64_t actor_seq[16] = {};
    std::int64_t now = 1'700'000'000'000'000'000;
    const std::uint64_t types[5] = {0x1f3a9c0d2b4e5f61, 0x2a4b6c8d0e1f2a3b, 0x3c5d7e9f1a2b3c4d,
                                    0x4e6f8a0b2c3d4e5f, 0x5a7b9c1d3e4f5a6b};
    for (std::uint64_t id = 1;; ++id) {
      order_msg m;
      m.o.id = id;
      m.o.customer = 1 + rng() % 5000;
      m.o.amount_cents = static_cast<std::int64_t>(100 + rng() % 100'000);
      m.o.received_ns = static_cast<std::uint64_t>(now);
      const std::vector<std::byte> payload = keel::encode(m);
      const std::uint64_t path[5] = {1, 2 + rng() % 4, 6, 7, 8};
      std::uint64_t cause = 0;
      for (int hop = 0; hop < 5; ++hop) {
        now += static_cast<std::int64_t>(800 + rng() % 4000);
        el::record_in r;
        r.ts_ns = now;
        r.actor_id = path[hop];
        r.actor_seq = ++actor_seq[path[hop]];
        r.message_id = msg;
        r.correlation = id;
        r.causation = cause;
        r.payload_type = types[hop];
        r.payload = payload;
        cause = msg++;
        if (!(*log)->append(r)) return out;
      }
      if ((*log)->next_seq() * (80 + payload.size() + 8) > bytes) break;
    }
  }
  auto reader = el::log_reader::open(tmp.log());
  std::uint64_t end = 0;
  if (reader) {
    (void)reader->scan([&](const el::record_view& v) {
      end = v.offset + el::align_up(static_cast<std::uint64_t>(v.header.len));
      return true;
    });
    const std::vector<el::segment_info> segs = reader->segments();
    salt_out = segs.front().header.salt;
    std::ifstream f(segs.front().file, std::ios::binary);
    out.resize(end);
    f.read(out.data(), static_cast<std::streamsize>(end));
  }
  return out;
}

// The bytes [0, end of the last frame) of the first sealed segment of the log at `dir` (a .evz
// is restored first); empty if there is none.
std::vector<char> recorded_segment(const std::string& dir, std::uint64_t& salt_out) {
  std::vector<char> out;
  auto reader = el::log_reader::open(dir);
  if (!reader) return out;
  for (const el::segment_info& s : reader->segments()) {
    if (s.spare || s.problem != el::log_problem::none || s.header.sealed_end == 0) continue;
    std::ifstream f(s.file, std::ios::binary);
    std::vector<char> bytes(s.file_size);
    f.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f) return out;
    if (s.compressed) {
      if (!el::detail::decompress_segment(bytes, out, s.file)) out.clear();
    } else {
      bytes.resize(s.header.sealed_end);
      out = std::move(bytes);
    }
    salt_out = s.header.salt;
    return out;
  }
  return out;
}

std::uint64_t gzip6_size(const std::vector<char>& seg) {
  char name[] = "/tmp/keel-bench-gz-XXXXXX";
  const int fd = ::mkstemp(name);
  if (fd < 0) return 0;
  const char* p = seg.data() + el::k_header_size;
  std::size_t left = seg.size() - el::k_header_size;
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  ::close(fd);
  const std::string cmd = std::string("gzip -6 -c ") + name + " | wc -c";
  std::uint64_t size = 0;
  if (FILE* pipe = ::popen(cmd.c_str(), "r")) {
    unsigned long long v = 0;
    if (std::fscanf(pipe, "%llu", &v) == 1) size = v;
    ::pclose(pipe);
  }
  ::unlink(name);
  return size;
}

std::uint64_t lz4_size(const std::vector<char>& seg, int level) {
  const char* src = seg.data() + el::k_header_size;
  const std::size_t n = seg.size() - el::k_header_size;
  std::vector<char> dst(static_cast<std::size_t>(LZ4_compressBound(1 << 20)));
  std::uint64_t total = 0;
  for (std::size_t at = 0; at < n; at += 1u << 20) {
    const int len = static_cast<int>(std::min<std::size_t>(1u << 20, n - at));
    const int c =
        level == 0
            ? LZ4_compress_default(src + at, dst.data(), len, static_cast<int>(dst.size()))
            : LZ4_compress_HC(src + at, dst.data(), len, static_cast<int>(dst.size()), level);
    total += static_cast<std::uint64_t>(c);
  }
  return total;
}

void bm_log_compress(benchmark::State& state, int level, bool recorded) {
  std::uint64_t salt = 0;
  std::vector<char> seg;
  if (recorded) {
    const char* dir = std::getenv("KEEL_BENCH_DEMO_LOG");
    if (dir == nullptr) {
      state.SkipWithError("KEEL_BENCH_DEMO_LOG names no log (keel-demo --log-dir DIR)");
      return;
    }
    seg = recorded_segment(dir, salt);
    if (!check(state, seg.size() > el::k_header_size, "a sealed segment in KEEL_BENCH_DEMO_LOG"))
      return;
  } else {
    seg = demo_segment(smoke() ? 2u << 20 : 32u << 20, salt);
    if (!check(state, seg.size() > el::k_header_size, "demo segment")) return;
  }
  const double frames = static_cast<double>(seg.size() - el::k_header_size);
  double compress_ns = 0;
  double restore_ns = 0;
  std::uint64_t evz_size = 0;
  std::vector<char> restored;
  for (auto _ : state) {
    const std::uint64_t t0 = now_ns();
    auto evz = el::detail::compress_segment(seg.data(), seg.size(), salt, level);
    const std::uint64_t t1 = now_ns();
    if (!check(state, evz.has_value(), "compress_segment")) return;
    const keel::status st = el::detail::decompress_segment(*evz, restored, "bench");
    const std::uint64_t t2 = now_ns();
    if (!check(state, st.is_ok() && restored == seg, "restored bytes equal")) return;
    compress_ns += static_cast<double>(t1 - t0);
    restore_ns += static_cast<double>(t2 - t1);
    evz_size = evz->size() - el::k_header_size;
    state.SetIterationTime(static_cast<double>(t2 - t0) / 1e9);
  }
  const double iters = static_cast<double>(state.iterations());
  const double saved = 1.0 - static_cast<double>(evz_size) / frames;
  const double gz = 1.0 - static_cast<double>(gzip6_size(seg)) / frames;
  state.counters["saved"] = saved;
  state.counters["gzip6_saved"] = gz;
  state.counters["vs_gzip"] = gz > 0 ? saved / gz : 0;
  state.counters["lz4_saved"] = 1.0 - static_cast<double>(lz4_size(seg, 0)) / frames;
  state.counters["lz4hc_saved"] = 1.0 - static_cast<double>(lz4_size(seg, level)) / frames;
  state.counters["compress_mb_s"] = frames / (compress_ns / iters) * 1e3;
  state.counters["restore_mb_s"] = frames / (restore_ns / iters) * 1e3;
}

void register_eventlog_compress() {
  for (int level : {4, 9}) {
    benchmark::RegisterBenchmark(("log_compress/demo/" + std::to_string(level)).c_str(),
                                 bm_log_compress, level, false)
        ->UseManualTime()
        ->Iterations(iterations(3))
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark("log_compress/recorded/4", bm_log_compress, 4, true)
      ->UseManualTime()
      ->Iterations(iterations(3))
      ->Unit(benchmark::kMillisecond);
}

const registrar reg(&register_eventlog_compress);

}  // namespace
}  // namespace keel::bench
