// What replay needs from the core: send_encoded (a message from its codec's bytes, with the
// recorded ids), skip_ids_to (spawning under recorded ids), and the deterministic executor's
// set_clock (each input's recorded now()).
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <keel/core/actor_system.h>
#include <keel/core/codec.h>
#include <keel/core/hooks.h>
#include <keel/core/rng.h>
#include <keel/core/state.h>

namespace {

using keel::errc;

struct deposit {
  static constexpr std::string_view keel_name = "test.rs.deposit/1";
  std::int64_t cents = 0;
  std::string memo;
  static constexpr auto keel_fields =
      keel::fields(keel::field("cents", &deposit::cents), keel::field("memo", &deposit::memo));
};
struct seen {
  std::int64_t cents = 0;
  std::string memo;
  keel::message_id correlation = 0;
  keel::message_id id = 0;
  std::uint64_t now = 0;
  std::uint64_t draw = 0;
  int count = 0;
};

class account : public keel::actor<account, deposit> {
 public:
  static constexpr std::string_view keel_name = "test.rs.account";
  explicit account(seen* out) : out_(out) {}
  void on(deposit& d) {
    out_->cents += d.cents;
    out_->memo = d.memo;
    out_->correlation = correlation();
    out_->id = current_message();
    out_->now = now();
    out_->draw = rng()();
    ++out_->count;
  }

 private:
  seen* out_;
};

std::unique_ptr<keel::actor_system> det_system(std::uint64_t seed = 7) {
  keel::system_config cfg;
  cfg.scheduler.executor = keel::sched::executor_kind::deterministic;
  cfg.seed = seed;
  return keel::actor_system::create(std::move(cfg)).value();
}

std::vector<std::byte> bytes_of(const deposit& d) {
  std::vector<std::byte> out;
  keel::codec_ops_of<deposit>.encode(&d, out);
  return out;
}

TEST(replay_support, send_encoded_decodes_and_keeps_the_given_ids) {
  auto sys = det_system();
  seen out;
  auto a = sys->spawn<account>(&out).value();
  const auto entry = sys->types().find(keel::type_id_of<deposit>());
  ASSERT_TRUE(entry.has_value());
  const std::vector<std::byte> b = bytes_of(deposit{250, "rent"});
  keel::encoded_message m{entry->ops, entry->codec, b, 9001, 77, 9000};
  EXPECT_EQ(sys->send_encoded(a.handle(), m).value(), keel::send_status::ok);
  sys->deterministic()->run_until_idle();
  EXPECT_EQ(out.cents, 250);
  EXPECT_EQ(out.memo, "rent");
  EXPECT_EQ(out.correlation, 77u);
  // Bad input: no codec, bytes that do not decode.
  keel::encoded_message none{entry->ops, nullptr, b};
  EXPECT_EQ(sys->send_encoded(a.handle(), none).error().code(), errc::invalid_argument);
  const std::vector<std::byte> cut(b.begin(), b.begin() + 3);
  keel::encoded_message torn{entry->ops, entry->codec, cut};
  const auto r = sys->send_encoded(a.handle(), torn);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), errc::invalid_argument);
  EXPECT_NE(r.error().message().find("test.rs.deposit/1"), std::string_view::npos) << r.error();
  sys->deterministic()->run_until_idle();
  EXPECT_EQ(out.count, 1);
}

TEST(replay_support, skip_ids_to_spawns_under_a_given_id_and_ids_never_repeat) {
  auto live = det_system(11);
  seen live_out;
  keel::actor_ref<account> first = live->spawn<account>(&live_out).value();
  (void)live->spawn<account>(&live_out).value();
  keel::actor_ref<account> third = live->spawn<account>(&live_out).value();
  // A fresh system with the same seed: the actor spawned under `third`'s id draws what it drew.
  auto replay = det_system(11);
  seen replay_out;
  ASSERT_TRUE(replay->skip_ids_to(third.id()));
  auto again = replay->spawn<account>(&replay_out).value();
  EXPECT_EQ(again.id(), third.id());
  ASSERT_EQ(third.send(deposit{1, ""}), keel::send_status::ok);
  ASSERT_EQ(again.send(deposit{1, ""}), keel::send_status::ok);
  live->deterministic()->run_until_idle();
  replay->deterministic()->run_until_idle();
  EXPECT_EQ(replay_out.draw, live_out.draw);
  EXPECT_GT(replay->spawn<account>(&replay_out).value().id(), third.id());
  // Ids are never reused; another node's id is not this system's.
  const auto back = replay->skip_ids_to(first.id());
  EXPECT_EQ(back.code(), errc::invalid_argument);
  EXPECT_NE(back.message().find("never reused"), std::string_view::npos) << back;
  EXPECT_EQ(replay->skip_ids_to((keel::actor_id{3} << keel::k_node_shift) | 5).code(),
            errc::invalid_argument);
}

