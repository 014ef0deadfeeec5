// anomaly_detector: EWMA and median/MAD scoring with warm-up, a sigma floor, winsorizing and
// hysteresis (research/resilience.md §3.1-3.2).
#include <algorithm>
#include <cmath>
#include <string>

#include <keel/resilience/anomaly_detector.h>

namespace keel::resilience {
namespace {

constexpr double k_mad_to_sigma = 1.4826;       // sigma of a normal = 1.4826 * MAD
constexpr double k_meanad_to_sigma = 1.253314;  // sigma of a normal = 1.2533 * mean |x - median|

status bad(std::string_view field, std::string_view why) {
  return status(errc::invalid_config,
                "detector_config::" + std::string(field) + " " + std::string(why));
}

// The median of v[0, n) (reorders v). REQUIRES: n >= 1.
double median_of(double* v, std::uint32_t n) noexcept {
  double* mid = v + n / 2;
  std::nth_element(v, mid, v + n);
  if (n % 2 == 1) return *mid;
  const double lower = *std::max_element(v, mid);
  return (lower + *mid) / 2;
}

}  // namespace

status detector_config::validate() const {
  if (alpha != 0.0 && !(std::isfinite(alpha) && alpha > 0.0 && alpha < 1.0)) {
    return bad("alpha", "must be in (0, 1), or 0 to derive it from half_life");
  }
  if (alpha == 0.0 && !(std::isfinite(half_life) && half_life >= 1.0)) {
    return bad("half_life", "must be >= 1 sample");
  }
  if (kind == estimator::mad && (mad_window < 3 || mad_window > 4096)) {
    return bad("mad_window", "must be 3..4096");
  }
  if (!(std::isfinite(min_sigma) && min_sigma >= 0.0)) return bad("min_sigma", "must be >= 0");
  if (!(std::isfinite(warn_z) && warn_z > 0.0)) return bad("warn_z", "must be > 0");
  if (!(std::isfinite(critical_z) && critical_z >= warn_z)) {
    return bad("critical_z", "must be >= warn_z");
  }
  if (fire_after < 1) return bad("fire_after", "must be >= 1");
  if (clear_after < 1) return bad("clear_after", "must be >= 1");
  return status::ok();
}

std::string_view to_string(severity s) noexcept {
  switch (s) {
    case severity::none:
      return "none";
    case severity::warn:
      return "warn";
    case severity::critical:
      return "critical";
  }
  return "unknown";
}

result<anomaly_detector> anomaly_detector::create(detector_config cfg) {
  if (auto st = cfg.validate(); !st) return st;
  return anomaly_detector(std::move(cfg));
}

anomaly_detector::anomaly_detector(detector_config cfg) : cfg_(std::move(cfg)) {
  alpha_ = cfg_.alpha != 0.0 ? cfg_.alpha : 1.0 - std::exp2(-1.0 / cfg_.half_life);
  keep_ = 1.0 - alpha_;
  fast_ = cfg_.kind == estimator::ewma && !cfg_.log_scale;
  min_var_ = cfg_.min_sigma * cfg_.min_sigma;
  fast_limit_ = cfg_.warn_z * cfg_.warn_z * (1.0 - 1e-9);
  if (cfg_.kind == estimator::mad) {
    ring_ = std::make_unique<double[]>(cfg_.mad_window);
    scratch_ = std::make_unique<double[]>(cfg_.mad_window);
  }
}

anomaly_detector::~anomaly_detector() = default;

severity anomaly_detector::classify(double z) const noexcept {
  if (cfg_.bad_side == direction::high && z <= 0) return severity::none;
  if (cfg_.bad_side == direction::low && z >= 0) return severity::none;
  const double a = std::fabs(z);
  if (a >= cfg_.critical_z) return severity::critical;
  if (a >= cfg_.warn_z) return severity::warn;
  return severity::none;
}

detector_result anomaly_detector::update_slow(double x) noexcept {
  detector_result r;
  if (!std::isfinite(x) || (cfg_.log_scale && x <= 0)) {
    ++refused_;
    r.state = state();
    return r;
  }
  if (cfg_.log_scale) x = std::log(x);
  const bool warm = samples_ < cfg_.warmup;
  if (cfg_.kind == estimator::ewma) {
    score_ewma(x, r);
  } else {
    score_mad(x, r);
  }
  ++samples_;
  r.warming_up = warm;
  if (warm) r.deviation = 0.0;
  r.level = warm ? severity::none : classify(r.z());

  const severity before = state();
  severity st = before;
  if (r.level != severity::none) {
    if (bad_run_ == 0 && st == severity::none) run_worst_ = severity::none;  // a new run
    ++bad_run_;
    clean_run_ = 0;
    run_worst_ = std::max(run_worst_, r.level);
    if (st != severity::none) {
      st = std::max(st, r.level);
    } else if (bad_run_ >= cfg_.fire_after) {
      st = run_worst_;
    }
  } else {
    ++clean_run_;
    bad_run_ = 0;
    if (st != severity::none && clean_run_ >= cfg_.clear_after) st = severity::none;
  }
  if (st != before) state_.v.store(st, std::memory_order_relaxed);
  r.state = st;
  r.changed = st != before;
  quiet_ = fast_ && samples_ >= cfg_.warmup && st == severity::none;
  return r;
}

void anomaly_detector::score_ewma(double x, detector_result& r) noexcept {
  if (samples_ == 0) {
    mean_ = x;
    var_ = 0.0;
    return;
  }
  const double sigma = std::max(std::sqrt(var_), cfg_.min_sigma);
  const double d = x - mean_;
  r.deviation = d;
  r.variance = sigma * sigma;
  const double z = r.z();
  // Past the warm-up an anomalous sample is kept out of the baseline, or joins it at the edge
  // of the normal range, so an incident does not drag the baseline along with it.
  double xb = x;
  if (samples_ >= cfg_.warmup && std::fabs(z) >= cfg_.warn_z) {
    if (cfg_.outliers == outlier_policy::exclude || sigma == 0) return;
    xb = mean_ + std::copysign(cfg_.warn_z * sigma, d);
  }
  const double db = xb - mean_;
  mean_ = keep_ * mean_ + alpha_ * xb;  // the same arithmetic as the inline fast path
  var_ = keep_ * (var_ + alpha_ * db * db);
}

void anomaly_detector::score_mad(double x, detector_result& r) noexcept {
  const std::uint32_t n = ring_used_;
  if (n > 0) {
    std::copy(ring_.get(), ring_.get() + n, scratch_.get());
    const double med = median_of(scratch_.get(), n);
    double mean_abs = 0.0;
    for (std::uint32_t i = 0; i < n; ++i) {
      scratch_[i] = std::fabs(ring_[i] - med);
      mean_abs += scratch_[i];
    }
    const double mad = median_of(scratch_.get(), n);
    // MAD is 0 when more than half the window is one value: fall back to the mean absolute
    // deviation, then to the floor.
    double sigma = mad > 0 ? k_mad_to_sigma * mad : k_meanad_to_sigma * (mean_abs / n);
    sigma = std::max(sigma, cfg_.min_sigma);
    r.deviation = x - med;
    r.variance = sigma * sigma;
  }
  ring_[ring_next_] = x;
  ring_next_ = ring_next_ + 1 == cfg_.mad_window ? 0 : ring_next_ + 1;
  if (ring_used_ < cfg_.mad_window) ++ring_used_;
}

void anomaly_detector::rebaseline() noexcept {
  mean_ = 0.0;
  var_ = 0.0;
  samples_ = 0;
  bad_run_ = 0;
  clean_run_ = 0;
  state_.v.store(severity::none, std::memory_order_relaxed);
  run_worst_ = severity::none;
  ring_used_ = 0;
  ring_next_ = 0;
  quiet_ = false;
}

double anomaly_detector::mean() const noexcept {
  if (cfg_.kind == estimator::ewma || ring_used_ == 0) return mean_;
  std::copy(ring_.get(), ring_.get() + ring_used_, scratch_.get());
  return median_of(scratch_.get(), ring_used_);
}

double anomaly_detector::sigma() const noexcept {
  if (cfg_.kind == estimator::ewma) return std::sqrt(var_);
  if (ring_used_ == 0) return 0.0;
  const double med = mean();
  for (std::uint32_t i = 0; i < ring_used_; ++i) scratch_[i] = std::fabs(ring_[i] - med);
  return k_mad_to_sigma * median_of(scratch_.get(), ring_used_);
}

// ---- peer comparison ---------------------------------------------------------------------

status peer_config::validate() const {
  if (min_peers < 2) {
    return status(errc::invalid_config, "peer_config::min_peers must be >= 2");
  }
  if (!(std::isfinite(stdev_factor) && stdev_factor > 0)) {
    return status(errc::invalid_config, "peer_config::stdev_factor must be > 0");
  }
  if (!(std::isfinite(max_fraction) && max_fraction > 0 && max_fraction <= 1)) {
    return status(errc::invalid_config, "peer_config::max_fraction must be in (0, 1]");
  }
  return status::ok();
}

std::size_t peer_outliers(std::span<const peer_sample> peers, const peer_config& cfg,
                          std::span<std::size_t> out) noexcept {
  // Welford over the peers with enough volume.
  std::uint64_t n = 0;
  double mean = 0.0;
  double m2 = 0.0;
  for (const peer_sample& p : peers) {
    if (p.requests < cfg.request_volume || !std::isfinite(p.value)) continue;
    ++n;
    const double d = p.value - mean;
    mean += d / static_cast<double>(n);
    m2 += d * (p.value - mean);
  }
  if (n < cfg.min_peers || n == 0) return 0;
  const double stdev = std::sqrt(m2 / static_cast<double>(n));
  const double threshold =
      cfg.high_is_bad ? mean + cfg.stdev_factor * stdev : mean - cfg.stdev_factor * stdev;
  const auto by_fraction =
      static_cast<std::size_t>(cfg.max_fraction * static_cast<double>(peers.size()));
  const std::size_t limit = std::min(std::max<std::size_t>(by_fraction, 1), out.size());
  // How far past the threshold: larger is worse.
  auto badness = [&](const peer_sample& p) {
    return cfg.high_is_bad ? p.value - threshold : threshold - p.value;
  };
  std::size_t found = 0;
  for (std::size_t i = 0; i < peers.size(); ++i) {
    const peer_sample& p = peers[i];
    if (p.requests < cfg.request_volume || !std::isfinite(p.value)) continue;
    if (badness(p) <= 0) continue;
    // Insert by badness, keeping the `limit` worst.
    std::size_t at = found;
    while (at > 0 && badness(peers[out[at - 1]]) < badness(p)) --at;
    if (at >= limit) continue;
    const std::size_t end = std::min(found + 1, limit);
    for (std::size_t j = end - 1; j > at; --j) out[j] = out[j - 1];
    out[at] = i;
    found = end;
  }
  return found;
}

}  // namespace keel::resilience
