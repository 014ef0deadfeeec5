// Deterministic replay: a run recorded on the work-stealing scheduler, with a state hash after
// every input, replays with every hash and recorded output matching; a copy of the log with one
// input changed diverges at exactly that (seq, actor); with hashes every K inputs the reported
// interval holds the changed input; what cannot be replayed is refused with the reasons; asks,
// checkpoints and block_in_place results replay from the log. Failures and restarts:
// replay_restart_test.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "eventlog/replay_fixture.h"

#include <keel/core/actor_system.h>
#include <keel/core/codec.h>
#include <keel/core/state.h>
#include <keel/eventlog/reader.h>
#include <keel/eventlog/recorder.h>
#include <keel/eventlog/replay.h>

namespace {

using namespace keel::eventlog::testing::replay;
using el::testing::temp_dir;
using keel::errc;
using namespace std::chrono_literals;

// Stateful: its state depends on the inputs, its rng() draws and the now() its handlers see.
class wallet : public keel::actor<wallet, credit, balance_query, opaque> {
 public:
  static constexpr std::string_view keel_name = "test.replay.wallet";
  void on(credit& c) {
    const auto fee = static_cast<std::int64_t>(rng().below(3));
    cents_ += c.amount - fee;
    ++credits_;
    last_now_ = now();
    reply(receipt{cents_});
  }
  void on(balance_query&) { reply(balance{cents_, credits_}); }
  void on(opaque&) {}
  void save_state(keel::state_writer& w) const { w.write(cents_).write(credits_).write(last_now_); }
  void load_state(keel::state_reader& r) {
    r.read(cents_, "cents");
    r.read(credits_, "credits");
    r.read(last_now_, "last_now");
  }

 private:
  std::int64_t cents_ = 0;
  std::uint64_t credits_ = 0;
  std::uint64_t last_now_ = 0;
};

// Stateless (no save_state): replayed from its SPAWN record, its outputs checked.
class teller : public keel::actor<teller, pay, receipt> {
 public:
  static constexpr std::string_view keel_name = "test.replay.teller";
  explicit teller(keel::actor_ref<wallet> w) : wallet_(w) {}
  void on(pay& p) {
    (void)wallet_.send(credit{p.n * 100});
    if (p.n % 2 == 0) (void)wallet_.send(credit{p.n});
  }
  void on(receipt&) {}

