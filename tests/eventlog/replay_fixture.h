// What the replay tests share: the messages, a recording system, and log helpers (the
// correlation of an actor's n-th pay, the application's types, a record-for-record copy).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "eventlog/log_fixture.h"

#include <keel/core/actor_system.h>
#include <keel/core/codec.h>
#include <keel/core/state.h>
#include <keel/eventlog/reader.h>
#include <keel/eventlog/recorder.h>
#include <keel/eventlog/replay.h>

namespace keel::eventlog::testing::replay {

namespace el = keel::eventlog;

struct pay {
  static constexpr std::string_view keel_name = "test.replay.pay/1";
  std::int64_t n = 0;
  static constexpr auto keel_fields = keel::fields(keel::field("n", &pay::n));
};
struct credit {
  static constexpr std::string_view keel_name = "test.replay.credit/1";
  std::int64_t amount = 0;
  static constexpr auto keel_fields = keel::fields(keel::field("amount", &credit::amount));
};
struct receipt {
  static constexpr std::string_view keel_name = "test.replay.receipt/1";
  std::int64_t balance = 0;
  static constexpr auto keel_fields = keel::fields(keel::field("balance", &receipt::balance));
};
struct balance_query {
  static constexpr std::string_view keel_name = "test.replay.balance_query/1";
  static constexpr auto keel_fields = keel::fields();
};
struct balance {
  static constexpr std::string_view keel_name = "test.replay.balance/1";
  std::int64_t cents = 0;
  std::uint64_t credits = 0;
  static constexpr auto keel_fields = keel::fields(keel::field("cents", &balance::cents),
                                                   keel::field("credits", &balance::credits));
};
// A block_in_place result (a market price read from outside).
struct price {
  static constexpr std::string_view keel_name = "test.replay.price/1";
  std::int64_t cents = 0;
  static constexpr auto keel_fields = keel::fields(keel::field("cents", &price::cents));
};
struct opaque {  // no codec: an actor that receives it cannot be replayed
  static constexpr std::string_view keel_name = "test.replay.opaque/1";
  int x = 0;
};

// What recording_run records by default: every test.replay.* actor.
inline el::recording_options replay_recording() {
  el::recording_options ro;
  ro.actor_types = {"test.replay.*"};
  return ro;
}

// A live system on the work-stealing scheduler (two workers) recording what `ro` selects into a
// new log at `dir`, with a STATE_HASH every `hash_every` inputs (recorder::use_system: RNG_SEED
// records too). Destroyed system first, log last (member order).
struct recording_run {
  std::unique_ptr<el::event_log> log;
  std::shared_ptr<el::recorder> rec;
  std::unique_ptr<keel::actor_system> sys;

  // deterministic: record under the deterministic executor (oldest message first), for a run
  // whose interleaving the test's expectations depend on. `also`: more hook subscribers.
  recording_run(const std::string& dir, std::uint32_t hash_every, bool deterministic = false,
                std::vector<std::shared_ptr<keel::hook_subscriber>> also = {},
                el::recording_options ro = replay_recording()) {
    log = el::event_log::open(dir, el::testing::small_segments()).value();
    ro.state_hash_every = hash_every;
    rec = el::recorder::create(*log, ro).value();
    keel::system_config cfg;
    cfg.scheduler.workers = deterministic ? 1 : 2;
    if (deterministic) cfg.scheduler.executor = keel::sched::executor_kind::deterministic;
    cfg.hooks = std::move(also);
    cfg.hooks.push_back(rec);
    sys = keel::actor_system::create(std::move(cfg)).value();
    rec->use_system(*sys);
  }
};

// The correlation of `actor`'s `n`-th pay input.
inline keel::message_id pay_correlation(const std::string& dir, keel::actor_id actor, int n) {
  auto r = el::log_reader::open(dir).value();
  keel::message_id corr = 0;
  int seen = 0;
  (void)r.scan([&](const el::record_view& v) {
    if (v.header.actor_id == actor && v.header.payload_type == keel::type_id_of<pay>() &&
        ++seen == n) {
      corr = v.header.correlation;
      return false;
    }
    return true;
  });
  return corr;
}

inline void add_app_types(keel::type_registry& types) {
  EXPECT_TRUE(types.add<pay>());
  EXPECT_TRUE(types.add<credit>());
  EXPECT_TRUE(types.add<receipt>());
  EXPECT_TRUE(types.add<balance_query>());
  EXPECT_TRUE(types.add<balance>());
}

// Copies the log at `from` into `to` record for record (same seqs); `change` may rewrite a
// record's payload (and returns true when it did). Returns the seq of the last record changed.
inline std::uint64_t copy_log(
    const std::string& from, const std::string& to,
    const std::function<bool(const el::record_view&, std::vector<std::byte>&)>& change) {
  auto out = el::event_log::open(to, el::testing::small_segments()).value();
  auto r = el::log_reader::open(from).value();
  std::uint64_t changed = 0;
  (void)r.scan([&](const el::record_view& v) {
    el::record_in in;
    in.type = static_cast<el::record_type>(v.header.type);
    in.flags = v.header.flags;
    in.ts_ns = v.header.ts_ns;
    in.actor_id = v.header.actor_id;
    in.actor_seq = v.header.actor_seq;
    in.message_id = v.header.message_id;
    in.correlation = v.header.correlation;
    in.causation = v.header.causation;
    in.payload_type = v.header.payload_type;
    std::vector<std::byte> payload(v.payload.begin(), v.payload.end());
    if (change(v, payload)) changed = v.header.seq;
    in.payload = payload;
    EXPECT_EQ(out->append(in).value(), v.header.seq);
    return true;
  });
  return changed;
}

}  // namespace keel::eventlog::testing::replay
