// keel-log, every command on good and bad logs: output, filters, payload decoding with an
// application's types, follow mode on a live log, recovery, replay --exec with and without
// factories, and the exit codes (0 OK, 1 corruption, 2 usage, 3 I/O, 4 replay diverged).
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "eventlog/log_fixture.h"

#include <keel/core/actor_system.h>
#include <keel/core/codec.h>
#include <keel/core/state.h>
#include <keel/core/type_registry.h>
#include <keel/eventlog/log.h>
#include <keel/eventlog/reader.h>
#include <keel/eventlog/recorder.h>
#include <keel/eventlog/snapshot.h>
#include <keel/resilience/circuit_breaker.h>
#include <keel/tools/log_main.h>

namespace {

namespace el = keel::eventlog;
namespace fs = std::filesystem;

struct order_placed {
  static constexpr std::string_view keel_name = "test.keel_log.order_placed/1";
  std::uint64_t order = 0;
  std::string sku;
  static constexpr auto keel_fields = keel::fields(keel::field("order", &order_placed::order),
                                                   keel::field("sku", &order_placed::sku));
};

std::vector<std::byte> encode_order(int i) {
  order_placed o;
  o.order = static_cast<std::uint64_t>(i);
  o.sku = "sku-" + std::to_string(i);
  return keel::encode(o);
}

using keel::eventlog::testing::temp_dir;  // (shared with the event log tests)

struct run_result {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs log_main in this process with std::cout and std::cerr captured.
run_result run(std::vector<std::string> args, const keel::type_registry& types,
               const keel::tools::factory_setup& factories = {}) {
  args.insert(args.begin(), "keel-log");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::ostringstream out;
  std::ostringstream err;
  std::streambuf* old_out = std::cout.rdbuf(out.rdbuf());
  std::streambuf* old_err = std::cerr.rdbuf(err.rdbuf());
  run_result r;
  r.code = keel::tools::log_main(static_cast<int>(argv.size()), argv.data(), types, factories);
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

std::size_t lines(const std::string& s) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

bool has(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}

// 3 segments' worth of records (2.4 MB of events): orders (a codec type) for actors 1..3,
// correlation i % 5 + 1; every tenth record an event with a payload of an unknown type.
class keel_log_tool : public ::testing::Test {
 protected:
  static constexpr int k_records = 600;

  void SetUp() override {
    ASSERT_TRUE(types_.add<order_placed>());
    el::log_options o;
    o.segment_size = 1u << 20;
    o.max_record = 64u << 10;
    o.compression_level = 0;  // the damage tests edit .evl files
    auto log = el::event_log::open(t_.log(), o).value();
    for (int i = 0; i < k_records; ++i) append(*log, i);
    last_seq_ = log->next_seq() - 1;
  }

  void append(el::event_log& log, int i) {
    el::record_in r;
    r.ts_ns = 1'000'000 + i * 1000;
    r.actor_id = static_cast<std::uint64_t>(i % 3 + 1);
    r.actor_seq = static_cast<std::uint64_t>(i / 3 + 1);
    r.message_id = static_cast<std::uint64_t>(1000 + i);
    r.correlation = static_cast<std::uint64_t>(i % 5 + 1);
    r.causation = i >= 5 ? static_cast<std::uint64_t>(1000 + i - 5) : 0;
    std::vector<std::byte> bytes;
    if (i % 10 == 9) {
      r.type = el::record_type::event;
      r.payload_type = 0x77;
      bytes.assign(40000, std::byte{0xab});
    } else {
      bytes = encode_order(i);
      r.payload_type = keel::type_id_of<order_placed>();
    }
    r.payload = bytes;
    ASSERT_TRUE(log.append(r));
  }

  std::string seg(std::uint64_t no) const {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "/seg/%020llu.evl", static_cast<unsigned long long>(no));
    return t_.log() + buf;
  }

  temp_dir t_;
  keel::type_registry types_;
  std::uint64_t last_seq_ = 0;
};

TEST_F(keel_log_tool, info_and_verify_describe_a_sound_log) {
  run_result r = run({"info", t_.log()}, types_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "records:    600 (seq 1..600)")) << r.out;
  EXPECT_TRUE(has(r.out, "writer:     not running")) << r.out;
  r = run({"verify", t_.log()}, types_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "ok: 600 records in ")) << r.out;
  EXPECT_TRUE(has(r.out, "seq 1..600")) << r.out;
}

