// cascade_guard on the deterministic executor: a failing database behind caches and APIs is
// quarantined before more than k (3) other actors have failed; the test counts failures itself
// from its own on_failure hook and checks the guard's edges against the call chain it built.
// Then quarantine by hand: fallback redirects, dead letters with their reason, probes that
// release or extend, the table's limit, QUARANTINE records, bad configuration.
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "eventlog/log_fixture.h"

#include <keel/core/testing.h>
#include <keel/eventlog/log.h>
#include <keel/eventlog/reader.h>
#include <keel/keel.h>
#include <keel/resilience/cascade.h>
#include <keel/resilience/quarantine_record.h>

namespace {

using namespace std::chrono_literals;
using keel::resilience::cascade_config;
using keel::resilience::cascade_guard;

struct query {
  static constexpr std::string_view keel_name = "test.cas.query/1";
};
struct row {
  static constexpr std::string_view keel_name = "test.cas.row/1";
  int v = 0;
};
struct lookup {
  static constexpr std::string_view keel_name = "test.cas.lookup/1";
};
struct request {
  static constexpr std::string_view keel_name = "test.cas.request/1";
};
struct heal {
  static constexpr std::string_view keel_name = "test.cas.heal/1";
};

class database final : public keel::actor<database, query, heal> {
 public:
  static constexpr std::string_view keel_name = "test.cas.database";
  explicit database(int* served) : served_(served) {}
  void on(query&) {
    if (!healthy_) throw std::runtime_error("disk failure");
    ++*served_;
    reply(row{7});
  }
  void on(heal&) { healthy_ = true; }

 private:
  bool healthy_ = false;
  int* served_;
};

// A cache that crashes when the database fails, but serves a stale row at once when the
// database is quarantined (the fast error the quarantine gives).
class cache final : public keel::actor<cache, lookup> {
 public:
  static constexpr std::string_view keel_name = "test.cas.cache";
  explicit cache(keel::actor_ref<database> db) : db_(db) {}
  void on(lookup&) {
    auto back = return_address();
    ask<row>(db_, query{}, 1s, [this, back](keel::result<row> r) {
      if (r) {
        reply_later(back, row{r->v});
      } else if (r.code() == keel::errc::quarantined) {
        reply_later(back, row{-1});  // stale
      } else {
        throw std::runtime_error("cache: database call failed: " + r.error().to_string());
      }
    });
  }

 private:
  keel::actor_ref<database> db_;
};

class api final : public keel::actor<api, request> {
 public:
  static constexpr std::string_view keel_name = "test.cas.api";
  api(keel::actor_ref<cache> c, int* answered) : cache_(c), answered_(answered) {}
  void on(request&) {
    ask<row>(cache_, lookup{}, 1s, [this](keel::result<row> r) {
      if (!r) throw std::runtime_error("api: cache call failed");
      ++*answered_;
    });
  }

 private:
  keel::actor_ref<cache> cache_;
  int* answered_;
};

// The test's own failure count, kept apart from the guard's tracker.
class failure_counter : public keel::hook_subscriber {
 public:
  // Phase chaos: told of a failure before the guard, so it sees the state before the guard acts.
  failure_counter() : keel::hook_subscriber(keel::hook_phase::chaos) {}
  void on_failure(const keel::lifecycle_event& ev) noexcept override {
    std::lock_guard<std::mutex> lock(mu);
    failures.push_back({ev.actor, guard != nullptr && guard->is_quarantined(db)});
  }
  struct seen {
    keel::actor_handle actor;
    bool db_quarantined;
  };
  std::mutex mu;
  std::vector<seen> failures;
  cascade_guard* guard = nullptr;
  keel::actor_handle db;
};

keel::testing::fixture_options with_hooks(std::vector<std::shared_ptr<keel::hook_subscriber>> h) {
  keel::testing::fixture_options o;
  o.config.hooks = std::move(h);
  return o;
}

TEST(cascade, a_failing_database_is_quarantined_before_more_than_k_others_fail) {
  cascade_config cfg;  // max_spread 3 (k), window 10 s
  auto guard = cascade_guard::create(cfg).value();
  auto counter = std::make_shared<failure_counter>();
  counter->guard = guard.get();
  keel::testing::fixture fx(with_hooks({guard, counter}));
  int served = 0;
  int answered = 0;
  // The database restarts in place after each failure (same handle, same mailbox).
  keel::supervisor_config sup;
  sup.intensity = {100, 1s};
  sup.children = {keel::child_spec::of<database>("db", &served)};
  sup.children[0].options.name = "db";
  auto tree = fx.sys().spawn<keel::supervisor>(sup).value();
  fx.run();
  auto found_db = fx.sys().lookup("db");
  ASSERT_TRUE(found_db);
  const auto db = keel::actor_ref<database>::from_cell(found_db->cell(), found_db->generation());
  counter->db = db.handle();
  std::vector<keel::actor_ref<cache>> caches;
  std::vector<keel::actor_ref<api>> apis;
  for (int i = 0; i < 4; ++i) {
    caches.push_back(fx.sys().spawn<cache>(db).value());
    apis.push_back(fx.sys().spawn<api>(caches.back(), &answered).value());
  }
  fx.run();
  // One request per API, one after the other: each goes api -> cache -> database.
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(apis[i].send(request{}), keel::send_status::ok);
    fx.run();
    fx.advance(10ms);
  }

