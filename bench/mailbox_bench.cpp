// mailbox_n1: 100 sender actors to 1 receiver through an unbounded mailbox.
//
// Scenario:
//   mailbox_n1/keel   default configuration, nothing pinned. Each of 100 senders sends its share
//                     in chunks of k_chunk messages per activation (re-sending itself a `go`),
//                     as fast as the scheduler runs it; the receiver may fall behind, so its
//                     unbounded mailbox grows. The receiver counts and checks per-sender FIFO;
//                     the last message signals the harness thread, which blocks meanwhile.
//                     Reported: items_per_second = messages per second (first send to last
//                     message handled), peak_rss_delta_mb = VmHWM during the run minus RSS
//                     before it (VmHWM reset through /proc/self/clear_refs), the largest over
//                     the iterations. Checked: count and per-sender order. No reference: the
//                     next issue adds the bounded variant beside it.
#include <algorithm>
#include <string>
#include <vector>

#include "harness.h"

namespace keel::bench {
namespace {

constexpr std::uint32_t k_senders = 100;
constexpr std::uint32_t k_chunk = 256;

struct mb_run {
  std::uint64_t epoch = 0;  // the harness's iteration number: tells a new run from the last
  std::uint64_t per_sender = 0;
  std::uint64_t total = 0;
  std::atomic<std::uint64_t> start_ns{~std::uint64_t{0}};
  std::uint64_t end_ns = 0;
  std::uint64_t received = 0;
  std::uint64_t order_errors = 0;
  std::atomic<std::uint64_t> progress{0};  // received, updated every 4096 (for a timeout report)
  completion* done = nullptr;

  void note_start(std::uint64_t t) noexcept {
    std::uint64_t cur = start_ns.load(std::memory_order_relaxed);
    while (t < cur && !start_ns.compare_exchange_weak(cur, t, std::memory_order_relaxed)) {
    }
  }
};

struct mb_go {
  static constexpr std::string_view keel_name = "bench.mailbox.go/1";
  mb_run* run;
};
struct mb_msg {
  static constexpr std::string_view keel_name = "bench.mailbox.msg/1";
  std::uint32_t sender;
  std::uint64_t seq;
};

class mb_receiver : public actor<mb_receiver, mb_go, mb_msg> {
 public:
  static constexpr std::string_view keel_name = "bench.mailbox.receiver";
  mb_receiver() : last_(k_senders, 0) {}

  void on(mb_go& g) {
    run_ = g.run;
    got_ = 0;
    errors_ = 0;
    std::fill(last_.begin(), last_.end(), 0);
  }
  void on(mb_msg& m) {
    if (last_[m.sender] + 1 != m.seq) ++errors_;
    last_[m.sender] = m.seq;
    if ((++got_ & 4095) == 0) run_->progress.store(got_, std::memory_order_relaxed);
    if (got_ == run_->total) {
      run_->end_ns = now_ns();
      run_->received = got_;
      run_->order_errors = errors_;
      run_->done->signal();
    }
  }

 private:
  std::vector<std::uint64_t> last_;
  mb_run* run_ = nullptr;
  std::uint64_t got_ = 0;
  std::uint64_t errors_ = 0;
};

class mb_sender : public actor<mb_sender, mb_go> {
 public:
  static constexpr std::string_view keel_name = "bench.mailbox.sender";
  mb_sender(actor_ref<mb_receiver> to, std::uint32_t index) : to_(to), index_(index) {}

  void on(mb_go& g) {
    if (g.run != run_ || g.run->epoch != epoch_) {  // a new run (the harness reuses the address)
      run_ = g.run;
      epoch_ = g.run->epoch;
      sent_ = 0;
      run_->note_start(now_ns());
    }
    const std::uint64_t end = std::min(run_->per_sender, sent_ + k_chunk);
    while (sent_ < end) to_.send(mb_msg{index_, ++sent_});
    if (sent_ < run_->per_sender) self().send(mb_go{run_});
  }

 private:
  actor_ref<mb_receiver> to_;
  std::uint32_t index_;
  mb_run* run_ = nullptr;
  std::uint64_t epoch_ = 0;
  std::uint64_t sent_ = 0;
};

constexpr benchmark::IterationCount k_iterations = 3;

void bm_mailbox(benchmark::State& state) {
  auto sys = make_system(state);
  if (!sys) return;
  auto rx = sys->spawn<mb_receiver>();
  if (!check(state, rx.has_value(), "spawn receiver")) return;
  std::vector<actor_ref<mb_sender>> tx;
  for (std::uint32_t i = 0; i < k_senders; ++i) {
    auto s = sys->spawn<mb_sender>(*rx, i);
    if (!check(state, s.has_value(), "spawn sender")) return;
    tx.push_back(*s);
  }
  const std::uint64_t per_sender = sized<std::uint64_t>(10'000, 200);
  std::uint64_t total = 0;
  double total_ns = 0;
  double peak_delta = 0;
  bool hwm_ok = true;
  std::uint64_t epoch = 0;
  for (auto _ : state) {
    completion done;
    mb_run run;
    run.epoch = ++epoch;
    run.per_sender = per_sender;
    run.total = per_sender * k_senders;
    run.done = &done;
    rx->send(mb_go{&run});
    hwm_ok = reset_peak_rss() && hwm_ok;
    const std::uint64_t base = rss_bytes();
    for (auto& s : tx) s.send(mb_go{&run});
    if (!done.wait()) {
      check(state, false,
            "timed out: received " + std::to_string(run.progress.load()) + "+ of " +
                std::to_string(run.total));
      break;
    }
    const std::uint64_t peak = peak_rss_bytes();
    if (!check(state, run.received == run.total, "mailbox message count != sent")) break;
    if (!check(state, run.order_errors == 0, "mailbox per-sender order broken")) break;
    const double ns = static_cast<double>(run.end_ns - run.start_ns.load());
    state.SetIterationTime(ns / 1e9);
    total += run.received;
    total_ns += ns;
    peak_delta = std::max(peak_delta, peak > base ? static_cast<double>(peak - base) : 0.0);
  }
  set_rate(state, total, total_ns);
  state.counters["peak_rss_delta_mb"] = peak_delta / 1e6;
  state.counters["hwm_reset_ok"] = hwm_ok ? 1 : 0;
  sys->shutdown();
}

void register_mailbox() {
  benchmark::RegisterBenchmark("mailbox_n1/keel", bm_mailbox)
      ->UseManualTime()
      ->Iterations(iterations(k_iterations))
      ->Unit(benchmark::kMillisecond);
}

const registrar reg(&register_mailbox);

}  // namespace
}  // namespace keel::bench
