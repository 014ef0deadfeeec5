#include "load.h"

#include <algorithm>
#include <cmath>

namespace keel_demo {

load_driver::load_driver(keel::actor_ref<gateway> target, double rate,
                         std::chrono::milliseconds duration, std::uint64_t seed, bool chaos)
    : gateway_(target),
      rate_(rate),
      duration_ns_(static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(duration).count())),
      total_(static_cast<std::uint64_t>(
          std::llround(rate * std::chrono::duration<double>(duration).count()))),
      rng_(seed),
      faults_(chaos, total_) {}

void load_driver::on_start() {
  start_ns_ = now();
  // One tick per order at low rates; at high rates one every millisecond (the timer wheel's
  // resolution), each sending the orders due since the last.
  const double per_order_ns = 1e9 / rate_;
  const auto period =
      std::chrono::nanoseconds(static_cast<std::int64_t>(std::clamp(per_order_ns, 1e6, 2e7)));
  timer_ = send_periodic(self(), period, load_tick{});
}

void load_driver::on_stop() { timer_.cancel(); }

std::uint64_t load_driver::due(std::uint64_t elapsed_ns) const noexcept {
  if (elapsed_ns >= duration_ns_) return total_;
  const double n = std::floor(rate_ * static_cast<double>(elapsed_ns) / 1e9);
  return std::min(total_, static_cast<std::uint64_t>(n));
}

void load_driver::on(load_tick&) {
  if (status_.done) return;
  const std::uint64_t elapsed = now() - start_ns_;
  for (std::uint64_t n = due(elapsed); status_.sent + status_.send_failures < n;) {
    if (send_new_correlation(gateway_, next_order()) == keel::send_status::ok) {
      ++status_.sent;
    } else {
      ++status_.send_failures;
    }
  }
  status_.elapsed_ns = elapsed;
  if (elapsed >= duration_ns_) {
    status_.done = true;
    timer_.cancel();
  }
}

place_order load_driver::next_order() noexcept {
  place_order p;
  p.customer = static_cast<std::uint64_t>(rng_.between(1, 10'000));
  p.amount_cents = rng_.between(100, 50'000);  // 1.00 to 500.00
  if (chance(rng_.next(), k_invalid_per_10k)) {
    switch (rng_.next() % 3) {
      case 0:
        p.customer = 0;
        break;
      case 1:
        p.amount_cents = -p.amount_cents / 2;  // 0 or below
        break;
      default:
        p.amount_cents += k_max_amount_cents;
        break;
    }
  }
  p.card = rng_.next();
  p.chaos = faults_.choose(status_.sent + status_.send_failures, p, rng_);
  return p;
}

}  // namespace keel_demo
