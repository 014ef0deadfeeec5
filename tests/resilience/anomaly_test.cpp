// anomaly_detector and peer_outliers: the published test vector, scoring before the baseline
// moves, warm-up, the sigma floor, hysteresis, winsorizing, the robust estimator (with MAD = 0)
// and Envoy-style peer comparison.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include <keel/resilience/anomaly_detector.h>

namespace {

using keel::resilience::anomaly_detector;
using keel::resilience::detector_config;
using keel::resilience::detector_result;
using keel::resilience::direction;
using keel::resilience::estimator;
using keel::resilience::peer_config;
using keel::resilience::peer_outliers;
using keel::resilience::peer_sample;
using keel::resilience::severity;

anomaly_detector make(detector_config c) {
  auto d = anomaly_detector::create(std::move(c));
  EXPECT_TRUE(d) << d.error().to_string();
  return std::move(d).value();
}

// A baseline of alternating 9 and 11 (mean 10, sigma near 1), past the warm-up.
anomaly_detector steady(detector_config c = {}) {
  c.alpha = 0.05;
  auto d = make(c);
  for (int i = 0; i < 400; ++i) d.update(i % 2 == 0 ? 9.0 : 11.0);
  return d;
}

TEST(anomaly, ewma_variance_matches_the_published_vector) {
  detector_config c;
  c.alpha = 0.5;
  auto d = make(c);
  const std::array<double, 3> in{2, 1, 3};
  const std::array<double, 3> var{0, 0.25, 0.6875};
  for (std::size_t i = 0; i < in.size(); ++i) {
    d.update(in[i]);
    EXPECT_DOUBLE_EQ(d.sigma() * d.sigma(), var[i]) << i;
  }
  EXPECT_DOUBLE_EQ(d.mean(), 2.25);
}

TEST(anomaly, alpha_comes_from_the_half_life) {
  detector_config c;
  c.half_life = 1;  // alpha = 1 - 2^-1 = 0.5: the same vector
  auto d = make(c);
  d.update(2);
  d.update(1);
  d.update(3);
  EXPECT_DOUBLE_EQ(d.sigma() * d.sigma(), 0.6875);
}

TEST(anomaly, scores_a_sample_before_it_joins_the_baseline) {
  auto d = steady();
  const double mean = d.mean();
  const double sigma = d.sigma();
  ASSERT_NEAR(mean, 10, 0.1);
  ASSERT_NEAR(sigma, 1, 0.1);
  const detector_result r = d.update(12);
  EXPECT_DOUBLE_EQ(r.z(), (12 - mean) / sigma);
  EXPECT_EQ(r.level, severity::none);
  EXPECT_DOUBLE_EQ(d.mean(), mean + 0.05 * (12 - mean)) << "then it joins the baseline";
}

TEST(anomaly, raises_nothing_during_the_warm_up) {
  detector_config c;
  c.warmup = 10;
  c.fire_after = 1;
  auto d = make(c);
  for (int i = 0; i < 10; ++i) {
    const auto r = d.update(i % 2 == 0 ? 1.0 : 1000.0);
    EXPECT_TRUE(r.warming_up);
    EXPECT_EQ(r.level, severity::none);
    EXPECT_EQ(r.z(), 0.0);
  }
  EXPECT_FALSE(d.update(1.0).warming_up);
}

TEST(anomaly, the_sigma_floor_stops_tiny_jitter_from_alarming) {
  detector_config c;
  c.warmup = 5;
  c.fire_after = 1;
  auto bare = make(c);
  c.min_sigma = 1.0;
  auto floored = make(c);
  for (int i = 0; i < 20; ++i) {
    bare.update(10);
    floored.update(10);
  }
  const auto r1 = bare.update(10.5);
  EXPECT_EQ(r1.level, severity::critical) << "no spread at all: any change is extreme";
  EXPECT_TRUE(std::isfinite(r1.z()));
  const auto r2 = floored.update(10.5);
  EXPECT_DOUBLE_EQ(r2.z(), 0.5);
  EXPECT_EQ(r2.level, severity::none);
}

TEST(anomaly, fires_after_k_bad_samples_and_clears_after_m_clean_ones) {
  detector_config c;  // fire_after 3, clear_after 5, warn 3, critical 4
  c.min_sigma = 1.0;
  auto d = steady(c);
  EXPECT_EQ(d.update(13.6).state, severity::none);
  EXPECT_EQ(d.update(13.6).state, severity::none);
  const auto fired = d.update(13.6);
  EXPECT_EQ(fired.state, severity::warn);
  EXPECT_TRUE(fired.changed);
  const auto worse = d.update(16);
  EXPECT_EQ(worse.level, severity::critical);
  EXPECT_EQ(worse.state, severity::critical);
  for (int i = 0; i < 4; ++i) {
    const auto r = d.update(10);
    EXPECT_EQ(r.state, severity::critical) << i;
    EXPECT_FALSE(r.changed);
  }
  const auto cleared = d.update(10);
  EXPECT_EQ(cleared.state, severity::none);
  EXPECT_TRUE(cleared.changed);
}

TEST(anomaly, a_broken_run_does_not_fire) {
  detector_config c;
  c.min_sigma = 1.0;
  auto d = steady(c);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(d.update(14).state, severity::none);
    EXPECT_EQ(d.update(14).state, severity::none);
    EXPECT_EQ(d.update(10).state, severity::none);
  }
}

