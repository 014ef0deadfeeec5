// Derived indexes (idx/<n>.idx): the writer indexes each sealed segment (compressed or not), a
// scan_query skips the sealed segments whose index shows no match and returns exactly what a
// full scan filtered by hand returns; a damaged, missing or misplaced index is ignored and the
// writer's next open rebuilds it; retention removes an index with its segment.
#include "eventlog/index.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "eventlog/log_fixture.h"

#include <keel/eventlog/log.h>
#include <keel/eventlog/reader.h>

namespace {

namespace el = keel::eventlog;
namespace fs = std::filesystem;
using el::testing::eventually;
using el::testing::temp_dir;
using namespace std::chrono_literals;

// Record i: actor i % 5 + 1, correlation i / 4 + 1, ts 1,000,000 + i, a payload of 300 bytes.
void append_many(el::event_log& log, int n) {
  const std::string text(300, 'x');
  for (int i = 0; i < n; ++i) {
    el::record_in r;
    r.ts_ns = 1'000'000 + i;
    r.actor_id = static_cast<std::uint64_t>(i % 5 + 1);
    r.message_id = static_cast<std::uint64_t>(i + 1);
    r.correlation = static_cast<std::uint64_t>(i / 4 + 1);
    r.payload = std::as_bytes(std::span(text.data(), text.size()));
    ASSERT_TRUE(log.append(r));
  }
}

std::vector<el::segment_info> sealed_segments(const std::string& dir) {
  std::vector<el::segment_info> out;
  for (const auto& s : el::log_reader::open(dir).value().segments()) {
    if (!s.spare && s.header.sealed_end != 0) out.push_back(s);
  }
  return out;
}

// Whether every segment but the newest is sealed (the log's thread seals a rolled segment a
// little after the roll) and every sealed one has a valid index.
bool all_indexed(const std::string& dir) {
  std::size_t used = 0;
  for (const auto& s : el::log_reader::open(dir).value().segments()) used += s.spare ? 0 : 1;
  const std::vector<el::segment_info> sealed = sealed_segments(dir);
  if (sealed.size() + 1 != used) return false;
  for (const auto& s : sealed) {
    if (!el::detail::read_index(el::io_env::posix(), dir, s.header)) return false;
  }
  return true;
}

struct query_result {
  std::vector<std::uint64_t> seqs;
  el::scan_report rep;
};
query_result run(const std::string& dir, const el::scan_query& q) {
  query_result out;
  auto r = el::log_reader::open(dir).value();
  out.rep = r.scan(q, [&](const el::record_view& v) {
    out.seqs.push_back(v.header.seq);
    return true;
  });
  return out;
}
// The same by hand: a full scan, filtered.
std::vector<std::uint64_t> brute(const std::string& dir, const el::scan_query& q) {
  std::vector<std::uint64_t> out;
  auto r = el::log_reader::open(dir).value();
  (void)r.scan([&](const el::record_view& v) {
    if (q.matches(v.header)) out.push_back(v.header.seq);
    return true;
  });
  return out;
}

void corrupt_byte(const std::string& path, std::streamoff at) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(at);
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x40);
  f.seekp(at);
  f.write(&c, 1);
}

TEST(eventlog_index, a_query_skips_sealed_segments_and_returns_what_a_full_scan_does) {
  temp_dir t;
  auto log = el::event_log::open(t.log(), el::testing::small_segments()).value();
  append_many(*log, 16000);
  ASSERT_TRUE(eventually([&] { return all_indexed(t.log()); }));
  const std::size_t sealed = sealed_segments(t.log()).size();
  ASSERT_GE(sealed, 4u);

  el::scan_query by_corr;
  by_corr.correlation = 3001;  // records 12000 to 12003
  const query_result c = run(t.log(), by_corr);
  EXPECT_EQ(c.seqs, brute(t.log(), by_corr));
  ASSERT_EQ(c.seqs.size(), 4u);
  EXPECT_EQ(c.seqs.front(), 12001u);
  // The Bloom filters let at most one false positive through besides the segment that holds it.
  EXPECT_GE(c.rep.segments_skipped, sealed - 2) << sealed;
  EXPECT_FALSE(c.rep.corrupt()) << c.rep.message();

  el::scan_query by_time;
  by_time.from_ts = 1'000'000 + 15'000;
  const query_result tq = run(t.log(), by_time);
  EXPECT_EQ(tq.seqs, brute(t.log(), by_time));
  EXPECT_EQ(tq.seqs.size(), 1000u);
  EXPECT_GE(tq.rep.segments_skipped, sealed - 1);

  el::scan_query nobody;
  nobody.actor = 99;
  const query_result n = run(t.log(), nobody);
  EXPECT_TRUE(n.seqs.empty());
  EXPECT_GE(n.rep.segments_skipped, sealed - 1);

  el::scan_query window;  // seq and time bounds together
  window.from_seq = 4000;
  window.to_seq = 4100;
  window.actor = 2;
  const query_result w = run(t.log(), window);
  EXPECT_EQ(w.seqs, brute(t.log(), window));
  EXPECT_EQ(w.seqs.size(), 20u);
}

