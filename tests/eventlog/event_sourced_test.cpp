// Event-sourced actors: persist then apply; messages that arrive while an event waits for the
// durable watermark are stashed, not lost or reordered; recovery from the log alone, from the
// newest snapshot plus later events, and past a damaged snapshot; recovery in bounded steps;
// a log failure fails the actor.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include "eventlog/fault_env.h"
#include "eventlog/log_fixture.h"

#include <keel/core/actor_system.h>
#include <keel/eventlog/event_sourced.h>
#include <keel/eventlog/journal.h>

namespace {

namespace el = keel::eventlog;
using el::testing::fault_env;
using el::testing::temp_dir;
using namespace std::chrono_literals;

struct deposit {
  static constexpr std::string_view keel_name = "test.es.deposit/1";
  std::int64_t cents = 0;
};
struct deposited {
  static constexpr std::string_view keel_name = "test.es.deposited/1";
  std::int64_t cents = 0;
  std::uint64_t n = 0;
  static constexpr auto keel_fields =
      keel::fields(keel::field("cents", &deposited::cents), keel::field("n", &deposited::n));
};
struct done {
  static constexpr std::string_view keel_name = "test.es.done/1";
  std::int64_t balance = 0;
};
struct balance_query {
  static constexpr std::string_view keel_name = "test.es.balance_query/1";
};
struct balance {
  static constexpr std::string_view keel_name = "test.es.balance/1";
  std::int64_t cents = 0;
  std::uint64_t deposits = 0;
  std::uint64_t recovered_applies = 0;
  bool recovered = false;
};

// Counts of apply() calls, across incarnations (a test looks at them between systems).
std::atomic<std::uint64_t> g_applies{0};

class account : public el::event_sourced_actor<account, deposited, deposit, balance_query> {
 public:
  static constexpr std::string_view keel_name = "test.es.account";
  account(el::journal& j, std::uint64_t id) : event_sourced_actor(j, id) {}

  void on(deposit& m) {
    const std::int64_t after = cents_ + m.cents;
    // `then` runs in a later handler: the reply goes to the address kept now.
    if (!persist(deposited{m.cents, deposits_ + 1},
                 [this, to = return_address(), after](const deposited&) {
                   reply_later(to, done{after});
                 })) {
      fail("persist refused");
    }
  }
  void on(balance_query&) { reply(balance{cents_, deposits_, recovered_applies_, recovered_}); }
  void apply(const deposited& e) {
    cents_ += e.cents;
    deposits_ = e.n;
    ++g_applies;
    if (recovering()) ++recovered_applies_;
  }
  void save_state(keel::state_writer& w) const { w.write(cents_).write(deposits_); }
  void load_state(keel::state_reader& r) {
    r.read(cents_, "cents");
    r.read(deposits_, "deposits");
  }

 protected:
  void on_recovered() override { recovered_ = true; }

 private:
  std::int64_t cents_ = 0;
  std::uint64_t deposits_ = 0;
  std::uint64_t recovered_applies_ = 0;
  bool recovered_ = false;
};

// Without save_state/load_state: recovers from the log alone.
class tally : public el::event_sourced_actor<tally, deposited, deposit, balance_query> {
 public:
  static constexpr std::string_view keel_name = "test.es.tally";
  tally(el::journal& j, std::uint64_t id) : event_sourced_actor(j, id) {}
  void on(deposit& m) {
    (void)persist(deposited{m.cents, n_ + 1},
                  [this, to = return_address()](const deposited&) { reply_later(to, done{sum_}); });
  }
  void on(balance_query&) { reply(balance{sum_, n_, 0, true}); }
  void apply(const deposited& e) {
    sum_ += e.cents;
    n_ = e.n;
  }

