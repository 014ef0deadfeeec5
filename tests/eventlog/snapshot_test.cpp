// Snapshots: an actor's state saved with state_writer and restored with state_reader; snapshot
// files that round-trip, keep the newest N, fall back past a damaged one to an older one, name
// every kind of damage, mark the log and hold its retention floor.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "eventlog/log_fixture.h"

#include <keel/core/state.h>
#include <keel/eventlog/log.h>
#include <keel/eventlog/reader.h>
#include <keel/eventlog/snapshot.h>

namespace {

namespace el = keel::eventlog;
namespace fs = std::filesystem;
using el::testing::temp_dir;
using keel::errc;

struct line {
  std::string sku;
  std::int32_t qty = 0;
  static constexpr auto keel_fields =
      keel::fields(keel::field("sku", &line::sku), keel::field("qty", &line::qty));
  bool operator==(const line&) const = default;
};

// A ledger-like actor's state.
struct account {
  std::uint64_t id = 0;
  std::int64_t balance = 0;
  std::vector<line> lines;
  std::optional<std::string> note;

  void save_state(keel::state_writer& w) const {
    w.write(id).write(balance).write(lines).write(note);
  }
  void load_state(keel::state_reader& r) {
    r.read(id, "id");
    r.read(balance, "balance");
    r.read(lines, "lines");
    r.read(note, "note");
  }
  bool operator==(const account&) const = default;
};
static_assert(keel::stateful<account>);

account sample(int n) {
  account a;
  a.id = 42;
  a.balance = -1234 * n;
  for (int i = 0; i < n; ++i) a.lines.push_back(line{"sku-" + std::to_string(i), i});
  if (n % 2 == 1) a.note = "odd";
  return a;
}

TEST(state, saves_and_loads_an_actors_state_and_hashes_it) {
  const account a = sample(5);
  const std::vector<std::byte> bytes = keel::save_state_of(a);
  account b;
  keel::state_reader r(bytes);
  b.load_state(r);
  ASSERT_TRUE(r.finish()) << r.finish();
  EXPECT_EQ(a, b);
  EXPECT_EQ(keel::state_hash(bytes), keel::state_hash(keel::save_state_of(b)));
  EXPECT_NE(keel::state_hash(bytes), keel::state_hash(keel::save_state_of(sample(6))));
}

TEST(state, a_short_or_long_state_is_an_error_naming_the_field) {
  std::vector<std::byte> bytes = keel::save_state_of(sample(3));
  bytes.resize(12);  // id and part of balance
  account b;
  keel::state_reader r(bytes);
  b.load_state(r);
  EXPECT_EQ(r.error().code(), errc::invalid_argument);
  EXPECT_NE(r.error().message().find("balance"), std::string_view::npos) << r.error();
  std::vector<std::byte> longer = keel::save_state_of(sample(3));
  longer.push_back(std::byte{1});
  keel::state_reader r2(longer);
  b.load_state(r2);
  EXPECT_TRUE(r2.error());
  EXPECT_NE(r2.finish().message().find("1 bytes left over"), std::string_view::npos) << r2.finish();
}

TEST(state, fail_marks_a_state_invalid_and_later_reads_fail) {
  const std::vector<std::byte> bytes = keel::save_state_of(sample(3));
  keel::state_reader r(bytes);
  std::uint64_t id = 0;
  ASSERT_TRUE(r.read(id, "id"));
  r.fail("id 3 is out of range");
  std::int64_t balance = 0;
  EXPECT_FALSE(r.read(balance, "balance"));
  EXPECT_EQ(r.error().code(), errc::invalid_argument);
  EXPECT_NE(r.error().message().find("id 3 is out of range"), std::string_view::npos) << r.error();
  r.fail("a later reason");  // the first reason stays
  EXPECT_EQ(r.error().message().find("a later reason"), std::string_view::npos) << r.error();
}

class snapshots : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = el::event_log::open(t_.log(), el::testing::small_segments()).value();
  }
  std::vector<std::byte> state(int n) { return keel::save_state_of(sample(n)); }

  temp_dir t_;
  std::unique_ptr<el::event_log> log_;
};

