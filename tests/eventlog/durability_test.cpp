// The event log's background work: interval and group-commit syncs and the durable watermark,
// sync failures met by the log's thread, rolls by age, retention by size and age under the
// retention floor, and the release of sealed segments' mappings.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "eventlog/fault_env.h"
#include "eventlog/log_fixture.h"

#include <keel/eventlog/log.h>
#include <keel/eventlog/reader.h>

namespace {

namespace el = keel::eventlog;
namespace fs = std::filesystem;
using el::testing::eventually;
using el::testing::fault_env;
using el::testing::temp_dir;
using keel::errc;
using namespace std::chrono_literals;

el::record_in message(const std::vector<std::byte>& payload, std::uint64_t actor = 1) {
  el::record_in r;
  r.type = el::record_type::message;
  r.actor_id = actor;
  r.payload = payload;
  return r;
}

std::size_t segment_files(const std::string& log) {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(log + "/seg")) {
    if (e.path().extension() == ".evl") ++n;
  }
  return n;
}

// The mappings of this log's segment files in this process.
std::size_t mapped_segments(const std::string& log) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  std::size_t n = 0;
  while (std::getline(maps, line)) {
    if (line.find(log + "/seg/") != std::string::npos) ++n;
  }
  return n;
}

// Private anonymous read-write mappings of one page: where released header pages live.
std::size_t one_page_anonymous_mappings() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  std::size_t n = 0;
  while (std::getline(maps, line)) {
    std::uint64_t lo = 0;
    std::uint64_t hi = 0;
    char perms[8] = {};
    unsigned long long offset = 0;
    char dev[16] = {};
    unsigned long long inode = 0;
    int used = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx %7s %llx %15s %llu %n", &lo, &hi, perms, &offset, dev,
                    &inode, &used) < 6)
      continue;
    const bool no_path = static_cast<std::size_t>(used) >= line.size();
    if (hi - lo == 4096 && std::string(perms) == "rw-p" && inode == 0 && no_path) ++n;
  }
  return n;
}

std::vector<std::uint64_t> seqs(const std::string& dir, el::scan_report* rep = nullptr) {
  std::vector<std::uint64_t> out;
  auto r = el::log_reader::open(dir);
  EXPECT_TRUE(r.has_value()) << r.error();
  if (!r) return out;
  el::scan_report s = r->scan([&](const el::record_view& v) {
    out.push_back(v.header.seq);
    return true;
  });
  if (rep != nullptr) *rep = s;
  return out;
}

