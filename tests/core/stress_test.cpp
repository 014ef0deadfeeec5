// Millions of messages across all workers: every message arrives exactly once, per-sender
// order holds, counts add up.
#include "stress.h"

#include <gtest/gtest.h>

#include "core/test_actors.h"

namespace {

using namespace std::chrono_literals;
using namespace keel::test;

struct token {
  static constexpr std::string_view keel_name = "test.token/1";
  std::uint32_t from;
  std::uint64_t seq;
  std::uint32_t hops_left;
};
struct start_burst {
  static constexpr std::string_view keel_name = "test.start_burst/1";
  std::uint64_t count;
};

struct shared_state {
  std::vector<keel::actor_ref<>> peers;
  std::atomic<std::uint64_t> handled{0};
  std::atomic<std::uint64_t> order_errors{0};
  std::atomic<std::uint64_t> finished{0};
};

// Each node sends `count` tokens round-robin to its peers; each token hops a few times.
// Per (sender, receiver) pair, sequence numbers must increase.
class node : public keel::actor<node, token, start_burst> {
 public:
  static constexpr std::string_view keel_name = "test.stress_node";
  node(std::uint32_t index, shared_state* s)
      : index_(index), s_(s), last_seen_(64, 0), next_seq_(64, 0) {}
  void on(start_burst& b) {
    for (std::uint64_t i = 0; i < b.count; ++i) forward(3);
  }
  void on(token& t) {
    if (t.seq <= last_seen_[t.from]) s_->order_errors.fetch_add(1, std::memory_order_relaxed);
    last_seen_[t.from] = t.seq;
    s_->handled.fetch_add(1, std::memory_order_relaxed);
    if (t.hops_left > 0) {
      forward(t.hops_left - 1);
    } else {
      s_->finished.fetch_add(1, std::memory_order_release);
    }
  }

 private:
  void forward(std::uint32_t hops) {
    const std::size_t to = (index_ + 1 + rr_++ % (s_->peers.size() - 1)) % s_->peers.size();
    s_->peers[to].send(token{index_, ++next_seq_[to], hops});
  }
  std::uint32_t index_;
  shared_state* s_;
  std::vector<std::uint64_t> last_seen_;
  std::vector<std::uint64_t> next_seq_;
  std::uint64_t rr_ = 0;
};

TEST(stress, millions_of_messages_across_all_workers_arrive_exactly_once_in_order) {
  auto sys = make_system();
  shared_state s;
  const std::uint32_t nodes = 32;
  const std::uint64_t per_node = keel::test::scaled(32'000, 1000);  // x4 messages each (3 hops)
  for (std::uint32_t i = 0; i < nodes; ++i) s.peers.push_back(sys->spawn<node>(i, &s).value());
  for (auto& p : s.peers) p.send(start_burst{per_node});
  const std::uint64_t expected_tokens = nodes * per_node;
  ASSERT_TRUE(
      eventually([&] { return s.finished.load(std::memory_order_acquire) == expected_tokens; }));
  EXPECT_EQ(s.handled.load(), expected_tokens * 4);
  EXPECT_EQ(s.order_errors.load(), 0U);
  const auto stats = sys->scheduler().total_stats();
  sys->shutdown();
  std::uint64_t received = 0;
  for (const auto& c : sys->counters()) {
    if (c.type == "test.stress_node") received = c.received;
  }
  EXPECT_EQ(received, expected_tokens * 4 + nodes);
  EXPECT_GT(stats.activations, 0U);
}

// Envelopes cross workers and go home in batches; with a tiny cache (or none) the owner's
// cache overflows while it takes returned batches in (a batch head freed before its member list
// was read would be a use-after-free, which the ASan build catches), and every message must
// still arrive once, in order.
TEST(stress, envelopes_cross_workers_with_tiny_envelope_caches) {
  for (const std::uint32_t cache : {0U, 4U}) {
    SCOPED_TRACE("envelope_cache = " + std::to_string(cache));
    keel::system_config cfg;
    cfg.envelope_cache = cache;
    auto sys = make_system(cfg);
    shared_state s;
    const std::uint32_t nodes = 4;
    const std::uint64_t per_node = keel::test::scaled(20'000, 1000);
    for (std::uint32_t i = 0; i < nodes; ++i) {
      keel::spawn_options opts;
      opts.pin = i % 2;  // two of each node's three successors are on the other worker
      s.peers.push_back(sys->spawn_with<node>(opts, i, &s).value());
    }
    for (auto& p : s.peers) p.send(start_burst{per_node});
    const std::uint64_t expected_tokens = nodes * per_node;
    ASSERT_TRUE(
        eventually([&] { return s.finished.load(std::memory_order_acquire) == expected_tokens; }));
    EXPECT_EQ(s.handled.load(), expected_tokens * 4);
    EXPECT_EQ(s.order_errors.load(), 0U);
    sys->shutdown();
  }
}

// Many short-lived actors: spawn, one message, stop, over and over; slots are recycled and the
// live count returns to zero. This is also the test for a send racing the idle transition of an
// actor whose mailbox tail is its stub (its first activation ran only the start message): it
// once lost that send and left the actor spinning in yield (1 in ~3 runs).
class one_shot : public keel::actor<one_shot, ping> {
 public:
  static constexpr std::string_view keel_name = "test.one_shot";
  explicit one_shot(std::atomic<std::uint64_t>* done) : done_(done) {}
  void on(ping&) {
    done_->fetch_add(1, std::memory_order_release);
    stop_self();
  }

 private:
  std::atomic<std::uint64_t>* done_;
};

TEST(stress, spawn_message_stop_churn_recycles_slots) {
  auto sys = make_system();
  std::atomic<std::uint64_t> done{0};
  const std::uint64_t n = keel::test::scaled(200'000, 5000);
  for (std::uint64_t i = 0; i < n; ++i) {
    auto r = sys->spawn<one_shot>(&done);
    ASSERT_TRUE(r) << r.error().to_string();
    r->send(ping{0});
  }
  ASSERT_TRUE(eventually([&] { return done.load(std::memory_order_acquire) == n; }))
      << "handled " << done.load() << " of " << n << ", live actors " << sys->actor_count()
      << ", dead letters " << sys->dead_letter_count() << ", parks "
      << sys->scheduler().total_stats().parks << ", activations "
      << sys->scheduler().total_stats().activations;
  ASSERT_TRUE(eventually([&] { return sys->actor_count() == 0; }));
  EXPECT_EQ(sys->dead_letter_count(), 0U);
}

}  // namespace
