// The conformance suite, part four: death watch (keel/core/monitor.h) on both executors.
#include <gtest/gtest.h>

#include "core/conformance.h"

namespace {

using namespace std::chrono_literals;
using keel::down_reason;
using keel::send_status;
using namespace keel::test;

struct watch {
  static constexpr std::string_view keel_name = "test.conf.watch/1";
  keel::actor_ref<> target;
  bool cancel = false;  // demonitor at once
};
struct marker {
  static constexpr std::string_view keel_name = "test.conf.marker/1";
};

struct watch_log {
  std::mutex mu;
  std::vector<keel::down> downs;
  std::vector<std::uint64_t> ids;
  std::atomic<int> markers{0};
  std::vector<keel::down> snapshot() {
    std::lock_guard<std::mutex> lock(mu);
    return downs;
  }
};

class watcher : public keel::actor<watcher, watch, marker, keel::down> {
 public:
  static constexpr std::string_view keel_name = "test.conf.watcher";
  explicit watcher(watch_log* log) : log_(log) {}
  void on(watch& w) {
    const std::uint64_t id = monitor(w.target);
    if (w.cancel) demonitor(w.target, id);
    std::lock_guard<std::mutex> lock(log_->mu);
    log_->ids.push_back(id);
  }
  void on(marker&) { log_->markers.fetch_add(1, std::memory_order_release); }
  void on(keel::down& d) {
    std::lock_guard<std::mutex> lock(log_->mu);
    log_->downs.push_back(d);
  }

 private:
  watch_log* log_;
};

TEST_P(conformance, a_monitor_gets_down_when_the_actor_stops) {
  watch_log log;
  auto w = sys_->spawn<watcher>(&log).value();
  auto t = sys_->spawn<adder>().value();
  ASSERT_EQ(w.send(watch{t}), send_status::ok);
  ASSERT_EQ(w.send(watch{t}), send_status::ok);  // twice: two downs
  ASSERT_EQ(w.send(marker{}), send_status::ok);
  ASSERT_TRUE(await([&] { return log.markers.load() == 1; }));
  ASSERT_EQ(t.stop(), send_status::ok);
  ASSERT_TRUE(await([&] { return log.snapshot().size() == 2; }));
  const auto downs = log.snapshot();
  for (const auto& d : downs) {
    EXPECT_EQ(d.reason, down_reason::stopped);
    EXPECT_EQ(d.who, t.handle());
  }
  EXPECT_NE(downs[0].monitor, downs[1].monitor);
  EXPECT_FALSE(t.alive());
}

TEST_P(conformance, a_monitor_gets_the_failure) {
  watch_log log;
  auto w = sys_->spawn<watcher>(&log).value();
  auto t = sys_->spawn<adder>().value();
  ASSERT_EQ(w.send(watch{t}), send_status::ok);
  ASSERT_EQ(w.send(marker{}), send_status::ok);
  ASSERT_TRUE(await([&] { return log.markers.load() == 1; }));
  ASSERT_EQ(t.send(boom{}), send_status::ok);
  ASSERT_TRUE(await([&] { return log.snapshot().size() == 1; }));
  const auto d = log.snapshot()[0];
  EXPECT_EQ(d.reason, down_reason::failed);
  EXPECT_NE(d.text.find("boom"), std::string::npos) << d.text;
  EXPECT_EQ(keel::to_string(d.reason), "failed");
}

TEST_P(conformance, monitoring_a_stopped_actor_gives_noproc) {
  watch_log log;
  auto w = sys_->spawn<watcher>(&log).value();
  auto t = sys_->spawn<adder>().value();
  ASSERT_EQ(t.stop(), send_status::ok);
  ASSERT_TRUE(await([&] { return !t.alive(); }));
  ASSERT_EQ(w.send(watch{t}), send_status::ok);
  ASSERT_TRUE(await([&] { return log.snapshot().size() == 1; }));
  EXPECT_EQ(log.snapshot()[0].reason, down_reason::noproc);
}

TEST_P(conformance, a_cancelled_monitor_gets_no_down) {
  watch_log log;
  auto w = sys_->spawn<watcher>(&log).value();
  auto t = sys_->spawn<adder>().value();
  auto t2 = sys_->spawn<adder>().value();
  ASSERT_EQ(w.send(watch{t, true}), send_status::ok);
  ASSERT_EQ(w.send(watch{t2}), send_status::ok);  // a control: this one does fire
  ASSERT_EQ(w.send(marker{}), send_status::ok);
  ASSERT_TRUE(await([&] { return log.markers.load() == 1; }));
  ASSERT_EQ(t.stop(), send_status::ok);
  ASSERT_TRUE(await([&] { return !t.alive(); }));
  ASSERT_EQ(t2.stop(), send_status::ok);
  ASSERT_TRUE(await([&] { return log.snapshot().size() == 1; }));
  ASSERT_EQ(w.send(marker{}), send_status::ok);  // anything for t would have come before
  ASSERT_TRUE(await([&] { return log.markers.load() == 2; }));
  const auto downs = log.snapshot();
  ASSERT_EQ(downs.size(), 1U);
  EXPECT_EQ(downs[0].who, t2.handle());
  EXPECT_EQ(sys_->dead_letter_count(), 0U);
}

}  // namespace
