// Recording through the core's hooks: each input of a recorded actor becomes a record with its
// input number, ids, the now() its handler saw and its codec bytes; STATE_HASH records match
// the actor's own state hash after that input; timers, spawns and stops are recorded; actor
// type patterns, types without a codec and sampling behave as documented.
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "eventlog/log_fixture.h"

#include <keel/core/actor_system.h>
#include <keel/core/codec.h>
#include <keel/core/state.h>
#include <keel/eventlog/reader.h>
#include <keel/eventlog/recorder.h>

namespace {

namespace el = keel::eventlog;
using el::testing::temp_dir;
using namespace std::chrono_literals;

struct add {
  static constexpr std::string_view keel_name = "test.rec.add/1";
  std::int64_t n = 0;
  static constexpr auto keel_fields = keel::fields(keel::field("n", &add::n));
};
struct opaque {  // no codec
  static constexpr std::string_view keel_name = "test.rec.opaque/1";
  int x = 0;
};
struct tick {
  static constexpr std::string_view keel_name = "test.rec.tick/1";
  static constexpr auto keel_fields = keel::fields();
};
struct report_query {
  static constexpr std::string_view keel_name = "test.rec.report_query/1";
};
struct report {
  static constexpr std::string_view keel_name = "test.rec.report/1";
  std::vector<std::uint64_t> seen_now;      // now() in each add handler
  std::vector<std::uint64_t> state_hashes;  // the state hash after each add
  int ticks = 0;
};

class counter : public keel::actor<counter, add, opaque, tick, report_query> {
 public:
  static constexpr std::string_view keel_name = "test.rec.counter";
  void on(add& m) {
    sum_ += m.n;
    seen_now_.push_back(now());
    keel::state_writer w;
    save_state(w);
    hashes_.push_back(keel::state_hash(w.bytes()));
  }
  void on(opaque&) {}
  void on(tick&) { ++ticks_; }
  void on(report_query&) { reply(report{seen_now_, hashes_, ticks_}); }
  void save_state(keel::state_writer& w) const { w.write(sum_); }
  void load_state(keel::state_reader& r) { r.read(sum_); }

 private:
  std::int64_t sum_ = 0;
  std::vector<std::uint64_t> seen_now_;
  std::vector<std::uint64_t> hashes_;
  int ticks_ = 0;
};

class bystander : public keel::actor<bystander, add> {
 public:
  static constexpr std::string_view keel_name = "test.other.bystander";
  void on(add&) {}
};

struct rec {
  el::frame_header h;
  std::vector<std::byte> payload;
};

std::vector<rec> read_all(const std::string& dir) {
  std::vector<rec> out;
  auto r = el::log_reader::open(dir).value();
  (void)r.scan([&](const el::record_view& v) {
    out.push_back(rec{v.header, {v.payload.begin(), v.payload.end()}});
    return true;
  });
  return out;
}

struct recorded_system {
  std::unique_ptr<el::event_log> log;
  std::shared_ptr<el::recorder> rec;
  std::unique_ptr<keel::actor_system> sys;

