// keel::resilience::anomaly_detector: tells whether a signal (a latency, an error rate, a
// mailbox age, a depth) has left its usual range, from one sample per interval.
//
// Each sample is scored against the baseline *before* it joins it: z = (x - mean) / sigma for the
// EWMA estimator (exponentially weighted mean and variance), or the modified z
// 0.6745 * (x - median) / MAD over the last `mad_window` samples for the robust estimator
// (research/resilience.md §3). sigma is never below `min_sigma`. No sample raises an alarm
// during the warm-up. Past it, an anomalous sample (|z| >= warn_z) is kept out of the EWMA
// baseline (or, with outliers = winsorize, joins it clamped to mean +- warn_z * sigma), so a long
// incident does not become the new normal; `rebaseline()` starts over when the operator says the
// new level is normal.
//
// Hysteresis: the detector fires after `fire_after` anomalous samples in a row and clears after
// `clear_after` clean ones in a row; while it fires, its severity is warn or critical, from the
// worst of the samples in the current anomalous run.
//
// Thread safety: one writer (update, rebaseline); the accessors read plain fields, so a reader
// on another thread needs the writer's synchronisation. Allocation: create() allocates the MAD
// window; update() allocates nothing and takes no lock.
#pragma once

#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <keel/base/result.h>
#include <keel/base/status.h>

namespace keel::resilience {

enum class severity : std::uint8_t { none = 0, warn = 1, critical = 2 };
std::string_view to_string(severity s) noexcept;

namespace detail {
// An atomic that can be moved (for a single-writer field other threads read): the move copies
// the value. REQUIRES: nothing writes either side during a move.
template <class T>
struct movable_atomic {
  std::atomic<T> v;
  movable_atomic(T x = T{}) noexcept : v(x) {}  // NOLINT(google-explicit-constructor)
  movable_atomic(movable_atomic&& o) noexcept : v(o.v.load(std::memory_order_relaxed)) {}
  movable_atomic& operator=(movable_atomic&& o) noexcept {
    v.store(o.v.load(std::memory_order_relaxed), std::memory_order_relaxed);
    return *this;
  }
};
}  // namespace detail

enum class estimator : std::uint8_t {
  ewma,  // mean and variance, exponentially weighted (O(1) per sample)
  mad,   // median and median absolute deviation of the last mad_window samples (O(window))
};

// What an anomalous EWMA sample does to the baseline.
enum class outlier_policy : std::uint8_t {
  exclude,    // nothing: the baseline stays where it was (a level shift needs rebaseline())
  winsorize,  // it joins clamped to mean +- warn_z * sigma: the baseline adapts, slowly
};

// Which side of the baseline is bad.
enum class direction : std::uint8_t { both, high, low };

struct detector_config {
  std::string name;  // the signal, for findings
  estimator kind = estimator::ewma;
  // EWMA weight of a new sample, (0, 1). 0: derived from half_life.
  double alpha = 0.0;
  // The number of samples after which an old sample's weight has halved (alpha = 1 -
  // 2^(-1/half_life)); used when alpha is 0. >= 1.
  double half_life = 30.0;
  std::uint32_t mad_window = 64;  // robust estimator: samples kept, 3..4096
  std::uint32_t warmup = 30;      // samples before any alarm
  double min_sigma = 0.0;         // floor on sigma (and on the MAD's scale), in signal units; >= 0
  double warn_z = 3.0;            // |z| at or above: anomalous (mad: 3.5 is the usual choice)
  double critical_z = 4.0;        // >= warn_z
  direction bad_side = direction::both;
  outlier_policy outliers = outlier_policy::exclude;
  std::uint32_t fire_after = 3;   // anomalous samples in a row to fire; >= 1
  std::uint32_t clear_after = 5;  // clean samples in a row to clear; >= 1
  // Score log(x) instead of x (latencies are heavy-tailed); samples must then be > 0.
  bool log_scale = false;

  // errc::invalid_config naming the field, or OK.
  status validate() const;
};

// What one sample did.
struct detector_result {
  // Its score, computed on demand from the two fields below (the update itself needs no square
  // root): 0 during the warm-up, capped at +-1e6 when the baseline has no spread at all.
  double z() const noexcept {
    if (variance > 0) {
      const double v = deviation / std::sqrt(variance);
      return v > 1e6 ? 1e6 : (v < -1e6 ? -1e6 : v);
    }
    return deviation == 0 ? 0.0 : (deviation > 0 ? 1e6 : -1e6);
  }
  double deviation = 0.0;           // the sample minus the baseline's centre (mean or median)
  double variance = 0.0;            // the baseline's effective sigma, squared (after the floor)
  severity level = severity::none;  // its own severity, before hysteresis
  severity state = severity::none;  // the detector's after it
  bool changed = false;             // state differs from before this sample
  bool warming_up = false;
};

class anomaly_detector {
 public:
  // errc::invalid_config naming the field for a bad configuration.
  static result<anomaly_detector> create(detector_config cfg);
  anomaly_detector(anomaly_detector&&) noexcept = default;
  anomaly_detector& operator=(anomaly_detector&&) noexcept = default;
  ~anomaly_detector();

