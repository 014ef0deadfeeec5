// Failures and restarts in replay: a group's failures and restarts replay where the log shows
// them, recorded on one worker and on two (where a child restarted in place runs on another
// worker than its supervisor, so the RESTART record must still come before anything its new
// object does); a failure the replay does not repeat is a divergence; block_in_place in a
// restarted object's on_start is served from its own context; replayed actors get their
// recorded names back.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "eventlog/replay_fixture.h"

#include <keel/core/actor_system.h>
#include <keel/core/codec.h>
#include <keel/core/state.h>
#include <keel/core/supervisor.h>
#include <keel/eventlog/reader.h>
#include <keel/eventlog/recorder.h>
#include <keel/eventlog/replay.h>

namespace {

using namespace keel::eventlog::testing::replay;
using el::testing::temp_dir;
using keel::errc;
using namespace std::chrono_literals;

// Restarts: under a one_for_all supervisor, `flaky` fails on every fifth pay and its sibling
// `tally` is restarted with it each time; both keep state (their hashes would differ from the
// third input after a restart if replay did not restart them where the log says).
class flaky : public keel::actor<flaky, pay> {
 public:
  static constexpr std::string_view keel_name = "test.replay.flaky";
  void on(pay& p) {
    sum_ += p.n;
    if (p.n % 5 == 0) throw std::runtime_error("flaky on " + std::to_string(p.n));
  }
  void save_state(keel::state_writer& w) const { w.write(sum_); }
  void load_state(keel::state_reader& r) { r.read(sum_, "sum"); }

 private:
  std::int64_t sum_ = 0;
};
class tally : public keel::actor<tally, pay> {
 public:
  static constexpr std::string_view keel_name = "test.replay.tally";
  void on(pay&) { ++seen_; }
  void save_state(keel::state_writer& w) const { w.write(seen_); }
  void load_state(keel::state_reader& r) { r.read(seen_, "seen"); }

