// breaker_config::validate and the names of the breaker's enums.
#include <bit>
#include <cmath>
#include <string>

#include <keel/resilience/breaker_record.h>
#include <keel/resilience/circuit_breaker.h>

namespace keel::resilience {
namespace {

status bad(std::string_view field, std::string_view why) {
  return status(errc::invalid_config,
                "breaker_config::" + std::string(field) + " " + std::string(why));
}

bool in_unit_interval(double v) noexcept { return std::isfinite(v) && v > 0.0 && v <= 1.0; }

}  // namespace

status breaker_config::validate() const {
  if (name.size() > k_breaker_name_max) return bad("name", "is longer than 64 bytes");
  if (window == window_kind::time_based) {
    if (window_buckets < 1 || window_buckets > 1024)
      return bad("window_buckets", "must be 1..1024");
    // A bucket counts in 32 bits: a minute at most keeps that out of reach.
    if (bucket_width < std::chrono::milliseconds(1) || bucket_width > std::chrono::seconds(60)) {
      return bad("bucket_width", "must be 1 ms..60 s");
    }
  } else {
    // 16-bit running totals, with room for the calls in flight.
    if (window_calls < 1 || window_calls > 60000) return bad("window_calls", "must be 1..60000");
    if (min_calls > window_calls) {
      return bad("min_calls", "is larger than window_calls: the window could never judge a rate");
    }
  }
  if (min_calls < 1) return bad("min_calls", "must be >= 1");
  if (!in_unit_interval(failure_ratio)) return bad("failure_ratio", "must be in (0, 1]");
  if (slow_call_threshold.count() < 0) return bad("slow_call_threshold", "must be >= 0");
  if (!in_unit_interval(slow_call_ratio)) return bad("slow_call_ratio", "must be in (0, 1]");
  if (open_base < std::chrono::milliseconds(1)) return bad("open_base", "must be >= 1 ms");
  if (!std::isfinite(open_multiplier) || open_multiplier < 1.0) {
    return bad("open_multiplier", "must be >= 1");
  }
  if (open_max < open_base) return bad("open_max", "must be >= open_base");
  // Deadlines are kept in 32 bits of 2^20 ns and compared by signed difference.
  if (open_max > std::chrono::hours(24 * 20)) return bad("open_max", "must be <= 20 days");
  if (!std::isfinite(jitter) || jitter < 0.0 || jitter > 1.0)
    return bad("jitter", "must be in [0, 1]");
  if (half_open_permits < 1 || half_open_permits > 255) {
    return bad("half_open_permits", "must be 1..255");
  }
  if (event_capacity < 2 || !std::has_single_bit(event_capacity)) {
    return bad("event_capacity", "must be a power of two >= 2");
  }
  for (errc e : ignored_errors) {
    if (e == errc::ok) return bad("ignored_errors", "lists ok, which is a success");
  }
  return status::ok();
}

std::string_view to_string(breaker_state s) noexcept {
  switch (s) {
    case breaker_state::closed:
      return "closed";
    case breaker_state::open:
      return "open";
    case breaker_state::half_open:
      return "half_open";
    case breaker_state::forced_open:
      return "forced_open";
    case breaker_state::disabled:
      return "disabled";
    case breaker_state::metrics_only:
      return "metrics_only";
  }
  return "unknown";
}

std::string_view to_string(call_outcome o) noexcept {
  switch (o) {
    case call_outcome::success:
      return "success";
    case call_outcome::failure:
      return "failure";
    case call_outcome::timeout:
      return "timeout";
    case call_outcome::ignored:
      return "ignored";
    case call_outcome::cancelled:
      return "cancelled";
  }
  return "unknown";
}

}  // namespace keel::resilience