  // The APIs whose caches failed were left waiting (a cache failed while handling the
  // database's answer, after it had taken the lookup): their asks time out now, after the
  // quarantine.
  fx.advance(1s);
  fx.run();

  // The test's own count: distinct actors other than the database that failed while it was
  // not yet quarantined (the counter is told of each failure before the guard).
  std::set<std::uint64_t> before;
  std::size_t after = 0;
  for (const auto& f : counter->failures) {
    if (f.db_quarantined) {
      ++after;
    } else if (!(f.actor == db.handle())) {
      before.insert((std::uint64_t{f.actor.generation} << 32) | f.actor.slot);
    }
  }
  EXPECT_TRUE(guard->is_quarantined(db.handle()));
  EXPECT_LE(before.size(), cfg.max_spread) << "more than k actors failed before the quarantine";
  // In this order: caches 1, 2 and 3 fail on the database's errors; the third reaches k = 3 and
  // the database is quarantined. The fourth request is served stale (its cache got
  // errc::quarantined at once); APIs 1-3 fail afterwards, when their asks time out.
  EXPECT_EQ(before.size(), 3U);
  EXPECT_EQ(after, 3U);
  EXPECT_EQ(answered, 1);
  EXPECT_EQ(served, 0);

  // The tracker's edges follow the chain the test built: db <- cache (a query), cache <- db
  // (the database's failed answer), api <- itself (its own ask's timeout), linked to the database's
  // cascade through the request's correlation.
  const auto edges = guard->edges();
  for (const auto& e : edges) {
    EXPECT_EQ(e.root, db.handle()) << "every failure belongs to the database's cascade";
    if (e.to == db.handle()) {
      bool from_a_cache = false;
      for (const auto& c : caches) from_a_cache = from_a_cache || e.from == c.handle();
      EXPECT_TRUE(from_a_cache) << "the database failed on a cache's query";
    }
    for (std::size_t i = 0; i < caches.size(); ++i) {
      if (e.to == caches[i].handle()) {
        EXPECT_EQ(e.from, db.handle()) << "a cache failed on the database's error";
      }
      if (e.to == apis[i].handle()) {
        EXPECT_EQ(e.from, apis[i].handle()) << "an api failed on its own ask's timeout";
        EXPECT_NE(e.correlation, 0U);
      }
    }
  }
  EXPECT_EQ(edges.size(), counter->failures.size());
  (void)tree;
  const auto found = guard->findings();
  ASSERT_EQ(found.size(), 1U);
  EXPECT_EQ(found[0].root, db.handle());
  EXPECT_EQ(found[0].spread, cfg.max_spread);
  EXPECT_TRUE(found[0].quarantined);
  const auto q = guard->quarantined();
  ASSERT_EQ(q.size(), 1U);
  EXPECT_NE(q[0].reason.find("cascade"), std::string::npos);
  EXPECT_GE(q[0].dropped, 1U);
}