 private:
  std::int64_t sum_ = 0;
  std::uint64_t n_ = 0;
};

std::unique_ptr<keel::actor_system> make_system() {
  keel::system_config cfg;
  cfg.scheduler.workers = 2;
  return keel::actor_system::create(std::move(cfg)).value();
}

el::journal_options options(el::durability mode, keel::eventlog::io_env* env) {
  el::journal_options o;
  o.log = el::testing::small_segments();
  o.log.mode = mode;
  o.log.env = env;
  return o;
}

template <class A>
balance query(keel::actor_ref<A> ref) {
  auto b = ref.template ask<balance>(balance_query{}, 10s);
  EXPECT_TRUE(b) << b.error();
  return b ? *b : balance{};
}

TEST(event_sourced, persist_applies_then_replies_and_a_restart_recovers_from_the_log) {
  for (const el::durability mode : {el::durability::page_cache, el::durability::group_commit}) {
    temp_dir d;
    {
      auto j = el::journal::open(d.log(), options(mode, nullptr)).value();
      auto sys = make_system();
      auto acct = sys->spawn<account>(*j, 7).value();
      std::int64_t want = 0;
      for (int i = 1; i <= 20; ++i) {
        want += i;
        auto r = acct.ask<done>(deposit{i}, 10s);
        ASSERT_TRUE(r) << r.error();
        EXPECT_EQ(r->balance, want);
      }
      if (mode == el::durability::group_commit) {
        EXPECT_GE(j->log().durable_seq(), 21u);
      }
    }
    auto j = el::journal::open(d.log(), options(mode, nullptr)).value();
    auto sys = make_system();
    auto acct = sys->spawn<account>(*j, 7).value();
    const balance b = query(acct);
    EXPECT_TRUE(b.recovered);
    EXPECT_EQ(b.cents, 210);
    EXPECT_EQ(b.deposits, 20u);
    EXPECT_EQ(b.recovered_applies, 20u);  // no snapshot: every event replayed
    // Another persistence id in the same log starts empty.
    auto other = sys->spawn<account>(*j, 8).value();
    EXPECT_EQ(query(other).cents, 0);
  }
}

TEST(event_sourced, messages_wait_in_the_stash_while_an_event_is_not_yet_durable) {
  temp_dir d;
  fault_env env;
  env.set_delay(fault_env::op::fdatasync, 30ms);
  auto j = el::journal::open(d.log(), options(el::durability::group_commit, &env)).value();
  auto sys = make_system();
  auto acct = sys->spawn<account>(*j, 1).value();
  ASSERT_EQ(query(acct).cents, 0);  // recovered
  // Fire deposits without waiting, then a query: it must see all of them applied, in order.
  for (int i = 0; i < 10; ++i) ASSERT_EQ(acct.send(deposit{100}), keel::send_status::ok);
  const balance b = query(acct);
  EXPECT_EQ(b.cents, 1000);
  EXPECT_EQ(b.deposits, 10u);
  EXPECT_GE(j->log().durable_seq(), 11u);  // applied only once durable
}

// A worker never waits for the disk: with the log's fdatasync stalled and one worker, a persist
// leaves its actor waiting (its later messages stashed) while the same worker goes on serving
// another actor; once the disk answers, the event is applied and the stash handled.
TEST(event_sourced, a_stalled_sync_holds_the_persisting_actor_and_not_its_worker) {
  temp_dir d;
  fault_env env;
  auto j = el::journal::open(d.log(), options(el::durability::group_commit, &env)).value();
  keel::system_config cfg;
  cfg.scheduler.workers = 1;
  auto sys = keel::actor_system::create(std::move(cfg)).value();
  auto waiting = sys->spawn<account>(*j, 1).value();
  auto other = sys->spawn<account>(*j, 2).value();
  ASSERT_EQ(query(waiting).cents, 0);  // both recovered
  ASSERT_EQ(query(other).cents, 0);
  env.hold(fault_env::op::fdatasync);
  struct release_on_exit {
    fault_env& env;
    ~release_on_exit() { env.release(fault_env::op::fdatasync); }  // a failed ASSERT too
  } release{env};
  ASSERT_EQ(waiting.send(deposit{250}), keel::send_status::ok);
  ASSERT_TRUE(el::testing::eventually([&] { return env.waiting(fault_env::op::fdatasync) > 0; }));
  // The only worker answers the other actor while the sync is stuck...
  for (int i = 0; i < 3; ++i) EXPECT_EQ(query(other).deposits, 0u);
  EXPECT_GT(env.waiting(fault_env::op::fdatasync), 0);
  // ...and the persisting actor's query waits in its stash until the event is durable.
  auto pending = std::async(std::launch::async, [&] { return query(waiting); });
  EXPECT_EQ(pending.wait_for(50ms), std::future_status::timeout);
  env.release(fault_env::op::fdatasync);
  const balance b = pending.get();
  EXPECT_EQ(b.cents, 250);
  EXPECT_EQ(b.deposits, 1u);
  (void)sys->shutdown();
}

TEST(event_sourced, recovery_starts_from_the_newest_snapshot_and_falls_back_past_a_damaged_one) {
  temp_dir d;
  el::journal_options o = options(el::durability::page_cache, nullptr);
  o.snapshot_every = 10;
  {
    auto j = el::journal::open(d.log(), o).value();
    auto sys = make_system();
    auto acct = sys->spawn<account>(*j, 3).value();
    for (int i = 0; i < 35; ++i) ASSERT_TRUE(acct.ask<done>(deposit{2}, 10s));
    EXPECT_EQ(j->snapshots().list(3).size(), 3u);  // at 10, 20 and 30 (keep 3)
  }
  {
    auto j = el::journal::open(d.log(), o).value();
    auto sys = make_system();
    const balance b = query(sys->spawn<account>(*j, 3).value());
    EXPECT_EQ(b.cents, 70);
    EXPECT_EQ(b.deposits, 35u);
    EXPECT_EQ(b.recovered_applies, 5u);  // from the snapshot at 30
    // Damage the newest snapshot: the next recovery uses the one at 20 and replays 15.
    const std::string newest = j->snapshots().list(3).front().file;
    std::fstream f(newest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x42');
  }
  auto j = el::journal::open(d.log(), o).value();
  auto sys = make_system();
  const balance b = query(sys->spawn<account>(*j, 3).value());
  EXPECT_EQ(b.cents, 70);
  EXPECT_EQ(b.recovered_applies, 15u);
}

TEST(event_sourced, a_long_log_recovers_in_bounded_steps) {
  temp_dir d;
  el::journal_options o = options(el::durability::page_cache, nullptr);
  o.recovery_batch = 7;
  {
    auto j = el::journal::open(d.log(), o).value();
    auto sys = make_system();
    auto a = sys->spawn<tally>(*j, 11).value();
    auto b = sys->spawn<tally>(*j, 12).value();
    for (int i = 1; i <= 100; ++i) {
      ASSERT_TRUE(a.ask<done>(deposit{i}, 10s));
      ASSERT_TRUE(b.ask<done>(deposit{1}, 10s));
    }
  }
  auto j = el::journal::open(d.log(), o).value();
  auto sys = make_system();
  auto a = sys->spawn<tally>(*j, 11).value();
  // Messages sent during recovery are handled after it, in order.
  for (int i = 0; i < 5; ++i) ASSERT_EQ(a.send(deposit{1000}), keel::send_status::ok);
  const balance ba = query(a);
  EXPECT_EQ(ba.cents, 5050 + 5000);
  EXPECT_EQ(ba.deposits, 105u);
  EXPECT_EQ(query(sys->spawn<tally>(*j, 12).value()).cents, 100);
}

TEST(event_sourced, a_failed_log_fails_the_actor_instead_of_applying) {
  temp_dir d;
  fault_env env;
  auto j = el::journal::open(d.log(), options(el::durability::group_commit, &env)).value();
  auto sys = make_system();
  auto acct = sys->spawn<account>(*j, 5).value();
  ASSERT_TRUE(acct.ask<done>(deposit{1}, 10s));
  env.fail(fault_env::op::fdatasync);
  auto r = acct.ask<done>(deposit{1}, 2s);
  EXPECT_FALSE(r);  // never applied, never replied: the actor failed and stopped
  EXPECT_EQ(j->log().failure().code(), keel::errc::io_error);
  auto q = acct.ask<balance>(balance_query{}, 2s);
  EXPECT_FALSE(q);
}

}  // namespace

namespace {

el::record_in event_of(std::uint64_t pid, const std::vector<std::byte>& payload) {
  el::record_in r;
  r.type = el::record_type::event;
  r.actor_id = pid;
  r.payload = payload;
  return r;
}

// A recovery reads up to the log's next seq when it began; a record below it that is not yet
// committed (another thread's claim, committed out of order) ends the step early instead of
// ending the recovery, and a failed log that will never commit it is an error.
TEST(event_sourced, recovery_waits_for_every_record_claimed_before_it_began) {
  temp_dir d;
  fault_env env;
  auto j = el::journal::open(d.log(), options(el::durability::group_commit, &env)).value();
  const std::vector<std::byte> p(8, std::byte{1});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(j->log().append(event_of(9, p)));  // seqs 1-3
  ASSERT_TRUE(j->log().append(event_of(8, p)));                              // seq 4
  const std::uint64_t until = j->log().next_seq() + 1;  // seq 5 is claimed, not yet written
  std::vector<std::uint64_t> seen;
  auto visit = [&](const el::frame_header& h, std::span<const std::byte>) {
    seen.push_back(h.seq);
  };
  EXPECT_EQ(j->read_events(9, 1, until, 2, visit).value(), 3u);    // a full batch
  EXPECT_EQ(j->read_events(9, 3, until, 100, visit).value(), 5u);  // not done: 5 is missing
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 2, 3}));
  ASSERT_TRUE(j->log().append(event_of(9, p)));  // seq 5 commits
  EXPECT_EQ(j->read_events(9, 5, until, 100, visit).value(), 0u);
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 2, 3, 5}));
  EXPECT_EQ(j->read_events(9, until, until, 100, visit).value(), 0u);  // nothing to read
  // A failed log will never write seq 7.
  env.fail(fault_env::op::fdatasync);
  const std::uint64_t last = j->log().append(event_of(9, p)).value();
  EXPECT_FALSE(j->log().wait_durable(last));
  auto r = j->read_events(9, last + 1, last + 2, 100, visit);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.code(), keel::errc::log_failed);
  EXPECT_NE(r.error().message().find("before record " + std::to_string(last + 1)),
            std::string_view::npos)
      << r.error();
}

}  // namespace
