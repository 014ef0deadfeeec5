// Many sender actors to one receiver actor: the actors and the timed run that fanin and
// mailbox_n1 share. Each sender sends its share in chunks of `chunk` messages per activation
// (it re-sends itself a `go` to continue); the receiver counts, checks per-sender FIFO and
// signals the harness thread on the last message.
#pragma once

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include "harness.h"

namespace keel::bench {

struct n1_run {
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

struct n1_go {
  static constexpr std::string_view keel_name = "bench.many_to_one.go/1";
  n1_run* run;
};
struct n1_msg {
  static constexpr std::string_view keel_name = "bench.many_to_one.msg/1";
  std::uint32_t sender;
  std::uint64_t seq;
};

class n1_receiver : public actor<n1_receiver, n1_go, n1_msg> {
 public:
  static constexpr std::string_view keel_name = "bench.many_to_one.receiver";
  explicit n1_receiver(std::uint32_t senders) : last_(senders, 0) {}

  // A new run: reset the counts (sent by the harness before the senders start).
  void on(n1_go& g) {
    run_ = g.run;
    got_ = 0;
    errors_ = 0;
    std::fill(last_.begin(), last_.end(), 0);
  }
  void on(n1_msg& m) {
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
  n1_run* run_ = nullptr;
  std::uint64_t got_ = 0;
  std::uint64_t errors_ = 0;
};

// How a sender meets a bounded receiver: `send` ignores the bound (the receiver is unbounded);
// `wait` uses try_send and, when the receiver's mailbox is full, await_capacity (backpressure:
// nothing is lost, the sender's worker runs other actors meanwhile).
enum class n1_mode : std::uint8_t { send, wait };

class n1_sender : public actor<n1_sender, n1_go> {
 public:
  static constexpr std::string_view keel_name = "bench.many_to_one.sender";
  n1_sender(actor_ref<n1_receiver> to, std::uint32_t index, std::uint32_t chunk,
            n1_mode mode = n1_mode::send)
      : to_(to), index_(index), chunk_(chunk), mode_(mode) {}

  void on(n1_go& g) {
    if (g.run != run_ || g.run->epoch != epoch_) {  // a new run (the harness reuses the address)
      run_ = g.run;
      epoch_ = g.run->epoch;
      sent_ = 0;
      run_->note_start(now_ns());
    }
    pump();
  }

 private:
  void pump() {
    const std::uint64_t end = std::min(run_->per_sender, sent_ + chunk_);
    if (mode_ == n1_mode::send) {
      while (sent_ < end) to_.send(n1_msg{index_, ++sent_});
    } else {
      while (sent_ < end) {
        if (to_.try_send(n1_msg{index_, sent_ + 1}) == send_status::full) {
          await_capacity(to_, [this] { pump(); });
          return;
        }
        ++sent_;
      }
    }
    if (sent_ < run_->per_sender) self().send(n1_go{run_});
  }

  actor_ref<n1_receiver> to_;
  std::uint32_t index_;
  std::uint32_t chunk_;
  n1_mode mode_;
  n1_run* run_ = nullptr;
  std::uint64_t epoch_ = 0;
  std::uint64_t sent_ = 0;
};

// One timed run: resets the receiver, calls `before_senders()`, starts every sender, waits for
// the last message and checks count and per-sender order (`what` names the workload in errors).
// Returns the run's nanoseconds from the first send to the last message, or a negative value
// after a failed check.
template <class BeforeSenders>
double run_many_to_one(benchmark::State& state, actor_ref<n1_receiver> rx,
                       const std::vector<actor_ref<n1_sender>>& tx, n1_run& run,
                       const std::string& what, BeforeSenders&& before_senders) {
  completion done;
  run.total = run.per_sender * tx.size();
  run.done = &done;
  rx.send(n1_go{&run});
  before_senders();
  for (const auto& s : tx) s.send(n1_go{&run});
  if (!done.wait()) {
    check(state, false,
          "timed out: received " + std::to_string(run.progress.load()) + "+ of " +
              std::to_string(run.total));
    return -1;
  }
  if (!check(state, run.received == run.total, what + " message count != sent")) return -1;
  if (!check(state, run.order_errors == 0, what + " per-sender order broken")) return -1;
  return static_cast<double>(run.end_ns - run.start_ns.load());
}

}  // namespace keel::bench