  recorded_system(const std::string& dir, el::recording_options o) {
    log = el::event_log::open(dir, el::testing::small_segments()).value();
    rec = el::recorder::create(*log, std::move(o)).value();
    keel::system_config cfg;
    cfg.scheduler.workers = 2;
    cfg.hooks.push_back(rec);
    sys = keel::actor_system::create(std::move(cfg)).value();
    rec->use_types(sys->types());
  }
  ~recorded_system() {
    sys.reset();  // every hook call done before the log closes
    log.reset();
  }
};

TEST(recorder, records_each_input_with_its_number_now_and_codec_bytes_and_state_hashes) {
  temp_dir t;
  el::recording_options o;
  o.actor_types = {"test.rec.*"};
  o.state_hash_every = 3;
  report rep;
  keel::actor_id id = 0;
  {
    recorded_system rs(t.log(), o);
    auto c = rs.sys->spawn<counter>().value();
    auto other = rs.sys->spawn<bystander>().value();
    id = c.id();
    ASSERT_TRUE(rs.sys->types().add<add>());  // (registered at spawn too; idempotent)
    for (int i = 1; i <= 10; ++i) {
      ASSERT_EQ(c.send(add{i}), keel::send_status::ok);
      ASSERT_EQ(other.send(add{i}), keel::send_status::ok);
    }
    ASSERT_EQ(c.send(opaque{7}), keel::send_status::ok);
    rep = c.ask<report>(report_query{}, 10s).value();
    EXPECT_EQ(rs.rec->counters().state_hashes, 4u);  // after inputs 3, 6, 9 and 12
    EXPECT_EQ(rs.rec->counters().no_payload, 2u);    // opaque and report_query have no codec
  }
  const std::vector<rec> all = read_all(t.log());
  std::vector<rec> inputs;
  std::vector<rec> hashes;
  bool spawned = false;
  for (const rec& r : all) {
    EXPECT_NE(r.h.actor_id, 0u);
    const auto type = static_cast<el::record_type>(r.h.type);
    if (type == el::record_type::spawn) {
      spawned = spawned || std::string(reinterpret_cast<const char*>(r.payload.data()),
                                       r.payload.size()) == "test.rec.counter";
    }
    if (r.h.actor_id != id) continue;  // the bystander is not recorded at all
    if (type == el::record_type::message) inputs.push_back(r);
    if (type == el::record_type::state_hash) hashes.push_back(r);
  }
  EXPECT_TRUE(spawned);
  for (const rec& r : all) {
    EXPECT_TRUE(r.h.actor_id == id) << "record about actor " << r.h.actor_id;
  }
  ASSERT_EQ(inputs.size(), 12u);  // 10 adds, the opaque, the query
  for (int i = 0; i < 10; ++i) {
    const rec& r = inputs[static_cast<std::size_t>(i)];
    EXPECT_EQ(r.h.actor_seq, static_cast<std::uint64_t>(i + 1));
    EXPECT_EQ(r.h.payload_type, keel::type_id_of<add>());
    EXPECT_EQ(keel::decode<add>(r.payload).value().n, i + 1);
    EXPECT_EQ(static_cast<std::uint64_t>(r.h.ts_ns), rep.seen_now[static_cast<std::size_t>(i)]);
    EXPECT_NE(r.h.message_id, 0u);
    EXPECT_EQ(r.h.flags, 0u);
  }
  EXPECT_EQ(inputs[10].h.flags, el::k_flag_no_payload);
  EXPECT_TRUE(inputs[10].payload.empty());
  ASSERT_EQ(hashes.size(), 4u);
  for (std::size_t k = 0; k < 4; ++k) {
    const std::uint64_t after = (k + 1) * 3;
    EXPECT_EQ(hashes[k].h.actor_seq, after);
    std::uint64_t h = 0;
    std::memcpy(&h, hashes[k].payload.data(), sizeof(h));
    // Input 12 (the query) leaves the state as the tenth add did.
    EXPECT_EQ(h, rep.state_hashes[std::min<std::uint64_t>(after, 10) - 1]) << "after " << after;
  }
}

TEST(recorder, timers_are_recorded_as_timer_inputs_and_stops_as_stop_records) {
  temp_dir t;
  keel::actor_id id = 0;
  {
    recorded_system rs(t.log(), el::recording_options{});
    auto c = rs.sys->spawn<counter>().value();
    id = c.id();
    auto timer = rs.sys->send_after(c, 1ms, tick{});
    (void)timer;
    for (int i = 0; i < 200 && c.ask<report>(report_query{}, 10s).value().ticks == 0; ++i) {
      std::this_thread::sleep_for(1ms);
    }
    ASSERT_EQ(c.stop(), keel::send_status::ok);
    std::this_thread::sleep_for(50ms);
  }
  bool timer_seen = false;
  bool stop_seen = false;
  for (const rec& r : read_all(t.log())) {
    if (r.h.actor_id != id) continue;
    if (r.h.type == static_cast<std::uint16_t>(el::record_type::timer)) {
      timer_seen = r.h.payload_type == keel::type_id_of<tick>();
    }
    stop_seen = stop_seen || r.h.type == static_cast<std::uint16_t>(el::record_type::stop);
  }
  EXPECT_TRUE(timer_seen);
  EXPECT_TRUE(stop_seen);
}

TEST(recorder, sampling_records_one_input_in_n_flagged) {
  temp_dir t;
  el::recording_options o;
  o.sample_one_in = 4;
  {
    recorded_system rs(t.log(), o);
    auto c = rs.sys->spawn<counter>().value();
    for (int i = 0; i < 40; ++i) ASSERT_EQ(c.send(add{1}), keel::send_status::ok);
    (void)c.ask<report>(report_query{}, 10s).value();
  }
  std::size_t inputs = 0;
  for (const rec& r : read_all(t.log())) {
    if (r.h.type != static_cast<std::uint16_t>(el::record_type::message)) continue;
    ++inputs;
    EXPECT_TRUE(r.h.flags & el::k_flag_sampled);
  }
  EXPECT_GE(inputs, 9u);  // 41 inputs, one in four
  EXPECT_LE(inputs, 12u);
}

TEST(recorder, bad_options_are_refused) {
  temp_dir t;
  auto log = el::event_log::open(t.log(), el::testing::small_segments()).value();
  el::recording_options o;
  o.sample_one_in = 0;
  EXPECT_EQ(el::recorder::create(*log, o).error().code(), keel::errc::invalid_config);
  o = {};
  o.actor_types = {""};
  EXPECT_EQ(el::recorder::create(*log, o).error().code(), keel::errc::invalid_config);
  o = {};
  o.actor_names = {""};
  const auto r = el::recorder::create(*log, o);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("actor_names"), std::string_view::npos) << r.error();
}