TEST_F(snapshots, round_trip_through_a_file_in_blocks) {
  el::snapshot_options o;
  o.block_size = 4096;  // several blocks
  auto store = el::snapshot_store::open(t_.log(), o).value();
  const std::vector<std::byte> s = state(2000);
  ASSERT_GT(s.size(), 3 * 4096u);
  auto info = store->save(7, 100, 10, s).value();
  EXPECT_EQ(info.covers_seq, 100u);
  EXPECT_EQ(info.state_hash, keel::state_hash(s));
  EXPECT_LT(info.file_size, s.size());  // the repetitive state compresses
  auto loaded = store->load(7).value();
  EXPECT_EQ(loaded.state, s);
  EXPECT_EQ(loaded.info.covers_actor_seq, 10u);
  EXPECT_TRUE(loaded.skipped.empty());
  account back;
  keel::state_reader r(loaded.state);
  back.load_state(r);
  EXPECT_TRUE(r.finish());
  EXPECT_EQ(back, sample(2000));
  EXPECT_EQ(store->load(8).error().code(), errc::not_found);
  // An empty state is a state.
  ASSERT_TRUE(store->save(9, 5, 1, {}));
  EXPECT_TRUE(store->load(9).value().state.empty());
}

TEST_F(snapshots, keep_n_and_load_at_or_before_a_seq) {
  el::snapshot_options o;
  o.keep = 3;
  auto store = el::snapshot_store::open(t_.log(), o).value();
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(store->save(1, i * 10u, i, state(i)));
  const std::vector<el::snapshot_info> l = store->list(1);
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0].covers_seq, 50u);
  EXPECT_EQ(l[2].covers_seq, 30u);
  EXPECT_EQ(store->load(1, 45).value().info.covers_seq, 40u);
  EXPECT_EQ(store->load(1, 29).error().code(), errc::not_found);
  EXPECT_EQ(store->save(1, 50, 5, state(1)).error().code(), errc::invalid_argument);
}

TEST_F(snapshots, a_damaged_newest_snapshot_falls_back_to_the_one_before) {
  auto store = el::snapshot_store::open(t_.log()).value();
  ASSERT_TRUE(store->save(3, 10, 1, state(10)));
  const el::snapshot_info newest = store->save(3, 20, 2, state(20)).value();
  {
    std::fstream f(newest.file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(newest.file_size - 3));
    f.put('\x7f');
  }
  auto loaded = store->load(3).value();
  EXPECT_EQ(loaded.info.covers_seq, 10u);
  EXPECT_EQ(loaded.state, state(10));
  ASSERT_EQ(loaded.skipped.size(), 1u);
  EXPECT_NE(loaded.skipped[0].find(newest.file), std::string::npos) << loaded.skipped[0];
  EXPECT_NE(loaded.skipped[0].find("checksum mismatch"), std::string::npos) << loaded.skipped[0];
}

TEST_F(snapshots, every_kind_of_damage_is_named) {
  auto store = el::snapshot_store::open(t_.log()).value();
  const el::snapshot_info info = store->save(4, 10, 1, state(50)).value();
  std::vector<char> good(info.file_size);
  std::ifstream(info.file, std::ios::binary)
      .read(good.data(), static_cast<std::streamsize>(good.size()));
  auto with = [&](auto edit) {
    std::vector<char> b = good;
    edit(b);
    std::ofstream(info.file, std::ios::binary | std::ios::trunc)
        .write(b.data(), static_cast<std::streamsize>(b.size()));
    auto r = el::snapshot_store::read_file(info.file);
    EXPECT_FALSE(r.has_value());
    return r ? std::string("(read)") : std::string(r.error().message());
  };
  EXPECT_NE(with([](auto& b) { b.resize(50); }).find("truncated"), std::string::npos);
  EXPECT_NE(with([](auto& b) { b[0] = 'X'; }).find("not a keel snapshot"), std::string::npos);
  EXPECT_NE(with([](auto& b) { b[8] = 9; }).find("version"), std::string::npos);
  EXPECT_NE(with([](auto& b) { b[40] ^= 1; }).find("header checksum"), std::string::npos);
  EXPECT_NE(with([](auto& b) { b.resize(b.size() - 1); }).find("block 0"), std::string::npos);
  // The file as it was reads again.
  std::ofstream(info.file, std::ios::binary | std::ios::trunc)
      .write(good.data(), static_cast<std::streamsize>(good.size()));
  EXPECT_TRUE(el::snapshot_store::read_file(info.file));
}