 private:
  std::uint64_t seen_ = 0;
};

struct group_run {
  keel::actor_id flaky_id = 0;
  keel::actor_id tally_id = 0;
};

// How record_group runs the group.
struct group_options {
  // false: under the deterministic executor, one pay to each actor at a time with the system
  // settled in between, so the group restarts after flaky's failures on pays 5 and 10 and before
  // tally's pays 6 and 11 every run (the tests that count restarts per scenario need that).
  // true: on two workers with every pay sent at once; how the restarts interleave with tally's
  // pays is up to the threads.
  bool two_workers = false;
  int pays = 12;
  std::vector<std::shared_ptr<keel::hook_subscriber>> hooks;  // told before the recorder
};

// Counts restarts as they are told, after the recorder (phase metrics comes last): once it has
// seen a restart, its RESTART record is in the log.
class restart_counter : public keel::hook_subscriber {
 public:
  restart_counter() : keel::hook_subscriber(keel::hook_phase::metrics) {}
  void on_restart(const keel::lifecycle_event&) noexcept override { n.fetch_add(1); }
  std::atomic<int> n{0};
};

group_run record_group(const std::string& dir, group_options go = {}) {
  auto restarts = std::make_shared<restart_counter>();
  go.hooks.push_back(restarts);
  recording_run recording(dir, 1, !go.two_workers, go.hooks);
  auto& sys = recording.sys;
  auto settle = [&] {
    if (!go.two_workers) sys->deterministic()->run_until_idle();
  };
  keel::supervisor_config group;
  group.strategy = keel::restart_strategy::one_for_all;
  group.intensity = {1000, 1s};
  for (const char* name : {"flaky", "tally"}) {
    keel::child_spec c = keel::child_spec::of_type(name, std::string("test.replay.") + name);
    c.options.name = name;
    group.children.push_back(std::move(c));
  }
  EXPECT_TRUE(sys->factories().add<flaky>());
  EXPECT_TRUE(sys->factories().add<tally>());
  auto sup = sys->spawn<keel::supervisor>(group).value();
  settle();
  group_run out;
  std::optional<keel::actor_ref<>> f, t;
  EXPECT_TRUE(el::testing::eventually([&] {
    if (auto r = sys->lookup("flaky")) f = *r;
    if (auto r = sys->lookup("tally")) t = *r;
    return f && t;
  }));
  if (!(f && t)) return out;
  out.flaky_id = f->id();
  out.tally_id = t->id();
  const auto fr = keel::actor_ref<flaky>::from_cell(f->cell(), f->generation());
  const auto tr = keel::actor_ref<tally>::from_cell(t->cell(), t->generation());
  for (int i = 1; i <= go.pays; ++i) {
    EXPECT_EQ(fr.send(pay{i}), keel::send_status::ok);
    EXPECT_EQ(tr.send(pay{i}), keel::send_status::ok);
    settle();
  }
  // Every pay handled (those that fail flaky count as received).
  auto received = [&](std::string_view type) {
    for (const auto& c : sys->counters()) {
      if (c.type == type) return c.received;
    }
    return std::uint64_t{0};
  };
  const auto n = static_cast<std::uint64_t>(go.pays);
  EXPECT_TRUE(el::testing::eventually(
      [&] { return received("test.replay.flaky") == n && received("test.replay.tally") == n; }));
  // Each failure (every fifth pay) restarts the group, both actors: wait for the last ones,
  // which may still be under way when the last pay is counted (it failed flaky).
  EXPECT_TRUE(el::testing::eventually([&] { return restarts->n.load() == 2 * (go.pays / 5); }));
  (void)sup;
  sys->shutdown();
  return out;
}

void group_factories(keel::actor_factory_registry& f) {
  ASSERT_TRUE(f.add<flaky>());
  ASSERT_TRUE(f.add<tally>());
}

TEST(replay, failures_and_restarts_replay_where_the_log_shows_them) {
  temp_dir t;
  const group_run run = record_group(t.log());
  keel::type_registry types;
  add_app_types(types);
  el::replay_controller rc(t.log(), types, group_factories);
  // flaky failed on pays 5 and 10 and was restarted after each.
  auto f = rc.replay_scenario(pay_correlation(t.log(), run.flaky_id, 12));
  ASSERT_TRUE(f.has_value()) << f.error();
  EXPECT_TRUE(f->matched()) << f->summary();
  ASSERT_EQ(f->actors.size(), 1u);
  EXPECT_EQ(f->actors[0].failures, 2u) << f->summary();
  EXPECT_EQ(f->actors[0].restarts, 2u) << f->summary();
  // A failed input leaves no hash (its handler did not return): 12 inputs, 10 hashes.
  EXPECT_EQ(f->actors[0].hashes_compared, 10u) << f->summary();
  // tally never failed; it restarted with its group, and its count started again each time.
  auto g = rc.replay_scenario(pay_correlation(t.log(), run.tally_id, 12));
  ASSERT_TRUE(g.has_value()) << g.error();
  EXPECT_TRUE(g->matched()) << g->summary();
  EXPECT_EQ(g->actors[0].failures, 0u);
  EXPECT_EQ(g->actors[0].restarts, 2u) << g->summary();
  EXPECT_EQ(g->actors[0].hashes_compared, 12u) << g->summary();
  EXPECT_NE(g->summary().find("2 restarts"), std::string::npos) << g->summary();
  // A FAILURE record names the message it failed on (its correlation, as causation its id) and
  // when; so `keel-log trace --corr` shows the failure in the order's timeline.
  int failures = 0;
  int restarts = 0;
  (void)el::log_reader::open(t.log()).value().scan([&](const el::record_view& v) {
    if (v.header.type == static_cast<std::uint16_t>(el::record_type::failure)) {
      ++failures;
      EXPECT_EQ(v.header.actor_id, run.flaky_id);
      EXPECT_TRUE(v.header.correlation == pay_correlation(t.log(), run.flaky_id, 5) ||
                  v.header.correlation == pay_correlation(t.log(), run.flaky_id, 10))
          << v.header.correlation;
      EXPECT_NE(v.header.causation, 0u);
      EXPECT_GT(v.header.ts_ns, 0);
    }
    if (v.header.type == static_cast<std::uint16_t>(el::record_type::restart)) {
      ++restarts;
      EXPECT_GT(v.header.ts_ns, 0);
    }
    return true;
  });
  EXPECT_EQ(failures, 2);
  EXPECT_EQ(restarts, 4);  // flaky and tally, twice
}

TEST(replay, a_failure_the_replay_does_not_repeat_is_a_divergence) {
  temp_dir t;
  temp_dir changed;
  const group_run run = record_group(t.log());
  // The pay that failed flaky now holds 6: the replay handles it without failing.
  const std::uint64_t seq =
      copy_log(t.log(), changed.log(), [&](const el::record_view& v, std::vector<std::byte>& p) {
        if (v.header.actor_id != run.flaky_id || v.header.payload_type != keel::type_id_of<pay>())
          return false;
        pay m = keel::decode<pay>(v.payload).value();
        if (m.n != 5) return false;
        m.n = 6;
        p = keel::encode(m);
        return true;
      });
  ASSERT_NE(seq, 0u);
  keel::type_registry types;
  add_app_types(types);
  el::replay_controller rc(changed.log(), types, group_factories);
  auto f = rc.replay_scenario(pay_correlation(changed.log(), run.flaky_id, 1));
  ASSERT_TRUE(f.has_value()) << f.error();
  ASSERT_FALSE(f->matched());
  EXPECT_EQ(f->divergence->seq, seq) << f->summary();
  EXPECT_NE(f->divergence->event.find("the recorded run failed after this input"),
            std::string::npos)
      << f->summary();
}

// Slows each restart's hooks down, as a busy subscriber would. When on_restart was told on
// the supervisor's worker after the restart, the other worker stole the restarted child and
// ran its next pays meanwhile, and the recorder (told after this hook) logged them before the
// child's RESTART: a replay then restarted it in the wrong place.
class slow_restart_hook : public keel::hook_subscriber {
 public:
  slow_restart_hook() : keel::hook_subscriber(keel::hook_phase::chaos) {}
  void on_restart(const keel::lifecycle_event&) noexcept override {
    std::this_thread::sleep_for(2ms);
  }
};

// An actor's FAILURE and RESTART records in a log.
struct lifecycle_count {
  int failures = 0;
  int restarts = 0;
};
lifecycle_count count_lifecycle(const std::string& dir, keel::actor_id id) {
  lifecycle_count n;
  (void)el::log_reader::open(dir).value().scan([&](const el::record_view& v) {
    if (v.header.actor_id != id) return true;
    if (v.header.type == static_cast<std::uint16_t>(el::record_type::failure)) ++n.failures;
    if (v.header.type == static_cast<std::uint16_t>(el::record_type::restart)) ++n.restarts;
    return true;
  });
  return n;
}

TEST(replay, restarts_recorded_on_two_workers_replay_in_each_actors_own_order) {
  temp_dir t;
  group_options go;
  go.two_workers = true;
  go.pays = 40;  // flaky fails on every fifth: 8 failures, 8 group restarts
  go.hooks = {std::make_shared<slow_restart_hook>()};
  const group_run run = record_group(t.log(), go);
  ASSERT_NE(run.tally_id, 0u);
  const lifecycle_count f_log = count_lifecycle(t.log(), run.flaky_id);
  const lifecycle_count t_log = count_lifecycle(t.log(), run.tally_id);
  EXPECT_EQ(f_log.failures, 8);
  EXPECT_EQ(f_log.restarts, 8);
  EXPECT_EQ(t_log.failures, 0);
  EXPECT_EQ(t_log.restarts, 8);
  keel::type_registry types;
  add_app_types(types);
  el::replay_controller rc(t.log(), types, group_factories);
  // Each actor's last pay: everything before it replays, restarts where the log has them, and
  // a hash after every input matches only if each restart came before the inputs it preceded.
  auto f = rc.replay_scenario(pay_correlation(t.log(), run.flaky_id, 40));
  ASSERT_TRUE(f.has_value()) << f.error();
  EXPECT_TRUE(f->matched()) << f->summary();
  EXPECT_EQ(f->actors[0].failures, 8u) << f->summary();
  EXPECT_EQ(f->actors[0].restarts, 8u) << f->summary();
  EXPECT_EQ(f->actors[0].hashes_compared, 32u) << f->summary();
  auto g = rc.replay_scenario(pay_correlation(t.log(), run.tally_id, 40));
  ASSERT_TRUE(g.has_value()) << g.error();
  EXPECT_TRUE(g->matched()) << g->summary();
  EXPECT_EQ(g->actors[0].restarts, 8u) << g->summary();
  EXPECT_EQ(g->actors[0].hashes_compared, 40u) << g->summary();
}

// Looks itself up by name on every pay; its state counts what it found, so a replay that spawned
// it without its recorded name diverges at the first pay.
class looker : public keel::actor<looker, pay> {
 public:
  static constexpr std::string_view keel_name = "test.replay.looker";
  void on(pay&) {
    if (auto me = system().lookup("looker"); me && me->id() == self().id()) ++found_;
  }
  void save_state(keel::state_writer& w) const { w.write(found_); }
  void load_state(keel::state_reader& r) { r.read(found_, "found"); }