TEST(recorder, actors_can_be_chosen_by_their_registered_name) {
  temp_dir t;
  el::recording_options o;
  o.actor_types = {};               // no type ...
  o.actor_names = {"bystander-*"};  // ... but this name
  keel::actor_id named = 0;
  {
    recorded_system rs(t.log(), o);
    keel::spawn_options so;
    so.name = "bystander-1";
    auto a = rs.sys->spawn_with<bystander>(so).value();
    auto b = rs.sys->spawn<bystander>().value();
    auto c = rs.sys->spawn<counter>().value();
    named = a.id();
    for (int i = 1; i <= 5; ++i) {
      ASSERT_EQ(a.send(add{i}), keel::send_status::ok);
      ASSERT_EQ(b.send(add{i}), keel::send_status::ok);
      ASSERT_EQ(c.send(add{i}), keel::send_status::ok);
    }
    (void)c.ask<report>(report_query{}, 10s).value();
    for (int i = 0; i < 5000 && rs.rec->counters().inputs < 5; ++i) {
      std::this_thread::sleep_for(1ms);
    }
    EXPECT_EQ(rs.rec->counters().inputs, 5u);
  }
  int inputs = 0;
  int spawns = 0;
  for (const rec& r : read_all(t.log())) {
    EXPECT_EQ(r.h.actor_id, named) << "seq " << r.h.seq;
    inputs += r.h.type == static_cast<std::uint16_t>(el::record_type::message) ? 1 : 0;
    spawns += r.h.type == static_cast<std::uint16_t>(el::record_type::spawn) ? 1 : 0;
  }
  EXPECT_EQ(inputs, 5);
  EXPECT_EQ(spawns, 1);
}

}  // namespace

