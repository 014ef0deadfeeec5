// keel::observe::exposition: writes the Prometheus text exposition format (version 0.0.4).
// Each family gets its # HELP and # TYPE lines once, then its samples, together (the format
// wants a family's samples in one group); label values are escaped (\\, \", \n); a counter's
// name must end in _total; a histogram is written as cumulative _bucket{le="..."} samples
// ending with le="+Inf", then _sum and _count. Names are checked against the format's grammar
// and a family may be started once: a bad name or a repeated family is an error, never a
// malformed page.
//
// keel's own families (export_system) are labelled by actor type and by worker, never by actor
// instance: an instance label would grow without bound.
//
// Threads: an exposition is a plain value, used by one thread at a time.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <keel/base/status.h>
#include <keel/observe/histogram.h>

namespace keel {
class actor_system;
}

namespace keel::observe {

enum class metric_kind : std::uint8_t { counter, gauge, histogram };

struct label {
  std::string_view name;
  std::string_view value;
};

// The bucket bounds keel exports histograms of nanoseconds with, in seconds: 1 us to 10 s.
inline constexpr double k_default_buckets_s[] = {1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3,
                                                 1e-2, 5e-2, 0.1,  0.5,  1,    5,    10};

class exposition {
 public:
  // Starts family `name`. errc::invalid_argument for a name outside [a-zA-Z_:][a-zA-Z0-9_:]*,
  // a counter whose name does not end in _total, or a family already written.
  status family(std::string_view name, metric_kind kind, std::string_view help);
  // A sample of the current counter or gauge family. errc::invalid_argument without a family,
  // in a histogram family, or with a label name outside [a-zA-Z_][a-zA-Z0-9_]* (or "le").
  status sample(std::initializer_list<label> labels, double value);
  status sample(std::span<const label> labels, double value);
  // A histogram of the current histogram family, from values in `unit_s` seconds each (1e-9 for
  // nanoseconds), in the buckets `bounds_s` (seconds, increasing).
  status histogram(std::span<const label> labels, const histogram_snapshot& h, double unit_s,
                   std::span<const double> bounds_s = k_default_buckets_s);

  const std::string& text() const noexcept { return out_; }

 private:
  status labels_ok(std::span<const label> labels) const;
  void write_labels(std::span<const label> labels, const label* extra);
  std::string out_;
  std::string current_;
  metric_kind kind_ = metric_kind::counter;
  std::set<std::string, std::less<>> seen_;
};

// Appends keel's own families for `sys` to `e`: per actor type, messages received and sent,
// failures, dead letters, spawned and stopped actors and the actors running; per worker,
// activations, steals, parks, wake-ups and busy seconds. Any thread (the counters are read
// relaxed: a page is a moment's picture, each counter exact, not all at one instant).
status export_system(actor_system& sys, exposition& e);

}  // namespace keel::observe