 private:
  std::uint64_t found_ = 0;
};

TEST(replay, replayed_actors_get_their_recorded_names_back) {
  temp_dir t;
  keel::actor_id looker_id = 0;
  {
    recording_run recording(t.log(), 1);
    auto& sys = recording.sys;
    keel::spawn_options to;
    to.name = "tally";
    auto tl = sys->spawn_with<tally>(to).value();
    keel::spawn_options lo;
    lo.name = "looker";
    auto lk = sys->spawn_with<looker>(lo).value();
    looker_id = lk.id();
    for (int i = 1; i <= 3; ++i) ASSERT_EQ(lk.send(pay{i}), keel::send_status::ok);
    ASSERT_TRUE(el::testing::eventually([&] { return recording.rec->counters().inputs >= 3; }));
    (void)tl;
    sys->shutdown();
  }
  // The SPAWN records carry the names.
  std::vector<std::string> spawned;
  (void)el::log_reader::open(t.log()).value().scan([&](const el::record_view& v) {
    if (v.header.type == static_cast<std::uint16_t>(el::record_type::spawn)) {
      const el::spawn_names n = el::split_spawn(v.payload);
      spawned.push_back(std::string(n.type) + "=" + std::string(n.name));
    }
    return true;
  });
  EXPECT_EQ(spawned,
            (std::vector<std::string>{"test.replay.tally=tally", "test.replay.looker=looker"}));
  keel::type_registry types;
  add_app_types(types);
  el::replay_controller rc(t.log(), types, [](keel::actor_factory_registry& f) {
    ASSERT_TRUE(f.add<looker>());
    ASSERT_TRUE(f.add<tally>());
  });
  auto r = rc.replay_scenario(pay_correlation(t.log(), looker_id, 3));
  ASSERT_TRUE(r.has_value()) << r.error();
  EXPECT_TRUE(r->matched()) << r->summary();
  ASSERT_EQ(r->actors.size(), 1u) << r->summary();
  EXPECT_EQ(r->actors[0].hashes_compared, 3u) << r->summary();
}

std::atomic<std::int64_t> g_market{100};  // what block_in_place reads from outside

// A block_in_place in on_start: each new object (the first and the one after each restart)
// reads its base price from outside; replay serves each from the right context.
class fetcher : public keel::actor<fetcher, pay> {
 public:
  static constexpr std::string_view keel_name = "test.replay.fetcher";
  void on_start() override {
    base_ = block_in_place([] { return price{g_market.fetch_add(1000)}; }).cents;
  }
  void on(pay& p) {
    total_ += base_ + p.n;
    if (p.n == 5) throw std::runtime_error("fetcher on 5");
  }
  void save_state(keel::state_writer& w) const { w.write(base_).write(total_); }
  void load_state(keel::state_reader& r) {
    r.read(base_, "base");
    r.read(total_, "total");
  }

