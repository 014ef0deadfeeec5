// The messages of keel-demo's order pipeline:
//
//   load_driver --place_order--> gateway --validate_order--> validator (round-robin)
//     validator --charge--> payment --commit--> ledger
//     validator --order_rejected--> ledger       payment --payment_declined--> ledger
//
// The ledger is the book of record: every order ends there exactly once, as committed,
// rejected or declined, which is how the demo proves that none was lost. Queries (ask) read the
// load driver's and the ledger's state from main. The actors ignore the send_status of their
// sends on purpose: a failed send is a dead letter that keel counts, and the summary's
// accounting check (sent == accepted + rejected + declined) reports the lost order.
//
// Thread safety: plain values, moved into envelopes.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace keel_demo {

// steady_clock now, in ns: the timestamps orders carry for the latency figures.
inline std::uint64_t steady_now_ns() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

// An order as the gateway admitted it.
struct order {
  std::uint64_t id = 0;        // assigned by the gateway, from 1
  std::uint64_t customer = 0;  // 0: no customer (invalid)
  std::int64_t amount_cents = 0;
  std::uint64_t received_ns = 0;  // steady_now_ns() when the gateway received it
};

// Orders above this amount are rejected by validators.
inline constexpr std::int64_t k_max_amount_cents = 1'000'000;

enum class reject_reason : std::uint8_t { no_customer, bad_amount, over_limit };
inline constexpr int k_reject_reasons = 3;
inline std::string_view to_string(reject_reason r) noexcept {
  switch (r) {
    case reject_reason::no_customer:
      return "no customer";
    case reject_reason::bad_amount:
      return "amount <= 0";
    case reject_reason::over_limit:
      return "over limit";
  }
  return "?";
}

// ---- the pipeline ------------------------------------------------------------------------------
struct place_order {
  static constexpr std::string_view keel_name = "demo.place_order/1";
  std::uint64_t customer = 0;
  std::int64_t amount_cents = 0;
};
struct validate_order {
  static constexpr std::string_view keel_name = "demo.validate_order/1";
  order o;
};
struct charge {
  static constexpr std::string_view keel_name = "demo.charge/1";
  order o;
};
struct commit {
  static constexpr std::string_view keel_name = "demo.commit/1";
  order o;
};
struct order_rejected {
  static constexpr std::string_view keel_name = "demo.order_rejected/1";
  order o;
  reject_reason reason = reject_reason::no_customer;
};
struct payment_declined {
  static constexpr std::string_view keel_name = "demo.payment_declined/1";
  order o;
};
// payment -> database: a paid order to store; the database commits it to the ledger.
struct store {
  static constexpr std::string_view keel_name = "demo.store/1";
  order o;
};
// payment -> cache: the customer's last paid amount.
struct cache_put {
  static constexpr std::string_view keel_name = "demo.cache_put/1";
  std::uint64_t customer = 0;
  std::int64_t amount_cents = 0;
};
// To the ledger: an order that could not go on because the next stage was down (between an
// escalation and the restart of its subtree).
enum class lost_reason : std::uint8_t { no_validator, no_payment, no_database };
struct order_lost {
  static constexpr std::string_view keel_name = "demo.order_lost/1";
  order o;
  lost_reason reason = lost_reason::no_payment;
};

// ---- the load driver ---------------------------------------------------------------------------
// The load driver's periodic pacing tick (sent to itself).
struct load_tick {
  static constexpr std::string_view keel_name = "demo.load_tick/1";
};
struct load_status_query {
  static constexpr std::string_view keel_name = "demo.load_status_query/1";
};
struct load_status {
  static constexpr std::string_view keel_name = "demo.load_status/1";
  std::uint64_t sent = 0;           // orders the gateway accepted into its mailbox
  std::uint64_t send_failures = 0;  // sends that returned anything but ok
  std::uint64_t elapsed_ns = 0;     // from the start to the last send
  bool done = false;                // every order due has been sent
};

// ---- the ledger --------------------------------------------------------------------------------
struct ledger_query {
  static constexpr std::string_view keel_name = "demo.ledger_query/1";
};
struct ledger_report {
  static constexpr std::string_view keel_name = "demo.ledger_report/1";
  std::uint64_t committed = 0;
  std::uint64_t rejected[k_reject_reasons] = {};
  std::uint64_t declined = 0;
  std::uint64_t lost = 0;        // order_lost: the next stage was down
  std::int64_t total_cents = 0;  // sum of committed amounts
  // Latency from gateway receive to ledger commit, committed orders only.
  std::uint64_t p50_ns = 0;
  std::uint64_t p99_ns = 0;
  std::uint64_t max_ns = 0;

  std::uint64_t rejected_total() const noexcept {
    std::uint64_t n = 0;
    for (auto r : rejected) n += r;
    return n;
  }
  std::uint64_t outcomes() const noexcept { return committed + rejected_total() + declined + lost; }
};

}  // namespace keel_demo