TEST(anomaly, the_worst_sample_of_the_run_sets_the_severity) {
  detector_config c;
  c.min_sigma = 1.0;
  auto d = steady(c);
  d.update(13.5);
  d.update(20);
  EXPECT_EQ(d.update(13.5).state, severity::critical);
}

TEST(anomaly, watches_only_the_bad_side) {
  detector_config c;
  c.bad_side = direction::high;
  c.fire_after = 1;
  auto d = steady(c);
  EXPECT_EQ(d.update(2).level, severity::none) << "low latency is good news";
  EXPECT_EQ(d.update(18).level, severity::critical);
  c.bad_side = direction::low;
  auto s = steady(c);
  EXPECT_EQ(s.update(18).level, severity::none);
  EXPECT_EQ(s.update(2).level, severity::critical);
}

TEST(anomaly, an_incident_stays_out_of_the_baseline) {
  detector_config c;
  c.min_sigma = 1.0;
  auto d = steady(c);
  const double mean = d.mean();
  const double sigma = d.sigma();
  for (int i = 0; i < 100; ++i) {
    const auto r = d.update(30);
    if (i >= 2) {
      ASSERT_EQ(r.state, severity::critical) << i;
    }
  }
  EXPECT_EQ(d.mean(), mean);
  EXPECT_EQ(d.sigma(), sigma);
  EXPECT_EQ(d.samples(), 400U + 100U) << "still counted as samples";
}

TEST(anomaly, winsorized_outliers_move_the_baseline_slowly) {
  detector_config c;
  c.min_sigma = 1.0;
  c.outliers = keel::resilience::outlier_policy::winsorize;
  auto d = steady(c);
  const double mean = d.mean();
  const double var = d.sigma() * d.sigma();
  const double sigma = std::max(d.sigma(), 1.0);  // the floor applies
  d.update(30);
  // Joined as mean + 3 sigma, not as 30.
  const double dd = 3 * sigma;
  EXPECT_DOUBLE_EQ(d.mean(), mean + 0.05 * dd);
  EXPECT_DOUBLE_EQ(d.sigma() * d.sigma(), 0.95 * (var + dd * 0.05 * dd));
  // A level that stays anomalous is absorbed eventually (the price of adapting).
  for (int i = 0; i < 2000; ++i) d.update(30);
  EXPECT_EQ(d.state(), severity::none);
}

TEST(anomaly, rebaseline_forgets_everything) {
  detector_config c;
  c.min_sigma = 1.0;
  c.warmup = 10;
  auto d = steady(c);
  for (int i = 0; i < 3; ++i) d.update(30);
  ASSERT_NE(d.state(), severity::none);
  d.rebaseline();
  EXPECT_EQ(d.state(), severity::none);
  EXPECT_EQ(d.samples(), 0U);
  EXPECT_TRUE(d.update(30).warming_up);
  EXPECT_DOUBLE_EQ(d.mean(), 30);
}

TEST(anomaly, refuses_samples_outside_the_domain) {
  detector_config c;
  c.log_scale = true;
  auto d = make(c);
  d.update(std::numeric_limits<double>::quiet_NaN());
  d.update(std::numeric_limits<double>::infinity());
  d.update(0);
  d.update(-1);
  EXPECT_EQ(d.refused(), 4U);
  EXPECT_EQ(d.samples(), 0U);
  d.update(std::exp(2.0));
  EXPECT_DOUBLE_EQ(d.mean(), 2.0) << "log_scale scores log(x)";
}

TEST(anomaly, mad_scores_against_the_median_and_its_deviation) {
  detector_config c;
  c.kind = estimator::mad;
  c.mad_window = 9;
  c.warmup = 0;
  c.fire_after = 1;
  c.warn_z = 3.5;
  c.critical_z = 5;
  auto d = make(c);
  for (int i = 1; i <= 9; ++i) d.update(i);
  EXPECT_DOUBLE_EQ(d.mean(), 5);
  EXPECT_DOUBLE_EQ(d.sigma(), 1.4826 * 2);
  const auto r = d.update(20);  // median 5, MAD 2
  EXPECT_DOUBLE_EQ(r.z(), 15 / (1.4826 * 2));
  EXPECT_EQ(r.level, severity::critical);
  // The window slid: 1 left, 20 came in.
  EXPECT_DOUBLE_EQ(d.mean(), 6);
}

