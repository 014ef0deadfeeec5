// keel::observe::exposition and export_system: exact text for small families, every malformed
// input refused with its reason, histograms cumulative and ending at +Inf, and a live system's
// page that parses line by line, has each family once, and agrees with the core's counters.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <keel/core/actor_system.h>
#include <keel/observe/prometheus.h>

namespace {

using keel::errc;
using keel::observe::exposition;
using keel::observe::histogram;
using keel::observe::histogram_snapshot;
using keel::observe::label;
using keel::observe::metric_kind;

TEST(prometheus, families_and_samples_are_written_exactly_with_escaped_labels) {
  exposition e;
  ASSERT_TRUE(e.family("app_requests_total", metric_kind::counter, "Requests.\nAll of them."));
  ASSERT_TRUE(e.sample({{"path", "/a\"b\\c\nd"}, {"code", "200"}}, 3));
  ASSERT_TRUE(e.sample({}, 4));
  ASSERT_TRUE(e.family("app_temperature", metric_kind::gauge, "A gauge."));
  ASSERT_TRUE(e.sample({{"room", "x"}}, 21.5));
  EXPECT_EQ(e.text(),
            "# HELP app_requests_total Requests.\\nAll of them.\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total{path=\"/a\\\"b\\\\c\\nd\",code=\"200\"} 3\n"
            "app_requests_total 4\n"
            "# HELP app_temperature A gauge.\n"
            "# TYPE app_temperature gauge\n"
            "app_temperature{room=\"x\"} 21.5\n");
}

TEST(prometheus, malformed_names_and_misplaced_samples_are_refused) {
  exposition e;
  EXPECT_EQ(e.sample({}, 1).code(), errc::invalid_argument);  // no family yet
  EXPECT_EQ(e.family("9lives_total", metric_kind::counter, "").code(), errc::invalid_argument);
  EXPECT_EQ(e.family("has-dash_total", metric_kind::counter, "").code(), errc::invalid_argument);
  EXPECT_EQ(e.family("", metric_kind::gauge, "").code(), errc::invalid_argument);
  const keel::status no_total = e.family("requests", metric_kind::counter, "");
  EXPECT_EQ(no_total.code(), errc::invalid_argument);
  EXPECT_NE(no_total.message().find("must end in _total"), std::string_view::npos);
  ASSERT_TRUE(e.family("ok_total", metric_kind::counter, ""));
  EXPECT_EQ(e.family("ok_total", metric_kind::counter, "").code(), errc::invalid_argument);
  EXPECT_EQ(e.sample({{"bad-label", "x"}}, 1).code(), errc::invalid_argument);
  EXPECT_EQ(e.sample({{"__reserved", "x"}}, 1).code(), errc::invalid_argument);
  ASSERT_TRUE(e.family("lat_seconds", metric_kind::histogram, ""));
  EXPECT_EQ(e.sample({}, 1).code(), errc::invalid_argument);  // a histogram takes histogram()
  const histogram_snapshot empty;
  EXPECT_EQ(e.histogram(std::vector<label>{{"le", "1"}}, empty, 1e-9).code(),
            errc::invalid_argument);
  const double bad_bounds[] = {1, 0.5};
  EXPECT_EQ(e.histogram({}, empty, 1e-9, bad_bounds).code(), errc::invalid_argument);
  EXPECT_EQ(e.histogram({}, empty, 0).code(), errc::invalid_argument);
  const double negative[] = {-0.5, 1};
  EXPECT_EQ(e.histogram({}, empty, 1e-9, negative).code(), errc::invalid_argument);
}

TEST(prometheus, a_histogram_is_cumulative_and_ends_at_inf_with_sum_and_count) {
  histogram h;
  h.record_n(500, 3);             // 0.5 us
  h.record_n(2'000, 2);           // 2 us
  h.record_n(300'000'000, 1);     // 0.3 s
  h.record_n(90'000'000'000, 1);  // 90 s, past the last bound
  histogram_snapshot s;
  s.add(h);
  exposition e;
  ASSERT_TRUE(e.family("work_seconds", metric_kind::histogram, "Work."));
  const std::vector<label> l = {{"type", "w"}};
  ASSERT_TRUE(e.histogram(l, s, 1e-9));
  const std::string& t = e.text();
  EXPECT_NE(t.find("work_seconds_bucket{type=\"w\",le=\"1e-06\"} 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("work_seconds_bucket{type=\"w\",le=\"5e-06\"} 5\n"), std::string::npos) << t;
  EXPECT_NE(t.find("work_seconds_bucket{type=\"w\",le=\"0.1\"} 5\n"), std::string::npos) << t;
  EXPECT_NE(t.find("work_seconds_bucket{type=\"w\",le=\"0.5\"} 6\n"), std::string::npos) << t;
  EXPECT_NE(t.find("work_seconds_bucket{type=\"w\",le=\"10\"} 6\n"), std::string::npos) << t;
  EXPECT_NE(t.find("work_seconds_bucket{type=\"w\",le=\"+Inf\"} 7\n"), std::string::npos) << t;
  EXPECT_NE(t.find("work_seconds_count{type=\"w\"} 7\n"), std::string::npos) << t;
  const std::string sum_line = "work_seconds_sum{type=\"w\"} ";
  const std::size_t at = t.find(sum_line);
  ASSERT_NE(at, std::string::npos) << t;
  EXPECT_NEAR(std::stod(t.substr(at + sum_line.size())), 90.3000055, 1e-9);
  // Cumulative: every bucket at least the one before.
  std::istringstream in(t);
  std::string line;
  double prev = -1;
  while (std::getline(in, line)) {
    if (line.rfind("work_seconds_bucket", 0) != 0) continue;
    const double v = std::stod(line.substr(line.rfind(' ') + 1));
    EXPECT_GE(v, prev) << line;
    prev = v;
  }
}

struct ping {
  static constexpr std::string_view keel_name = "test.prom.ping/1";
};
class pinger : public keel::actor<pinger, ping> {
 public:
  static constexpr std::string_view keel_name = "test.prom.pinger";
  void on(ping&) {}
};

TEST(prometheus, a_live_systems_page_parses_has_each_family_once_and_matches_the_counters) {
  keel::system_config cfg;
  cfg.scheduler.executor = keel::sched::executor_kind::deterministic;
  auto sys = keel::actor_system::create(std::move(cfg)).value();
  auto a = sys->spawn<pinger>().value();
  auto b = sys->spawn<pinger>().value();
  for (int i = 0; i < 5; ++i) ASSERT_EQ(a.send(ping{}), keel::send_status::ok);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(b.send(ping{}), keel::send_status::ok);
  sys->deterministic()->run_until_idle();
  exposition e;
  ASSERT_TRUE(keel::observe::export_system(*sys, e));
  // Every line is a HELP or TYPE comment or a sample: name{label="value",...} number.
  const std::regex sample_re(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? ([-+0-9.eE]+|NaN|[+-]Inf)$)");
  const std::regex comment_re(R"(^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$)");
  std::map<std::string, int> types_seen;
  std::map<std::string, double> received;
  std::istringstream in(e.text());
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, comment_re)) {
      if (m[1] == "TYPE") ++types_seen[m[2]];
      continue;
    }
    ASSERT_TRUE(std::regex_match(line, m, sample_re)) << line;
    EXPECT_EQ(line.find("id=\""), std::string::npos) << "no instance labels: " << line;
    if (m[1] == "keel_messages_received_total") {
      const std::string type = line.substr(line.find('"') + 1);
      received[type.substr(0, type.find('"'))] = std::stod(m[5]);
    }
  }
  for (const auto& [family, n] : types_seen) EXPECT_EQ(n, 1) << family;
  EXPECT_EQ(types_seen.count("keel_messages_received_total"), 1u);
  EXPECT_EQ(types_seen.count("keel_scheduler_busy_seconds_total"), 1u);
  EXPECT_EQ(types_seen.count("keel_actors_running"), 1u);
  EXPECT_EQ(received["test.prom.pinger"], 7.0);
  for (const auto& c : sys->counters()) {
    if (c.type == "test.prom.pinger") {
      EXPECT_EQ(c.received, 7u);
    }
  }
  EXPECT_NE(e.text().find("keel_actors_running{type=\"test.prom.pinger\"} 2\n"), std::string::npos)
      << e.text();
  (void)sys->shutdown();
}

}  // namespace
