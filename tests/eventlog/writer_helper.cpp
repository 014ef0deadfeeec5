// A writer process for tests/eventlog/crash_test.cpp, started by fork+exec and killed with
// SIGKILL at a random moment:
//
//   keel-log-writer-helper <log dir> <threads> <ack file>
//
// Opens the log (1 MiB segments, so that it rolls often), starts <threads> threads, and has
// each append records whose payload names (thread, index) until it is killed. After each append
// returns, the thread stores index + 1 into its slot of the ack file (a shared mapping, one u64
// per thread, release): everything below that count is acknowledged and must survive the kill.
// Writes "ready\n" to stdout once the log is open.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include <keel/eventlog/log.h>

namespace el = keel::eventlog;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s <log dir> <threads> <ack file>\n", argv[0]);
    return 2;
  }
  const int threads = std::atoi(argv[2]);
  const int fd = ::open(argv[3], O_RDWR | O_CLOEXEC);
  if (fd < 0 || threads < 1 || threads > 64) return 2;
  void* p = ::mmap(nullptr, 64 * sizeof(std::uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return 2;
  auto* acks = static_cast<std::uint64_t*>(p);
  el::log_options o;
  o.segment_size = 1u << 20;
  o.max_record = 64u << 10;
  auto log = el::event_log::open(argv[1], o);
  if (!log) {
    std::fprintf(stderr, "open: %s\n", log.error().to_string().c_str());
    return 3;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      std::vector<std::byte> payload(512);
      for (std::uint64_t i = 0;; ++i) {
        const std::size_t n = 16 + (i * 31 + static_cast<std::uint64_t>(t) * 7) % 480;
        const auto tt = static_cast<std::uint64_t>(t);
        std::memcpy(payload.data(), &tt, 8);
        std::memcpy(payload.data() + 8, &i, 8);
        for (std::size_t k = 16; k < n; ++k) payload[k] = static_cast<std::byte>(i + k);
        el::record_in r;
        r.actor_id = tt + 1;
        r.actor_seq = i + 1;
        r.payload = std::span<const std::byte>(payload.data(), n);
        if (!(*log)->append(r)) std::_Exit(4);
        __atomic_store_n(&acks[t], i + 1, __ATOMIC_RELEASE);
      }
    });
  }
  for (auto& th : ts) th.join();
  return 0;
}