TEST(eventlog_durability, group_commit_makes_a_waiting_record_durable_and_coalesces_waiters) {
  temp_dir t;
  fault_env env;
  env.set_delay(fault_env::op::fdatasync, 20ms);  // a slow disk: requests pile up meanwhile
  std::atomic<std::uint64_t> told{0};
  el::log_options o = el::testing::small_segments();
  o.env = &env;
  o.mode = el::durability::group_commit;
  o.sync_interval = std::chrono::hours(1);  // only requests make it sync
  o.on_durable = [&](std::uint64_t d) { told.store(d); };
  auto log = el::event_log::open(t.log(), o).value();
  const int syncs_before = env.calls(fault_env::op::fdatasync);

  constexpr int k_threads = 4;
  constexpr int k_each = 25;
  std::vector<std::byte> p(64, std::byte{7});
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < k_threads; ++w) {
    threads.emplace_back([&] {
      for (int i = 0; i < k_each; ++i) {
        const std::uint64_t seq = log->append(message(p)).value();
        if (!log->wait_durable(seq) || log->durable_seq() <= seq) failures.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(log->durable_seq(), log->next_seq());
  EXPECT_TRUE(eventually([&] { return told.load() == log->next_seq(); }));
  // 100 waits; each sync takes 20 ms, during which the other three threads' requests wait for
  // the next one: far fewer syncs than waits.
  const int syncs = env.calls(fault_env::op::fdatasync) - syncs_before;
  EXPECT_GT(syncs, 0);
  EXPECT_LT(syncs, k_threads * k_each / 2) << syncs << " syncs for " << k_threads * k_each;
}

TEST(eventlog_durability, interval_mode_syncs_without_being_asked) {
  temp_dir t;
  fault_env env;
  el::log_options o = el::testing::small_segments();
  o.env = &env;
  o.mode = el::durability::interval;
  o.sync_interval = 5ms;
  auto log = el::event_log::open(t.log(), o).value();
  std::vector<std::byte> p(100, std::byte{1});
  const std::uint64_t seq = log->append(message(p)).value();
  EXPECT_TRUE(eventually([&] { return log->durable_seq() > seq; }));
  EXPECT_GT(env.calls(fault_env::op::fdatasync), 0);
  // And it keeps doing so: records across a roll become durable too.
  std::uint64_t last = 0;
  std::vector<std::byte> big(4000, std::byte{2});
  for (int i = 0; i < 600; ++i) last = log->append(message(big)).value();
  EXPECT_TRUE(eventually([&] { return log->durable_seq() > last; }));
}

TEST(eventlog_durability, page_cache_mode_wait_durable_syncs_itself) {
  temp_dir t;
  fault_env env;
  el::log_options o = el::testing::small_segments();
  o.env = &env;
  auto log = el::event_log::open(t.log(), o).value();
  std::vector<std::byte> p(100, std::byte{1});
  const std::uint64_t seq = log->append(message(p)).value();
  const int before = env.calls(fault_env::op::fdatasync);
  ASSERT_TRUE(log->wait_durable(seq));
  EXPECT_GT(log->durable_seq(), seq);
  EXPECT_GT(env.calls(fault_env::op::fdatasync), before);
  EXPECT_EQ(log->wait_durable(0).code(), errc::invalid_argument);
  EXPECT_EQ(log->wait_durable(seq + 100).code(), errc::invalid_argument);
}

TEST(eventlog_durability, an_eio_met_by_the_logs_thread_fails_the_log_waiters_and_appends) {
  temp_dir t;
  fault_env env;
  std::atomic<int> told{0};
  std::atomic<el::event_log*> opened{nullptr};
  el::log_options o = el::testing::small_segments();
  o.env = &env;
  o.mode = el::durability::group_commit;
  o.on_failure = [&](const keel::status& st) {
    EXPECT_EQ(st.code(), errc::io_error);
    // The sink may call the log: it is told outside the log's locks.
    EXPECT_EQ(opened.load()->sync().code(), errc::log_failed);
    EXPECT_EQ(opened.load()->failure().code(), errc::io_error);
    told.fetch_add(1);
  };
  auto log = el::event_log::open(t.log(), o).value();
  opened.store(log.get());
  std::vector<std::byte> p(64, std::byte{3});
  const std::uint64_t ok = log->append(message(p)).value();
  ASSERT_TRUE(log->wait_durable(ok));
  env.fail(fault_env::op::fdatasync);
  const std::uint64_t seq = log->append(message(p)).value();
  const keel::status waited = log->wait_durable(seq);
  EXPECT_EQ(waited.code(), errc::log_failed) << waited;
  EXPECT_LE(log->durable_seq(), seq);  // never claimed durable
  EXPECT_EQ(log->append(message(p)).error().code(), errc::log_failed);
  EXPECT_EQ(log->failure().code(), errc::io_error);
  EXPECT_TRUE(eventually([&] { return told.load() == 1; }));
  // A failed log stays failed: a later wait does not retry the sync.
  const int calls = env.calls(fault_env::op::fdatasync);
  EXPECT_EQ(log->wait_durable(seq).code(), errc::log_failed);
  EXPECT_EQ(env.calls(fault_env::op::fdatasync), calls);
}

TEST(eventlog_durability, a_spare_that_could_not_be_made_is_tried_again) {
  temp_dir t;
  fault_env env;
  el::log_options o = el::testing::small_segments();
  o.env = &env;
  o.compression_level = 0;
  auto log = el::event_log::open(t.log(), o).value();
  ASSERT_TRUE(eventually([&] { return segment_files(t.log()) == 2; }));  // active and spare
  env.set_free_space(4096);
  // Past one roll: the spare it used cannot be replaced while the disk is full.
  std::vector<std::byte> big(1000, std::byte{7});
  for (int i = 0; i < 1200; ++i) ASSERT_TRUE(log->append(message(big)).has_value());
  const int tries = env.calls(fault_env::op::free_space);
  ASSERT_TRUE(eventually([&] { return env.calls(fault_env::op::free_space) >= tries + 2; }));
  EXPECT_EQ(segment_files(t.log()), 2u);  // two segments, no spare
  EXPECT_TRUE(log->failure()) << log->failure();
  env.set_free_space(0);  // room again: the next try makes the spare, before the next roll
  ASSERT_TRUE(eventually([&] { return segment_files(t.log()) == 3; }));
  for (int i = 0; i < 1200; ++i) ASSERT_TRUE(log->append(message(big)).has_value());
  EXPECT_TRUE(log->failure()) << log->failure();
  el::scan_report rep;
  EXPECT_EQ(seqs(t.log(), &rep).size(), 2400u);
  EXPECT_FALSE(rep.corrupt()) << rep.message();
}

TEST(eventlog_durability, roll_after_rolls_an_old_segment_that_holds_records) {
  temp_dir t;
  el::log_options o = el::testing::small_segments();
  o.roll_after = 1s;
  auto log = el::event_log::open(t.log(), o).value();
  std::vector<std::byte> p(64, std::byte{4});
  const std::uint64_t first = log->append(message(p)).value();
  ASSERT_TRUE(eventually([&] {
    el::scan_report rep;
    (void)seqs(t.log(), &rep);
    return rep.segments == 2;  // the first, sealed, and the new active one
  }));
  // An empty active segment is not rolled however old it gets.
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(segment_files(t.log()), 3u);  // two segments and the spare
  const std::uint64_t second = log->append(message(p)).value();
  EXPECT_EQ(second, first + 1);  // a roll by age takes no sequence number
  el::scan_report rep;
  EXPECT_EQ(seqs(t.log(), &rep), (std::vector<std::uint64_t>{first, second}));
  EXPECT_FALSE(rep.corrupt()) << rep.message();
}

TEST(eventlog_durability, retention_keeps_the_newest_segments_and_what_the_floor_protects) {
  temp_dir t;
  fault_env env;
  el::log_options o = el::testing::small_segments();
  o.env = &env;
  o.retain_bytes = 4u << 20;  // four 1 MiB segments
  auto log = el::event_log::open(t.log(), o).value();
  std::vector<std::byte> big(8000, std::byte{5});
  std::uint64_t last = 0;
  std::uint64_t protected_seq = 0;
  for (int i = 0; i < 1500; ++i) {  // about 12 segments
    last = log->append(message(big)).value();
    if (i == 300) {
      protected_seq = last;
      log->set_retention_floor(protected_seq);  // segment 2 or so must stay
    }
  }
  // With the floor set, nothing holding protected_seq or later goes.
  std::this_thread::sleep_for(100ms);
  std::vector<std::uint64_t> kept = seqs(t.log());
  ASSERT_FALSE(kept.empty());
  EXPECT_LE(kept.front(), protected_seq);
  EXPECT_EQ(kept.back(), last);
  // Lift the floor: the log shrinks to its budget, from the oldest end, and stays readable.
  log->set_retention_floor(~std::uint64_t{0});
  std::vector<std::byte> p(64, std::byte{6});
  ASSERT_TRUE(eventually([&] {
    last = log->append(message(p)).value();  // (rounds of the log's thread follow rolls)
    for (int i = 0; i < 200; ++i) last = log->append(message(big)).value();
    return segment_files(t.log()) <= 6;  // four retained, the active one, the spare
  }));
  EXPECT_GT(env.unlinks(), 0);
  el::scan_report rep;
  kept = seqs(t.log(), &rep);
  EXPECT_FALSE(rep.corrupt()) << rep.message();
  ASSERT_FALSE(kept.empty());
  EXPECT_GT(kept.front(), protected_seq);
  EXPECT_EQ(kept.back(), last);
  for (std::size_t i = 1; i < kept.size(); ++i) ASSERT_EQ(kept[i], kept[i - 1] + 1);
  // Reopening a log whose first segments are gone works and resumes after the last record.
  log.reset();
  auto again = el::event_log::open(t.log(), o).value();
  EXPECT_EQ(again->next_seq(), last + 1);
}

TEST(eventlog_durability, retention_can_wait_until_a_floor_is_set) {
  temp_dir t;
  fault_env env;
  el::log_options o = el::testing::small_segments();
  o.env = &env;
  o.retain_bytes = 2u << 20;
  o.retention_waits_for_floor = true;  // as a journal opens it
  auto log = el::event_log::open(t.log(), o).value();
  std::vector<std::byte> big(8000, std::byte{5});
  for (int i = 0; i < 1200; ++i) ASSERT_TRUE(log->append(message(big)));  // about 10 segments
  std::this_thread::sleep_for(300ms);  // rounds of the log's thread: nothing may go yet
  EXPECT_EQ(env.unlinks(), 0);
  EXPECT_EQ(seqs(t.log()).front(), 1u);
  log->set_retention_floor(~std::uint64_t{0});
  EXPECT_TRUE(eventually([&] {
    (void)log->append(message(big));
    return env.unlinks() > 0;
  }));
}

TEST(eventlog_durability, retention_by_age_deletes_sealed_segments_once_they_are_old) {
  temp_dir t;
  el::log_options o = el::testing::small_segments();
  o.retain_age = 1s;
  auto log = el::event_log::open(t.log(), o).value();
  std::vector<std::byte> big(8000, std::byte{5});
  std::uint64_t last = 0;
  for (int i = 0; i < 500; ++i) last = log->append(message(big)).value();  // about 4 segments
  ASSERT_TRUE(eventually([&] { return segment_files(t.log()) == 2; }));    // active and spare
  EXPECT_EQ(seqs(t.log()).back(), last);
}

TEST(eventlog_durability, sealed_segments_are_unmapped) {
  temp_dir t;
  el::log_options o = el::testing::small_segments();
  auto log = el::event_log::open(t.log(), o).value();
  std::vector<std::byte> big(8000, std::byte{5});
  for (int i = 0; i < 1200; ++i) ASSERT_TRUE(log->append(message(big)));  // about 10 segments
  // Only the active segment and the spare stay mapped once the log's thread has sealed the
  // others (their header pages are anonymous copies, not the files).
  EXPECT_TRUE(eventually([&] { return mapped_segments(t.log()) <= 2; }))
      << mapped_segments(t.log()) << " segment mappings";
  EXPECT_GE(segment_files(t.log()), 10u);
  // Appends go on, and sync() reaches the released segments by reopening them.
  ASSERT_TRUE(log->sync());
  EXPECT_EQ(log->durable_seq(), log->next_seq());
}

TEST(eventlog_durability, released_header_pages_are_freed_after_the_grace) {
  temp_dir t;
  el::log_options o = el::testing::small_segments();
  o.release_grace = 1s;
  const std::size_t before = one_page_anonymous_mappings();
  auto log = el::event_log::open(t.log(), o).value();
  std::vector<std::byte> big(8000, std::byte{5});
  for (int i = 0; i < 1200; ++i) ASSERT_TRUE(log->append(message(big)));  // about 10 segments
  ASSERT_TRUE(eventually([&] { return mapped_segments(t.log()) <= 2; }));
  // A long-lived log with roll_after would otherwise use one mapping per segment it ever rolled
  // and run into vm.max_map_count.
  EXPECT_TRUE(eventually([&] { return one_page_anonymous_mappings() <= before + 1; }))
      << one_page_anonymous_mappings() << " one-page mappings, " << before << " before";
  // Appends and syncs go on.
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(log->append(message(big)));
  ASSERT_TRUE(log->sync());
  EXPECT_EQ(log->durable_seq(), log->next_seq());
  EXPECT_EQ(seqs(t.log()).size(), 1500u);
}

TEST(eventlog_durability, bad_durability_options_are_refused) {
  temp_dir t;
  el::log_options o = el::testing::small_segments();
  o.sync_interval = 0ms;
  EXPECT_EQ(el::event_log::open(t.log(), o).error().code(), errc::invalid_config);
  o = el::testing::small_segments();
  o.roll_after = -1s;
  EXPECT_EQ(el::event_log::open(t.log(), o).error().code(), errc::invalid_config);
  o = el::testing::small_segments();
  o.retain_age = -1s;
  EXPECT_EQ(el::event_log::open(t.log(), o).error().code(), errc::invalid_config);
  o = el::testing::small_segments();
  o.release_grace = 0s;
  const auto bad = el::event_log::open(t.log(), o);
  EXPECT_EQ(bad.error().code(), errc::invalid_config);
  EXPECT_NE(bad.error().message().find("release_grace"), std::string_view::npos);
}

TEST(eventlog_durability, retention_after_a_reopen_keeps_a_segment_whose_seqs_have_a_gap) {
  // A killed writer's claim becomes padding that keeps its seq, and a live seal counts only the
  // records, so base_seq + record_count can fall short of a segment's end. Made by hand: the
  // third record of segment 1 becomes padding and its count drops by one. Retention at the next
  // open must still keep segment 1 while the floor is its last record.
  temp_dir t;
  std::vector<std::byte> big(8000, std::byte{5});
  {
    auto log = el::event_log::open(t.log(), el::testing::small_segments()).value();
    for (int i = 0; i < 600; ++i) ASSERT_TRUE(log->append(message(big)));
  }
  auto reader = el::log_reader::open(t.log()).value();
  const el::segment_info s1 = reader.segments().at(1);
  ASSERT_NE(s1.header.sealed_end, 0u);
  std::uint64_t third = 0;
  std::uint64_t last_seq = 0;
  (void)reader.scan([&](const el::record_view& v) {
    if (v.segment_no != s1.no) return v.segment_no < s1.no;
    if (v.header.seq == s1.header.base_seq + 2) third = v.offset;
    last_seq = v.header.seq;
    return true;
  });
  ASSERT_NE(third, 0u);
  el::testing::pad_record(s1, third);
  ASSERT_EQ(last_seq, s1.header.base_seq + s1.header.record_count - 1);  // now base + count
  el::log_options o = el::testing::small_segments();
  o.retain_bytes = 1u << 20;
  o.retention_waits_for_floor = true;
  auto log = el::event_log::open(t.log(), o).value();
  log->set_retention_floor(last_seq);
  // Retention runs (segment 0 goes) and keeps segment 1, which holds the floor's record.
  ASSERT_TRUE(eventually([&] {
    (void)log->append(message(big));
    return !fs::exists(t.seg(0));
  }));
  const std::vector<std::uint64_t> kept = seqs(t.log());
  ASSERT_FALSE(kept.empty());
  EXPECT_LE(kept.front(), last_seq);
  EXPECT_TRUE(fs::exists(t.seg(s1.no)));
}

}  // namespace
