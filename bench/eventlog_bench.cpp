// Event log benchmarks (issue 5), each beside its same-run reference:
//
//   log_append/<payload>/<writers>   event_log::append of records with a <payload>-byte payload
//                   (64, 256, 1024 bytes; the frame adds an 80-byte header) from 1 or 2 threads,
//                   page_cache durability, 16 MiB of frames per iteration in one 256 MiB segment
//                   (the append path without rolls). Reported:
//                   cpu_ns_per_append (the appending threads' CPU time / appends),
//                   process_cpu_ns_per_append (with the log's own thread: segment preparation),
//                   p50/p99/p999 of single appends (each timed with the steady clock, so about
//                   25 ns of clock is inside every sample, as in the reference's).
//                   faults_per_1k (page faults the appenders took per 1,000 appends).
//   log_append/rolling/256   the same with 64 MiB segments and 400,000 appends an iteration:
//                   rolls, and waits for the log's thread when the appender outruns it.
//   log_append/reference/<payload>  the floor's reference: memcpy of the same frame bytes into a
//                   pre-faulted MAP_SHARED file mapping, plus XXH3-64 over them, one thread.
//                   Floor: keel's cpu_ns_per_append <= 1.5x the reference's. Goal: p50 <= 100 ns.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include <xxhash.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "harness.h"

#include <keel/eventlog/log.h>

