// A quorum round recorded and replayed: its asks have no timers of their own and one shared
// deadline (core/ask: actor_ask_untimed, start_ask_deadline), which the recorder must pair like
// asks so that replay serves the same replies and the same deadline at the same inputs.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "eventlog/log_fixture.h"
#include "eventlog/replay_fixture.h"

#include <keel/eventlog/log.h>
#include <keel/eventlog/reader.h>
#include <keel/eventlog/recorder.h>
#include <keel/eventlog/replay.h>
#include <keel/keel.h>
#include <keel/resilience/quorum.h>

namespace {

namespace el = keel::eventlog;
using namespace std::chrono_literals;

struct price_query {
  static constexpr std::string_view keel_name = "test.qr.price_query/1";
  static constexpr auto keel_fields = keel::fields();
};
struct price {
  static constexpr std::string_view keel_name = "test.qr.price/1";
  std::int64_t cents = 0;
  static constexpr auto keel_fields = keel::fields(keel::field("cents", &price::cents));
};
struct check {
  static constexpr std::string_view keel_name = "test.qr.check/1";
  std::int64_t n = 0;
  static constexpr auto keel_fields = keel::fields(keel::field("n", &check::n));
};

// Replica i answers 100, except the third, which never answers (so every round's deadline
// fires after the round was decided).
class pricer final : public keel::actor<pricer, price_query> {
 public:
  static constexpr std::string_view keel_name = "test.qr.pricer";
  explicit pricer(bool silent = false) : silent_(silent) {}
  void on(price_query&) {
    if (!silent_) reply(price{100});
  }

 private:
  bool silent_;
};

class checker final : public keel::actor<checker, check> {
 public:
  static constexpr std::string_view keel_name = "test.qr.checker";
  explicit checker(keel::resilience::quorum_group<pricer> g) : g_(std::move(g)) {}
  void on(check&) {
    g_.ask<price>(
        self(), price_query{}, [](const price& a, const price& b) { return a.cents == b.cents; },
        [this](keel::result<keel::resilience::quorum_answer<price>> r) {
          if (r) {
            ++agreed_;
            sum_ += r->value.cents;
          } else {
            ++failed_;
          }
        });
  }
  void save_state(keel::state_writer& w) const { w.write(agreed_).write(failed_).write(sum_); }
  void load_state(keel::state_reader& r) {
    (void)(r.read(agreed_, "agreed") && r.read(failed_, "failed") && r.read(sum_, "sum"));
  }
  std::uint64_t agreed() const { return agreed_; }

 private:
  keel::resilience::quorum_group<pricer> g_;
  std::uint64_t agreed_ = 0;
  std::uint64_t failed_ = 0;
  std::int64_t sum_ = 0;
};

TEST(quorumreplay, a_recorded_quorum_round_replays_with_its_replies_and_deadline) {
  el::testing::temp_dir t;
  keel::actor_id checker_id = 0;
  keel::message_id corr = 0;
  {
    el::recording_options ro;
    ro.actor_types = {"test.qr.checker"};
    el::testing::replay::recording_run recording(t.log(), 1, false, {}, ro);
    auto& sys = recording.sys;
    ASSERT_TRUE(sys->types().add<price>());
    std::vector<keel::actor_ref<pricer>> replicas;
    replicas.push_back(sys->spawn<pricer>().value());
    replicas.push_back(sys->spawn<pricer>().value());
    replicas.push_back(sys->spawn<pricer>(true).value());
    auto group = keel::resilience::quorum_group<pricer>::create(replicas, {2, 20ms}).value();
    auto c = sys->spawn<checker>(group).value();
    checker_id = c.id();
    for (int i = 0; i < 3; ++i) ASSERT_EQ(c.send(check{i}), keel::send_status::ok);
    // Wait (a bound on failure, not a timing assertion) until the three deadlines' timeouts
    // are in the log: the rounds were decided before them.
    auto deadlines_seen = [&] {
      int n = 0;
      (void)el::log_reader::open(t.log()).value().scan([&](const el::record_view& v) {
        n += (v.header.flags & el::k_flag_ask_timeout) != 0;
        return true;
      });
      return n;
    };
    for (int i = 0; i < 3'000 && deadlines_seen() < 3; ++i) {
      std::this_thread::sleep_for(10ms);
    }
    ASSERT_EQ(deadlines_seen(), 3);
    sys->shutdown();
  }
  // The log holds, per round, three asks and the deadline as ASK records, and the deadline's
  // timeout as an input.
  int asks = 0;
  int timeouts = 0;
  (void)el::log_reader::open(t.log()).value().scan([&](const el::record_view& v) {
    if (v.header.actor_id != checker_id) return true;
    asks += v.header.type == static_cast<std::uint16_t>(el::record_type::ask);
    timeouts += (v.header.flags & el::k_flag_ask_timeout) != 0;
    if (corr == 0 && v.header.payload_type == keel::type_id_of<check>()) {
      corr = v.header.correlation;
    }
    return true;
  });
  EXPECT_EQ(asks, 3 * 4);
  EXPECT_EQ(timeouts, 3);
  keel::type_registry types;
  ASSERT_TRUE(types.add<price_query>());
  ASSERT_TRUE(types.add<price>());
  ASSERT_TRUE(types.add<check>());
  el::replay_controller rc(t.log(), types, [](keel::actor_factory_registry& f) {
    (void)f.add<checker>(
        [](keel::actor_system& s, const keel::json_value&, const keel::spawn_options& o) {
          // The replicas are not replayed: their replies come from the log.
          std::vector<keel::actor_ref<pricer>> none(3);
          auto g = keel::resilience::quorum_group<pricer>::create(none, {2, 20ms}).value();
          return s.spawn_with<checker>(o, std::move(g));
        });
  });
  auto report = rc.replay_scenario(corr);
  ASSERT_TRUE(report.has_value()) << report.error();
  EXPECT_TRUE(report->matched()) << report->summary();
  ASSERT_EQ(report->actors.size(), 1U) << report->summary();
  // Three checks, their six answers and three deadlines' timeouts; a hash after each check.
  EXPECT_EQ(report->actors[0].inputs, 12U) << report->summary();
  EXPECT_EQ(report->actors[0].hashes_compared, 3U) << report->summary();
}

}  // namespace
