// The golden log: tests/eventlog/golden/log was written once by the disabled test at the end of
// this file and committed. It must decode to golden/expected.txt forever; a format change that
// breaks this needs a new format version, not a new golden file. golden/read_log.py, written
// from docs/eventlog-format.md alone, decodes it to the same text (ctest eventlog.golden_python).
#include <gtest/gtest.h>
#include <xxhash.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <keel/eventlog/log.h>
#include <keel/eventlog/reader.h>

namespace {

namespace el = keel::eventlog;

// One line per record, then the end of the scan: the canonical text both readers print.
std::string dump(const std::string& dir) {
  auto r = el::log_reader::open(dir);
  if (!r) return "open failed: " + r.error().to_string() + "\n";
  std::ostringstream out;
  std::uint64_t n = 0;
  const el::scan_report rep = r->scan([&](const el::record_view& v) {
    const el::frame_header& h = v.header;
    char line[400];
    std::snprintf(line, sizeof(line),
                  "seq=%" PRIu64 " type=%u flags=%u ts=%" PRId64 " actor=%" PRIu64
                  " actor_seq=%" PRIu64 " msg=%" PRIu64 " corr=%" PRIu64 " cause=%" PRIu64
                  " ptype=%016" PRIx64 " len=%zu payload_xxh3=%016" PRIx64 "\n",
                  h.seq, static_cast<unsigned>(h.type), static_cast<unsigned>(h.flags), h.ts_ns,
                  h.actor_id, h.actor_seq, h.message_id, h.correlation, h.causation, h.payload_type,
                  v.payload.size(), XXH3_64bits(v.payload.data(), v.payload.size()));
    out << line;
    ++n;
    return true;
  });
  out << "end records=" << n << " segments=" << rep.segments
      << " problem=" << to_string(rep.problem) << "\n";
  return out.str();
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(eventloggolden, the_committed_log_decodes_as_it_always_has) {
  const std::string dir = std::string(KEEL_SOURCE_DIR) + "/tests/eventlog/golden";
  const std::string expected = read_text(dir + "/expected.txt");
  ASSERT_FALSE(expected.empty()) << "missing " << dir << "/expected.txt";
  EXPECT_EQ(dump(dir + "/log"), expected);
}

// Writes a new golden log into $KEEL_GOLDEN_OUT (which must not exist) and its expected.txt
// beside it. Run by hand only: --gtest_also_run_disabled_tests --gtest_filter='*golden*write*'.
TEST(eventloggolden, DISABLED_write_the_golden_log) {
  const char* out = std::getenv("KEEL_GOLDEN_OUT");
  ASSERT_NE(out, nullptr) << "set KEEL_GOLDEN_OUT";
  el::log_options o;
  o.segment_size = 1u << 20;
  o.max_record = 256u << 10;
  {
    auto log = el::event_log::open(std::string(out) + "/log", o);
    ASSERT_TRUE(log.has_value()) << log.error();
    // Small records of several types, then large ones that roll into a second segment.
    const el::record_type types[] = {el::record_type::message, el::record_type::event,
                                     el::record_type::spawn, el::record_type::timer};
    for (std::uint32_t i = 0; i < 40; ++i) {
      const std::size_t size = i < 24 ? (i * 7) % 61 : 70'000 + i * 101;
      std::vector<std::byte> p(size);
      for (std::size_t k = 0; k < size; ++k) p[k] = static_cast<std::byte>((k * 13 + i) & 0xff);
      el::record_in r;
      r.type = types[i % 4];
      r.ts_ns = 1'700'000'000'000'000'000 + i * 1'000;
      r.actor_id = 1 + i % 3;
      r.actor_seq = 1 + i / 3;
      r.message_id = 100 + i;
      r.correlation = i < 20 ? 7 : 9;
      r.causation = i == 0 ? 0 : 99 + i;
      r.payload_type = 0x1234'5678'9abc'def0ULL + i % 2;
      r.payload = p;
      ASSERT_TRUE((*log)->append(r).has_value());
    }
    ASSERT_TRUE((*log)->sync().is_ok());
  }
  std::ofstream(std::string(out) + "/expected.txt") << dump(std::string(out) + "/log");
}

}  // namespace
