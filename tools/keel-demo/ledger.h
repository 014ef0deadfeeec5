// ledger: the book of record. Every order ends here at most once, as a commit (valid and paid),
// a rejection (invalid), a decline (payment refused) or a loss (the next stage was down); the
// orders lost inside a failing actor never reach it (summary.h counts them from keel's
// counters). The ledger keeps the totals and the latency of committed orders (gateway receive ->
// ledger commit). ledger_query asks for them. It is not in the supervision tree: a restart would
// lose its totals (an event-sourced ledger comes with the event log).
//
// Threading: a keel actor; its state is touched only by its handlers.
#pragma once

#include <cstdint>
#include <string_view>

#include "latency.h"
#include "messages.h"

#include <keel/core/actor.h>

namespace keel_demo {

class ledger : public keel::actor<ledger, commit, order_rejected, payment_declined, order_lost,
                                  ledger_query> {
 public:
  static constexpr std::string_view keel_name = "demo.ledger";

  void on(commit& m) {
    ++report_.committed;
    report_.total_cents += m.o.amount_cents;
    const std::uint64_t now = steady_now_ns();
    latency_.record(now > m.o.received_ns ? now - m.o.received_ns : 0);
  }
  void on(order_rejected& m) { ++report_.rejected[static_cast<int>(m.reason)]; }
  void on(payment_declined&) { ++report_.declined; }
  void on(order_lost&) { ++report_.lost; }
  void on(ledger_query&) {
    ledger_report r = report_;
    r.p50_ns = latency_.percentile(0.50);
    r.p99_ns = latency_.percentile(0.99);
    r.max_ns = latency_.max();
    reply(std::move(r));
  }

 private:
  ledger_report report_;
  latency_histogram latency_;
};

}  // namespace keel_demo
