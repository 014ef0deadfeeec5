// Event log scan benchmarks (issue 5), beside their same-run reference:
//
//   log_scan/<payload>   log_reader::open and a scan of every record of a one-segment log
//                        (warm page cache): each frame's commit word, length, checksum and type
//                        checked, its header copied and handed to the visitor. Reported:
//                        records_per_second, ns_per_record.
//   log_scan/reference/<payload>  the floor's reference: the same file mapped read-only and a
//                        loop that XXH3s each record's bytes (the lengths taken on trust).
//                        Floor: keel's records/s >= 0.6x the reference's. Goal: >= 15 M/s.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_util.h"
#include "harness.h"

#include <keel/eventlog/log.h>
#include <keel/eventlog/reader.h>

namespace keel::bench {
namespace {

namespace el = keel::eventlog;

struct scan_fixture {
  bench_dir tmp{"scan"};
  std::string dir = tmp.log();
  std::uint64_t records = 0;
  bool ok = false;

  explicit scan_fixture(std::size_t payload) {
    el::log_options o;
    o.segment_size = smoke() ? 4ull << 20 : 256ull << 20;
    auto log = el::event_log::open(dir, o);
    if (!log) return;
    const std::uint64_t n = sized<std::uint64_t>((128ull << 20) / (80 + payload), 2'000);
    std::vector<std::byte> p(payload, std::byte{0x5a});
    el::record_in r;
    r.payload = p;
    for (std::uint64_t i = 0; i < n; ++i) {
      r.actor_id = i % 100;
      r.ts_ns = static_cast<std::int64_t>(i);
      if (!(*log)->append(r)) return;
    }
    records = n;
    ok = true;
  }
};

void bm_log_scan(benchmark::State& state, std::size_t payload) {
  scan_fixture fx(payload);
  if (!check(state, fx.ok, "fixture log")) return;
  double wall = 0;
  std::uint64_t total = 0;
  std::uint64_t sink = 0;
  for (auto _ : state) {
    const std::uint64_t t0 = now_ns();
    auto reader = el::log_reader::open(fx.dir);
    if (!check(state, reader.has_value(), "log_reader::open")) return;
    std::uint64_t n = 0;
    const el::scan_report rep = reader->scan([&](const el::record_view& v) {
      sink += v.header.actor_id;
      ++n;
      return true;
    });
    const auto took = static_cast<double>(now_ns() - t0);
    if (!check(state, n == fx.records && !rep.corrupt(), "scan of every record")) return;
    state.SetIterationTime(took / 1e9);
    wall += took;
    total += n;
  }
  benchmark::DoNotOptimize(sink);
  state.counters["ns_per_record"] = total == 0 ? 0 : wall / static_cast<double>(total);
  state.counters["records_per_second"] = total == 0 ? 0 : static_cast<double>(total) / wall * 1e9;
}

void bm_log_scan_reference(benchmark::State& state, std::size_t payload) {
  scan_fixture fx(payload);
  if (!check(state, fx.ok, "fixture log")) return;
  const std::string path = fx.dir + "/seg/00000000000000000000.evl";
  double wall = 0;
  std::uint64_t total = 0;
  std::uint64_t sink = 0;
  for (auto _ : state) {
    const std::uint64_t t0 = now_ns();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    const off_t size = fd >= 0 ? ::lseek(fd, 0, SEEK_END) : 0;
    void* p = fd >= 0
                  ? ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ, MAP_SHARED, fd, 0)
                  : MAP_FAILED;
    if (!check(state, p != MAP_FAILED, "reference mapping")) return;
    const char* base = static_cast<const char*>(p);
    std::uint64_t off = 4096;
    std::uint64_t n = 0;
    for (; n < fx.records; ++n) {
      std::int32_t len = 0;
      std::memcpy(&len, base + off, sizeof(len));
      sink += XXH3_64bits_withSeed(base + off + 16, static_cast<std::size_t>(len) - 16, off);
      off += (static_cast<std::uint64_t>(len) + 7) & ~std::uint64_t{7};
    }
    ::munmap(p, static_cast<std::size_t>(size));
    ::close(fd);
    const auto took = static_cast<double>(now_ns() - t0);
    state.SetIterationTime(took / 1e9);
    wall += took;
    total += n;
  }
  benchmark::DoNotOptimize(sink);
  state.counters["ns_per_record"] = total == 0 ? 0 : wall / static_cast<double>(total);
  state.counters["records_per_second"] = total == 0 ? 0 : static_cast<double>(total) / wall * 1e9;
}

void register_eventlog_scan() {
  for (std::size_t payload : {64, 256}) {
    const std::string size = std::to_string(payload);
    benchmark::RegisterBenchmark(("log_scan/reference/" + size).c_str(), bm_log_scan_reference,
                                 payload)
        ->UseManualTime()
        ->Iterations(iterations(10))
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("log_scan/" + size).c_str(), bm_log_scan, payload)
        ->UseManualTime()
        ->Iterations(iterations(10))
        ->Unit(benchmark::kMillisecond);
  }
}

const registrar reg(&register_eventlog_scan);

}  // namespace
}  // namespace keel::bench