 private:
  std::int64_t base_ = 0;
  std::int64_t total_ = 0;
};

TEST(replay, block_in_place_in_on_start_is_served_after_each_restart) {
  temp_dir t;
  keel::actor_id id = 0;
  {
    recording_run recording(t.log(), 1);
    auto& rec = recording.rec;
    auto& sys = recording.sys;
    ASSERT_TRUE(sys->types().add<price>());
    ASSERT_TRUE(sys->factories().add<fetcher>());
    keel::supervisor_config sc;
    sc.intensity = {100, 1s};
    keel::child_spec c = keel::child_spec::of_type("fetcher", "test.replay.fetcher");
    c.options.name = "fetcher";
    sc.children.push_back(std::move(c));
    auto sup = sys->spawn<keel::supervisor>(sc).value();
    std::optional<keel::actor_ref<>> f;
    for (int i = 0; i < 5000 && !f; ++i) {
      if (auto r = sys->lookup("fetcher")) f = *r;
      if (!f) std::this_thread::sleep_for(1ms);
    }
    ASSERT_TRUE(f);
    id = f->id();
    const auto fr = keel::actor_ref<fetcher>::from_cell(f->cell(), f->generation());
    for (int i = 1; i <= 8; ++i) ASSERT_EQ(fr.send(pay{i}), keel::send_status::ok);
    for (int i = 0; i < 5000 && rec->counters().inputs < 8; ++i) {
      std::this_thread::sleep_for(1ms);
    }
    EXPECT_EQ(rec->counters().externals, 2u);  // the first on_start and the restarted one
    (void)sup;
    sys->shutdown();
  }
  keel::type_registry types;
  add_app_types(types);
  ASSERT_TRUE(types.add<price>());
  el::replay_controller rc(t.log(), types,
                           [](keel::actor_factory_registry& f) { ASSERT_TRUE(f.add<fetcher>()); });
  g_market = -50;  // a call made in replay would see other prices
  auto r = rc.replay_scenario(pay_correlation(t.log(), id, 8));
  ASSERT_TRUE(r.has_value()) << r.error();
  EXPECT_TRUE(r->matched()) << r->summary();
  EXPECT_EQ(r->actors[0].restarts, 1u) << r->summary();
  EXPECT_EQ(r->actors[0].hashes_compared, 7u) << r->summary();  // the failed input has none
  EXPECT_EQ(g_market.load(), -50);
}

}  // namespace
