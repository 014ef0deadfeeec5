// kill -9 at random moments: a writer process (writer_helper.cpp, started by fork+exec) appends
// from 1, 2 and 4 threads into 1 MiB segments, so that kills land mid-append, mid-roll and
// mid-preparation, and is killed with SIGKILL. Recovery must keep every record the writer had
// acknowledged (append returned), with its bytes intact, and a reader must then see a valid
// log. 1,000 rounds per thread count; 100 under ASan; none under TSan (fork and SIGKILL of an
// instrumented multi-threaded process is not what TSan models).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <keel/eventlog/log.h>
#include <keel/eventlog/reader.h>

extern char** environ;

namespace {

namespace el = keel::eventlog;

#if defined(__SANITIZE_THREAD__)
constexpr int k_rounds = 0;
#elif defined(__SANITIZE_ADDRESS__)
constexpr int k_rounds = 100;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr int k_rounds = 0;
#elif __has_feature(address_sanitizer)
constexpr int k_rounds = 100;
#else
constexpr int k_rounds = 1000;
#endif
#else
constexpr int k_rounds = 1000;
#endif

struct round_result {
  bool ok = true;
  std::string why;
  std::uint64_t acked = 0;
  std::uint64_t recovered = 0;
};

// Where the rounds run: a tmpfs when there is one. A killed process leaves its writes in the page
// cache, which is what this test is about; on tmpfs the syncs of each round's open and recovery
// cost nothing, and 3,000 rounds take a third of the time.
std::filesystem::path scratch() {
  const std::filesystem::path shm("/dev/shm");
  std::error_code ec;
  if (std::filesystem::is_directory(shm, ec) && ::access(shm.c_str(), W_OK) == 0) return shm;
  return std::filesystem::temp_directory_path();
}

// Starts writer_helper on `log` with `threads` appending threads and waits for its "ready"
// (the log is open: the helper holds its LOCK). Returns "" and sets `pid`, or why it failed.
std::string start_writer(const std::string& log, int threads, const std::string& ack, pid_t& pid) {
  int out[2];
  if (::pipe(out) != 0) return "pipe";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  const std::string threads_arg = std::to_string(threads);
  char* args[] = {const_cast<char*>(KEEL_LOG_WRITER_HELPER), const_cast<char*>(log.c_str()),
                  const_cast<char*>(threads_arg.c_str()), const_cast<char*>(ack.c_str()), nullptr};
  const int rc = posix_spawn(&pid, KEEL_LOG_WRITER_HELPER, &fa, nullptr, args, environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    return "posix_spawn: " + std::string(std::strerror(rc));
  }
  char buf[6] = {};
  const ssize_t got = ::read(out[0], buf, sizeof(buf));
  ::close(out[0]);
  if (got != 6 || std::memcmp(buf, "ready\n", 6) != 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return "the writer did not start";
  }
  return "";
}

// An ack file the helper maps: one zeroed u64 per thread (64 slots).
bool make_ack_file(const std::string& ack) {
  const int fd = ::open(ack.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  std::vector<char> zero(64 * 8, 0);
  const bool ok =
      fd >= 0 && ::write(fd, zero.data(), zero.size()) == static_cast<ssize_t>(zero.size());
  if (fd >= 0) ::close(fd);
  return ok;
}

round_result run_round(int threads, std::mt19937_64& rng) {
  round_result res;
  std::string t = (scratch() / "keel-crash-XXXXXX").string();
  const std::string dir = ::mkdtemp(t.data());
  const std::string log = dir + "/log";
  const std::string ack = dir + "/acks";
  auto fail = [&](std::string why) {
    res.ok = false;
    res.why = std::move(why);
    std::filesystem::remove_all(dir);
    return res;
  };
  if (!make_ack_file(ack)) return fail("cannot create the ack file");
  pid_t pid = 0;
  if (std::string why = start_writer(log, threads, ack, pid); !why.empty()) return fail(why);
  // Kill at a random moment in its first few milliseconds (a 1 MiB segment fills in about 2 ms).
  ::usleep(static_cast<useconds_t>(rng() % 6000));
  ::kill(pid, SIGKILL);
  int wst = 0;
  ::waitpid(pid, &wst, 0);
  if (!WIFSIGNALED(wst) || WTERMSIG(wst) != SIGKILL) {
    return fail("the writer ended on its own (status " + std::to_string(wst) + ")");
  }
  std::vector<std::uint64_t> acks(static_cast<std::size_t>(threads), 0);
  {
    const int fd = ::open(ack.c_str(), O_RDONLY | O_CLOEXEC);
    const ssize_t n = ::pread(fd, acks.data(), acks.size() * 8, 0);
    ::close(fd);
    if (n != static_cast<ssize_t>(acks.size() * 8)) return fail("cannot read the acks");
  }
  for (std::uint64_t a : acks) res.acked += a;
  // Recovery, by the next writer.
  {
    el::log_options o;
    o.segment_size = 1u << 20;
    o.max_record = 64u << 10;
    auto w = el::event_log::open(log, o);
    if (!w) return fail("recovery: " + w.error().to_string());
  }
  // Every acknowledged record is there, intact; nothing else is wrong.
  std::vector<std::vector<bool>> seen(static_cast<std::size_t>(threads));
  for (int k = 0; k < threads; ++k)
    seen[static_cast<std::size_t>(k)].assign(acks[static_cast<std::size_t>(k)] + 8, false);
  auto reader = el::log_reader::open(log);
  if (!reader) return fail("reader: " + reader.error().to_string());
  std::string bad;
  const el::scan_report rep = reader->scan([&](const el::record_view& v) {
    std::uint64_t th = 0;
    std::uint64_t i = 0;
    if (v.payload.size() < 16) {
      bad = "a record too short";
      return false;
    }
    std::memcpy(&th, v.payload.data(), 8);
    std::memcpy(&i, v.payload.data() + 8, 8);
    const std::size_t n = 16 + (i * 31 + th * 7) % 480;
    if (th >= static_cast<std::uint64_t>(threads) || v.payload.size() != n ||
        v.header.actor_seq != i + 1) {
      bad = "a record that no writer wrote (seq " + std::to_string(v.header.seq) + ")";
      return false;
    }
    for (std::size_t k = 16; k < n; ++k) {
      if (v.payload[k] != static_cast<std::byte>(i + k)) {
        bad = "changed bytes in seq " + std::to_string(v.header.seq);
        return false;
      }
    }
    auto& s = seen[th];
    if (i < s.size()) s[i] = true;
    ++res.recovered;
    return true;
  });
  if (!bad.empty()) return fail(bad);
  if (rep.problem != el::log_problem::none) return fail("after recovery: " + rep.message());
  for (int k = 0; k < threads; ++k) {
    for (std::uint64_t i = 0; i < acks[static_cast<std::size_t>(k)]; ++i) {
      if (!seen[static_cast<std::size_t>(k)][i]) {
        return fail("thread " + std::to_string(k) + " record " + std::to_string(i) +
                    " was acknowledged and is lost (acked " +
                    std::to_string(acks[static_cast<std::size_t>(k)]) + ")");
      }
    }
  }
  std::filesystem::remove_all(dir);
  return res;
}

class eventlogcrash : public ::testing::TestWithParam<int> {};

TEST_P(eventlogcrash, a_killed_writer_loses_no_acknowledged_record) {
  if (k_rounds == 0) GTEST_SKIP() << "not under ThreadSanitizer";
  const int threads = GetParam();
  const std::uint64_t seed = 0x5eed0000u + static_cast<std::uint64_t>(threads);
  std::mt19937_64 rng(seed);
  std::uint64_t acked = 0;
  std::uint64_t recovered = 0;
  for (int round = 0; round < k_rounds; ++round) {
    const round_result r = run_round(threads, rng);
    ASSERT_TRUE(r.ok) << "round " << round << " (seed " << seed << "): " << r.why;
    acked += r.acked;
    recovered += r.recovered;
  }
  EXPECT_GE(recovered, acked);
  EXPECT_GT(acked, static_cast<std::uint64_t>(k_rounds));  // the kills did land mid-stream
  std::printf("[ info     ] %d rounds, %d thread(s): %llu records acknowledged, %llu recovered\n",
              k_rounds, threads, static_cast<unsigned long long>(acked),
              static_cast<unsigned long long>(recovered));
}

INSTANTIATE_TEST_SUITE_P(threads, eventlogcrash, ::testing::Values(1, 2, 4));

// One writer process per log: while the helper holds the log, a second process (this one) is
// refused with log_locked; once the holder is killed, its lock dies with it and the next writer
// opens (and recovers) it. Runs under every build, TSan included: one child, killed once.
TEST(eventlogcrash, a_second_writer_process_is_refused_while_the_first_lives) {
  std::string t = (scratch() / "keel-lock-XXXXXX").string();
  const std::string dir = ::mkdtemp(t.data());
  const std::string log = dir + "/log";
  const std::string ack = dir + "/acks";
  pid_t pid = 0;
  struct kill_on_exit {
    pid_t& pid;
    std::string dir;
    ~kill_on_exit() {  // a failed ASSERT too: the writer would append until the disk is full
      if (pid > 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{pid, dir};
  ASSERT_TRUE(make_ack_file(ack));
  ASSERT_EQ(start_writer(log, 1, ack, pid), "");
  el::log_options o;
  o.segment_size = 1u << 20;
  o.max_record = 64u << 10;
  auto second = el::event_log::open(log, o);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), keel::errc::log_locked) << second.error();
  // Readers are not writers: they open while the writer lives.
  EXPECT_TRUE(el::log_reader::open(log).has_value());
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  pid = 0;
  auto after = el::event_log::open(log, o);
  EXPECT_TRUE(after.has_value()) << after.error();
}

}  // namespace