TEST_F(keel_log_tool, info_counts_a_segment_rolled_but_not_yet_sealed) {
  // A writer that closes right after a roll leaves the rolled segment unsealed (its next open
  // seals it): sealed_end is a mutable field, not under the header checksum.
  {
    std::fstream f(seg(0), std::ios::in | std::ios::out | std::ios::binary);
    const std::uint64_t zero = 0;
    f.seekp(offsetof(el::segment_header, sealed_end));
    f.write(reinterpret_cast<const char*>(&zero), sizeof(zero));
  }
  const run_result r = run({"info", t_.log()}, types_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "records:    600 (seq 1..600)")) << r.out;
}

TEST_F(keel_log_tool, dump_filters_and_decodes_payloads_it_knows) {
  run_result r = run(
      {"dump", t_.log(), "--actor", "2", "--type", "message", "--from-seq", "10", "--to-seq", "60"},
      types_);
  ASSERT_EQ(r.code, 0) << r.err;
  // Seqs 10..60 with actor 2 (i % 3 == 1: seq % 3 == 2) that are messages (seq % 10 != 0).
  std::size_t want = 0;
  for (int seq = 10; seq <= 60; ++seq) want += (seq % 3 == 2 && seq % 10 != 0) ? 1 : 0;
  EXPECT_EQ(lines(r.out), want) << r.out;
  EXPECT_TRUE(has(r.out,
                  "#11 message ts=1010000 actor=2/4 msg=1010 corr=1 cause=1005 "
                  "test.keel_log.order_placed/1 {\"order\":10,\"sku\":\"sku-10\"}"))
      << r.out;
  EXPECT_FALSE(has(r.out, "actor=1/")) << r.out;

  r = run({"dump", t_.log(), "--corr", "3", "--json", "--limit", "4"}, types_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(lines(r.out), 4u) << r.out;
  EXPECT_TRUE(has(r.out, "{\"seq\":3,\"type\":\"message\",\"ts_ns\":1002000,\"actor\":3,"))
      << r.out;
  EXPECT_TRUE(has(r.out, "\"payload\":{\"order\":2,\"sku\":\"sku-2\"}")) << r.out;

  // An unknown payload type prints as hex; with --payload-type by id.
  r = run({"dump", t_.log(), "--payload-type", "0x77", "--limit", "1"}, types_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "#10 event")) << r.out;
  EXPECT_TRUE(has(r.out, "hex:abab")) << r.out;
  EXPECT_TRUE(has(r.out, "(40000 bytes)")) << r.out;
  // By the name of a type the tool knows.
  r = run({"dump", t_.log(), "--payload-type", "test.keel_log.order_placed/1", "--to-seq", "10"},
          types_);
  EXPECT_EQ(lines(r.out), 9u) << r.out;
  // The stock tool, which knows no types, shows the same payload as hex.
  const keel::type_registry none;
  r = run({"dump", t_.log(), "--to-seq", "1"}, none);
  EXPECT_TRUE(has(r.out, "#1 message")) << r.out;
  EXPECT_TRUE(has(r.out, " hex:")) << r.out;
  // Time range.
  r = run({"dump", t_.log(), "--from-ts", "1100000", "--to-ts", "1102000"}, types_);
  EXPECT_EQ(lines(r.out), 3u) << r.out;
  EXPECT_TRUE(has(r.out, "#101 ")) << r.out;
}

