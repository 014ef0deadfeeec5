// ledger: the book of record. Every order ends here at most once, as a commit (valid and paid),
// a rejection (invalid), a decline (payment refused) or a loss (the next stage was down); the
// orders lost inside a failing actor never reach it (summary.h counts them from keel's
// counters). The ledger keeps the totals and the latency of committed orders (gateway receive ->
// ledger commit, both read through now(), so replay gives the same figures). ledger_query asks
// for them. It is not in the supervision tree: a restart would lose its totals.
//
// Threading: a keel actor; its state is touched only by its handlers.
#pragma once

#include <cstdint>
#include <string_view>

#include "latency.h"
#include "messages.h"

#include <keel/core/actor.h>
#include <keel/core/state.h>

namespace keel_demo {

class ledger : public keel::actor<ledger, commit, order_rejected, payment_declined, order_lost,
                                  order_deferred, ledger_query> {
 public:
  static constexpr std::string_view keel_name = "demo.ledger";

  void on(commit& m) {
    ++report_.committed;
    report_.total_cents += m.o.amount_cents;
    const std::uint64_t t = now();
    latency_.record(t > m.o.received_ns ? t - m.o.received_ns : 0);
  }
  void on(order_rejected& m) {
    ++report_.rejected[static_cast<int>(m.reason)];
    note_failed();
  }
  void on(payment_declined&) {
    ++report_.declined;
    note_failed();
  }
  void on(order_lost&) {
    ++report_.lost;
    note_failed();
  }
  void on(order_deferred&) { ++report_.deferred; }
  void on(ledger_query&) {
    ledger_report r = report_;
    r.p50_ns = latency_.percentile(0.50);
    r.p99_ns = latency_.percentile(0.99);
    r.max_ns = latency_.max();
    reply(std::move(r));
  }

  void save_state(keel::state_writer& w) const {
    w.write(report_.committed);
    for (auto n : report_.rejected) w.write(n);
    w.write(report_.declined)
        .write(report_.lost)
        .write(report_.deferred)
        .write(report_.total_cents);
    w.write(report_.failed_corr);
    latency_.save(w);
  }
  void load_state(keel::state_reader& r) {
    r.read(report_.committed, "committed");
    for (auto& n : report_.rejected) r.read(n, "rejected");
    r.read(report_.declined, "declined");
    r.read(report_.lost, "lost");
    r.read(report_.deferred, "deferred");
    r.read(report_.total_cents, "total_cents");
    r.read(report_.failed_corr, "failed_corr");
    latency_.load(r);
  }

 private:
  void note_failed() noexcept {
    if (report_.failed_corr == 0) report_.failed_corr = correlation();
  }

  ledger_report report_;
  latency_histogram latency_;
};

}  // namespace keel_demo
