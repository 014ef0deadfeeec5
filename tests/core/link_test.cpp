// Links (actor::link): failure propagates both ways unless trapped, a stop reaches only actors
// that trap exits, a link ends with the first exit it carries, unlink cancels it. On the
// deterministic executor.
#include <gtest/gtest.h>

#include <mutex>
#include <stdexcept>

#include "core/supervision_actors.h"

#include <keel/keel.h>

namespace {

using namespace std::chrono_literals;
using keel::send_status;
using namespace keel::test;

struct link_to {
  static constexpr std::string_view keel_name = "test.link.link_to/1";
  keel::actor_ref<> peer;
};
struct unlink_from {
  static constexpr std::string_view keel_name = "test.link.unlink_from/1";
  keel::actor_ref<> peer;
};

struct exits {
  std::vector<keel::exit_signal> seen;
};

class linker : public keel::actor<linker, link_to, unlink_from, crash, quit> {
 public:
  static constexpr std::string_view keel_name = "test.link.linker";
  void on(link_to& m) { link(m.peer); }
  void on(unlink_from& m) { unlink(m.peer); }
  void on(crash&) { throw std::runtime_error("linker crashed"); }
  void on(quit&) { stop_self(); }
};

class trapper : public keel::actor<trapper, link_to, keel::exit_signal> {
 public:
  static constexpr std::string_view keel_name = "test.link.trapper";
  explicit trapper(exits* out) : out_(out) {}
  void on(link_to& m) { link(m.peer); }
  void on(keel::exit_signal& s) { out_->seen.push_back(s); }

 private:
  exits* out_;
};

class link_test : public ::testing::Test {
 protected:
  void SetUp() override {
    keel::system_config cfg;
    cfg.scheduler.executor = keel::sched::executor_kind::deterministic;
    cfg.diagnostics = [this](const keel::diagnostic& d) { diags_.push_back(d); };
    sys_ = keel::actor_system::create(std::move(cfg)).value();
  }
  void TearDown() override { (void)sys_->shutdown(); }
  void run() { sys_->deterministic()->run_until_idle(); }
  std::vector<keel::diagnostic> diags_;
  std::unique_ptr<keel::actor_system> sys_;
};

TEST_F(link_test, a_failure_takes_the_linked_actor_down_both_ways) {
  auto a = sys_->spawn<linker>().value();
  auto b = sys_->spawn<linker>().value();
  auto c = sys_->spawn<linker>().value();
  ASSERT_EQ(a.send(link_to{b}), send_status::ok);
  ASSERT_EQ(c.send(link_to{b}), send_status::ok);  // b is linked to a and to c
  run();
  ASSERT_EQ(a.send(crash{}), send_status::ok);
  run();
  // a failed, b failed because of a, c because of b.
  EXPECT_FALSE(a.alive());
  EXPECT_FALSE(b.alive());
  EXPECT_FALSE(c.alive());
  ASSERT_EQ(diags_.size(), 3U);
  EXPECT_NE(diags_[1].text.find("linked actor"), std::string::npos) << diags_[1].text;
}

TEST_F(link_test, an_actor_that_traps_exits_receives_them_and_lives_on) {
  exits seen;
  auto t = sys_->spawn<trapper>(&seen).value();
  auto a = sys_->spawn<linker>().value();
  auto b = sys_->spawn<linker>().value();
  ASSERT_EQ(t.send(link_to{a}), send_status::ok);
  ASSERT_EQ(t.send(link_to{b}), send_status::ok);
  run();
  ASSERT_EQ(a.send(crash{}), send_status::ok);
  ASSERT_EQ(b.send(quit{}), send_status::ok);
  run();
  EXPECT_TRUE(t.alive());
  ASSERT_EQ(seen.seen.size(), 2U);
  std::sort(seen.seen.begin(), seen.seen.end(),
            [](const auto& x, const auto& y) { return x.reason < y.reason; });
  EXPECT_EQ(seen.seen[0].reason, keel::exit_reason::stopped);
  EXPECT_EQ(seen.seen[0].from, b.handle());
  EXPECT_EQ(seen.seen[1].reason, keel::exit_reason::failed);
  EXPECT_EQ(seen.seen[1].from, a.handle());
  EXPECT_NE(seen.seen[1].text.find("linker crashed"), std::string::npos);
}

TEST_F(link_test, a_plain_stop_does_not_take_a_linked_actor_down) {
  auto a = sys_->spawn<linker>().value();
  auto b = sys_->spawn<linker>().value();
  ASSERT_EQ(a.send(link_to{b}), send_status::ok);
  run();
  ASSERT_EQ(a.send(quit{}), send_status::ok);
  run();
  EXPECT_FALSE(a.alive());
  EXPECT_TRUE(b.alive());
  // The link ended with a's stop: b failing now takes nobody with it, and is reported once.
  ASSERT_EQ(b.send(crash{}), send_status::ok);
  run();
  EXPECT_EQ(diags_.size(), 1U);
}

TEST_F(link_test, unlink_cancels_the_link_on_both_sides) {
  auto a = sys_->spawn<linker>().value();
  auto b = sys_->spawn<linker>().value();
  ASSERT_EQ(a.send(link_to{b}), send_status::ok);
  run();
  ASSERT_EQ(b.send(unlink_from{a}), send_status::ok);
  run();
  ASSERT_EQ(a.send(crash{}), send_status::ok);
  run();
  EXPECT_FALSE(a.alive());
  EXPECT_TRUE(b.alive());
}

TEST_F(link_test, linking_to_an_actor_that_has_stopped_acts_at_once) {
  exits seen;
  auto gone = sys_->spawn<linker>().value();
  ASSERT_EQ(gone.stop(), send_status::ok);
  run();
  auto t = sys_->spawn<trapper>(&seen).value();
  ASSERT_EQ(t.send(link_to{gone}), send_status::ok);
  run();
  ASSERT_EQ(seen.seen.size(), 1U);
  EXPECT_EQ(seen.seen[0].reason, keel::exit_reason::stopped);
  EXPECT_NE(seen.seen[0].text.find("noproc"), std::string::npos);
}

TEST_F(link_test, a_supervised_failure_ends_the_link_and_takes_the_peer_down_once) {
  journal& j = new_journal();
  keel::supervisor_config cfg;
  cfg.children = {worker_spec(&j, "w")};
  auto sup = sys_->spawn<keel::supervisor>(cfg).value();
  run();
  auto w = child_named(sup, "w");
  auto peer = sys_->spawn<linker>().value();
  ASSERT_EQ(peer.send(link_to{keel::actor_ref<>(w)}), send_status::ok);
  run();
  ASSERT_EQ(w.send(crash{}), send_status::ok);
  run();
  EXPECT_TRUE(w.alive());  // restarted in place
  EXPECT_EQ(j.starts_of("w"), 2);
  EXPECT_FALSE(peer.alive());                   // failed with it
  ASSERT_EQ(w.send(crash{}), send_status::ok);  // the link is gone: only w, restarted again
  run();
  EXPECT_EQ(j.starts_of("w"), 3);
}

}  // namespace
