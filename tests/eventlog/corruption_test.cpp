// Damage to a log: truncation at every offset gives exactly the prefix, random bit flips and
// zeroed sectors never yield a record whose bytes differ from what was written, claims a killed
// writer left are stepped over by recovery, and every bad file gets its own, located, error.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "eventlog/log_fixture.h"
#include "eventlog/segment.h"

#include <keel/eventlog/log.h>
#include <keel/eventlog/reader.h>

namespace {

namespace el = keel::eventlog;
using keel::errc;

using el::testing::temp_dir;

el::log_options small() { return el::testing::small_segments(); }

// Appends `n` records of varied sizes; returns nothing (the file is the result).
void write_records(const std::string& dir, std::uint32_t first, std::uint32_t n) {
  auto log = el::event_log::open(dir, small());
  ASSERT_TRUE(log.has_value()) << log.error();
  for (std::uint32_t i = first; i < first + n; ++i) {
    std::vector<std::byte> p(16 + (i * 53) % 360);
    for (std::size_t k = 0; k < p.size(); ++k) p[k] = static_cast<std::byte>(i + k);
    el::record_in r;
    r.actor_id = i;
    r.correlation = i * 3;
    r.payload = p;
    ASSERT_TRUE((*log)->append(r).has_value());
  }
}

std::vector<char> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}
void write_file(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

struct frame_pos {
  std::uint64_t off;
  std::uint64_t len;
};

// The records of an intact segment image, by position.
std::vector<frame_pos> frames_of(const std::vector<char>& img) {
  el::segment_header h{};
  std::memcpy(&h, img.data(), sizeof(h));
  std::vector<frame_pos> out;
  (void)el::detail::scan_frames(
      img.data(), img.size(), h.salt, 0,
      [&](const el::frame_header& f, std::uint64_t off) {
        out.push_back({off, static_cast<std::uint64_t>(f.len)});
        return true;
      },
      [](std::uint64_t, std::uint64_t) {});
  return out;
}

TEST(eventlogcorruption, truncation_at_every_offset_gives_exactly_the_prefix) {
  temp_dir t;
  write_records(t.log(), 0, 120);
  std::vector<char> img = read_file(t.seg(0));
  const std::vector<frame_pos> frames = frames_of(img);
  ASSERT_EQ(frames.size(), 120u);
  const std::uint64_t used = frames.back().off + frames.back().len;
  el::segment_header h{};
  std::memcpy(&h, img.data(), sizeof(h));
  // From the end down: at step k the bytes [k, used) are zero, as a crash that persisted only
  // the first k bytes would leave them.
  std::size_t expect = frames.size();
  for (std::uint64_t k = used; k >= el::k_header_size; --k) {
    img[k] = 0;
    while (expect > 0 && frames[expect - 1].off + frames[expect - 1].len > k) --expect;
    std::size_t seen = 0;
    bool same = true;
    (void)el::detail::scan_frames(
        img.data(), img.size(), h.salt, 0,
        [&](const el::frame_header& f, std::uint64_t off) {
          same = same && seen < frames.size() && frames[seen].off == off &&
                 frames[seen].len == static_cast<std::uint64_t>(f.len);
          ++seen;
          return true;
        },
        [](std::uint64_t, std::uint64_t) {});
    ASSERT_EQ(seen, expect) << "cut at " << k;
    ASSERT_TRUE(same) << "cut at " << k;
    if (k == el::k_header_size) break;
  }
}

TEST(eventlogcorruption, a_file_cut_short_reads_as_its_prefix) {
  temp_dir t;
  write_records(t.log(), 0, 200);
  const std::vector<char> img = read_file(t.seg(0));
  const std::vector<frame_pos> frames = frames_of(img);
  for (const std::size_t cut :
       {frames[10].off + 3, frames[77].off + frames[77].len, frames[150].off + 100}) {
    ASSERT_EQ(::truncate(t.seg(0).c_str(), static_cast<off_t>(cut)), 0);
    auto r = el::log_reader::open(t.log());
    ASSERT_TRUE(r.has_value()) << r.error();
    std::size_t n = 0;
    const el::scan_report rep = r->scan([&](const el::record_view&) {
      ++n;
      return true;
    });
    std::size_t expect = 0;
    while (expect < frames.size() && frames[expect].off + frames[expect].len <= cut) ++expect;
    EXPECT_EQ(n, expect) << "cut at " << cut;
    EXPECT_EQ(rep.problem, el::log_problem::truncated) << rep.message();
    EXPECT_FALSE(rep.corrupt());  // the end of the last segment
    write_file(t.seg(0), img);
  }
}

TEST(eventlogcorruption, bit_flips_and_zeroed_sectors_never_return_a_changed_record) {
  temp_dir t;
  write_records(t.log(), 0, 150);
  std::vector<char> img = read_file(t.seg(0));
  const std::vector<char> orig = img;
  const std::vector<frame_pos> frames = frames_of(img);
  const std::uint64_t used = frames.back().off + frames.back().len;
  el::segment_header h{};
  std::memcpy(&h, img.data(), sizeof(h));
  std::mt19937_64 rng(42);
  std::uint64_t detected = 0;
  for (int trial = 0; trial < 6'000; ++trial) {
    std::vector<std::uint64_t> touched;
    const int kind = trial % 3;
    if (kind == 0 || kind == 1) {
      const int bits = kind == 0 ? 1 : 1 + static_cast<int>(rng() % 8);
      for (int b = 0; b < bits; ++b) {
        const std::uint64_t at = el::k_header_size + rng() % (used - el::k_header_size);
        img[at] = static_cast<char>(img[at] ^ (1 << (rng() % 8)));
        touched.push_back(at);
      }
    } else {
      const std::uint64_t sector =
          (el::k_header_size + rng() % (used - el::k_header_size)) & ~511ull;
      std::memset(img.data() + sector, 0, 512);
      touched.push_back(sector);
    }
    std::size_t seen = 0;
    (void)el::detail::scan_frames(
        img.data(), img.size(), h.salt, 0,
        [&](const el::frame_header& f, std::uint64_t off) {
          const auto len = static_cast<std::uint64_t>(f.len);
          // Every record handed over is byte for byte one that was written, where it was written.
          EXPECT_TRUE(seen < frames.size() && frames[seen].off == off && frames[seen].len == len &&
                      std::memcmp(img.data() + off, orig.data() + off, len) == 0)
              << "trial " << trial << ": a changed record at offset " << off;
          ++seen;
          return true;
        },
        [](std::uint64_t, std::uint64_t) {});
    if (seen < frames.size()) ++detected;
    img = orig;
  }
  EXPECT_GT(detected, 5'000u);  // (flips in alignment padding change no record)
}

TEST(eventlogcorruption, claims_a_killed_writer_left_are_stepped_over_by_recovery) {
  temp_dir t;
  write_records(t.log(), 0, 10);
  std::vector<char> img = read_file(t.seg(0));
  const std::vector<frame_pos> frames = frames_of(img);
  ASSERT_EQ(frames.size(), 10u);
  // Record 5 (seq 5) claimed and never committed; record 7's claim never even got its marker.
  std::int32_t len = 0;
  std::memcpy(&len, img.data() + frames[4].off, 4);
  len = -len;
  std::memcpy(img.data() + frames[4].off, &len, 4);
  std::memset(img.data() + frames[6].off, 0, frames[6].len);
  write_file(t.seg(0), img);
  {
    // Before recovery a reader stops at the claim in flight.
    auto r = el::log_reader::open(t.log());
    ASSERT_TRUE(r.has_value());
    std::size_t n = 0;
    const el::scan_report rep = r->scan([&](const el::record_view&) {
      ++n;
      return true;
    });
    EXPECT_EQ(n, 4u);
    EXPECT_EQ(rep.problem, el::log_problem::in_flight);
  }
  {
    auto log = el::event_log::open(t.log(), small());
    ASSERT_TRUE(log.has_value()) << log.error();
    EXPECT_EQ((*log)->recovery().aborted, 2u);
    EXPECT_EQ((*log)->recovery().records, 8u);
    el::record_in r;
    EXPECT_EQ((*log)->append(r).value(), 11u);  // after the last record, gaps kept
  }
  auto r = el::log_reader::open(t.log());
  ASSERT_TRUE(r.has_value());
  std::vector<std::uint64_t> seqs;
  const el::scan_report rep = r->scan([&](const el::record_view& v) {
    seqs.push_back(v.header.seq);
    return true;
  });
  EXPECT_EQ(rep.problem, el::log_problem::none) << rep.message();
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{1, 2, 3, 4, 6, 8, 9, 10, 11}));
}

