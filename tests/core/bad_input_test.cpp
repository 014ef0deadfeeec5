#include <gtest/gtest.h>

#include "core/test_actors.h"

namespace {

using namespace std::chrono_literals;
using namespace keel::test;

// Two different actor classes that declare the same type name.
class twin_a : public keel::actor<twin_a, ping> {
 public:
  static constexpr std::string_view keel_name = "test.twin";
  void on(ping&) {}
};
class twin_b : public keel::actor<twin_b, ping> {
 public:
  static constexpr std::string_view keel_name = "test.twin";
  void on(ping&) {}
};

TEST(badinput, two_actor_classes_with_one_type_name_are_refused) {
  auto sys = make_system();
  ASSERT_TRUE(sys->spawn<twin_a>());
  auto r = sys->spawn<twin_b>();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), keel::errc::duplicate_name);
  EXPECT_NE(r.error().message().find("test.twin"), std::string_view::npos);
}

TEST(badinput, a_type_id_collision_is_refused) {
  auto sys = make_system();
  ASSERT_TRUE(sys->types().add<ping>().is_ok());
  EXPECT_TRUE(sys->types().add<ping>().is_ok());  // idempotent
  static const char other_identity = 0;
  keel::type_entry fake{keel::type_id_of<ping>(), "test.not_ping/1", keel::type_kind::message,
                        &other_identity, nullptr};
  const keel::status s = sys->types().add_entry(fake);
  EXPECT_EQ(s.code(), keel::errc::type_collision);
  EXPECT_NE(s.message().find("test.ping/1"), std::string_view::npos);
  EXPECT_EQ(sys->types().name_of_id(keel::type_id_of<ping>()), "test.ping/1");
}

TEST(badinput, allocation_failure_on_send_is_an_error_not_a_loss) {
  std::atomic<bool> fail_envelopes{false};
  keel::system_config cfg;
  cfg.alloc_fault = [&](keel::alloc_site site) {
    return site == keel::alloc_site::envelope && fail_envelopes.load();
  };
  auto sys = make_system(std::move(cfg));
  auto ref = sys->spawn<adder>().value();
  ASSERT_TRUE(ref.ask<sum>(add{1, 1}, 5s));
  fail_envelopes.store(true);
  // Sends from this (non-worker) thread always take the allocation slow path.
  EXPECT_EQ(ref.send(add{1, 1}), keel::send_status::out_of_memory);
  auto r = ref.ask<sum>(add{1, 1}, 1s);
  EXPECT_EQ(r.code(), keel::errc::out_of_memory);
  EXPECT_EQ(sys->allocation_failures(), 2U);
  fail_envelopes.store(false);
  EXPECT_EQ(ref.ask<sum>(add{2, 3}, 5s)->value, 5);
}

TEST(badinput, allocation_failure_on_spawn_is_an_error) {
  std::atomic<int> fail_site{-1};
  keel::system_config cfg;
  cfg.alloc_fault = [&](keel::alloc_site site) {
    return static_cast<int>(site) == fail_site.load();
  };
  auto sys = make_system(std::move(cfg));
  fail_site.store(static_cast<int>(keel::alloc_site::actor));
  auto r = sys->spawn<adder>();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), keel::errc::out_of_memory);
  fail_site.store(static_cast<int>(keel::alloc_site::cell_chunk));
  auto r2 = sys->spawn<adder>();  // the first spawn needs the first chunk of the actor table
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.code(), keel::errc::out_of_memory);
  fail_site.store(-1);
  EXPECT_TRUE(sys->spawn<adder>());
  EXPECT_EQ(sys->actor_count(), 1U);
}

class throws_in_ctor : public keel::actor<throws_in_ctor, ping> {
 public:
  static constexpr std::string_view keel_name = "test.throws_in_ctor";
  throws_in_ctor() { throw std::runtime_error("no"); }
  void on(ping&) {}
};

TEST(badinput, a_throwing_constructor_fails_the_spawn) {
  auto sys = make_system();
  auto r = sys->spawn<throws_in_ctor>();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), keel::errc::failed);
  EXPECT_NE(r.error().message().find("no"), std::string_view::npos);
}

TEST(badinput, a_pin_outside_the_workers_is_refused) {
  auto sys = make_system();
  keel::spawn_options opts;
  opts.pin = 7;
  auto r = sys->spawn_with<adder>(opts);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), keel::errc::invalid_argument);
  EXPECT_NE(r.error().message().find("pin"), std::string_view::npos);
}

struct weird {
  static constexpr std::string_view keel_name = "test.weird/1";
};
class thrower : public keel::actor<thrower, weird> {
 public:
  static constexpr std::string_view keel_name = "test.thrower";
  void on(weird&) { throw 42; }
};

TEST(badinput, a_handler_that_throws_a_non_exception_is_still_a_failure) {
  std::atomic<int> failures{0};
  keel::system_config cfg;
  cfg.diagnostics = [&](const keel::diagnostic& d) {
    if (d.kind == keel::diagnostic_kind::failure) failures.fetch_add(1);
  };
  auto sys = make_system(std::move(cfg));
  auto ref = sys->spawn<thrower>().value();
  ref.send(weird{});
  ASSERT_TRUE(eventually([&] { return failures.load() == 1; }));
  ASSERT_TRUE(eventually([&] { return !ref.alive(); }));
}

}  // namespace
