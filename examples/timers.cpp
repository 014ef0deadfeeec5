// timers: send_after, send_periodic and cancel. Timers run on the scheduler's timer wheel (no
// thread per timer) and deliver ordinary messages; a cancelled timer never delivers.
#include <chrono>
#include <cstdio>
#include <thread>

#include <keel/keel.h>

using namespace std::chrono_literals;

struct tick {
  static constexpr std::string_view keel_name = "timers.tick/1";
};
struct stop_ticking {
  static constexpr std::string_view keel_name = "timers.stop_ticking/1";
};
struct never {  // scheduled, then cancelled before it is due
  static constexpr std::string_view keel_name = "timers.never/1";
};
struct get {
  static constexpr std::string_view keel_name = "timers.get/1";
};
struct report {
  static constexpr std::string_view keel_name = "timers.report/1";
  int ticks = 0;
  bool stopped = false;
  bool cancelled = false;  // what cancel() returned for the `never` timer
  bool never_arrived = true;
};

class ticker : public keel::actor<ticker, tick, stop_ticking, never, get> {
 public:
  static constexpr std::string_view keel_name = "timers.ticker";

  void on_start() override {
    periodic_ = send_periodic(self(), 10ms, tick{});  // every 10 ms, first after 10 ms
    (void)send_after(self(), 55ms, stop_ticking{});   // once, in 55 ms
    keel::timer_handle doomed = send_after(self(), 20ms, never{});
    r_.cancelled = doomed.cancel();  // true: it had not fired, and now never will
  }
  void on(tick&) { ++r_.ticks; }
  void on(stop_ticking&) {
    periodic_.cancel();  // idempotent: cancelling twice is fine
    r_.stopped = true;
  }
  void on(never&) { r_.never_arrived = false; }
  void on(get&) { reply(r_); }

 private:
  keel::timer_handle periodic_;  // dropping a handle does not cancel its timer
  report r_;
};

int main() {
  auto sys = keel::actor_system::create(keel::system_config{}).value();
  auto t = sys->spawn<ticker>().value();
  report r;
  for (int i = 0; i < 500 && !r.stopped; ++i) {  // up to 5 s on a loaded machine
    std::this_thread::sleep_for(10ms);
    r = t.ask<report>(get{}, 1s).value();
  }
  std::this_thread::sleep_for(50ms);  // time for a tick after the cancel, if there were one
  const report after = t.ask<report>(get{}, 1s).value();
  std::printf("ticks before stop: %d, after: %d; cancel() %s, the cancelled timer %s\n", r.ticks,
              after.ticks, after.cancelled ? "true" : "false",
              after.never_arrived ? "never delivered" : "DELIVERED");
  sys->shutdown();
  return r.stopped && r.ticks >= 1 && after.ticks == r.ticks && after.cancelled &&
                 after.never_arrived
             ? 0
             : 1;
}