  // Scores `x`, then adds it to the baseline. A non-finite x (or x <= 0 with log_scale) is
  // refused: nothing changes and the result says none. REQUIRES: the writer thread.
  detector_result update(double x) noexcept {
    // Fast path: EWMA, past the warm-up, not firing, and a finite sample well inside the normal
    // range (compared squared: no square root or division per sample). Everything else --
    // warm-up, anomalies, an alarm to clear, MAD, log scale, bad input -- goes the slow way.
    if (!quiet_ || !(x - x == 0)) return update_slow(x);
    const double var = var_ > min_var_ ? var_ : min_var_;
    const double d = x - mean_;
    if (!(d * d < fast_limit_ * var)) return update_slow(x);
    detector_result r;
    r.deviation = d;
    r.variance = var;
    // mean + alpha * d, written so that only one multiply and one add depend on the previous
    // mean (the loop-carried chain); the variance update is stdlib.io's incr/ewvariance.
    mean_ = keep_ * mean_ + alpha_ * x;
    var_ = keep_ * (var_ + alpha_ * d * d);
    ++samples_;
    bad_run_ = 0;  // a run of anomalous samples too short to fire is broken
    return r;
  }

  // Forgets the baseline and the alarm state: the next samples are a new warm-up.
  void rebaseline() noexcept;

  // Any thread (a relaxed read: the emergency monitor reads it while the writer updates).
  severity state() const noexcept { return state_.v.load(std::memory_order_relaxed); }
  std::uint64_t samples() const noexcept { return samples_; }  // since the last rebaseline
  std::uint64_t refused() const noexcept { return refused_; }  // non-finite or out-of-domain
  // EWMA: the baseline's mean and standard deviation (in log units with log_scale); mad: the
  // window's median and MAD-derived sigma (1.4826 * MAD), computed on demand.
  double mean() const noexcept;
  double sigma() const noexcept;
  const detector_config& config() const noexcept { return cfg_; }

 private:
  explicit anomaly_detector(detector_config cfg);
  detector_result update_slow(double x) noexcept;
  // Each scores x (its deviation and squared sigma into r), then adds it to the baseline.
  void score_ewma(double x, detector_result& r) noexcept;
  void score_mad(double x, detector_result& r) noexcept;
  severity classify(double z) const noexcept;

  detector_config cfg_;
  double alpha_ = 0.0;
  double keep_ = 1.0;        // 1 - alpha
  bool fast_ = false;        // EWMA without log scale
  bool quiet_ = false;       // fast_, past the warm-up and not firing: update's fast path
  double min_var_ = 0.0;     // min_sigma squared
  double fast_limit_ = 0.0;  // warn_z squared, a hair under (ties go the slow, exact way)
  double mean_ = 0.0;
  double var_ = 0.0;
  std::uint64_t samples_ = 0;
  std::uint64_t refused_ = 0;
  std::uint32_t bad_run_ = 0;
  std::uint32_t clean_run_ = 0;
  // The alarm state: written by the writer only (relaxed: a reader wants the latest value, no
  // data is published through it).
  detail::movable_atomic<severity> state_{severity::none};
  severity run_worst_ = severity::none;
  // mad: the ring of the last samples and a scratch copy for nth_element.
  std::unique_ptr<double[]> ring_;
  std::unique_ptr<double[]> scratch_;
  std::uint32_t ring_used_ = 0;
  std::uint32_t ring_next_ = 0;
};

// ---- peer comparison (Envoy's success-rate outlier detection) --------------------------------

struct peer_sample {
  double value = 0.0;          // e.g. the peer's success rate over the interval
  std::uint64_t requests = 0;  // its volume over the interval
};

struct peer_config {
  // A peer takes part with at least this many requests; the comparison runs only when at least
  // min_peers take part.
  std::uint64_t request_volume = 100;
  std::uint32_t min_peers = 5;
  double stdev_factor = 1.9;  // outlier: value < mean - factor * stdev (or > for high_is_bad)
  bool high_is_bad = false;   // false: a low value is bad (success rate); true: latency
  double max_fraction = 0.1;  // at most this share of the group is named (at least one); (0, 1]

  status validate() const;
};

// Writes the indices of the outliers among `peers` into `out`, worst first, and returns how
// many: at most max(1, floor(max_fraction * peers.size())) and at most out.size(). Zero when
// fewer than min_peers qualify. Allocates nothing; any thread.
std::size_t peer_outliers(std::span<const peer_sample> peers, const peer_config& cfg,
                          std::span<std::size_t> out) noexcept;

}  // namespace keel::resilience