namespace {

struct go {
  static constexpr std::string_view keel_name = "test.rec.go/1";
  static constexpr auto keel_fields = keel::fields();
};
struct hold {
  static constexpr std::string_view keel_name = "test.rec.hold/1";
  std::int64_t n = 0;
  static constexpr auto keel_fields = keel::fields(keel::field("n", &hold::n));
};
struct release {
  static constexpr std::string_view keel_name = "test.rec.release/1";
  static constexpr auto keel_fields = keel::fields();
};
struct outcome_query {
  static constexpr std::string_view keel_name = "test.rec.outcome_query/1";
};
struct outcome {
  static constexpr std::string_view keel_name = "test.rec.outcome/1";
  int replies = 0;
  int timeouts = 0;
  std::vector<std::int64_t> held;  // hold messages handled after release, in order
};

class silent : public keel::actor<silent, report_query> {
 public:
  static constexpr std::string_view keel_name = "test.rec.silent";
  void on(report_query&) {}  // never replies
};

// Asks a counter (which replies) and a silent actor (its ask times out); stashes hold messages
// until release.
class asker : public keel::actor<asker, go, hold, release, outcome_query> {
 public:
  static constexpr std::string_view keel_name = "test.rec.asker";
  asker(keel::actor_ref<counter> c, keel::actor_ref<silent> s) : c_(c), s_(s) {}
  void on(go&) {
    ask<report>(c_, report_query{}, 10s, [this](keel::result<report> r) { replies_ += r ? 1 : 0; });
    ask<report>(s_, report_query{}, 5ms, [this](keel::result<report> r) {
      timeouts_ += !r && r.code() == keel::errc::timeout ? 1 : 0;
    });
  }
  void on(hold& h) {
    if (!released_) {
      (void)stash();
      return;
    }
    held_.push_back(h.n);
  }
  void on(release&) {
    released_ = true;
    unstash_all();
  }
  void on(outcome_query&) { reply(outcome{replies_, timeouts_, held_}); }

 private:
  keel::actor_ref<counter> c_;
  keel::actor_ref<silent> s_;
  int replies_ = 0;
  int timeouts_ = 0;
  bool released_ = false;
  std::vector<std::int64_t> held_;
};

TEST(recorder, ask_replies_and_timeouts_are_inputs_and_unstashed_messages_are_recorded_once) {
  temp_dir t;
  keel::actor_id id = 0;
  keel::message_id reply_ask = 0;
  {
    el::recording_options o;
    o.actor_types = {"test.rec.asker"};
    recorded_system rs(t.log(), o);
    auto c = rs.sys->spawn<counter>().value();
    auto s = rs.sys->spawn<silent>().value();
    auto a = rs.sys->spawn<asker>(c, s).value();
    id = a.id();
    ASSERT_EQ(a.send(hold{1}), keel::send_status::ok);
    ASSERT_EQ(a.send(hold{2}), keel::send_status::ok);
    ASSERT_EQ(a.send(release{}), keel::send_status::ok);
    ASSERT_EQ(a.send(go{}), keel::send_status::ok);
    outcome out;
    for (int i = 0; i < 2000; ++i) {
      out = a.ask<outcome>(outcome_query{}, 10s).value();
      if (out.replies == 1 && out.timeouts == 1) break;
      std::this_thread::sleep_for(1ms);
    }
    ASSERT_EQ(out.replies, 1);
    ASSERT_EQ(out.timeouts, 1);
    EXPECT_EQ(out.held, (std::vector<std::int64_t>{1, 2}));
  }
  int holds = 0;
  int replies = 0;
  int timeouts = 0;
  std::uint64_t last_input = 0;
  for (const rec& r : read_all(t.log())) {
    if (r.h.actor_id != id || r.h.type != static_cast<std::uint16_t>(el::record_type::message))
      continue;
    EXPECT_GT(r.h.actor_seq, last_input);  // input numbers grow
    last_input = r.h.actor_seq;
    if (r.h.payload_type == keel::type_id_of<hold>()) ++holds;
    if ((r.h.flags & el::k_flag_reply) != 0) {
      ++replies;
      EXPECT_EQ(r.h.payload_type, keel::type_id_of<report>());
      EXPECT_NE(r.h.causation, 0u);  // the ask's id
      reply_ask = r.h.causation;
    }
    if ((r.h.flags & el::k_flag_ask_timeout) != 0) {
      ++timeouts;
      EXPECT_TRUE(r.payload.empty());
      EXPECT_NE(r.h.causation, 0u);
      EXPECT_NE(r.h.causation, reply_ask);
    }
  }
  EXPECT_EQ(holds, 2);  // each hold once, although handled twice (stashed, then put back)
  EXPECT_EQ(replies, 1);
  EXPECT_EQ(timeouts, 1);
}

}  // namespace