TEST(keel_log_breaker, dump_shows_breaker_transitions_as_text_and_json) {
  temp_dir t;
  auto log = el::event_log::open(t.log(), el::log_options{}).value();
  keel::resilience::breaker_config c;
  c.name = "payments-db";
  c.jitter = 0;
  auto b = keel::resilience::circuit_breaker::create(c).value();
  b->attach_log(log.get());
  for (int i = 0; i < 20; ++i) {
    auto p = b->try_acquire(1'000'000'000);
    p.failure(1'000'000'000);
  }
  b->force_open(2'000'000'000);
  ASSERT_TRUE(log->sync());
  log.reset();
  keel::type_registry none;
  run_result r = run({"dump", t.log(), "--type", "breaker"}, none);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(lines(r.out), 2U) << r.out;
  EXPECT_TRUE(has(r.out,
                  "breaker=payments-db closed->open gen=1 open_for_ns=5000000000 "
                  "calls=20 failures=20 slow=0 consecutive=20"))
      << r.out;
  EXPECT_TRUE(has(r.out, "breaker=payments-db open->forced_open gen=2")) << r.out;
  r = run({"dump", t.log(), "--type", "breaker", "--json", "--limit", "1"}, none);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out,
                  "\"breaker\":{\"name\":\"payments-db\",\"kind\":\"transition\","
                  "\"from\":\"closed\",\"to\":\"open\",\"generation\":1"))
      << r.out;
}

TEST_F(keel_log_tool, tail_prints_the_last_records_and_follows_a_live_log) {
  run_result r = run({"tail", "-n", "3", t_.log()}, types_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(lines(r.out), 3u);
  EXPECT_TRUE(has(r.out, "#598 ") && has(r.out, "#599 ") && has(r.out, "#600 ")) << r.out;
  // -f: a writer appends 20 more while the tool follows; it prints exactly those.
  el::log_options o;
  o.segment_size = 1u << 20;
  o.max_record = 64u << 10;
  o.compression_level = 0;
  auto log = el::event_log::open(t_.log(), o).value();
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (int i = k_records; i < k_records + 20; ++i) append(*log, i);
  });
  r = run({"tail", "-n", "0", "-f", "--stop-after", "20", "--poll-ms", "5", t_.log()}, types_);
  writer.join();
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(lines(r.out), 20u) << r.out;
  EXPECT_TRUE(has(r.out, "#601 ") && has(r.out, "#620 ")) << r.out;
  EXPECT_FALSE(has(r.out, "#600 ")) << r.out;
  // And a writer holds the log: info says so, recover refuses (exit 3).
  r = run({"info", t_.log()}, types_);
  EXPECT_TRUE(has(r.out, "writer:     running")) << r.out;
  r = run({"recover", "--apply", t_.log()}, types_);
  EXPECT_EQ(r.code, 3);
  EXPECT_TRUE(has(r.err, "a writer has the log open")) << r.err;
}

TEST_F(keel_log_tool, trace_shows_one_correlation_in_causal_order) {
  run_result r = run({"trace", t_.log(), "--corr", "4"}, types_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "correlation 4: 120 records")) << r.out;
  EXPECT_TRUE(has(r.out, "3 actors")) << r.out;
  // Every record of correlation 4 and no other: seq % 5 == 4.
  EXPECT_FALSE(has(r.out, "corr=3 ")) << r.out;
  EXPECT_TRUE(has(r.out, "+0.000000s #4 message")) << r.out;
  // #9 was caused by #4 (message 1003 -> 1008): indented under it.
  EXPECT_TRUE(has(r.out, "+0.000005s   #9 message")) << r.out;
  r = run({"trace", t_.log(), "--corr", "99"}, types_);
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(has(r.err, "no records with correlation id 99")) << r.err;
  r = run({"trace", t_.log(), "--corr", "x1"}, types_);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "--corr: 'x1' is not a number")) << r.err;
}

TEST_F(keel_log_tool, stats_counts_by_type_payload_and_actor) {
  run_result r = run({"stats", t_.log()}, types_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "records:        600 in ")) << r.out;
  EXPECT_TRUE(has(r.out, "  message 540\n  event 60\n")) << r.out;
  EXPECT_TRUE(has(r.out, "  test.keel_log.order_placed/1 540\n")) << r.out;
  EXPECT_TRUE(has(r.out, "  1 200\n")) << r.out;
}

