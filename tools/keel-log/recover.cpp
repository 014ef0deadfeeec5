// keel-log recover: what recovery would do to a log (--dry-run), or doing it (--apply): the
// same recovery event_log::open runs before a writer appends.
#include <filesystem>
#include <vector>

#include "tools/keel-log/tool.h"

#include <keel/eventlog/log.h>

namespace keel::tools::detail {
namespace el = keel::eventlog;

int cmd_recover(context& c, const std::string& dir, bool apply) {
  int code = k_exit_ok;
  auto reader = open_log(c, dir, code);
  if (!reader) return code;
  if (writer_running(dir)) {
    c.err << "keel-log: " << dir
          << ": a writer has the log open; it recovered the log when it opened it\n";
    return k_exit_io;
  }
  const std::vector<el::segment_info> segs = reader->segments();
  std::vector<std::string> actions;
  const el::segment_info* last = nullptr;
  for (const el::segment_info& s : segs) {
    if (s.spare) {
      actions.push_back("remove the unused spare segment " + s.file);
    } else if (s.problem != el::log_problem::none) {
      c.err << "keel-log: corrupt: " << s.file << ": " << el::to_string(s.problem)
            << " (recovery does not repair a bad header)\n";
      return k_exit_corrupt;
    } else {
      if (last != nullptr && last->header.sealed_end == 0) {
        actions.push_back("seal " + last->file + " (rolled, not sealed when the writer stopped)");
      }
      last = &s;
    }
  }
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/seg", ec)) {
    if (e.path().extension() == ".tmp") {
      actions.push_back("remove the unfinished spare " + e.path().string());
    }
  }
  const el::scan_report rep = reader->scan([](const el::record_view&) { return true; });
  if (rep.corrupt()) return report_scan(c, rep, true);
  if (rep.problem != el::log_problem::none) {
    actions.push_back("clear " + rep.file + " after offset " + std::to_string(rep.offset) + " (" +
                      std::string(el::to_string(rep.problem)) +
                      "; claims a killed writer left are kept as padding when the tail can be "
                      "trusted)");
  }
  if (!apply) {
    if (actions.empty()) {
      c.out << "nothing to recover: " << rep.records << " records, the log ends cleanly\n";
    } else {
      c.out << "recovery would:\n";
      for (const std::string& a : actions) c.out << "  " << a << "\n";
      c.out << "(" << rep.records << " valid records are kept; run with --apply to do it)\n";
    }
    return k_exit_ok;
  }
  el::log_options opts;
  if (last != nullptr) {
    opts.segment_size = last->header.capacity;  // keep the log's geometry
    opts.max_record = last->header.max_record;
  }
  auto log = el::event_log::open(dir, opts);
  if (!log) {
    c.err << "keel-log: recover: " << log.error().message() << "\n";
    return log.error().code() == errc::corrupt ? k_exit_corrupt : k_exit_io;
  }
  const el::recovery_report& r = (*log)->recovery();
  c.out << "recovered " << dir << ": " << r.segments << " segments, " << r.records
        << " records in the last, " << r.aborted << " abandoned claims stepped over, "
        << r.zeroed_bytes << " bytes of torn tail cleared, " << r.spares_removed
        << " spares removed\n";
  return k_exit_ok;
}

}  // namespace keel::tools::detail