TEST(eventlog_index, a_damaged_missing_or_misplaced_index_is_ignored_and_rebuilt_at_open) {
  temp_dir t;
  {
    auto log = el::event_log::open(t.log(), el::testing::small_segments()).value();
    append_many(*log, 16000);
    ASSERT_TRUE(eventually([&] { return all_indexed(t.log()); }));
  }
  const std::vector<el::segment_info> segs = sealed_segments(t.log());
  ASSERT_GE(segs.size(), 4u);
  const auto idx = [&](std::size_t i) {
    return t.log() + "/" + el::detail::index_file_name(segs[i].no);
  };
  el::scan_query q;
  q.correlation = 1;  // in the first segment only
  const std::vector<std::uint64_t> want = brute(t.log(), q);
  const std::uint64_t skipped_before = run(t.log(), q).rep.segments_skipped;
  // One byte flipped, one file gone, one file that belongs to another segment.
  corrupt_byte(idx(1), 200);
  fs::remove(idx(2));
  fs::copy_file(idx(0), idx(3), fs::copy_options::overwrite_existing);
  EXPECT_FALSE(el::detail::read_index(el::io_env::posix(), t.log(), segs[1].header));
  EXPECT_FALSE(el::detail::read_index(el::io_env::posix(), t.log(), segs[3].header));
  const query_result r = run(t.log(), q);
  EXPECT_EQ(r.seqs, want);
  EXPECT_EQ(r.rep.segments_skipped, skipped_before - 3);  // those three are read instead
  // The writer's next open rebuilds them.
  auto log = el::event_log::open(t.log(), el::testing::small_segments()).value();
  ASSERT_TRUE(eventually([&] { return all_indexed(t.log()); }));
  EXPECT_EQ(run(t.log(), q).rep.segments_skipped, skipped_before);
}

TEST(eventlog_index, compressed_segments_are_indexed_and_skipped_without_being_restored) {
  temp_dir t;
  el::log_options o = el::testing::small_segments();
  o.compression_level = 4;
  auto log = el::event_log::open(t.log(), o).value();
  append_many(*log, 16000);
  ASSERT_TRUE(eventually([&] {
    std::size_t evz = 0;
    for (const auto& e : fs::directory_iterator(t.log() + "/seg"))
      evz += e.path().extension() == ".evz";
    return evz >= 4 && all_indexed(t.log());
  }));
  el::scan_query q;
  q.from_ts = 1'000'000 + 15'990;
  const query_result r = run(t.log(), q);
  EXPECT_EQ(r.seqs, brute(t.log(), q));
  EXPECT_EQ(r.seqs.size(), 10u);
  EXPECT_GE(r.rep.segments_skipped, 4u);
}

TEST(eventlog_index, retention_removes_an_index_with_its_segment) {
  temp_dir t;
  el::log_options o = el::testing::small_segments();
  o.retain_bytes = 3u << 20;
  auto log = el::event_log::open(t.log(), o).value();
  append_many(*log, 16000);
  // Retention keeps about three segments; every index left belongs to a segment left.
  ASSERT_TRUE(eventually([&] {
    std::size_t idx = 0;
    for (const auto& e : fs::directory_iterator(t.log() + "/idx")) {
      idx += e.path().extension() == ".idx";
    }
    return all_indexed(t.log()) && idx == sealed_segments(t.log()).size();
  }));
  EXPECT_LE(sealed_segments(t.log()).size(), 3u);
}

TEST(eventlog_index, a_query_does_not_take_record_count_for_the_seq_range) {
  // A killed writer's claim becomes padding that keeps its seq, so a segment's seqs can have a
  // gap and base_seq + record_count end below its last seq. Made here by hand: a record in the
  // middle of segment 1 becomes padding and the count drops by one.
  temp_dir t;
  {
    auto log = el::event_log::open(t.log(), el::testing::small_segments()).value();
    append_many(*log, 16000);
    ASSERT_TRUE(eventually([&] { return all_indexed(t.log()); }));
  }
  const el::segment_info s1 = sealed_segments(t.log()).at(1);
  std::uint64_t victim = 0;  // the offset of the segment's 10th record
  std::uint64_t last_seq = 0;
  (void)el::log_reader::open(t.log()).value().scan([&](const el::record_view& v) {
    if (v.segment_no != s1.no) return v.segment_no < s1.no;
    if (v.header.seq == s1.header.base_seq + 9) victim = v.offset;
    last_seq = v.header.seq;
    return true;
  });
  ASSERT_NE(victim, 0u);
  ASSERT_EQ(last_seq, s1.header.base_seq + s1.header.record_count - 1);
  el::testing::pad_record(s1, victim);
  fs::remove(t.log() + "/" + el::detail::index_file_name(s1.no));
  {
    auto log = el::event_log::open(t.log(), el::testing::small_segments()).value();
    ASSERT_TRUE(eventually([&] { return all_indexed(t.log()); }));
  }
  el::scan_query q;
  q.from_seq = last_seq;  // at or past base_seq + record_count, yet in segment 1
  q.to_seq = last_seq + 1;
  const query_result r = run(t.log(), q);
  EXPECT_EQ(r.seqs, std::vector<std::uint64_t>{last_seq});
  EXPECT_EQ(r.seqs, brute(t.log(), q));
}

}  // namespace