class echo final : public keel::actor<echo, query, heal> {
 public:
  static constexpr std::string_view keel_name = "test.cas.echo";
  explicit echo(int* seen, bool fail = false) : seen_(seen), fail_(fail) {}
  void on(query&) {
    ++*seen_;
    if (fail_) throw std::runtime_error("still broken");
    reply(row{1});
  }
  void on(heal&) { fail_ = false; }

 private:
  int* seen_;
  bool fail_;
};

class quarantine_test : public ::testing::Test {
 protected:
  quarantine_test() : guard_(make_guard()), fx_(with_hooks({guard_})) {}
  static std::shared_ptr<cascade_guard> make_guard() {
    cascade_config c;
    c.quarantine_base = 1s;
    c.max_quarantined = 2;
    return cascade_guard::create(c).value();
  }
  std::uint64_t now() { return fx_.executor().now(); }
  std::shared_ptr<cascade_guard> guard_;
  keel::testing::fixture fx_;
};

TEST_F(quarantine_test, messages_are_dropped_with_the_reason_or_redirected_to_the_fallback) {
  int a_seen = 0;
  int b_seen = 0;
  auto a = fx_.sys().spawn<echo>(&a_seen).value();
  auto b = fx_.sys().spawn<echo>(&b_seen).value();
  fx_.run();
  ASSERT_TRUE(guard_->quarantine(a.handle(), now(), "by hand"));
  EXPECT_EQ(a.send(query{}), keel::send_status::dropped);
  auto asked = a.ask<row>(query{}, 1s);
  EXPECT_EQ(asked.code(), keel::errc::quarantined);
  fx_.run();
  EXPECT_EQ(a_seen, 0);
  ASSERT_FALSE(fx_.sys().recent_dead_letters().empty());
  EXPECT_EQ(fx_.sys().recent_dead_letters().back().reason, keel::dead_letter_reason::quarantined);

  ASSERT_TRUE(guard_->quarantine(a.handle(), now(), "by hand", b.handle()));
  EXPECT_EQ(a.send(query{}), keel::send_status::ok);
  fx_.run();
  EXPECT_EQ(a_seen, 0);
  EXPECT_EQ(b_seen, 1) << "redirected to the fallback";
  EXPECT_EQ(guard_->stats().redirected, 1U);
  EXPECT_EQ(guard_->stats().dropped, 2U);
  EXPECT_TRUE(guard_->release(a.handle(), now()));
  EXPECT_FALSE(guard_->release(a.handle(), now()));
  EXPECT_EQ(a.send(query{}), keel::send_status::ok);
  fx_.run();
  EXPECT_EQ(a_seen, 1);
}