TEST_F(keel_log_tool, verify_names_the_file_and_offset_of_damage) {
  // A flipped byte in the first segment's 10th frame payload.
  el::scan_report rep;
  std::uint64_t offset = 0;
  auto reader = el::log_reader::open(t_.log()).value();
  (void)reader.scan([&](const el::record_view& v) {
    if (v.header.seq == 10) offset = v.offset + el::k_frame_header + 100;
    return v.header.seq < 10;
  });
  ASSERT_NE(offset, 0u);
  {
    std::fstream f(seg(0), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(offset));
    f.put('\x01');
  }
  run_result r = run({"verify", t_.log()}, types_);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.err, seg(0) + " at offset ")) << r.err;
  EXPECT_TRUE(has(r.err, "checksum mismatch")) << r.err;
  // dump stops there too, with the same exit code, after printing what came before.
  r = run({"dump", t_.log()}, types_);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(lines(r.out), 9u);
}

TEST_F(keel_log_tool, a_missing_segment_and_a_foreign_directory_are_named) {
  ASSERT_TRUE(fs::remove(seg(1)));
  run_result r = run({"verify", t_.log()}, types_);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.err, "00000000000000000001.evl")) << r.err;
  EXPECT_TRUE(has(r.err, "missing")) << r.err;
  // No log at all: an I/O error (3); a file that is not a keel log's LOG.meta: corruption (1).
  temp_dir other;
  r = run({"info", other.log()}, types_);
  EXPECT_EQ(r.code, 3);
  EXPECT_TRUE(has(r.err, "LOG.meta")) << r.err;
  fs::create_directories(other.log());
  std::ofstream(other.log() + "/LOG.meta")
      << std::string(64, 'x');  // long enough not to be "truncated"
  r = run({"info", other.log()}, types_);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.err, "not a keel log")) << r.err;
}

TEST_F(keel_log_tool, recover_shows_then_clears_a_torn_tail) {
  run_result r = run({"recover", t_.log()}, types_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(has(r.out, "clear ")) << r.out;
  // A torn frame after the last one: a plausible length and garbage.
  std::uint64_t end = 0;
  std::uint64_t last_seg = 0;
  auto reader = el::log_reader::open(t_.log()).value();
  (void)reader.scan([&](const el::record_view& v) {
    end = v.offset + el::align_up(static_cast<std::uint64_t>(v.header.len));
    last_seg = v.segment_no;
    return true;
  });
  {
    std::fstream f(seg(last_seg), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(end));
    const std::int32_t len = 200;
    f.write(reinterpret_cast<const char*>(&len), sizeof(len));
    f.write("garbage!", 8);
  }
  r = run({"verify", t_.log()}, types_);
  EXPECT_EQ(r.code, 0) << r.err;  // a torn tail is where a crash stopped, not damage
  EXPECT_TRUE(has(r.err, "torn tail")) << r.err;
  r = run({"recover", "--dry-run", t_.log()}, types_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "clear " + seg(last_seg) + " after offset " + std::to_string(end)))
      << r.out;
  r = run({"recover", "--apply", t_.log()}, types_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "bytes of torn tail cleared")) << r.out;
  r = run({"verify", t_.log()}, types_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(has(r.out, "ok: 600 records")) << r.out;
}

TEST_F(keel_log_tool, snapshot_commands_list_show_and_verify) {
  run_result r = run({"snapshot", "ls", t_.log()}, types_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "no snapshots")) << r.out;
  auto store = el::snapshot_store::open(t_.log()).value();
  std::vector<std::byte> state(3000, std::byte{7});
  const el::snapshot_info a = store->save(0x2a, 100, 10, state).value();
  const el::snapshot_info b = store->save(0x2a, 200, 20, state).value();
  r = run({"snapshot", "ls", t_.log()}, types_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "000000000000002a         100         10         3000")) << r.out;
  EXPECT_TRUE(has(r.out, "000000000000002a         200         20")) << r.out;
  r = run({"snapshot", "show", b.file}, types_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "covers seq:       200")) << r.out;
  EXPECT_TRUE(has(r.out, "first bytes:      0707")) << r.out;
  r = run({"snapshot", "verify", t_.log()}, types_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "ok: 2 snapshots verified")) << r.out;
  {
    std::fstream f(a.file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(a.file_size - 2));
    f.put('\x11');
  }
  r = run({"snapshot", "verify", t_.log()}, types_);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.err, a.file)) << r.err;
  r = run({"snapshot", "ls", t_.log()}, types_);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(has(r.out, "DAMAGED")) << r.out;
  r = run({"snapshot", "show", t_.log() + "/snap/none.snap"}, types_);
  EXPECT_EQ(r.code, 3);
  r = run({"snapshot", t_.log()}, types_);
  EXPECT_EQ(r.code, 2);
}