TEST_F(snapshots, saves_mark_the_log_and_hold_its_retention_floor) {
  el::log_options o = el::testing::small_segments();
  o.retain_bytes = 2u << 20;
  log_.reset();
  log_ = el::event_log::open(t_.log(), o).value();
  el::snapshot_options so;
  so.keep = 2;
  auto store = el::snapshot_store::open(t_.log(), so, log_.get()).value();
  store->need(5);  // no snapshot yet: the whole log is needed
  std::vector<std::byte> p(4000, std::byte{1});
  el::record_in r;
  r.payload = p;
  std::uint64_t seq = 0;
  for (int i = 0; i < 2000; ++i) seq = log_->append(r).value();  // ~8 segments
  ASSERT_TRUE(store->save(5, seq, 2000, state(3)));
  const std::uint64_t first_snapshot = seq;
  for (int i = 0; i < 2000; ++i) seq = log_->append(r).value();
  ASSERT_TRUE(store->save(5, seq, 4000, state(4)));
  for (int i = 0; i < 2000; ++i) seq = log_->append(r).value();
  // Retention may delete only what both kept snapshots (at first_snapshot and later) cover.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (int i = 0; i < 10; ++i) seq = log_->append(r).value();
  std::uint64_t first = 0;
  std::vector<std::uint64_t> marks;
  auto reader = el::log_reader::open(t_.log()).value();
  (void)reader.scan([&](const el::record_view& v) {
    if (first == 0) first = v.header.seq;
    if (v.header.type == static_cast<std::uint16_t>(el::record_type::snapshot_mark)) {
      std::uint64_t f[4];
      std::memcpy(f, v.payload.data(), sizeof(f));
      EXPECT_EQ(f[0], 5u);
      EXPECT_EQ(v.header.actor_id, 5u);
      marks.push_back(f[1]);
    }
    return true;
  });
  EXPECT_LE(first, first_snapshot + 1);
  EXPECT_GT(first, 1u);  // but it did delete what the oldest kept snapshot covers
  ASSERT_EQ(marks.size(), 2u);
  EXPECT_EQ(marks[0], first_snapshot);
}

TEST_F(snapshots, a_needed_scope_is_remembered_across_opens) {
  {
    auto store = el::snapshot_store::open(t_.log()).value();
    store->need(77);
  }
  // A fresh store attached to the log sets the floor to 1 for it: the whole log is kept.
  auto store = el::snapshot_store::open(t_.log(), {}, log_.get()).value();
  EXPECT_EQ(store->scopes(), (std::vector<std::uint64_t>{77}));
}

TEST(snapshot_options, bad_options_and_a_directory_without_a_log_are_refused) {
  temp_dir t;
  el::snapshot_options o;
  o.keep = 0;
  EXPECT_EQ(el::snapshot_store::open(t.path(), o).error().code(), errc::invalid_config);
  o = {};
  o.block_size = 100;
  EXPECT_EQ(el::snapshot_store::open(t.path(), o).error().code(), errc::invalid_config);
  EXPECT_FALSE(el::snapshot_store::open(t.path() + "/nothing"));
}

}  // namespace