TEST_F(quarantine_test, a_failed_probe_extends_the_quarantine_for_longer) {
  int seen = 0;
  // Supervised, so that it is restarted in place (same handle) after the probe fails on it.
  keel::supervisor_config sup;
  sup.intensity = {100, 1s};
  sup.children = {keel::child_spec::of<echo>("e", &seen, true)};
  sup.children[0].options.name = "e";
  auto tree = fx_.sys().spawn<keel::supervisor>(sup).value();
  fx_.run();
  auto found = fx_.sys().lookup("e");
  ASSERT_TRUE(found);
  const auto a = keel::actor_ref<echo>::from_cell(found->cell(), found->generation());
  ASSERT_TRUE(guard_->quarantine(a.handle(), now(), "by hand"));
  EXPECT_EQ(a.send(query{}), keel::send_status::dropped) << "within the period";
  fx_.advance(1s);
  EXPECT_EQ(a.send(query{}), keel::send_status::ok) << "the probe";
  EXPECT_EQ(a.send(query{}), keel::send_status::dropped) << "one probe at a time";
  const std::uint64_t failed_at = now();
  fx_.run();  // the probe fails: quarantined again, level 2 (2 s from its failure)
  EXPECT_EQ(seen, 1);
  auto q = guard_->quarantined();
  ASSERT_EQ(q.size(), 1U);
  EXPECT_EQ(q[0].level, 2U);
  EXPECT_EQ(q[0].until, failed_at + 2'000'000'000U);
  EXPECT_FALSE(q[0].probing);
  EXPECT_EQ(guard_->stats().extensions, 1U);
  EXPECT_EQ(guard_->stats().probes, 1U);
  fx_.advance(1s);
  EXPECT_EQ(a.send(query{}), keel::send_status::dropped) << "the second period is 2 s";
  (void)tree;
}

TEST_F(quarantine_test, a_probe_handled_normally_releases_the_actor) {
  int seen = 0;
  auto a = fx_.sys().spawn<echo>(&seen).value();
  fx_.run();
  ASSERT_TRUE(guard_->quarantine(a.handle(), now(), "by hand"));
  fx_.advance(1s);
  EXPECT_EQ(a.send(query{}), keel::send_status::ok);
  fx_.run();
  EXPECT_FALSE(guard_->is_quarantined(a.handle()));
  EXPECT_EQ(guard_->stats().releases, 1U);
  EXPECT_EQ(a.send(query{}), keel::send_status::ok);
  fx_.run();
  EXPECT_EQ(seen, 2);
}

// A department supervisor with two echo children, and the children's refs.
struct department {
  keel::actor_ref<keel::supervisor> root;
  keel::actor_ref<echo> a, b;
};
department start_department(keel::testing::fixture& fx, int* a_seen, int* b_seen,
                            bool b_fails = false) {
  keel::supervisor_config sup;
  sup.intensity = {100, 1s};
  sup.children = {keel::child_spec::of<echo>("a", a_seen, false),
                  keel::child_spec::of<echo>("b", b_seen, b_fails)};
  sup.children[0].options.name = "dept-a";
  sup.children[1].options.name = "dept-b";
  department d;
  d.root = fx.sys().spawn<keel::supervisor>(sup).value();
  fx.run();
  auto a = fx.sys().lookup("dept-a");
  auto b = fx.sys().lookup("dept-b");
  EXPECT_TRUE(a && b);
  if (a) d.a = keel::actor_ref<echo>::from_cell(a->cell(), a->generation());
  if (b) d.b = keel::actor_ref<echo>::from_cell(b->cell(), b->generation());
  return d;
}

TEST_F(quarantine_test, a_subtree_quarantine_holds_back_every_actor_below_its_root) {
  int a_seen = 0;
  int b_seen = 0;
  int other_seen = 0;
  department d = start_department(fx_, &a_seen, &b_seen);
  auto other = fx_.sys().spawn<echo>(&other_seen).value();
  fx_.run();
  auto no_system = guard_->quarantine_subtree(d.root.handle(), now(), "department down");
  ASSERT_FALSE(no_system);
  EXPECT_EQ(no_system.code(), keel::errc::invalid_argument);
  EXPECT_NE(no_system.message().find("attach_system"), std::string::npos);

  guard_->attach_system(&fx_.sys());
  ASSERT_TRUE(guard_->quarantine_subtree(d.root.handle(), now(), "department down"));
  EXPECT_TRUE(guard_->is_quarantined(d.a.handle()));
  EXPECT_TRUE(guard_->is_quarantined(d.b.handle()));
  EXPECT_FALSE(guard_->is_quarantined(other.handle())) << "not below the root";
  EXPECT_EQ(d.a.send(query{}), keel::send_status::dropped);
  EXPECT_EQ(d.b.send(query{}), keel::send_status::dropped);
  EXPECT_EQ(other.send(query{}), keel::send_status::ok);
  fx_.run();
  EXPECT_EQ(a_seen + b_seen, 0);
  EXPECT_EQ(other_seen, 1);
  auto q = guard_->quarantined();
  ASSERT_EQ(q.size(), 1U) << "one entry: the subtree's root";
  EXPECT_TRUE(q[0].subtree);
  EXPECT_EQ(q[0].actor, d.root.handle());
  EXPECT_EQ(q[0].dropped, 2U) << "the children's drops are counted on the root";

  fx_.advance(1s);
  EXPECT_EQ(d.b.send(query{}), keel::send_status::ok) << "a message to any member is the probe";
  EXPECT_EQ(d.a.send(query{}), keel::send_status::dropped) << "one probe for the subtree";
  fx_.run();
  EXPECT_EQ(b_seen, 1);
  EXPECT_FALSE(guard_->is_quarantined(d.a.handle())) << "the probe was handled: released";
  EXPECT_EQ(guard_->stats().releases, 1U);
  EXPECT_EQ(d.a.send(query{}), keel::send_status::ok);
  fx_.run();
  EXPECT_EQ(a_seen, 1);
  guard_->attach_system(nullptr);
}

TEST_F(quarantine_test, a_probe_that_fails_below_the_root_extends_the_whole_subtree) {
  int a_seen = 0;
  int b_seen = 0;
  department d = start_department(fx_, &a_seen, &b_seen, true);
  guard_->attach_system(&fx_.sys());
  ASSERT_TRUE(guard_->quarantine_subtree(d.root.handle(), now(), "department down"));
  fx_.advance(1s);
  EXPECT_EQ(d.b.send(query{}), keel::send_status::ok) << "the probe";
  fx_.run();  // it fails in b: the subtree is quarantined again, level 2
  EXPECT_EQ(b_seen, 1);
  auto q = guard_->quarantined();
  ASSERT_EQ(q.size(), 1U);
  EXPECT_EQ(q[0].level, 2U);
  EXPECT_TRUE(q[0].subtree);
  EXPECT_EQ(guard_->stats().extensions, 1U);
  EXPECT_EQ(d.a.send(query{}), keel::send_status::dropped) << "the sibling too";
  guard_->attach_system(nullptr);
}

TEST(cascade, a_quarantine_record_keeps_the_subtree_flag) {
  keel::resilience::quarantine_record r;
  r.event = keel::resilience::quarantine_event::extended;
  r.level = 3;
  r.actor = {7, 9};
  r.subtree = true;
  r.reason = "department down";
  keel::resilience::quarantine_record_buffer buf;
  auto d = keel::resilience::decode_quarantine_record(encode_quarantine_record(r, buf));
  ASSERT_TRUE(d) << d.error().to_string();
  EXPECT_TRUE(d->subtree);
  EXPECT_EQ(d->event, keel::resilience::quarantine_event::extended);
  EXPECT_EQ(d->level, 3U);
  r.subtree = false;
  auto plain = keel::resilience::decode_quarantine_record(encode_quarantine_record(r, buf));
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->subtree);
  EXPECT_EQ(plain->event, keel::resilience::quarantine_event::extended);
}