TEST_F(keel_log_tool, usage_errors_exit_2_and_help_exits_0) {
  run_result r = run({}, types_);
  EXPECT_EQ(r.code, 2);
  r = run({"frob", t_.log()}, types_);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "unknown command 'frob'")) << r.err;
  r = run({"dump"}, types_);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "log")) << r.err;
  r = run({"dump", t_.log(), "--type", "bogus"}, types_);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "--type: 'bogus' is not a record type")) << r.err;
  r = run({"dump", t_.log(), "--from-seq", "9", "--to-seq", "3"}, types_);
  EXPECT_EQ(r.code, 2);
  r = run({"dump", t_.log(), "--payload-type", "no.such.type"}, types_);
  EXPECT_EQ(r.code, 2);
  r = run({"recover", "--apply", "--dry-run", t_.log()}, types_);
  EXPECT_EQ(r.code, 2);
  r = run({"trace", t_.log(), "--corr", "0"}, types_);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "--corr: 0 is no correlation id")) << r.err;
  r = run({"--help"}, types_);
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(has(r.out, "verify")) << r.out;
  r = run({"dump", "--help"}, types_);
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(has(r.out, "--corr")) << r.out;
  // Every command has its own help, naming its options.
  const std::vector<std::pair<std::vector<std::string>, std::string>> helps = {
      {{"info"}, "log"},
      {{"verify"}, "log"},
      {{"tail"}, "--follow"},
      {{"trace"}, "--corr"},
      {{"stats"}, "--top"},
      {{"recover"}, "--apply"},
      {{"snapshot"}, "verify"},
      {{"snapshot", "ls"}, "log"},
      {{"snapshot", "show"}, "file"},
      {{"snapshot", "verify"}, "log"},
      {{"replay"}, "--exec"}};
  for (const auto& [cmd, names] : helps) {
    std::vector<std::string> args = cmd;
    args.push_back("--help");
    r = run(args, types_);
    EXPECT_EQ(r.code, 0) << cmd[0];
    EXPECT_TRUE(has(r.out, names)) << cmd[0] << ": " << r.out;
  }
  r = run({"--version"}, types_);
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(has(r.out, std::string("keel-log ") + KEEL_VERSION_STRING)) << r.out;
}

// replay: a run recorded with state hashes replays with exit 0 in a keel-log built with the
// application's factories; a factory whose actor now computes differently diverges (exit 4);
// the stock tool (no factories) refuses with exit 2, as does replay without --exec.
struct add_n {
  static constexpr std::string_view keel_name = "test.keel_log.add_n/1";
  std::int64_t n = 0;
  static constexpr auto keel_fields = keel::fields(keel::field("n", &add_n::n));
};
class summer : public keel::actor<summer, add_n> {
 public:
  static constexpr std::string_view keel_name = "test.keel_log.summer";
  void on(add_n& a) { sum_ += a.n; }
  void save_state(keel::state_writer& w) const { w.write(sum_); }
  void load_state(keel::state_reader& r) { r.read(sum_); }

 private:
  std::int64_t sum_ = 0;
};
// The same actor type after a bad change: it doubles.
class summer_v2 : public keel::actor<summer_v2, add_n> {
 public:
  static constexpr std::string_view keel_name = "test.keel_log.summer_v2";
  void on(add_n& a) { sum_ += 2 * a.n; }
  void save_state(keel::state_writer& w) const { w.write(sum_); }
  void load_state(keel::state_reader& r) { r.read(sum_); }

 private:
  std::int64_t sum_ = 0;
};