TEST(replay_support, set_clock_moves_the_virtual_clock_either_way) {
  auto sys = det_system();
  seen out;
  auto a = sys->spawn<account>(&out).value();
  sys->deterministic()->set_clock(5'000'000'000);
  ASSERT_EQ(a.send(deposit{1, ""}), keel::send_status::ok);
  sys->deterministic()->run_until_idle();
  EXPECT_EQ(out.now, 5'000'000'000u);
  sys->deterministic()->set_clock(4'000'000'000);  // recorded times need not be in order
  ASSERT_EQ(a.send(deposit{1, ""}), keel::send_status::ok);
  sys->deterministic()->run_until_idle();
  EXPECT_EQ(out.now, 4'000'000'000u);
  EXPECT_EQ(sys->deterministic()->now(), 4'000'000'000u);
}

// A handler's send to an empty ref is a dead letter the hooks see, with its sender and type
// (replay captures it as an output); before, it vanished uncounted.
class forwarder : public keel::actor<forwarder, deposit> {
 public:
  static constexpr std::string_view keel_name = "test.rs.forwarder";
  void on(deposit& d) { (void)nowhere_.send(deposit{d.cents, "fwd"}); }

 private:
  keel::actor_ref<account> nowhere_;
};

TEST(replay_support, a_send_to_an_empty_ref_from_a_handler_is_a_dead_letter) {
  auto sys = det_system();
  auto f = sys->spawn<forwarder>().value();
  ASSERT_EQ(f.send(deposit{5, ""}), keel::send_status::ok);
  sys->deterministic()->run_until_idle();
  EXPECT_EQ(sys->dead_letter_count(), 1u);
  const auto recent = sys->recent_dead_letters();
  ASSERT_EQ(recent.size(), 1u);
  EXPECT_EQ(recent[0].sender, f.handle());
  EXPECT_EQ(recent[0].type_name, "test.rs.deposit/1");
  EXPECT_EQ(recent[0].reason, keel::dead_letter_reason::actor_stopped);
  // From outside a worker there is no system to tell: only refused.
  keel::actor_ref<account> empty;
  EXPECT_EQ(empty.send(deposit{1, ""}), keel::send_status::dead_letter);
  EXPECT_EQ(sys->dead_letter_count(), 1u);
}

// An actor that stands for outside clients starts a correlation per request; what it sends
// with send() stays in the correlation of the message it handles.
class opener : public keel::actor<opener, deposit> {
 public:
  static constexpr std::string_view keel_name = "test.rs.opener";
  opener(keel::actor_ref<account> same, keel::actor_ref<account> fresh)
      : same_(same), fresh_(fresh) {}
  void on(deposit& d) {
    (void)same_.send(deposit{d.cents, "same"});
    (void)send_new_correlation(fresh_, deposit{d.cents, "fresh"});
    (void)send_new_correlation(nowhere_, deposit{d.cents, "nowhere"});
  }

 private:
  keel::actor_ref<account> same_, fresh_, nowhere_;
};

TEST(replay_support, send_new_correlation_starts_a_correlation_at_the_message) {
  auto sys = det_system();
  seen same, fresh;
  auto a = sys->spawn<account>(&same).value();
  auto b = sys->spawn<account>(&fresh).value();
  auto o = sys->spawn<opener>(a, b).value();
  const auto entry = sys->types().find(keel::type_id_of<deposit>());
  ASSERT_TRUE(entry.has_value());
  const std::vector<std::byte> bytes = bytes_of(deposit{3, ""});
  keel::encoded_message m{entry->ops, entry->codec, bytes, 9001, 77, 9000};
  ASSERT_EQ(sys->send_encoded(o.handle(), m).value(), keel::send_status::ok);
  sys->deterministic()->run_until_idle();
  EXPECT_EQ(same.correlation, 77u);
  EXPECT_EQ(fresh.memo, "fresh");
  EXPECT_NE(fresh.correlation, 77u);
  EXPECT_EQ(fresh.correlation, fresh.id);  // the new correlation is named by its first message
  // Through an empty ref: a dead letter, as with send().
  EXPECT_EQ(sys->dead_letter_count(), 1u);
}

// A stateful account, for restore_for_replay.
class vault : public keel::actor<vault, deposit> {
 public:
  static constexpr std::string_view keel_name = "test.rs.vault";
  explicit vault(seen* out) : out_(out) {}
  void on(deposit& d) {
    cents_ += d.cents;
    out_->cents = cents_;
    out_->draw = rng()();
  }
  void save_state(keel::state_writer& w) const { w.write(cents_); }
  void load_state(keel::state_reader& r) { r.read(cents_, "cents"); }

 private:
  seen* out_;
  std::int64_t cents_ = 0;
};

TEST(replay_support, restore_for_replay_sets_state_generator_and_input_count) {
  auto sys = det_system();
  seen out;
  auto v = sys->spawn<vault>(&out).value();
  keel::state_writer w;
  w.write(std::int64_t{500});
  keel::actor_rng g(1234);
  (void)g();
  keel::actor_restore r;
  r.state = w.bytes();
  r.rng = g.save();
  r.input_no = 41;
  ASSERT_TRUE(sys->restore_for_replay(v.handle(), r));
  ASSERT_EQ(v.send(deposit{5, ""}), keel::send_status::ok);
  sys->deterministic()->run_until_idle();
  EXPECT_EQ(out.cents, 505);  // the state it was given
  EXPECT_EQ(out.draw, g());   // the generator it was given, where it stood
  // Bad input: bytes that do not fit, an actor without load_state, a stopped actor.
  const std::vector<std::byte> junk(3, std::byte{1});
  r.state = junk;
  EXPECT_EQ(sys->restore_for_replay(v.handle(), r).code(), errc::invalid_argument);
  auto a = sys->spawn<account>(&out).value();
  r.state = w.bytes();
  const keel::status none = sys->restore_for_replay(a.handle(), r);
  EXPECT_EQ(none.code(), errc::invalid_argument);
  EXPECT_NE(none.message().find("has no load_state"), std::string_view::npos) << none;
  EXPECT_EQ(sys->restore_for_replay(keel::actor_handle{}, r).code(), errc::actor_stopped);
  // Only on the deterministic executor.
  keel::system_config cfg;
  cfg.scheduler.workers = 1;
  auto ws = keel::actor_system::create(std::move(cfg)).value();
  seen ws_out;
  auto wv = ws->spawn<vault>(&ws_out).value();
  EXPECT_EQ(ws->restore_for_replay(wv.handle(), r).code(), errc::wrong_thread);
}

// Draws from its generator on every deposit, then fails on a negative one; counts its starts.
class fragile : public keel::actor<fragile, deposit> {
 public:
  static constexpr std::string_view keel_name = "test.rs.fragile";
  explicit fragile(std::vector<std::uint64_t>* draws) : draws_(draws) {}
  void on_start() override { draws_->push_back(0); }  // 0 marks a start
  void on(deposit& d) {
    draws_->push_back(rng()());
    if (d.cents < 0) throw std::runtime_error("negative deposit");
  }

 private:
  std::vector<std::uint64_t>* draws_;
};

std::unique_ptr<keel::actor_system> fragile_system(std::vector<std::uint64_t>* draws) {
  auto sys = det_system();
  EXPECT_TRUE(sys->factories().add<fragile>(
      [draws](keel::actor_system& s, const keel::json_value&, const keel::spawn_options& o) {
        return s.spawn_with<fragile>(o, draws);
      }));
  return sys;
}

TEST(replay_support, a_held_failure_restarts_in_place_with_the_generator_running_on) {
  // The reference: the same actor, never failing, draws d1 then d2.
  std::vector<std::uint64_t> want;
  auto ref_sys = fragile_system(&want);
  auto ref = ref_sys->factories().spawn("test.rs.fragile").value();
  auto ref_typed = keel::actor_ref<fragile>::from_cell(ref.cell(), ref.generation());
  ASSERT_EQ(ref_typed.send(deposit{1, ""}), keel::send_status::ok);
  ASSERT_EQ(ref_typed.send(deposit{2, ""}), keel::send_status::ok);
  ref_sys->deterministic()->run_until_idle();
  ASSERT_EQ(want.size(), 3u);

  std::vector<std::uint64_t> got;
  auto sys = fragile_system(&got);
  auto a = sys->factories().spawn("test.rs.fragile").value();
  auto typed = keel::actor_ref<fragile>::from_cell(a.cell(), a.generation());
  ASSERT_TRUE(sys->hold_failures_for_replay(a.handle()));
  ASSERT_EQ(typed.send(deposit{-1, ""}), keel::send_status::ok);
  ASSERT_EQ(typed.send(deposit{2, ""}), keel::send_status::ok);
  sys->deterministic()->run_until_idle();
  // It failed on the first and is held: the second waits in its mailbox.
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(a.alive());
  ASSERT_TRUE(sys->restart_for_replay(a.handle()));
  sys->deterministic()->run_until_idle();
  // A new object (on_start again) in the same cell handles the waiting deposit, and the
  // generator ran on from where the failed object left it.
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0], 0u);
  EXPECT_EQ(got[1], want[1]);
  EXPECT_EQ(got[2], 0u);
  EXPECT_EQ(got[3], want[2]);
  // A running actor restarts too (a sibling in a group restart).
  ASSERT_TRUE(sys->restart_for_replay(a.handle()));
  sys->deterministic()->run_until_idle();
  EXPECT_EQ(got.size(), 5u);
  EXPECT_EQ(got[4], 0u);
}

TEST(replay_support, restart_for_replay_refuses_what_it_cannot_restart) {
  std::vector<std::uint64_t> draws;
  auto sys = fragile_system(&draws);
  // Without hold_failures_for_replay a failure stops an unsupervised actor, as ever.
  auto a = sys->factories().spawn("test.rs.fragile").value();
  auto typed = keel::actor_ref<fragile>::from_cell(a.cell(), a.generation());
  ASSERT_EQ(typed.send(deposit{-1, ""}), keel::send_status::ok);
  sys->deterministic()->run_until_idle();
  EXPECT_FALSE(a.alive());
  EXPECT_EQ(sys->restart_for_replay(a.handle()).code(), errc::actor_stopped);
  EXPECT_EQ(sys->hold_failures_for_replay(a.handle()).code(), errc::actor_stopped);
  // A type without a factory.
  seen out;
  auto v = sys->spawn<vault>(&out).value();
  const keel::status none = sys->restart_for_replay(v.handle());
  EXPECT_EQ(none.code(), errc::invalid_argument);
  EXPECT_NE(none.message().find("no actor factory for test.rs.vault"), std::string_view::npos)
      << none;
  // Only on the deterministic executor.
  keel::system_config cfg;
  cfg.scheduler.workers = 1;
  auto ws = keel::actor_system::create(std::move(cfg)).value();
  auto wv = ws->spawn<vault>(&out).value();
  EXPECT_EQ(ws->restart_for_replay(wv.handle()).code(), errc::wrong_thread);
  EXPECT_EQ(ws->hold_failures_for_replay(wv.handle()).code(), errc::wrong_thread);
}

// block_in_place results: the hooks see each one in its codec; a replay system serves the
// recorded ones instead of running the call.
struct quote {
  static constexpr std::string_view keel_name = "test.rs.quote/1";
  std::int64_t price = 0;
  static constexpr auto keel_fields = keel::fields(keel::field("price", &quote::price));
};
class pricer : public keel::actor<pricer, deposit> {
 public:
  static constexpr std::string_view keel_name = "test.rs.pricer";
  pricer(int* calls, std::int64_t* seen) : calls_(calls), seen_(seen) {}
  void on(deposit&) {
    const quote q = block_in_place([this] {
      ++*calls_;
      return quote{100 + *calls_};
    });
    *seen_ = q.price;
  }

 private:
  int* calls_;
  std::int64_t* seen_;
};

class external_watch : public keel::hook_subscriber {
 public:
  external_watch() : hook_subscriber(keel::hook_phase::recording) {}
  void on_external_input(const keel::external_event& ev) noexcept override {
    events.push_back(ev);
    bytes.emplace_back(ev.bytes.begin(), ev.bytes.end());
  }
  std::vector<keel::external_event> events;
  std::vector<std::vector<std::byte>> bytes;
};

TEST(replay_support, block_in_place_results_are_told_to_the_hooks_in_their_codec) {
  auto watch = std::make_shared<external_watch>();
  keel::system_config cfg;
  cfg.scheduler.executor = keel::sched::executor_kind::deterministic;
  cfg.hooks.push_back(watch);
  auto sys = keel::actor_system::create(std::move(cfg)).value();
  int calls = 0;
  std::int64_t seen = 0;
  auto p = sys->spawn<pricer>(&calls, &seen).value();
  ASSERT_TRUE(sys->types().add<quote>());
  ASSERT_EQ(p.send(deposit{1, ""}), keel::send_status::ok);
  sys->deterministic()->run_until_idle();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen, 101);
  ASSERT_EQ(watch->events.size(), 1u);
  const keel::external_event& ev = watch->events[0];
  EXPECT_EQ(ev.id, p.id());
  EXPECT_EQ(ev.type, keel::type_id_of<quote>());
  EXPECT_TRUE(ev.has_codec);
  EXPECT_EQ(ev.input_no, 1u);
  EXPECT_NE(ev.message, 0u);
  EXPECT_EQ(keel::decode<quote>(watch->bytes[0]).value().price, 101);
}

TEST(replay_support, a_replay_system_serves_recorded_results_without_running_the_call) {
  auto sys = det_system();
  int calls = 0;
  std::int64_t seen = 0;
  auto p = sys->spawn<pricer>(&calls, &seen).value();
  ASSERT_TRUE(sys->types().add<quote>());
  int asked = 0;
  ASSERT_TRUE(
      sys->serve_externals_for_replay([&](keel::actor_id a, std::uint64_t,
                                          keel::type_id t) -> keel::result<std::vector<std::byte>> {
        // (Input numbers count while hooks are attached, as in a replay system: 0 here.)
        EXPECT_EQ(a, p.id());
        EXPECT_EQ(t, keel::type_id_of<quote>());
        if (++asked == 2) return keel::status(errc::not_found, "no recorded result for this call");
        return keel::encode(quote{4242});
      }));
  ASSERT_EQ(p.send(deposit{1, ""}), keel::send_status::ok);
  sys->deterministic()->run_until_idle();
  EXPECT_EQ(calls, 0);  // served from the "log": the call did not run
  EXPECT_EQ(seen, 4242);
  // No recorded result: the handler fails, naming why.
  ASSERT_EQ(p.send(deposit{2, ""}), keel::send_status::ok);
  sys->deterministic()->run_until_idle();
  EXPECT_EQ(calls, 0);
  EXPECT_FALSE(p.alive());
  EXPECT_EQ(asked, 2);
  // Bad input: an empty source; a system that is not deterministic.
  EXPECT_EQ(sys->serve_externals_for_replay({}).code(), errc::invalid_argument);
  keel::system_config cfg;
  cfg.scheduler.workers = 1;
  auto ws = keel::actor_system::create(std::move(cfg)).value();
  EXPECT_EQ(
      ws->serve_externals_for_replay([](keel::actor_id, std::uint64_t,
                                        keel::type_id) -> keel::result<std::vector<std::byte>> {
          return std::vector<std::byte>();
        }).code(),
      errc::wrong_thread);
}

}  // namespace
