// The messages of keel-demo's order pipeline:
//
//   load_driver --place_order--> gateway --validate_order--> validator (round-robin)
//     validator --charge--> payment --store--> database --commit--> ledger
//     validator --order_rejected--> ledger       payment --payment_declined--> ledger
//     database --store_result--> payment         payment, database --order_deferred--> ledger
//
// The ledger is the book of record: every order ends there exactly once, as committed,
// rejected or declined, which is how the demo proves that none was lost. Queries (ask) read the
// load driver's and the ledger's state from main. The actors ignore the send_status of their
// sends on purpose: a failed send is a dead letter that keel counts, and the summary's
// accounting check (sent == accepted + rejected + declined) reports the lost order.
//
// Every message an actor receives has a codec (keel_fields), so that `keel-demo --log-dir`
// records the traffic with payloads and keel-demo-log can print and replay it. An order carries
// everything that decides its fate (its card, the fault chaos gave it), and the stages read time
// only through now(): replaying a stage from the log gives the same state.
//
// Thread safety: plain values, moved into envelopes.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <keel/core/codec.h>

namespace keel_demo {

// The fault an order carries with --chaos on (faults.h): the stage named crashes on it.
enum class fault : std::uint8_t {
  none,
  crash_validator,
  crash_payment,
  database_outage,
  database_brownout  // the database answers "busy" instead of storing (payment's breaker)
};

// An order as the gateway admitted it.
struct order {
  std::uint64_t id = 0;        // assigned by the gateway, from 1
  std::uint64_t customer = 0;  // 0: no customer (invalid)
  std::int64_t amount_cents = 0;
  std::uint64_t card = 0;         // the card payment charges (card_declined)
  fault chaos = fault::none;      // the fault injected on this order
  std::uint64_t received_ns = 0;  // the gateway's now() when it received the order
  static constexpr auto keel_fields = keel::fields(
      keel::field("id", &order::id), keel::field("customer", &order::customer),
      keel::field("amount_cents", &order::amount_cents), keel::field("card", &order::card),
      keel::field("chaos", &order::chaos), keel::field("received_ns", &order::received_ns));
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

// Why the validators reject an order, if they do.
inline std::optional<reject_reason> invalid_reason(std::uint64_t customer,
                                                   std::int64_t amount_cents) noexcept {
  if (customer == 0) return reject_reason::no_customer;
  if (amount_cents <= 0) return reject_reason::bad_amount;
  if (amount_cents > k_max_amount_cents) return reject_reason::over_limit;
  return std::nullopt;
}

// Declined payments, in ten-thousandths of the cards: payment declines a card whose number ends
// (in base 10,000) below this, so the load driver's random cards decline about 1%.
inline constexpr std::uint32_t k_decline_per_10k = 100;
inline bool card_declined(std::uint64_t card) noexcept { return card % 10'000 < k_decline_per_10k; }

// ---- the pipeline ------------------------------------------------------------------------------
struct place_order {
  static constexpr std::string_view keel_name = "demo.place_order/1";
  std::uint64_t customer = 0;
  std::int64_t amount_cents = 0;
  std::uint64_t card = 0;
  fault chaos = fault::none;
  static constexpr auto keel_fields = keel::fields(
      keel::field("customer", &place_order::customer),
      keel::field("amount_cents", &place_order::amount_cents),
      keel::field("card", &place_order::card), keel::field("chaos", &place_order::chaos));
};
struct validate_order {
  static constexpr std::string_view keel_name = "demo.validate_order/1";
  order o;
  static constexpr auto keel_fields = keel::fields(keel::field("o", &validate_order::o));
};
struct charge {
  static constexpr std::string_view keel_name = "demo.charge/1";
  order o;
  static constexpr auto keel_fields = keel::fields(keel::field("o", &charge::o));
};
struct commit {
  static constexpr std::string_view keel_name = "demo.commit/1";
  order o;
  static constexpr auto keel_fields = keel::fields(keel::field("o", &commit::o));
};
struct order_rejected {
  static constexpr std::string_view keel_name = "demo.order_rejected/1";
  order o;
  reject_reason reason = reject_reason::no_customer;
  static constexpr auto keel_fields = keel::fields(keel::field("o", &order_rejected::o),
                                                   keel::field("reason", &order_rejected::reason));
};
struct payment_declined {
  static constexpr std::string_view keel_name = "demo.payment_declined/1";
  order o;
  static constexpr auto keel_fields = keel::fields(keel::field("o", &payment_declined::o));
};
// payment -> database: a paid order to store; the database commits it to the ledger.
struct store {
  static constexpr std::string_view keel_name = "demo.store/1";
  order o;
  static constexpr auto keel_fields = keel::fields(keel::field("o", &store::o));
};
// database -> payment: whether the order was stored (and committed to the ledger), for payment's
// circuit breaker. In a brownout the database stores nothing, defers the order to the ledger
// itself and answers ok = false.
struct store_result {
  static constexpr std::string_view keel_name = "demo.store_result/1";
  order o;
  bool ok = false;
  static constexpr auto keel_fields =
      keel::fields(keel::field("o", &store_result::o), keel::field("ok", &store_result::ok));
};

// To the ledger: an order that could not be stored now -- from the database when it is busy,
// from payment when its circuit breaker on the database is open (the fallback) -- kept for a
// later batch, an outcome of its own.
enum class defer_reason : std::uint8_t { database_busy, breaker_open };
struct order_deferred {
  static constexpr std::string_view keel_name = "demo.order_deferred/1";
  order o;
  defer_reason reason = defer_reason::breaker_open;
  static constexpr auto keel_fields = keel::fields(keel::field("o", &order_deferred::o),
                                                   keel::field("reason", &order_deferred::reason));
};

// payment -> cache: the customer's last paid amount.
struct cache_put {
  static constexpr std::string_view keel_name = "demo.cache_put/1";
  std::uint64_t customer = 0;
  std::int64_t amount_cents = 0;
  static constexpr auto keel_fields =
      keel::fields(keel::field("customer", &cache_put::customer),
                   keel::field("amount_cents", &cache_put::amount_cents));
};
// To the ledger: an order that could not go on because the next stage was down (between an
// escalation and the restart of its subtree).
enum class lost_reason : std::uint8_t { no_validator, no_payment, no_database };
struct order_lost {
  static constexpr std::string_view keel_name = "demo.order_lost/1";
  order o;
  lost_reason reason = lost_reason::no_payment;
  static constexpr auto keel_fields =
      keel::fields(keel::field("o", &order_lost::o), keel::field("reason", &order_lost::reason));
};

// ---- the load driver ---------------------------------------------------------------------------
// The load driver's periodic pacing tick (sent to itself).
struct load_tick {
  static constexpr std::string_view keel_name = "demo.load_tick/1";
  static constexpr auto keel_fields = keel::fields();
};
struct load_status_query {
  static constexpr std::string_view keel_name = "demo.load_status_query/1";
  static constexpr auto keel_fields = keel::fields();
};
struct load_status {
  static constexpr std::string_view keel_name = "demo.load_status/1";
  std::uint64_t sent = 0;           // orders the gateway accepted into its mailbox
  std::uint64_t send_failures = 0;  // sends that returned anything but ok
  std::uint64_t elapsed_ns = 0;     // from the start to the last send
  bool done = false;                // every order due has been sent
  static constexpr auto keel_fields = keel::fields(
      keel::field("sent", &load_status::sent),
      keel::field("send_failures", &load_status::send_failures),
      keel::field("elapsed_ns", &load_status::elapsed_ns), keel::field("done", &load_status::done));
};

// ---- the ledger --------------------------------------------------------------------------------
struct ledger_query {
  static constexpr std::string_view keel_name = "demo.ledger_query/1";
  static constexpr auto keel_fields = keel::fields();
};
struct ledger_report {
  static constexpr std::string_view keel_name = "demo.ledger_report/1";
  std::uint64_t committed = 0;
  std::uint64_t rejected[k_reject_reasons] = {};
  std::uint64_t declined = 0;
  std::uint64_t lost = 0;        // order_lost: the next stage was down
  std::uint64_t deferred = 0;    // order_deferred: the database busy or its breaker open
  std::int64_t total_cents = 0;  // sum of committed amounts
  // The correlation id of the first order rejected, declined or lost (0: none yet): what
  // `keel-demo-log trace --corr` follows in a recorded run.
  std::uint64_t failed_corr = 0;
  // Latency from gateway receive to ledger commit, committed orders only.
  std::uint64_t p50_ns = 0;
  std::uint64_t p99_ns = 0;
  std::uint64_t max_ns = 0;

  std::uint64_t rejected_total() const noexcept {
    std::uint64_t n = 0;
    for (auto r : rejected) n += r;
    return n;
  }
  std::uint64_t outcomes() const noexcept {
    return committed + rejected_total() + declined + lost + deferred;
  }
};

}  // namespace keel_demo
