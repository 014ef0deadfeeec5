// keel-log dump, tail and trace: records printed as text or JSON lines.
#include <chrono>
#include <cstdio>
#include <deque>
#include <thread>
#include <unordered_map>
#include <vector>

#include "tools/keel-log/tool.h"

namespace keel::tools::detail {
namespace el = keel::eventlog;
namespace {

std::string format(const el::record_view& r, const type_registry& types, bool json) {
  return json ? format_json(r, types) : format_text(r, types);
}

}  // namespace

int cmd_dump(context& c, const std::string& dir, const dump_args& a) {
  int code = k_exit_ok;
  auto reader = open_log(c, dir, code);
  if (!reader) return code;
  const std::vector<el::segment_info> segs = reader->segments();
  progress_bar bar(c, segs.empty() ? 0 : segs.front().no, segs.size());
  std::uint64_t printed = 0;
  bool limit_hit = false;
  // The reader skips the sealed segments whose index shows no match.
  const el::scan_report rep = reader->scan(a.filter.query(), [&](const el::record_view& r) {
    bar.at(r.segment_no);
    if (r.header.seq > a.filter.to_seq) return false;
    if (!a.filter.matches(r.header)) return true;
    bar.done();
    c.out << format(r, c.types, a.json) << "\n";
    if (++printed >= a.limit) {
      limit_hit = true;
      return false;
    }
    return true;
  });
  bar.done();
  c.out.flush();
  return limit_hit ? k_exit_ok : report_scan(c, rep, true);
}

int cmd_tail(context& c, const std::string& dir, const tail_args& a) {
  int code = k_exit_ok;
  auto reader = open_log(c, dir, code);
  if (!reader) return code;
  // The last `lines` matching records: scan from the newest segment, going back one segment at
  // a time until enough are found.
  std::vector<el::segment_info> segs = reader->segments();
  while (!segs.empty() && segs.back().spare) segs.pop_back();
  std::deque<std::string> ring;
  std::uint64_t next = a.filter.from_seq;
  el::scan_report rep;
  for (std::size_t back = 1; back <= segs.size(); ++back) {
    ring.clear();
    const std::uint64_t from =
        std::max(a.filter.from_seq, segs[segs.size() - back].header.base_seq);
    rep = reader->scan(
        [&](const el::record_view& r) {
          next = r.header.seq + 1;
          if (r.header.seq > a.filter.to_seq || !a.filter.matches(r.header)) return true;
          ring.push_back(format(r, c.types, a.json));
          if (ring.size() > a.lines) ring.pop_front();
          return true;
        },
        from);
    if (ring.size() >= a.lines || rep.corrupt()) break;
  }
  for (const std::string& line : ring) c.out << line << "\n";
  c.out.flush();
  if (int rc = report_scan(c, rep, true); rc != k_exit_ok || !a.follow) return rc;

  // -f: poll for records after the last one seen (a reader is reopened each round, so that new
  // segments are found).
  std::uint64_t printed = 0;
  for (;;) {
    auto again = el::log_reader::open(dir);
    if (!again) {
      c.err << "keel-log: " << again.error().message() << "\n";
      return again.error().code() == errc::corrupt ? k_exit_corrupt : k_exit_io;
    }
    bool stop = false;
    rep = again->scan(
        [&](const el::record_view& r) {
          next = r.header.seq + 1;
          if (r.header.seq > a.filter.to_seq || !a.filter.matches(r.header)) return true;
          c.out << format(r, c.types, a.json) << "\n";
          if (a.stop_after != 0 && ++printed >= a.stop_after) {
            stop = true;
            return false;
          }
          return true;
        },
        next);
    c.out.flush();
    if (stop) return k_exit_ok;
    if (rep.corrupt()) return report_scan(c, rep, true);
    std::this_thread::sleep_for(std::chrono::milliseconds(a.poll_ms));
  }
}

int cmd_trace(context& c, const std::string& dir, std::uint64_t correlation, bool json) {
  int code = k_exit_ok;
  auto reader = open_log(c, dir, code);
  if (!reader) return code;
  const std::vector<el::segment_info> segs = reader->segments();
  progress_bar bar(c, segs.empty() ? 0 : segs.front().no, segs.size());
  struct line {
    el::frame_header h;
    std::string text;
  };
  std::vector<line> lines;
  el::scan_query q;
  q.correlation = correlation;  // sealed segments whose index shows no such record are skipped
  const el::scan_report rep = reader->scan(q, [&](const el::record_view& r) {
    bar.at(r.segment_no);
    lines.push_back(line{r.header, json ? format_json(r, c.types) : format_text(r, c.types)});
    return true;
  });
  bar.done();
  if (lines.empty()) {
    c.err << "keel-log: no records with correlation id " << correlation << "\n";
    return report_scan(c, rep, true);
  }
  if (json) {
    for (const line& l : lines) c.out << l.text << "\n";
    return report_scan(c, rep, true);
  }
  // A timeline: time since the first record, and indentation by causal depth (a record whose
  // causation is a message of this correlation sits under it).
  std::unordered_map<std::uint64_t, int> depth_of_message;
  std::int64_t t0 = lines.front().h.ts_ns;
  std::uint64_t actors = 0;
  std::unordered_map<std::uint64_t, bool> seen_actor;
  for (const line& l : lines) t0 = std::min(t0, l.h.ts_ns);
  c.out << "correlation " << correlation << ": " << lines.size() << " records\n";
  for (const line& l : lines) {
    int depth = 0;
    if (auto it = depth_of_message.find(l.h.causation); it != depth_of_message.end()) {
      depth = it->second + 1;
    }
    if (l.h.message_id != 0) depth_of_message.emplace(l.h.message_id, depth);
    if (l.h.actor_id != 0 && !seen_actor[l.h.actor_id]) {
      seen_actor[l.h.actor_id] = true;
      ++actors;
    }
    char t[32];
    std::snprintf(t, sizeof(t), "+%.6fs", static_cast<double>(l.h.ts_ns - t0) / 1e9);
    c.out << t << " " << std::string(static_cast<std::size_t>(std::min(depth, 16)) * 2, ' ')
          << l.text << "\n";
  }
  c.out << actors << " actors\n";
  return report_scan(c, rep, true);
}

}  // namespace keel::tools::detail
