// The event log's writer and reader: appends read back in order across segment rolls, from one
// thread and from several; reopening resumes after the last record; one writer at a time; sync
// failures put the log in its failed state; every bad file gets its own error.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "eventlog/fault_env.h"
#include "eventlog/log_fixture.h"

#include <keel/eventlog/log.h>
#include <keel/eventlog/reader.h>

namespace {

namespace el = keel::eventlog;
using keel::errc;

using el::testing::temp_dir;

el::log_options small() { return el::testing::small_segments(); }

// A payload that says who wrote it: (writer, index) and a length that varies with both.
std::vector<std::byte> payload_for(std::uint32_t writer, std::uint32_t i) {
  const std::size_t n = 8 + (i * 37 + writer * 11) % 300;
  std::vector<std::byte> p(n);
  std::memcpy(p.data(), &writer, 4);
  std::memcpy(p.data() + 4, &i, 4);
  for (std::size_t k = 8; k < n; ++k) p[k] = static_cast<std::byte>((k + i) & 0xff);
  return p;
}

el::record_in record(std::uint32_t writer, std::uint32_t i, const std::vector<std::byte>& p) {
  el::record_in r;
  r.type = el::record_type::message;
  r.ts_ns = 1000 + i;
  r.actor_id = writer + 1;
  r.actor_seq = i + 1;
  r.message_id = (std::uint64_t{writer} << 32) | i;
  r.correlation = i % 7;
  r.payload_type = 0xabcdef;
  r.payload = p;
  return r;
}

// A record copied out of the mapping (a record_view's payload is valid only during the visit).
struct rec {
  el::frame_header header;
  std::vector<std::byte> payload;
};

std::vector<rec> read_all(const std::string& dir, el::scan_report* rep = nullptr) {
  auto r = el::log_reader::open(dir);
  EXPECT_TRUE(r.has_value()) << r.error();
  std::vector<rec> out;
  if (!r) return out;
  el::scan_report s = r->scan([&](const el::record_view& v) {
    out.push_back(rec{v.header, std::vector<std::byte>(v.payload.begin(), v.payload.end())});
    return true;
  });
  if (rep != nullptr) *rep = s;
  return out;
}

TEST(eventlog, appends_read_back_in_order_across_segment_rolls) {
  temp_dir t;
  const std::uint32_t n = 12'000;  // about 2.4 MB: three 1 MiB segments
  {
    auto log = el::event_log::open(t.log(), small());
    ASSERT_TRUE(log.has_value()) << log.error();
    EXPECT_TRUE((*log)->recovery().created);
    for (std::uint32_t i = 0; i < n; ++i) {
      const auto p = payload_for(0, i);
      auto seq = (*log)->append(record(0, i, p));
      ASSERT_TRUE(seq.has_value()) << seq.error();
      ASSERT_EQ(*seq, i + 1);  // dense from 1
    }
    EXPECT_EQ((*log)->next_seq(), n + 1);
  }
  auto reader = el::log_reader::open(t.log());
  ASSERT_TRUE(reader.has_value()) << reader.error();
  EXPECT_GE(reader->segment_count(), 3u);
  std::uint32_t i = 0;
  const el::scan_report rep = reader->scan([&](const el::record_view& v) {
    const auto p = payload_for(0, i);
    EXPECT_EQ(v.header.seq, i + 1);
    EXPECT_EQ(v.header.type, static_cast<std::uint16_t>(el::record_type::message));
    EXPECT_EQ(v.header.ts_ns, 1000 + i);
    EXPECT_EQ(v.header.actor_seq, i + 1);
    EXPECT_EQ(v.header.correlation, i % 7);
    EXPECT_EQ(v.header.payload_type, 0xabcdefu);
    EXPECT_TRUE(v.payload.size() == p.size() &&
                std::memcmp(v.payload.data(), p.data(), p.size()) == 0)
        << "record " << i;
    ++i;
    return true;
  });
  EXPECT_EQ(i, n);
  EXPECT_EQ(rep.problem, el::log_problem::none) << rep.message();
  EXPECT_FALSE(rep.corrupt());
  // From a seq in the middle.
  std::uint64_t first = 0;
  (void)reader->scan(
      [&](const el::record_view& v) {
        first = v.header.seq;
        return false;
      },
      7'777);
  EXPECT_EQ(first, 7'777u);
}

TEST(eventlog, a_scan_resumes_at_a_position_it_returned) {
  temp_dir t;
  {
    auto log = el::event_log::open(t.log(), small()).value();
    for (std::uint32_t i = 0; i < 6000; ++i)
      ASSERT_TRUE(log->append(record(0, i, payload_for(0, i))));
  }
  auto r = el::log_reader::open(t.log()).value();
  // Read in steps of 1000, each resuming after the last record of the one before.
  std::vector<std::uint64_t> seqs;
  el::scan_position at;
  el::scan_position first_segment_mid;
  std::uint64_t next = 1;
  for (int step = 0; step < 7; ++step) {
    std::size_t taken = 0;
    const el::scan_report rep = r.scan(
        [&](const el::record_view& v) {
          if (taken == 1000) return false;
          ++taken;
          seqs.push_back(v.header.seq);
          next = v.header.seq + 1;
          at = el::scan_position{v.segment_no,
                                 v.offset + el::align_up(static_cast<std::uint64_t>(v.header.len))};
          if (v.header.seq == 10) first_segment_mid = el::scan_position{v.segment_no, v.offset};
          return true;
        },
        next, at);
    EXPECT_FALSE(rep.corrupt()) << rep.message();
  }
  ASSERT_EQ(seqs.size(), 6000u);  // across several segments, none twice, none missed
  for (std::size_t i = 0; i < seqs.size(); ++i) ASSERT_EQ(seqs[i], i + 1);
  // An offset that is no frame boundary stops the scan, never reads as a record.
  el::scan_position bogus{first_segment_mid.segment_no, first_segment_mid.offset + 8};
  std::size_t wrong = 0;
  const el::scan_report rep = r.scan(
      [&](const el::record_view&) {
        ++wrong;
        return true;
      },
      10, bogus);
  EXPECT_EQ(wrong, 0u);
  // (Which problem depends on the bytes found there: a bad length or checksum, or a negative
  // length that reads as a claim in flight, which a live log has in its newest segments.)
  EXPECT_NE(rep.problem, el::log_problem::none) << rep.message();
}

TEST(eventlog, concurrent_appenders_get_unique_seqs_in_commit_order) {
  temp_dir t;
  const std::uint32_t writers = 4;
  const std::uint32_t each = 5'000;
  std::vector<std::vector<std::uint64_t>> seqs(writers);
  {
    auto log = el::event_log::open(t.log(), small());
    ASSERT_TRUE(log.has_value()) << log.error();
    std::vector<std::thread> ts;
    for (std::uint32_t w = 0; w < writers; ++w) {
      ts.emplace_back([&, w] {
        for (std::uint32_t i = 0; i < each; ++i) {
          const auto p = payload_for(w, i);
          auto seq = (*log)->append(record(w, i, p));
          ASSERT_TRUE(seq.has_value()) << seq.error();
          seqs[w].push_back(*seq);
        }
      });
    }
    for (auto& th : ts) th.join();
  }
  // Each writer's seqs increase; all of them are distinct and dense from 1.
  std::vector<std::uint64_t> all;
  for (const auto& v : seqs) {
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
    all.insert(all.end(), v.begin(), v.end());
  }
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), writers * each);
  for (std::size_t k = 0; k < all.size(); ++k) ASSERT_EQ(all[k], k + 1);
  // The reader sees every record once, in seq order, with the bytes its writer wrote.
  el::scan_report rep;
  const auto got = read_all(t.log(), &rep);
  EXPECT_EQ(rep.problem, el::log_problem::none) << rep.message();
  ASSERT_EQ(got.size(), writers * each);
  std::vector<std::uint32_t> next(writers, 0);
  for (std::size_t k = 0; k < got.size(); ++k) {
    EXPECT_EQ(got[k].header.seq, k + 1);
    std::uint32_t w = 0;
    std::uint32_t i = 0;
    std::memcpy(&w, got[k].payload.data(), 4);
    std::memcpy(&i, got[k].payload.data() + 4, 4);
    ASSERT_LT(w, writers);
    EXPECT_EQ(i, next[w]) << "writer " << w << " out of order";
    next[w] = i + 1;
    EXPECT_EQ(seqs[w][i], got[k].header.seq);
  }
}

// A reader that scans while several threads append (and segments roll) sees a prefix of the
// log: seqs dense from 1, every record whole (its checksum, and the bytes its writer wrote),
// ending where a claim is still in flight, never at a corrupt frame.
TEST(eventlog, a_reader_during_concurrent_appends_sees_only_committed_records) {
  temp_dir t;
  const std::uint32_t writers = 3;
  const std::uint32_t each = 4'000;
  auto log = el::event_log::open(t.log(), small());
  ASSERT_TRUE(log.has_value()) << log.error();
  std::atomic<std::uint32_t> done{0};
  std::vector<std::thread> ts;
  for (std::uint32_t w = 0; w < writers; ++w) {
    ts.emplace_back([&, w] {
      for (std::uint32_t i = 0; i < each; ++i) {
        const auto p = payload_for(w, i);
        const auto seq = (*log)->append(record(w, i, p));
        EXPECT_TRUE(seq.has_value()) << seq.error();
        if (!seq) break;
      }
      done.fetch_add(1);
    });
  }
  std::uint64_t scans = 0;
  std::uint64_t longest = 0;
  std::string wrong;
  while (wrong.empty() && (done.load() < writers || scans < 3)) {
    auto reader = el::log_reader::open(t.log());
    if (!reader) {
      wrong = "open: " + reader.error().to_string();
      break;
    }
    std::uint64_t expect = 1;
    const el::scan_report rep = reader->scan([&](const el::record_view& v) {
      std::uint32_t w = 0;
      std::uint32_t i = 0;
      if (v.payload.size() >= 8) {
        std::memcpy(&w, v.payload.data(), 4);
        std::memcpy(&i, v.payload.data() + 4, 4);
      }
      const std::vector<std::byte> wrote = payload_for(w, i);
      if (v.header.seq != expect++ || w >= writers ||
          !std::equal(v.payload.begin(), v.payload.end(), wrote.begin(), wrote.end())) {
        wrong = "seq " + std::to_string(v.header.seq) + " is not what a writer committed";
        return false;
      }
      return true;
    });
    if (rep.corrupt()) wrong = "corrupt: " + rep.message();
    longest = std::max(longest, expect - 1);
    ++scans;
  }
  for (auto& th : ts) th.join();
  EXPECT_EQ(wrong, "");
  EXPECT_GE(scans, 3u);
  EXPECT_LE(longest, std::uint64_t{writers} * each);
  EXPECT_EQ(read_all(t.log()).size(), std::size_t{writers} * each);
}

TEST(eventlog, reopening_resumes_after_the_last_record) {
  temp_dir t;
  for (std::uint32_t round = 0; round < 3; ++round) {
    auto log = el::event_log::open(t.log(), small());
    ASSERT_TRUE(log.has_value()) << log.error();
    EXPECT_EQ((*log)->recovery().created, round == 0);
    EXPECT_EQ((*log)->next_seq(), round * 3'000 + 1);
    for (std::uint32_t i = 0; i < 3'000; ++i) {
      const auto p = payload_for(round, i);
      ASSERT_TRUE((*log)->append(record(round, i, p)).has_value());
    }
  }
  el::scan_report rep;
  const auto got = read_all(t.log(), &rep);
  EXPECT_EQ(rep.problem, el::log_problem::none) << rep.message();
  ASSERT_EQ(got.size(), 9'000u);
  for (std::size_t k = 0; k < got.size(); ++k) EXPECT_EQ(got[k].header.seq, k + 1);
}

TEST(eventlog, a_second_writer_is_refused_until_the_first_closes) {
  temp_dir t;
  auto first = el::event_log::open(t.log(), small());
  ASSERT_TRUE(first.has_value()) << first.error();
  auto second = el::event_log::open(t.log(), small());
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.code(), errc::log_locked);
  // A reader is welcome meanwhile.
  EXPECT_TRUE(el::log_reader::open(t.log()).has_value());
  first->reset();
  auto third = el::event_log::open(t.log(), small());
  EXPECT_TRUE(third.has_value()) << third.error();
}

TEST(eventlog, sync_makes_records_durable_and_a_sync_error_fails_the_log_for_good) {
  temp_dir t;
  el::testing::fault_env env;
  el::log_options o = small();
  o.env = &env;
  int told = 0;
  keel::status seen;
  o.on_failure = [&](const keel::status& s) {
    ++told;
    seen = s;
  };
  auto log = el::event_log::open(t.log(), o);
  ASSERT_TRUE(log.has_value()) << log.error();
  const auto p = payload_for(0, 1);
  for (std::uint32_t i = 0; i < 10; ++i) ASSERT_TRUE((*log)->append(record(0, i, p)).has_value());
  EXPECT_EQ((*log)->durable_seq(), 1u);
  ASSERT_TRUE((*log)->sync().is_ok());
  EXPECT_EQ((*log)->durable_seq(), 11u);

  ASSERT_TRUE((*log)->append(record(0, 10, p)).has_value());
  env.fail(el::testing::fault_env::op::fdatasync);
  const keel::status st = (*log)->sync();
  EXPECT_EQ(st.code(), errc::io_error) << st;
  EXPECT_NE(st.message().find("fdatasync"), std::string_view::npos);
  EXPECT_EQ((*log)->durable_seq(), 11u);  // not advanced past what failed
  EXPECT_EQ(told, 1);
  EXPECT_EQ(seen.code(), errc::io_error);
  // Failed for good: appends and syncs refuse; nothing is retried; the sink is told once.
  auto again = (*log)->append(record(0, 11, p));
  EXPECT_EQ(again.code(), errc::log_failed);
  const int syncs = env.calls(el::testing::fault_env::op::fdatasync);
  EXPECT_EQ((*log)->sync().code(), errc::log_failed);
  EXPECT_EQ(env.calls(el::testing::fault_env::op::fdatasync), syncs);
  EXPECT_EQ(told, 1);
  EXPECT_EQ((*log)->failure().code(), errc::io_error);
}

TEST(eventlog, no_room_for_the_next_segment_fails_the_log_instead_of_losing_records) {
  temp_dir t;
  el::testing::fault_env env;
  el::log_options o = small();
  o.env = &env;
  auto log = el::event_log::open(t.log(), o);
  ASSERT_TRUE(log.has_value()) << log.error();
  env.set_free_space(4096);  // the spare for the segment after the next cannot be made
  std::uint64_t ok = 0;
  keel::errc last = errc::ok;
  for (std::uint32_t i = 0; i < 20'000; ++i) {
    const auto p = payload_for(0, i);
    auto r = (*log)->append(record(0, i, p));
    if (!r) {
      last = r.code();
      break;
    }
    ++ok;
  }
  EXPECT_EQ(last, errc::log_failed);
  EXPECT_EQ((*log)->failure().code(), errc::no_space) << (*log)->failure();
  log->reset();
  // Every acknowledged record is there.
  el::scan_report rep;
  EXPECT_EQ(read_all(t.log(), &rep).size(), ok);
  EXPECT_FALSE(rep.corrupt()) << rep.message();
}

TEST(eventlog, bad_records_and_options_are_refused) {
  temp_dir t;
  el::log_options o = small();
  o.segment_size = 1000;
  auto bad = el::event_log::open(t.log(), o);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.code(), errc::invalid_config);
  EXPECT_NE(bad.error().message().find("segment_size"), std::string_view::npos);
  o = small();
  o.max_record = o.segment_size;
  EXPECT_NE(el::event_log::open(t.log(), o).error().message().find("max_record"),
            std::string_view::npos);

  auto log = el::event_log::open(t.log(), small());
  ASSERT_TRUE(log.has_value()) << log.error();
  std::vector<std::byte> huge(small().max_record);
  el::record_in r;
  r.payload = huge;
  EXPECT_EQ((*log)->append(r).code(), errc::invalid_argument);
  r.payload = {};
  r.type = el::record_type::padding;
  EXPECT_EQ((*log)->append(r).code(), errc::invalid_argument);
  r.type = el::record_type::message;
  EXPECT_EQ((*log)->append(r).value(), 1u);  // nothing was spent on the refused ones
}

}  // namespace