TEST(eventlogcorruption, a_sealed_segment_never_synced_is_checked_when_the_writer_reopens) {
  temp_dir t;
  {
    auto log = el::event_log::open(t.log(), small()).value();  // page_cache: never synced
    for (std::uint32_t i = 0; i < 6'000; ++i) {
      std::vector<std::byte> p(200, static_cast<std::byte>(i));
      el::record_in r;
      r.actor_id = i;
      r.payload = p;
      ASSERT_TRUE(log->append(r).has_value());
    }
    // The log's thread seals the first segment in the background.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      el::segment_header h{};
      const std::vector<char> img = read_file(t.seg(0));
      std::memcpy(&h, img.data(), sizeof(h));
      if (h.sealed_end != 0) break;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  const std::vector<char> seg0 = read_file(t.seg(0));
  el::segment_header h{};
  std::memcpy(&h, seg0.data(), sizeof(h));
  ASSERT_LT(h.durable, h.capacity);
  temp_dir intact;
  std::filesystem::copy(t.log(), intact.log(), std::filesystem::copy_options::recursive);
  // Pages lost with the machine: the writer names the damage instead of trusting the header,
  // and goes on (the records after the damage are lost; refusing to open would not save them).
  std::vector<char> bad = seg0;
  const std::vector<frame_pos> frames = frames_of(seg0);
  std::memset(bad.data() + frames[50].off, 0, 4096);
  write_file(t.seg(0), bad);
  std::vector<std::string> warnings;
  el::log_options o = small();
  o.on_warning = [&](const keel::status& st) { warnings.emplace_back(st.message()); };
  {
    auto reopened = el::event_log::open(t.log(), o);
    ASSERT_TRUE(reopened.has_value()) << reopened.error();
    const el::recovery_report& rec = (*reopened)->recovery();
    ASSERT_EQ(rec.damaged.size(), 1u);
    const std::string& why = rec.damaged.front();
    EXPECT_NE(why.find("never synced"), std::string::npos) << why;
    EXPECT_NE(why.find("offset " + std::to_string(frames[50].off)), std::string::npos) << why;
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings.front(), why);
  }
  el::scan_report rep;
  auto reader = el::log_reader::open(t.log()).value();
  rep = reader.scan([](const el::record_view&) { return true; });
  EXPECT_TRUE(rep.corrupt());  // the reader names it too
  EXPECT_EQ(rep.offset, frames[50].off);
  // Intact, it is checked, synced and trusted.
  auto good = el::event_log::open(intact.log(), small());
  ASSERT_TRUE(good.has_value()) << good.error();
  EXPECT_TRUE((*good)->recovery().damaged.empty());
  EXPECT_EQ((*good)->next_seq(), 6'001u);
}

TEST(eventlogcorruption, every_bad_file_gets_its_own_located_error) {
  temp_dir t;
  write_records(t.log(), 0, 12'000);  // three segments or more
  auto count = [&](el::scan_report* out) {
    auto r = el::log_reader::open(t.log());
    EXPECT_TRUE(r.has_value()) << r.error();
    std::size_t n = 0;
    if (r)
      *out = r->scan([&](const el::record_view&) {
        ++n;
        return true;
      });
    return n;
  };
  el::scan_report rep;
  ASSERT_EQ(count(&rep), 12'000u);
  ASSERT_EQ(rep.problem, el::log_problem::none) << rep.message();

  // A checksum mismatch in a full segment: corruption, at the frame's offset.
  const std::vector<char> seg0 = read_file(t.seg(0));
  const std::vector<frame_pos> frames = frames_of(seg0);
  std::vector<char> bad = seg0;
  bad[frames[100].off + 90] ^= 0x10;
  write_file(t.seg(0), bad);
  EXPECT_EQ(count(&rep), 100u);
  EXPECT_EQ(rep.problem, el::log_problem::checksum_mismatch);
  EXPECT_EQ(rep.offset, frames[100].off);
  EXPECT_TRUE(rep.corrupt());
  EXPECT_NE(rep.message().find("00000000000000000000.evl at offset"), std::string::npos)
      << rep.message();
  write_file(t.seg(0), seg0);

  // A segment missing from the chain.
  const std::vector<char> seg1 = read_file(t.seg(1));
  std::filesystem::remove(t.seg(1));
  (void)count(&rep);
  EXPECT_EQ(rep.problem, el::log_problem::missing_segment);
  EXPECT_NE(rep.file.find("00000000000000000001.evl"), std::string::npos) << rep.file;
  auto reopened = el::event_log::open(t.log(), small());
  ASSERT_FALSE(reopened.has_value());
  EXPECT_EQ(reopened.code(), errc::corrupt);
  EXPECT_NE(reopened.error().message().find("missing"), std::string_view::npos);
  write_file(t.seg(1), seg1);

  // A segment of another log.
  temp_dir other;
  write_records(other.log(), 0, 10);
  const std::vector<char> theirs = read_file(other.seg(0));
  write_file(t.seg(1), theirs);
  (void)count(&rep);
  EXPECT_EQ(rep.problem, el::log_problem::wrong_log);
  EXPECT_TRUE(rep.corrupt());
  write_file(t.seg(1), seg1);

  // A header that does not match its checksum; a version this build does not read.
  bad = seg1;
  bad[40] ^= 1;  // base_seq
  write_file(t.seg(1), bad);
  (void)count(&rep);
  EXPECT_EQ(rep.problem, el::log_problem::header_checksum);
  bad = seg1;
  bad[8] = 9;
  write_file(t.seg(1), bad);
  (void)count(&rep);
  EXPECT_EQ(rep.problem, el::log_problem::version);
  write_file(t.seg(1), seg1);

  // Not a keel log at all.
  write_file(t.log() + "/LOG.meta", std::vector<char>(48, 'x'));
  auto r = el::log_reader::open(t.log());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.code(), errc::corrupt);
  EXPECT_NE(r.error().message().find("not a keel log"), std::string_view::npos);
  write_file(t.log() + "/LOG.meta", std::vector<char>(10, 'x'));
  EXPECT_NE(el::log_reader::open(t.log()).error().message().find("truncated"),
            std::string_view::npos);
}

}  // namespace