struct go_ask {
  static constexpr std::string_view keel_name = "test.cas.go_ask/1";
};

// Asks the echo when told to; counts the answers its continuation gets.
class asker final : public keel::actor<asker, go_ask> {
 public:
  static constexpr std::string_view keel_name = "test.cas.asker";
  asker(keel::actor_ref<echo> to, int* answers) : to_(to), answers_(answers) {}
  void on(go_ask&) {
    ask<row>(to_, query{}, 1s, [this](keel::result<row> r) {
      if (r) ++*answers_;
    });
  }

 private:
  keel::actor_ref<echo> to_;
  int* answers_;
};

TEST_F(quarantine_test, the_runtime_s_own_traffic_still_reaches_a_quarantined_actor) {
  int seen = 0;
  int answers = 0;
  auto e = fx_.sys().spawn<echo>(&seen).value();
  auto a = fx_.sys().spawn<asker>(e, &answers).value();
  fx_.run();
  ASSERT_EQ(fx_.inject(keel::testing::outside, a, go_ask{}), keel::errc::ok);  // a asks e
  ASSERT_TRUE(guard_->quarantine(a.handle(), now(), "while its ask is out"));
  fx_.run();  // e replies: a reply to a's own ask passes the quarantine
  EXPECT_EQ(seen, 1);
  EXPECT_EQ(answers, 1);
  EXPECT_EQ(guard_->stats().dropped, 0U);
  EXPECT_EQ(a.send(go_ask{}), keel::send_status::dropped) << "user messages still do not";
}