TEST(anomaly, mad_of_zero_falls_back_to_the_mean_absolute_deviation) {
  detector_config c;
  c.kind = estimator::mad;
  c.mad_window = 8;
  c.warmup = 0;
  c.fire_after = 1;
  c.warn_z = 3.5;
  auto d = make(c);
  for (int i = 0; i < 7; ++i) d.update(10);
  d.update(12);  // [10 x7, 12]: median 10, MAD 0, mean |x - 10| = 0.25
  const auto r = d.update(100);
  EXPECT_NEAR(r.z(), 90 / (1.253314 * 0.25), 1e-9);
  EXPECT_EQ(r.level, severity::critical);

  auto flat = make(c);
  for (int i = 0; i < 8; ++i) flat.update(10);
  const auto f = flat.update(10);
  EXPECT_EQ(f.z(), 0) << "no change from a flat window scores 0";
  EXPECT_EQ(flat.update(11).level, severity::critical);
  EXPECT_TRUE(std::isfinite(flat.update(11).z()));
}

TEST(anomaly, rejects_bad_configuration_naming_the_field) {
  auto expect_bad = [](detector_config c, std::string_view field) {
    auto d = anomaly_detector::create(std::move(c));
    ASSERT_FALSE(d) << field;
    EXPECT_EQ(d.code(), keel::errc::invalid_config);
    EXPECT_NE(d.error().message().find(field), std::string_view::npos) << d.error().message();
  };
  detector_config c;
  c.alpha = 1.0;
  expect_bad(c, "alpha");
  c = {};
  c.half_life = 0.5;
  expect_bad(c, "half_life");
  c = {};
  c.kind = estimator::mad;
  c.mad_window = 2;
  expect_bad(c, "mad_window");
  c = {};
  c.min_sigma = -1;
  expect_bad(c, "min_sigma");
  c = {};
  c.warn_z = 0;
  expect_bad(c, "warn_z");
  c = {};
  c.critical_z = 2;
  expect_bad(c, "critical_z");
  c = {};
  c.fire_after = 0;
  expect_bad(c, "fire_after");
  c = {};
  c.clear_after = 0;
  expect_bad(c, "clear_after");
  peer_config p;
  p.min_peers = 1;
  EXPECT_NE(p.validate().message().find("min_peers"), std::string_view::npos);
  p = {};
  p.max_fraction = 0;
  EXPECT_NE(p.validate().message().find("max_fraction"), std::string_view::npos);
  p = {};
  p.stdev_factor = -1;
  EXPECT_NE(p.validate().message().find("stdev_factor"), std::string_view::npos);
}

std::vector<peer_sample> replicas(std::size_t n, double rate = 0.99) {
  std::vector<peer_sample> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = {rate + (i % 2 == 0 ? 0.001 : -0.001), 1000};
  return v;
}

TEST(peers, names_the_replica_far_below_the_group) {
  auto v = replicas(10);
  v[6].value = 0.5;
  std::array<std::size_t, 4> out{};
  const peer_config cfg;  // 1.9 stdev, 5 peers, 100 requests, 10 %
  ASSERT_EQ(peer_outliers(v, cfg, out), 1U);
  EXPECT_EQ(out[0], 6U);
}

TEST(peers, needs_enough_peers_with_enough_volume) {
  auto v = replicas(10);
  v[6].value = 0.5;
  for (std::size_t i = 0; i < 6; ++i) v[i].requests = 99;  // 4 qualify: fewer than 5
  std::array<std::size_t, 4> out{};
  EXPECT_EQ(peer_outliers(v, peer_config{}, out), 0U);
  v[0].requests = 100;  // 5 qualify
  EXPECT_EQ(peer_outliers(v, peer_config{}, out), 1U);
  v[6].requests = 10;  // the bad one has too little volume to judge
  EXPECT_EQ(peer_outliers(v, peer_config{}, out), 0U);
}

TEST(peers, names_at_most_the_allowed_fraction_worst_first) {
  auto v = replicas(20);
  v[3].value = 0.7;
  v[11].value = 0.2;
  v[17].value = 0.5;
  peer_config cfg;
  cfg.stdev_factor = 1.0;
  std::array<std::size_t, 8> out{};
  ASSERT_EQ(peer_outliers(v, cfg, out), 2U);  // 10 % of 20
  EXPECT_EQ(out[0], 11U);
  EXPECT_EQ(out[1], 17U);
  cfg.max_fraction = 0.01;  // still at least one
  ASSERT_EQ(peer_outliers(v, cfg, out), 1U);
  EXPECT_EQ(out[0], 11U);
  cfg.max_fraction = 1;
  EXPECT_EQ(peer_outliers(v, cfg, std::span<std::size_t>(out).first(1)), 1U) << "out's size caps";
}

TEST(peers, flags_high_values_when_high_is_bad_and_nobody_in_a_uniform_group) {
  auto v = replicas(10, 0.010);  // latencies around 10 ms
  v[2].value = 0.080;
  peer_config cfg;
  cfg.high_is_bad = true;
  std::array<std::size_t, 4> out{};
  ASSERT_EQ(peer_outliers(v, cfg, out), 1U);
  EXPECT_EQ(out[0], 2U);
  std::vector<peer_sample> same(10, peer_sample{0.5, 1000});
  EXPECT_EQ(peer_outliers(same, peer_config{}, out), 0U);
}

}  // namespace