TEST(keel_log_replay, replay_exec_compares_hashes_and_the_stock_tool_refuses) {
  temp_dir t;
  keel::actor_id id = 0;
  {
    el::log_options lo;
    lo.segment_size = 1u << 20;
    lo.max_record = 64u << 10;
    auto log = el::event_log::open(t.log(), lo).value();
    el::recording_options ro;
    ro.state_hash_every = 1;
    auto rec = el::recorder::create(*log, ro).value();
    keel::system_config cfg;
    cfg.scheduler.workers = 1;
    cfg.hooks.push_back(rec);
    auto sys = keel::actor_system::create(std::move(cfg)).value();
    rec->use_system(*sys);
    keel::spawn_options named;
    named.name = "summer-1";
    auto s = sys->spawn_with<summer>(named).value();
    id = s.id();
    for (int i = 1; i <= 5; ++i) ASSERT_EQ(s.send(add_n{i}), keel::send_status::ok);
    for (int i = 0; i < 10000 && rec->counters().state_hashes < 5; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_EQ(rec->counters().state_hashes, 5u);
    sys->shutdown();
  }
  keel::type_registry types;
  ASSERT_TRUE(types.add<add_n>());
  // The correlation of the first input (a send from outside: its own id).
  std::uint64_t corr = 0;
  auto reader = el::log_reader::open(t.log()).value();
  (void)reader.scan([&](const el::record_view& v) {
    if (v.header.actor_id != id || v.header.payload_type != keel::type_id_of<add_n>()) return true;
    corr = v.header.correlation;
    return false;
  });
  ASSERT_NE(corr, 0u);
  const std::string c = std::to_string(corr);
  const keel::tools::factory_setup good = [](keel::actor_factory_registry& f) {
    (void)f.add<summer>();
  };
  run_result r = run({"replay", t.log(), "--corr", c, "--exec"}, types, good);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "5 inputs, 5 state hashes")) << r.out;
  EXPECT_TRUE(has(r.out, "hashes match")) << r.out;
  const keel::tools::factory_setup changed = [](keel::actor_factory_registry& f) {
    (void)f.add_named("test.keel_log.summer",
                      [](keel::actor_system& s, const keel::json_value&,
                         const keel::spawn_options& o) -> keel::result<keel::actor_ref<>> {
                        auto a = s.spawn_with<summer_v2>(o);
                        if (!a) return a.error();
                        return keel::actor_ref<>(*a);
                      });
  };
  r = run({"replay", t.log(), "--corr", c, "--exec"}, types, changed);
  EXPECT_EQ(r.code, keel::tools::k_exit_diverged) << r.err;
  EXPECT_TRUE(has(r.out, "first divergence: seq")) << r.out;
  EXPECT_TRUE(has(r.out, "actor " + std::to_string(id) + ", input 1: state hash")) << r.out;
  r = run({"replay", t.log(), "--corr", c, "--exec"}, types);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "no actor factories linked")) << r.err;
  // Without --exec, any keel-log re-emits the scenario's records as dump prints them.
  r = run({"replay", t.log(), "--corr", c}, types);
  EXPECT_EQ(r.code, 0) << r.err;
  const run_result trace = run({"dump", t.log(), "--corr", c}, types);
  EXPECT_EQ(r.out, trace.out);
  EXPECT_GE(lines(r.out), 2u) << r.out;  // the input and its state hash
  EXPECT_TRUE(has(r.out, "add_n")) << r.out;
  r = run({"replay", t.log(), "--corr", c, "--json", "--speed", "1000"}, types);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, run({"dump", t.log(), "--corr", c, "--json"}, types).out);
  r = run({"replay", t.log(), "--corr", c, "--exec", "--json"}, types, good);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "--json is for re-emission")) << r.err;
  r = run({"replay", t.log(), "--corr", "12345678"}, types);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "no records with correlation id 12345678")) << r.err;
  // SPAWN records show the actor's type and registered name.
  r = run({"dump", t.log(), "--type", "spawn"}, types);
  EXPECT_TRUE(has(r.out, "actor_type=test.keel_log.summer name=\"summer-1\"")) << r.out;
  r = run({"dump", t.log(), "--type", "spawn", "--json"}, types);
  EXPECT_TRUE(has(r.out, "\"actor_type\":\"test.keel_log.summer\",\"actor_name\":\"summer-1\""))
      << r.out;
  r = run({"replay", t.log(), "--corr", "12345678", "--exec"}, types, good);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "no recorded input has correlation id 12345678")) << r.err;
  r = run({"replay", t.log(), "--corr", c, "--exec", "--speed", "-1"}, types, good);
  EXPECT_EQ(r.code, 2);
}

}  // namespace
