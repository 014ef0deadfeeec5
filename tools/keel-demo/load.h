// load_driver: sends a steady stream of orders to the gateway, `rate` a second for `duration`,
// then stops sending. It paces itself with a periodic timer (send_periodic to itself, 1 to 20 ms
// apart) and sends, at each tick, the orders due since the start: a late tick catches up, so
// the run sends exactly round(rate * duration) orders whatever the timer's jitter.
//
// The order stream comes from a xoshiro256** stream seeded with --seed: amounts, customers,
// cards (about 1% declined), which orders are invalid (about 2%, of three kinds the validators
// catch) and, with --chaos on, which carry a fault (faults.h). Each order starts a correlation
// of its own (send_new_correlation): `keel-log trace --corr` follows one order.
//
// Threading: a keel actor; its state is touched only by its handlers.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "faults.h"
#include "gateway.h"
#include "messages.h"
#include "random.h"

#include <keel/core/actor.h>
#include <keel/core/timer.h>

namespace keel_demo {

// Invalid orders, in ten-thousandths of the orders sent.
inline constexpr std::uint32_t k_invalid_per_10k = 200;

class load_driver : public keel::actor<load_driver, load_tick, load_status_query> {
 public:
  static constexpr std::string_view keel_name = "demo.load";

  // REQUIRES: rate > 0, duration > 0.
  load_driver(keel::actor_ref<gateway> target, double rate, std::chrono::milliseconds duration,
              std::uint64_t seed, bool chaos);

  void on_start() override;  // starts the pacing timer
  void on_stop() override;   // cancels it if the run was cut short

  void on(load_tick&);
  void on(load_status_query&) { reply(status_); }

 private:
  // The number of orders due `elapsed_ns` after the start.
  std::uint64_t due(std::uint64_t elapsed_ns) const noexcept;
  place_order next_order() noexcept;

  keel::actor_ref<gateway> gateway_;
  double rate_;
  std::uint64_t duration_ns_;
  std::uint64_t total_;  // orders to send in all
  prng rng_;
  fault_plan faults_;
  std::uint64_t start_ns_ = 0;
  keel::timer_handle timer_;
  load_status status_;
};

}  // namespace keel_demo