namespace keel::bench {
namespace {

namespace el = keel::eventlog;

// 16 MiB of frames per iteration (ten iterations fit in one 256 MiB segment, so the append path
// is measured without rolls; log_append/rolling measures with them).
std::uint64_t appends_per_iteration(std::size_t payload) {
  return sized<std::uint64_t>((16u << 20) / (80 + payload), 2'000);
}

std::uint64_t self_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}
std::uint64_t process_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

// Minor page faults of the calling thread so far.
std::uint64_t self_faults() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return static_cast<std::uint64_t>(u.ru_minflt + u.ru_majflt);
}

void bm_log_append(benchmark::State& state, std::size_t payload, int writers, bool rolling) {
  bench_dir dir("log");
  el::log_options o;
  o.segment_size = smoke() ? 4ull << 20 : rolling ? 64ull << 20 : 256ull << 20;
  auto log = el::event_log::open(dir.log(), o);
  if (!check(state, log.has_value(), "open the log")) return;
  // The log's thread prepares the next segment right after open: let it finish first.
  std::this_thread::sleep_for(std::chrono::milliseconds(rolling || smoke() ? 0 : 400));
  std::vector<std::byte> bytes(payload, std::byte{0x5a});
  const std::uint64_t n =
      rolling ? sized<std::uint64_t>(400'000, 2'000)
              : appends_per_iteration(payload) / static_cast<std::uint64_t>(writers);
  std::vector<double> samples;
  double cpu = 0;
  double pcpu = 0;
  double wall = 0;
  double faults = 0;
  std::uint64_t total = 0;
  std::atomic<bool> ok{true};
  for (auto _ : state) {
    std::vector<std::vector<double>> lat(static_cast<std::size_t>(writers));
    std::vector<std::uint64_t> cpu_used(static_cast<std::size_t>(writers), 0);
    std::vector<std::uint64_t> faults_seen(static_cast<std::size_t>(writers), 0);
    const std::uint64_t p0 = process_cpu_ns();
    const std::uint64_t t0 = now_ns();
    auto work = [&](int w) {
      auto& mine = lat[static_cast<std::size_t>(w)];
      mine.reserve(n / 16 + 1);
      el::record_in r;
      r.actor_id = static_cast<std::uint64_t>(w) + 1;
      r.payload = bytes;
      const std::uint64_t c0 = self_cpu_ns();
      const std::uint64_t f0 = self_faults();
      for (std::uint64_t i = 0; i < n; ++i) {
        r.actor_seq = i;
        if ((i & 15) == 0) {
          const std::uint64_t a = now_ns();
          if (!(*log)->append(r)) ok = false;
          mine.push_back(static_cast<double>(now_ns() - a));
        } else if (!(*log)->append(r)) {
          ok = false;
        }
      }
      cpu_used[static_cast<std::size_t>(w)] = self_cpu_ns() - c0;
      faults_seen[static_cast<std::size_t>(w)] = self_faults() - f0;
    };
    std::vector<std::thread> ts;
    for (int w = 1; w < writers; ++w) ts.emplace_back(work, w);
    work(0);
    for (auto& t : ts) t.join();
    const auto took = static_cast<double>(now_ns() - t0);
    state.SetIterationTime(took / 1e9);
    wall += took;
    pcpu += static_cast<double>(process_cpu_ns() - p0);
    for (std::uint64_t c : cpu_used) cpu += static_cast<double>(c);
    for (std::uint64_t f : faults_seen) faults += static_cast<double>(f);
    for (auto& v : lat) samples.insert(samples.end(), v.begin(), v.end());
    total += n * static_cast<std::uint64_t>(writers);
  }
  check(state, ok.load(), "every append succeeded");
  state.counters["cpu_ns_per_append"] = total == 0 ? 0 : cpu / static_cast<double>(total);
  state.counters["process_cpu_ns_per_append"] = total == 0 ? 0 : pcpu / static_cast<double>(total);
  // Page faults the appending threads took, per 1,000 appends (0 if pre-faulting works).
  state.counters["faults_per_1k"] = total == 0 ? 0 : faults * 1000 / static_cast<double>(total);
  set_latency_counters(state, samples);
  set_rate(state, total, wall);
}

// memcpy + XXH3 of the same frames into a pre-faulted shared file mapping.
void bm_log_append_reference(benchmark::State& state, std::size_t payload) {
  bench_dir dir("log");
  const std::uint64_t size = smoke() ? 4ull << 20 : 64ull << 20;
  const std::string path = dir.root + "/ref";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (!check(state, fd >= 0 && ::posix_fallocate(fd, 0, static_cast<off_t>(size)) == 0,
             "reference file")) {
    return;
  }
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (!check(state, p != MAP_FAILED, "reference mapping")) {
    ::close(fd);
    return;
  }
#ifdef MADV_POPULATE_WRITE
  (void)::madvise(p, size, MADV_POPULATE_WRITE);  // writable now, as the log's segments are
#endif
  char* base = static_cast<char*>(p);
  const std::size_t frame = 80 + payload;
  const std::size_t step = (frame + 7) & ~std::size_t{7};
  std::vector<char> src(frame, 0x5a);
  const std::uint64_t n = appends_per_iteration(payload);
  std::vector<double> samples;
  double cpu = 0;
  double wall = 0;
  std::uint64_t total = 0;
  std::uint64_t off = 0;
  std::uint64_t sink = 0;
  for (auto _ : state) {
    const std::uint64_t t0 = now_ns();
    const std::uint64_t c0 = self_cpu_ns();
    for (std::uint64_t i = 0; i < n; ++i) {
      if (off + step > size) off = 0;
      const bool timed = (i & 15) == 0;
      const std::uint64_t a = timed ? now_ns() : 0;
      std::memcpy(base + off, src.data(), frame);
      const std::uint64_t h = XXH3_64bits_withSeed(base + off + 16, frame - 16, i);
      std::memcpy(base + off + 8, &h, sizeof(h));
      sink += h;
      off += step;
      if (timed) samples.push_back(static_cast<double>(now_ns() - a));
    }
    cpu += static_cast<double>(self_cpu_ns() - c0);
    const auto took = static_cast<double>(now_ns() - t0);
    state.SetIterationTime(took / 1e9);
    wall += took;
    total += n;
  }
  benchmark::DoNotOptimize(sink);
  ::munmap(p, size);
  ::close(fd);
  state.counters["cpu_ns_per_append"] = total == 0 ? 0 : cpu / static_cast<double>(total);
  set_latency_counters(state, samples);
  set_rate(state, total, wall);
}

void register_eventlog() {
  for (std::size_t payload : {64, 256, 1024}) {
    const std::string size = std::to_string(payload);
    benchmark::RegisterBenchmark(("log_append/reference/" + size).c_str(), bm_log_append_reference,
                                 payload)
        ->UseManualTime()
        ->Iterations(iterations(10))
        ->Unit(benchmark::kMillisecond);
    for (int writers : {1, 2}) {
      if (writers == 2 && payload != 64) continue;
      benchmark::RegisterBenchmark(("log_append/" + size + "/" + std::to_string(writers)).c_str(),
                                   bm_log_append, payload, writers, false)
          ->UseManualTime()
          ->Iterations(iterations(10))
          ->Unit(benchmark::kMillisecond);
    }
  }
  // Sustained: 64 MiB segments, so that the appender meets rolls and, when it outruns the log's
  // thread preparing segments (the kernel zeroing and mapping new pages), waits for it.
  benchmark::RegisterBenchmark("log_append/rolling/256", bm_log_append, 256, 1, true)
      ->UseManualTime()
      ->Iterations(iterations(5))
      ->Unit(benchmark::kMillisecond);
}

const registrar reg(&register_eventlog);

}  // namespace
}  // namespace keel::bench
