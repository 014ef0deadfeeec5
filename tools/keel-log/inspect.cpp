// keel-log info, verify and stats: what a log holds and whether it is sound.
#include <fcntl.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <vector>

#include "tools/keel-log/tool.h"

namespace keel::tools::detail {
namespace el = keel::eventlog;
namespace {

std::string utc(std::int64_t ns) {
  const time_t secs = static_cast<time_t>(ns / 1'000'000'000);
  tm t{};
  gmtime_r(&secs, &t);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900,
                t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                static_cast<int>((ns / 1'000'000) % 1000));
  return buf;
}

}  // namespace

// Whether a writer holds the log's LOCK (a probe with a non-blocking flock of our own).
bool writer_running(const std::string& dir) {
  const int fd = ::open((dir + "/LOCK").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0;
  if (!held) (void)::flock(fd, LOCK_UN);
  ::close(fd);
  return held;
}

int cmd_info(context& c, const std::string& dir) {
  int code = k_exit_ok;
  auto reader = open_log(c, dir, code);
  if (!reader) return code;
  const std::vector<el::segment_info> segs = reader->segments();
  std::uint64_t bytes = 0;
  std::uint64_t spares = 0;
  std::uint64_t compressed = 0;
  std::uint64_t sealed_records = 0;
  const el::segment_info* last = nullptr;
  // The first segment not sealed: the active one, or one a writer rolled and closed before its
  // thread sealed it (sealed at the next open). Its records and those after it are counted by a
  // scan, the sealed ones before it by their headers.
  const el::segment_info* first_open = nullptr;
  for (const el::segment_info& s : segs) {
    bytes += s.file_size;
    if (s.spare) {
      ++spares;
      continue;
    }
    if (s.problem != el::log_problem::none) {
      c.err << "keel-log: corrupt: " << s.file << ": " << el::to_string(s.problem) << "\n";
      return k_exit_corrupt;
    }
    compressed += s.compressed ? 1 : 0;
    if (first_open == nullptr && s.header.sealed_end == 0) first_open = &s;
    if (first_open == nullptr) sealed_records += s.header.record_count;
    last = &s;
  }
  c.out << "log:        " << dir << "\n";
  c.out << "log id:     " << hex(std::as_bytes(std::span(reader->log_id(), 16)), 16) << "\n";
  c.out << "created:    " << utc(reader->created_ns()) << "\n";
  c.out << "format:     version " << el::k_format_version << "\n";
  if (last == nullptr) {
    c.out << "segments:   none\nrecords:    0\n";
    return k_exit_ok;
  }
  const el::segment_header& lh = last->header;
  // Records: the sealed segments' counts, and a scan from the first one not sealed.
  std::uint64_t last_seq = 0;
  std::uint64_t tail_records = 0;
  if (first_open == nullptr) {  // every segment sealed: the last one's records are scanned
    sealed_records -= lh.record_count;
    first_open = last;
  }
  const el::scan_report rep = reader->scan(
      [&](const el::record_view& r) {
        last_seq = r.header.seq;
        if (r.segment_no >= first_open->no) ++tail_records;
        return true;
      },
      first_open->header.base_seq);
  const std::uint64_t first_seq = segs.front().spare ? 0 : segs.front().header.base_seq;
  const std::uint64_t active = segs.size() - spares;
  c.out << "segments:   " << active << " (numbers " << segs.front().no << ".." << last->no << "), "
        << bytes << " bytes on disk";
  if (compressed != 0) c.out << ", " << compressed << " compressed";
  if (spares != 0) c.out << ", " << spares << " spare";
  c.out << "\n";
  c.out << "records:    " << sealed_records + tail_records;
  if (last_seq != 0) c.out << " (seq " << first_seq << ".." << last_seq << ")";
  c.out << "\n";
  const bool running = writer_running(dir);
  c.out << "writer:     "
        << (running ? "running (pid " + std::to_string(lh.writer_pid) + ")" : "not running")
        << "\n";
  const std::uint64_t used = lh.sealed_end != 0 ? lh.sealed_end : (lh.tail & 0xffffffffu);
  c.out << "active:     segment " << last->no << ", " << std::min(used, lh.capacity) << " of "
        << lh.capacity << " bytes, durable to offset " << lh.durable << "\n";
  return report_scan(c, rep, false);
}

int cmd_verify(context& c, const std::string& dir) {
  int code = k_exit_ok;
  auto reader = open_log(c, dir, code);
  if (!reader) return code;
  const std::vector<el::segment_info> segs = reader->segments();
  std::map<std::uint64_t, std::uint64_t> sealed_counts;  // segment -> record_count
  for (const el::segment_info& s : segs) {
    if (!s.spare && s.problem == el::log_problem::none && s.header.sealed_end != 0) {
      sealed_counts[s.no] = s.header.record_count;
    }
  }
  progress_bar bar(c, segs.empty() ? 0 : segs.front().no, segs.size());
  std::map<std::uint64_t, std::uint64_t> counts;
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::uint64_t prev = 0;
  std::string order_problem;
  const el::scan_report rep = reader->scan([&](const el::record_view& r) {
    bar.at(r.segment_no);
    ++counts[r.segment_no];
    if (first == 0) first = r.header.seq;
    if (r.header.seq <= prev && order_problem.empty()) {
      order_problem = "seq " + std::to_string(r.header.seq) + " after " + std::to_string(prev) +
                      " in segment " + std::to_string(r.segment_no) + " at offset " +
                      std::to_string(r.offset);
    }
    prev = last = r.header.seq;
    return true;
  });
  bar.done();
  if (int rc = report_scan(c, rep, false); rc != k_exit_ok) return rc;
  if (!order_problem.empty()) {
    c.err << "keel-log: corrupt: sequence numbers out of order: " << order_problem << "\n";
    return k_exit_corrupt;
  }
  for (const auto& [no, count] : sealed_counts) {
    if (counts[no] != count) {
      c.err << "keel-log: corrupt: " << dir << "/seg/ segment " << no << " was sealed with "
            << count << " records and holds " << counts[no] << "\n";
      return k_exit_corrupt;
    }
  }
  c.out << "ok: " << rep.records << " records in " << rep.segments << " segments";
  if (rep.records != 0) c.out << ", seq " << first << ".." << last;
  c.out << "\n";
  return k_exit_ok;
}

int cmd_stats(context& c, const std::string& dir, std::size_t top) {
  int code = k_exit_ok;
  auto reader = open_log(c, dir, code);
  if (!reader) return code;
  const std::vector<el::segment_info> segs = reader->segments();
  progress_bar bar(c, segs.empty() ? 0 : segs.front().no, segs.size());
  std::map<std::uint16_t, std::uint64_t> by_type;
  std::map<std::uint64_t, std::uint64_t> by_payload;
  std::map<std::uint64_t, std::uint64_t> by_actor;
  std::uint64_t records = 0;
  std::uint64_t payload_bytes = 0;
  std::uint64_t frame_bytes = 0;
  std::int64_t min_ts = 0;
  std::int64_t max_ts = 0;
  const el::scan_report rep = reader->scan([&](const el::record_view& r) {
    bar.at(r.segment_no);
    const el::frame_header& h = r.header;
    if (records == 0 || h.ts_ns < min_ts) min_ts = h.ts_ns;
    if (records == 0 || h.ts_ns > max_ts) max_ts = h.ts_ns;
    ++records;
    ++by_type[h.type];
    if (h.payload_type != 0) ++by_payload[h.payload_type];
    if (h.actor_id != 0) ++by_actor[h.actor_id];
    payload_bytes += r.payload.size();
    frame_bytes += el::align_up(static_cast<std::uint64_t>(h.len));
    return true;
  });
  bar.done();
  c.out << "records:        " << records << " in " << rep.segments << " segments\n";
  c.out << "bytes:          " << frame_bytes << " in frames, " << payload_bytes
        << " of them payload\n";
  if (records != 0) {
    c.out << "time:           " << min_ts << " .. " << max_ts << " ns";
    if (max_ts > min_ts) {
      const double secs = static_cast<double>(max_ts - min_ts) / 1e9;
      char buf[64];
      std::snprintf(buf, sizeof(buf), " (%.3f s, %.0f records/s)", secs,
                    static_cast<double>(records) / secs);
      c.out << buf;
    }
    c.out << "\n";
  }
  c.out << "by record type:\n";
  for (const auto& [t, n] : by_type) {
    const std::string_view name = el::to_string(static_cast<el::record_type>(t));
    c.out << "  " << (name.empty() ? "type_" + std::to_string(t) : std::string(name)) << " " << n
          << "\n";
  }
  auto print_top = [&](const char* title, const std::map<std::uint64_t, std::uint64_t>& m,
                       auto name) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> v(m.begin(), m.end());
    std::sort(v.begin(), v.end(), [](auto& a, auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    c.out << title << " (" << v.size() << ", top " << std::min(top, v.size()) << "):\n";
    for (std::size_t i = 0; i < v.size() && i < top; ++i) {
      c.out << "  " << name(v[i].first) << " " << v[i].second << "\n";
    }
  };
  print_top("by payload type", by_payload,
            [&](std::uint64_t id) { return payload_type_name(id, c.types); });
  print_top("by actor", by_actor, [](std::uint64_t id) { return std::to_string(id); });
  return report_scan(c, rep, false);
}

}  // namespace keel::tools::detail