TEST_F(quarantine_test, a_quarantined_actor_that_stops_leaves_the_table) {
  int seen = 0;
  auto a = fx_.sys().spawn<echo>(&seen).value();
  auto b = fx_.sys().spawn<echo>(&seen).value();
  auto c = fx_.sys().spawn<echo>(&seen).value();
  fx_.run();
  ASSERT_TRUE(guard_->quarantine(a.handle(), now(), "x"));
  ASSERT_TRUE(guard_->quarantine(b.handle(), now(), "x"));
  auto full = guard_->quarantine(c.handle(), now(), "x");
  EXPECT_EQ(full.code(), keel::errc::full);
  EXPECT_EQ(guard_->stats().table_full, 1U);
  EXPECT_EQ(guard_->quarantine({}, now(), "x").code(), keel::errc::invalid_argument);
  a.stop();
  fx_.run();
  EXPECT_FALSE(a.alive()) << "a quarantined actor can still be stopped";
  EXPECT_FALSE(guard_->is_quarantined(a.handle()));
  EXPECT_TRUE(guard_->quarantine(c.handle(), now(), "x")) << "its entry was given back";
}

TEST_F(quarantine_test, only_the_probe_itself_releases_not_a_message_queued_before) {
  int seen = 0;
  auto a = fx_.sys().spawn<echo>(&seen).value();
  fx_.run();
  ASSERT_EQ(a.send(query{}), keel::send_status::ok);  // queued before the quarantine
  ASSERT_TRUE(guard_->quarantine(a.handle(), now(), "x"));
  fx_.run();  // the queued message is handled: no probe was let through, nothing released
  EXPECT_EQ(seen, 1);
  EXPECT_TRUE(guard_->is_quarantined(a.handle()));
  fx_.advance(1s);
  ASSERT_EQ(a.send(query{}), keel::send_status::ok);  // the probe
  fx_.run();
  EXPECT_FALSE(guard_->is_quarantined(a.handle()));
}

TEST(cascade, quarantines_are_written_as_quarantine_records) {
  keel::eventlog::testing::temp_dir dir;
  auto log =
      keel::eventlog::event_log::open(dir.log(), keel::eventlog::testing::small_segments()).value();
  cascade_config c;
  c.quarantine_base = 1s;
  auto guard = cascade_guard::create(c).value();
  guard->attach_log(log.get());
  keel::testing::fixture fx(with_hooks({guard}));
  int seen = 0;
  auto a = fx.sys().spawn<echo>(&seen).value();
  fx.run();
  const std::uint64_t t0 = fx.executor().now();
  ASSERT_TRUE(guard->quarantine(a.handle(), t0, "steered"));
  fx.advance(1s);
  ASSERT_EQ(a.send(query{}), keel::send_status::ok);
  fx.run();
  ASSERT_TRUE(log->sync());
  log.reset();
  auto reader = keel::eventlog::log_reader::open(dir.log()).value();
  std::vector<keel::resilience::quarantine_record> seen_records;
  reader.scan([&](const keel::eventlog::record_view& r) {
    if (r.header.type != static_cast<std::uint16_t>(keel::eventlog::record_type::quarantine)) {
      return true;
    }
    auto d = keel::resilience::decode_quarantine_record(r.payload);
    EXPECT_TRUE(d) << d.error().to_string();
    if (d) seen_records.push_back(*d);
    return true;
  });
  ASSERT_EQ(seen_records.size(), 2U);
  EXPECT_EQ(seen_records[0].event, keel::resilience::quarantine_event::quarantined);
  EXPECT_EQ(seen_records[0].actor, a.handle());
  EXPECT_EQ(seen_records[0].until, t0 + 1'000'000'000U);
  EXPECT_EQ(seen_records[0].reason, "steered");
  EXPECT_EQ(seen_records[1].event, keel::resilience::quarantine_event::released);
}

TEST(cascade, rejects_bad_configuration_naming_the_field) {
  auto expect_bad = [](cascade_config c, std::string_view field) {
    auto g = cascade_guard::create(c);
    ASSERT_FALSE(g) << field;
    EXPECT_NE(g.error().message().find(field), std::string_view::npos) << g.error().message();
  };
  cascade_config c;
  c.window = 0s;
  expect_bad(c, "window");
  c = {};
  c.max_spread = 0;
  expect_bad(c, "max_spread");
  c = {};
  c.quarantine_max = 1s;
  expect_bad(c, "quarantine_max");
  c = {};
  c.quarantine_multiplier = 0.5;
  expect_bad(c, "quarantine_multiplier");
  c = {};
  c.max_quarantined = 0;
  expect_bad(c, "max_quarantined");
}

}  // namespace