 private:
  keel::actor_ref<wallet> wallet_;
};

void factories(keel::actor_factory_registry& f) {
  ASSERT_TRUE(f.add<wallet>());
  ASSERT_TRUE(f.add_named("test.replay.teller",
                          [](keel::actor_system& s, const keel::json_value&,
                             const keel::spawn_options& o) -> keel::result<keel::actor_ref<>> {
                            auto r = s.spawn_with<teller>(o, keel::actor_ref<wallet>());
                            if (!r) return r.error();
                            return keel::actor_ref<>(*r);
                          }));
}

struct recorded_run {
  keel::actor_id wallet_id = 0;
  keel::actor_id teller_id = 0;
};

// Records a run on the work-stealing scheduler: 12 payments through the teller, a few credits
// straight to the wallet, and balance queries.
recorded_run record(const std::string& dir, std::uint32_t hash_every, bool send_opaque = false,
                    el::checkpoint_info* checkpoint = nullptr) {
  recorded_run out;
  recording_run recording(dir, hash_every);
  auto& rec = recording.rec;
  auto& sys = recording.sys;
  (void)sys->types().add<receipt>();
  auto w = sys->spawn<wallet>().value();
  auto t = sys->spawn<teller>(w).value();
  out.wallet_id = w.id();
  out.teller_id = t.id();
  for (int i = 1; i <= 12; ++i) {
    if (i == 7 && checkpoint != nullptr) {
      // Midway: the wallet has handled the first six payments' credits (9) and one of its own.
      for (int k = 0; k < 5000; ++k) {
        if (w.ask<balance>(balance_query{}, 10s).value().credits == 10) break;
        std::this_thread::sleep_for(1ms);
      }
      keel::type_registry none;
      el::replay_controller live(*rec, dir, none, {});
      *checkpoint = live.create_checkpoint("midway").value();
    }
    EXPECT_EQ(t.send(pay{i}), keel::send_status::ok);
    if (i % 4 == 0) {
      EXPECT_EQ(w.send(credit{-i}), keel::send_status::ok);
    }
    if (i % 5 == 0) {
      EXPECT_TRUE(w.ask<balance>(balance_query{}, 10s));
    }
  }
  if (send_opaque) {
    EXPECT_EQ(w.send(opaque{1}), keel::send_status::ok);
  }
  // Every credit handled: 12 payments give 18 credits, plus 3 direct ones.
  for (int i = 0; i < 5000; ++i) {
    if (w.ask<balance>(balance_query{}, 10s).value().credits == 21) break;
    std::this_thread::sleep_for(1ms);
  }
  sys->shutdown();
  sys.reset();
  return out;
}

// The copy with the wallet's `n`-th credit input changed; returns that input's seq.
std::uint64_t copy_with_changed_credit(const std::string& from, const std::string& to,
                                       keel::actor_id wallet_id, int n) {
  int seen = 0;
  return copy_log(from, to, [&](const el::record_view& v, std::vector<std::byte>& payload) {
    if (v.header.actor_id != wallet_id || v.header.payload_type != keel::type_id_of<credit>() ||
        ++seen != n) {
      return false;
    }
    credit c = keel::decode<credit>(v.payload).value();
    c.amount += 7;
    payload = keel::encode(c);
    return true;
  });
}

TEST(replay, a_recorded_run_replays_with_every_hash_and_output_matching) {
  temp_dir t;
  const recorded_run run = record(t.log(), 1);
  keel::type_registry types;
  add_app_types(types);
  el::replay_controller rc(t.log(), types, factories);
  const keel::message_id corr = pay_correlation(t.log(), run.teller_id, 3);
  ASSERT_NE(corr, 0u);
  auto report = rc.replay_scenario(corr);
  ASSERT_TRUE(report.has_value()) << report.error();
  EXPECT_TRUE(report->matched()) << report->summary();
  ASSERT_EQ(report->actors.size(), 2u);         // the teller and the wallet that pay 3 reached
  EXPECT_EQ(report->actors[0].checkpoint, 0u);  // no checkpoint: from the SPAWN
  EXPECT_EQ(report->actors[0].id, run.wallet_id);
  EXPECT_EQ(report->actors[1].id, run.teller_id);
  // Every wallet input has a hash: 21 credits and the balance queries, all compared.
  EXPECT_GE(report->actors[0].hashes_compared, 21u) << report->summary();
  EXPECT_EQ(report->actors[0].hashes_compared, report->actors[0].inputs);
  EXPECT_EQ(report->actors[1].hashes_compared, 0u);  // the teller has no state
  EXPECT_TRUE(report->actors[0].state_comparable);
  EXPECT_FALSE(report->actors[1].state_comparable);
  EXPECT_NE(report->summary().find("(test.replay.teller): "), std::string::npos);
  EXPECT_NE(report->summary().find("outputs captured, state not comparable: matched"),
            std::string::npos)
      << report->summary();
  // The teller's 18 credits and the wallet's receipts to it were recorded and found again.
  EXPECT_GE(report->outputs_checked, 18u + 18u) << report->summary();
  // The same, all in one system, and step by step.
  auto one = rc.replay_scenario(corr, 0, false);
  ASSERT_TRUE(one.has_value()) << one.error();
  EXPECT_TRUE(one->matched()) << one->summary();
  auto session = rc.open_scenario(corr).value();
  std::uint64_t steps = 0;
  while (session->step().value()) ++steps;
  EXPECT_EQ(steps, report->inputs);
  EXPECT_TRUE(session->report().matched());
}

TEST(replay, a_changed_input_diverges_at_exactly_that_seq_and_actor) {
  temp_dir t;
  temp_dir changed;
  const recorded_run run = record(t.log(), 1);
  const std::uint64_t seq = copy_with_changed_credit(t.log(), changed.log(), run.wallet_id, 9);
  ASSERT_NE(seq, 0u);
  keel::type_registry types;
  add_app_types(types);
  el::replay_controller rc(changed.log(), types, factories);
  auto report = rc.replay_scenario(pay_correlation(changed.log(), run.teller_id, 1));
  ASSERT_TRUE(report.has_value()) << report.error();
  ASSERT_FALSE(report->matched());
  EXPECT_EQ(report->divergence->seq, seq) << report->summary();
  EXPECT_EQ(report->divergence->actor, run.wallet_id);
  EXPECT_NE(report->divergence->event.find("state hash"), std::string::npos)
      << report->divergence->event;
  EXPECT_NE(report->summary().find("seq " + std::to_string(seq)), std::string::npos);
}

TEST(replay, with_hashes_every_k_inputs_the_interval_holds_the_changed_input) {
  temp_dir t;
  temp_dir changed;
  const recorded_run run = record(t.log(), 4);
  const std::uint64_t seq = copy_with_changed_credit(t.log(), changed.log(), run.wallet_id, 10);
  keel::type_registry types;
  add_app_types(types);
  el::replay_controller rc(changed.log(), types, factories);
  auto report = rc.replay_scenario(pay_correlation(changed.log(), run.teller_id, 2));
  ASSERT_TRUE(report.has_value()) << report.error();
  ASSERT_FALSE(report->matched());
  const el::replay_divergence& d = *report->divergence;
  EXPECT_EQ(d.actor, run.wallet_id);
  EXPECT_LT(d.last_match_seq, seq) << report->summary();
  EXPECT_GE(d.seq, seq) << report->summary();
  EXPECT_EQ(d.input_no % 4, 0u);  // found at the first hash after the change
}

TEST(replay, what_cannot_be_replayed_is_refused_with_every_reason) {
  temp_dir t;
  const recorded_run run = record(t.log(), 1, true);
  keel::type_registry types;
  add_app_types(types);
  const keel::message_id corr = pay_correlation(t.log(), run.teller_id, 1);
  // The wallet received a message without a codec; and a tool without factories refuses all.
  el::replay_controller rc(t.log(), types, factories);
  auto r = rc.replay_scenario(corr);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), errc::invalid_argument);
  const std::string why(r.error().message());
  EXPECT_NE(why.find("actor " + std::to_string(run.wallet_id) + " (test.replay.wallet)"),
            std::string::npos)
      << why;
  EXPECT_NE(why.find("without payload"), std::string::npos) << why;
  EXPECT_EQ(why.find("actor " + std::to_string(run.teller_id)), std::string::npos) << why;
  el::replay_controller bare(t.log(), types, {});
  const std::string none(bare.replay_scenario(corr).error().message());
  EXPECT_NE(none.find("no actor factory for its type test.replay.teller"), std::string::npos)
      << none;
  EXPECT_NE(none.find("no actor factory for its type test.replay.wallet"), std::string::npos)
      << none;
  // A correlation id nobody received; a bad speed.
  EXPECT_EQ(rc.replay_scenario(0xdead'beef).error().code(), errc::not_found);
  EXPECT_EQ(rc.replay_scenario(corr, -1).error().code(), errc::invalid_argument);
}

// A sampled recording (tracing only) and an actor spawned before the recorder was on are
// refused, each naming the actor and why.
TEST(replay, sampled_actors_and_actors_without_a_spawn_are_refused_by_name) {
  temp_dir sampled_log;
  temp_dir unspawned_log;
  keel::actor_id sampled_id = 0;
  keel::actor_id unspawned_id = 0;
  {
    el::recording_options ro = replay_recording();
    ro.sample_one_in = 2;
    recording_run recording(sampled_log.log(), 1, false, {}, ro);
    auto w = recording.sys->spawn<wallet>().value();
    sampled_id = w.id();
    for (int i = 1; i <= 6; ++i) ASSERT_EQ(w.send(credit{i}), keel::send_status::ok);
    ASSERT_TRUE(el::testing::eventually([&] { return recording.rec->counters().inputs >= 3; }));
    recording.sys->shutdown();
  }
  {
    recording_run recording(unspawned_log.log(), 1);
    recording.rec->set_enabled(false);  // its SPAWN and RNG_SEED go unrecorded
    auto w = recording.sys->spawn<wallet>().value();
    unspawned_id = w.id();
    recording.rec->set_enabled(true);
    for (int i = 1; i <= 3; ++i) ASSERT_EQ(w.send(credit{i}), keel::send_status::ok);
    ASSERT_TRUE(el::testing::eventually([&] { return recording.rec->counters().inputs >= 3; }));
    recording.sys->shutdown();
  }
  keel::type_registry types;
  add_app_types(types);
  auto first_credit = [](const std::string& dir, keel::actor_id id) {
    keel::message_id corr = 0;
    (void)el::log_reader::open(dir).value().scan([&](const el::record_view& v) {
      if (v.header.actor_id != id || v.header.payload_type != keel::type_id_of<credit>())
        return true;
      corr = v.header.correlation;
      return false;
    });
    return corr;
  };
  el::replay_controller rs(sampled_log.log(), types, factories);
  auto r = rs.replay_scenario(first_credit(sampled_log.log(), sampled_id));
  ASSERT_FALSE(r.has_value());
  std::string why(r.error().message());
  EXPECT_NE(why.find("actor " + std::to_string(sampled_id) + " (test.replay.wallet)"),
            std::string::npos)
      << why;
  EXPECT_NE(why.find("sampled (recorded for tracing only)"), std::string::npos) << why;
  el::replay_controller ru(unspawned_log.log(), types, factories);
  r = ru.replay_scenario(first_credit(unspawned_log.log(), unspawned_id));
  ASSERT_FALSE(r.has_value());
  why = r.error().message();
  EXPECT_NE(why.find("actor " + std::to_string(unspawned_id)), std::string::npos) << why;
  EXPECT_NE(why.find("neither its SPAWN record nor a checkpoint of it is in the log"),
            std::string::npos)
      << why;
}

// Timers: each pay arms a one-shot timer to the actor itself, and the tick's handler keeps the
// now() it sees. Replay delivers the recorded TIMER inputs at their recorded times; the timers
// the replayed actor arms are captured, never fired (a fired one would be an extra input).
struct tick {
  static constexpr std::string_view keel_name = "test.replay.tick/1";
  std::int64_t n = 0;
  static constexpr auto keel_fields = keel::fields(keel::field("n", &tick::n));
};
class ticker : public keel::actor<ticker, pay, tick> {
 public:
  static constexpr std::string_view keel_name = "test.replay.ticker";
  void on(pay& p) { (void)send_after(self(), 1ms, tick{p.n}); }
  void on(tick& t) {
    sum_ += t.n;
    last_now_ = now();
  }
  void save_state(keel::state_writer& w) const { w.write(sum_).write(last_now_); }
  void load_state(keel::state_reader& r) {
    r.read(sum_, "sum");
    r.read(last_now_, "last_now");
  }

 private:
  std::int64_t sum_ = 0;
  std::uint64_t last_now_ = 0;
};

TEST(replay, recorded_timer_ticks_are_replayed_and_new_timers_are_captured) {
  temp_dir t;
  keel::actor_id id = 0;
  {
    recording_run recording(t.log(), 1);
    auto k = recording.sys->spawn<ticker>().value();
    id = k.id();
    for (int i = 1; i <= 5; ++i) ASSERT_EQ(k.send(pay{i}), keel::send_status::ok);
    ASSERT_TRUE(el::testing::eventually([&] { return recording.rec->counters().inputs >= 10; }));
    recording.sys->shutdown();
  }
  int timers = 0;
  keel::message_id last_tick_corr = 0;
  (void)el::log_reader::open(t.log()).value().scan([&](const el::record_view& v) {
    if (v.header.type == static_cast<std::uint16_t>(el::record_type::timer)) {
      ++timers;
      EXPECT_EQ(v.header.actor_id, id);
      last_tick_corr = v.header.correlation;
    }
    return true;
  });
  ASSERT_EQ(timers, 5);
  keel::type_registry types;
  add_app_types(types);
  ASSERT_TRUE(types.add<tick>());
  el::replay_controller rc(t.log(), types,
                           [](keel::actor_factory_registry& f) { ASSERT_TRUE(f.add<ticker>()); });
  auto r = rc.replay_scenario(last_tick_corr);
  ASSERT_TRUE(r.has_value()) << r.error();
  EXPECT_TRUE(r->matched()) << r->summary();
  ASSERT_EQ(r->actors.size(), 1u);
  EXPECT_EQ(r->actors[0].inputs, 10u) << r->summary();  // 5 pays, 5 recorded ticks, no more
  EXPECT_EQ(r->actors[0].hashes_compared, 10u) << r->summary();
}

// Asks: a broker asks the wallet for its balance (a reply) and, every third audit, a silent
// actor (a timeout); its state depends on both continuations.
struct audit {
  static constexpr std::string_view keel_name = "test.replay.audit/1";
  std::int64_t n = 0;
  static constexpr auto keel_fields = keel::fields(keel::field("n", &audit::n));
};
struct quote_query {
  static constexpr std::string_view keel_name = "test.replay.quote_query/1";
  static constexpr auto keel_fields = keel::fields();
};
struct broker_query {
  static constexpr std::string_view keel_name = "test.replay.broker_query/1";
  static constexpr auto keel_fields = keel::fields();
};
struct broker_state {
  static constexpr std::string_view keel_name = "test.replay.broker_state/1";
  std::int64_t answers = 0;
  std::int64_t timeouts = 0;
  static constexpr auto keel_fields =
      keel::fields(keel::field("answers", &broker_state::answers),
                   keel::field("timeouts", &broker_state::timeouts));
};

class silent : public keel::actor<silent, quote_query> {
 public:
  static constexpr std::string_view keel_name = "test.replay.silent";
  void on(quote_query&) {}
};

class broker : public keel::actor<broker, audit, broker_query> {
 public:
  static constexpr std::string_view keel_name = "test.replay.broker";
  broker(keel::actor_ref<wallet> w, keel::actor_ref<silent> s) : wallet_(w), silent_(s) {}
  void on(audit& a) {
    ask<balance>(wallet_, balance_query{}, 10s, [this, n = a.n](keel::result<balance> r) {
      if (r) {
        seen_ += r->cents * n;
        ++answers_;
      }
    });
    if (a.n % 3 == 0) {
      ask<balance>(silent_, quote_query{}, 5ms, [this](keel::result<balance> r) {
        if (!r && r.code() == keel::errc::timeout) ++timeouts_;
      });
    }
  }
  void on(broker_query&) { reply(broker_state{answers_, timeouts_}); }
  void save_state(keel::state_writer& w) const { w.write(seen_).write(answers_).write(timeouts_); }
  void load_state(keel::state_reader& r) {
    r.read(seen_);
    r.read(answers_);
    r.read(timeouts_);
  }

 private:
  keel::actor_ref<wallet> wallet_;
  keel::actor_ref<silent> silent_;
  std::int64_t seen_ = 0;
  std::int64_t answers_ = 0;
  std::int64_t timeouts_ = 0;
};

void broker_factories(keel::actor_factory_registry& f) {
  factories(f);
  ASSERT_TRUE(f.add<silent>());
  ASSERT_TRUE(f.add_named("test.replay.broker",
                          [](keel::actor_system& s, const keel::json_value&,
                             const keel::spawn_options& o) -> keel::result<keel::actor_ref<>> {
                            auto r = s.spawn_with<broker>(o, keel::actor_ref<wallet>(),
                                                          keel::actor_ref<silent>());
                            if (!r) return r.error();
                            return keel::actor_ref<>(*r);
                          }));
}

// Records six audits; returns the broker's id.
keel::actor_id record_asks(const std::string& dir) {
  recording_run recording(dir, 1);
  auto& sys = recording.sys;
  // A reply type no actor handles is not in the registry until it is added: without it the
  // replies would be recorded without payload (and replay would refuse them).
  (void)sys->types().add<receipt>();
  (void)sys->types().add<balance>();
  auto w = sys->spawn<wallet>().value();
  auto s = sys->spawn<silent>().value();
  auto b = sys->spawn<broker>(w, s).value();
  const keel::actor_id id = b.id();  // (0 once it has stopped)
  for (int i = 1; i <= 6; ++i) EXPECT_EQ(b.send(audit{i}), keel::send_status::ok);
  for (int i = 0; i < 5000; ++i) {
    const broker_state st = b.ask<broker_state>(broker_query{}, 10s).value();
    if (st.answers == 6 && st.timeouts == 2) break;
    std::this_thread::sleep_for(1ms);
  }
  sys->shutdown();
  return id;
}

void add_broker_types(keel::type_registry& types) {
  add_app_types(types);
  EXPECT_TRUE(types.add<audit>());
  EXPECT_TRUE(types.add<quote_query>());
  EXPECT_TRUE(types.add<broker_query>());
  EXPECT_TRUE(types.add<broker_state>());
}

// The correlation of the broker's first audit.
// The correlation of the broker's `n`-th audit (1: the first).
keel::message_id audit_correlation(const std::string& dir, keel::actor_id broker_id, int n = 1) {
  auto r = el::log_reader::open(dir).value();
  keel::message_id corr = 0;
  int seen = 0;
  (void)r.scan([&](const el::record_view& v) {
    if (v.header.actor_id != broker_id || v.header.payload_type != keel::type_id_of<audit>() ||
        ++seen != n) {
      return true;
    }
    corr = v.header.correlation;
    return false;
  });
  return corr;
}

TEST(replay, asks_replay_with_the_recorded_replies_and_timeouts) {
  temp_dir t;
  const keel::actor_id broker_id = record_asks(t.log());
  keel::type_registry types;
  add_broker_types(types);
  // The log shows six asks of the wallet, two of the silent actor, and what completed them.
  int asks = 0;
  int replies = 0;
  int timeouts = 0;
  auto r = el::log_reader::open(t.log()).value();
  (void)r.scan([&](const el::record_view& v) {
    if (v.header.actor_id != broker_id) return true;
    asks += v.header.type == static_cast<std::uint16_t>(el::record_type::ask);
    replies += (v.header.flags & el::k_flag_reply) != 0;
    timeouts += (v.header.flags & el::k_flag_ask_timeout) != 0;
    return true;
  });
  EXPECT_EQ(asks, 8);
  EXPECT_EQ(replies, 6);
  EXPECT_EQ(timeouts, 2);
  el::replay_controller rc(t.log(), types, broker_factories);
  auto report = rc.replay_scenario(audit_correlation(t.log(), broker_id));
  ASSERT_TRUE(report.has_value()) << report.error();
  EXPECT_TRUE(report->matched()) << report->summary();
  const auto b = std::find_if(report->actors.begin(), report->actors.end(),
                              [&](const el::replay_actor& a) { return a.id == broker_id; });
  ASSERT_NE(b, report->actors.end());
  // Six audits, six replies, two timeouts, and the test's queries.
  EXPECT_GE(b->inputs, 6u + 6u + 2u + 1u) << report->summary();
  EXPECT_GE(b->hashes_compared, 6u);
  // The third audit also asked the silent actor, whose deadline passed: silent is in that
  // scenario too, and the ask's deadline (a TIMER whose causation is the request, which is
  // also silent's input) is the runtime's timer, not one silent armed.
  auto third = rc.replay_scenario(audit_correlation(t.log(), broker_id, 3));
  ASSERT_TRUE(third.has_value()) << third.error();
  EXPECT_TRUE(third->matched()) << third->summary();
  EXPECT_EQ(third->actors.size(), 3u) << third->summary();  // broker, wallet, silent
}

TEST(replay, a_changed_reply_diverges_at_the_continuation_that_saw_it) {
  temp_dir t;
  temp_dir changed;
  const keel::actor_id broker_id = record_asks(t.log());
  // Copy the log, changing the broker's third reply (a balance).
  int seen = 0;
  const std::uint64_t changed_seq =
      copy_log(t.log(), changed.log(), [&](const el::record_view& v, std::vector<std::byte>& p) {
        if (v.header.actor_id != broker_id || (v.header.flags & el::k_flag_reply) == 0 ||
            ++seen != 3) {
          return false;
        }
        balance b = keel::decode<balance>(v.payload).value();
        b.cents += 1;
        p = keel::encode(b);
        return true;
      });
  ASSERT_NE(changed_seq, 0u);
  keel::type_registry types;
  add_broker_types(types);
  el::replay_controller rc(changed.log(), types, broker_factories);
  auto report = rc.replay_scenario(audit_correlation(changed.log(), broker_id));
  ASSERT_TRUE(report.has_value()) << report.error();
  ASSERT_FALSE(report->matched());
  EXPECT_EQ(report->divergence->actor, broker_id) << report->summary();
  // A continuation's state is hashed with the broker's next handled message: the divergence is
  // reported there, and the interval holds the changed reply.
  EXPECT_LT(report->divergence->last_match_seq, changed_seq) << report->summary();
  EXPECT_GE(report->divergence->seq, changed_seq) << report->summary();
}

TEST(replay, a_checkpoint_starts_the_stateful_actors_there) {
  temp_dir t;
  el::checkpoint_info cp;
  const recorded_run run = record(t.log(), 1, false, &cp);
  EXPECT_EQ(cp.number, 1u);
  EXPECT_EQ(cp.label, "midway");
  keel::type_registry types;
  add_app_types(types);
  el::replay_controller rc(t.log(), types, factories);
  // A scenario after the checkpoint: the wallet starts from its state there (its generator
  // too: its fees are drawn), the teller (no state) from its SPAWN.
  auto after = rc.replay_scenario(pay_correlation(t.log(), run.teller_id, 10));
  ASSERT_TRUE(after.has_value()) << after.error();
  EXPECT_TRUE(after->matched()) << after->summary();
  ASSERT_EQ(after->actors.size(), 2u);
  const el::replay_actor& w = after->actors[0];
  EXPECT_EQ(w.id, run.wallet_id);
  EXPECT_EQ(w.checkpoint, cp.number) << after->summary();
  EXPECT_GT(w.start_seq, cp.seq);
  EXPECT_LT(w.inputs, 21u) << after->summary();  // only those after the checkpoint
  EXPECT_GT(w.hashes_compared, 0u);
  EXPECT_EQ(after->actors[1].checkpoint, 0u);
  // A scenario before it starts from the SPAWN.
  auto before = rc.replay_scenario(pay_correlation(t.log(), run.teller_id, 2));
  ASSERT_TRUE(before.has_value()) << before.error();
  EXPECT_TRUE(before->matched()) << before->summary();
  EXPECT_EQ(before->actors[0].checkpoint, 0u);
  // Checkpoints need the live recorder.
  EXPECT_EQ(rc.create_checkpoint("offline").error().code(), errc::invalid_argument);
}

// External inputs: a pricer's state depends on what block_in_place returns (a market price
// read from outside); replay serves the recorded prices and never calls out.
std::atomic<std::int64_t> g_market{100};

class pricer : public keel::actor<pricer, pay> {
 public:
  static constexpr std::string_view keel_name = "test.replay.pricer";
  void on(pay& p) {
    const price q = block_in_place([] { return price{g_market.fetch_add(7)}; });
    total_ += q.cents * p.n;
  }
  void save_state(keel::state_writer& w) const { w.write(total_); }
  void load_state(keel::state_reader& r) { r.read(total_, "total"); }

 private:
  std::int64_t total_ = 0;
};

keel::actor_id record_pricer(const std::string& dir, bool register_price) {
  recording_run recording(dir, 1);
  auto& rec = recording.rec;
  auto& sys = recording.sys;
  if (register_price) {
    EXPECT_TRUE(sys->types().add<price>());  // a result type only
  }
  auto p = sys->spawn<pricer>().value();
  for (int i = 1; i <= 10; ++i) EXPECT_EQ(p.send(pay{i}), keel::send_status::ok);
  for (int i = 0; i < 5000 && rec->counters().externals < 10; ++i) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(rec->counters().externals, 10u);
  const keel::actor_id id = p.id();  // (a stopped actor's ref has no id)
  sys->shutdown();
  return id;
}

void pricer_factories(keel::actor_factory_registry& f) { ASSERT_TRUE(f.add<pricer>()); }

TEST(replay, block_in_place_results_are_served_from_the_log) {
  temp_dir t;
  const keel::actor_id id = record_pricer(t.log(), true);
  keel::type_registry types;
  add_app_types(types);
  ASSERT_TRUE(types.add<price>());
  el::replay_controller rc(t.log(), types, pricer_factories);
  g_market = 1'000'000;  // a call made in replay would see other prices
  auto r = rc.replay_scenario(pay_correlation(t.log(), id, 3));
  ASSERT_TRUE(r.has_value()) << r.error();
  EXPECT_TRUE(r->matched()) << r->summary();
  EXPECT_EQ(r->actors[0].hashes_compared, 10u) << r->summary();
  EXPECT_EQ(g_market.load(), 1'000'000);  // never called out

  // A recorded price changed: the replay diverges at the input whose handler got it.
  temp_dir changed;
  std::uint64_t input_seq = 0;
  (void)copy_log(t.log(), changed.log(), [&](const el::record_view& v, std::vector<std::byte>& b) {
    if (v.header.type == static_cast<std::uint16_t>(el::record_type::message) &&
        v.header.actor_id == id && v.header.actor_seq == 4) {
      input_seq = v.header.seq;
    }
    if (v.header.type != static_cast<std::uint16_t>(el::record_type::external_input) ||
        v.header.actor_seq != 4) {
      return false;
    }
    price q = keel::decode<price>(v.payload).value();
    q.cents += 1;
    b = keel::encode(q);
    return true;
  });
  el::replay_controller rc2(changed.log(), types, pricer_factories);
  auto d = rc2.replay_scenario(pay_correlation(changed.log(), id, 1));
  ASSERT_TRUE(d.has_value()) << d.error();
  ASSERT_FALSE(d->matched());
  EXPECT_EQ(d->divergence->seq, input_seq) << d->summary();
  EXPECT_EQ(d->divergence->input_no, 4u);
}

TEST(replay, a_block_in_place_result_without_a_codec_is_refused) {
  temp_dir t;
  const keel::actor_id id = record_pricer(t.log(), false);  // price not in the registry
  keel::type_registry types;
  add_app_types(types);
  ASSERT_TRUE(types.add<price>());
  el::replay_controller rc(t.log(), types, pricer_factories);
  auto r = rc.replay_scenario(pay_correlation(t.log(), id, 1));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("block_in_place results of a type without a codec"),
            std::string_view::npos)
      << r.error();
}

}  // namespace
