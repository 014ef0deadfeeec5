// keel-log replay: timed re-emission of a correlation id's records (any keel-log), or, with
// --exec, deterministic re-execution of its actors with state hashes and recorded outputs
// compared (keel::eventlog::replay_controller). --exec needs the application's actor factories:
// the stock tool has none and says so.
#include <chrono>
#include <thread>

#include "tools/keel-log/tool.h"

#include <keel/eventlog/reader.h>
#include <keel/eventlog/replay.h>

namespace keel::tools::detail {
namespace {

// Every record with the correlation id, in seq order, one line each as dump prints it, at
// `speed` times the recorded pace (the gaps between their ts_ns; 0: at once). Each line is
// flushed as it goes, so a consumer reading the pipe sees the scenario unfold.
int re_emit(context& c, const std::string& dir, const replay_args& a) {
  int code = k_exit_ok;
  auto reader = open_log(c, dir, code);
  if (!reader) return code;
  eventlog::scan_query q;
  q.correlation = a.correlation;
  std::int64_t last_ts = 0;
  std::uint64_t emitted = 0;
  const eventlog::scan_report rep = reader->scan(q, [&](const eventlog::record_view& r) {
    if (a.speed > 0 && emitted != 0 && r.header.ts_ns > last_ts) {
      std::this_thread::sleep_for(std::chrono::nanoseconds(
          static_cast<std::int64_t>(static_cast<double>(r.header.ts_ns - last_ts) / a.speed)));
    }
    last_ts = r.header.ts_ns;
    ++emitted;
    c.out << (a.json ? format_json(r, c.types) : format_text(r, c.types)) << std::endl;
    return true;
  });
  if (emitted == 0 && !rep.corrupt()) {
    c.err << "keel-log: no records with correlation id " << a.correlation << "\n";
    return k_exit_usage;
  }
  return report_scan(c, rep, true);
}

}  // namespace

int cmd_replay(context& c, const std::string& dir, const replay_args& a,
               const factory_setup& factories) {
  if (!a.exec) return re_emit(c, dir, a);
  if (a.json) {
    c.err << "keel-log: replay --exec prints a report, not records: --json is for re-emission\n";
    return k_exit_usage;
  }
  if (!factories) {
    c.err << "keel-log: replay --exec: no actor factories linked (the stock keel-log cannot "
             "re-create actors; an application builds its own keel-log with "
             "keel::tools::log_main(argc, argv, types, factories))\n";
    return k_exit_usage;
  }
  int code = k_exit_ok;
  if (!open_log(c, dir, code)) return code;
  eventlog::replay_controller rc(dir, c.types, factories);
  eventlog::replay_options o;
  o.speed = a.speed;
  o.isolated = !a.shared;
  auto session = rc.open_scenario(a.correlation, o);
  if (!session) {
    c.err << "keel-log: " << session.error().message() << "\n";
    switch (session.error().code()) {
      case errc::corrupt:
        return k_exit_corrupt;
      case errc::io_error:
        return k_exit_io;
      default:
        return k_exit_usage;  // not_found, or refused with the reasons
    }
  }
  auto report = (*session)->run();
  if (!report) {
    c.err << "keel-log: " << report.error().message() << "\n";
    return report.error().code() == errc::corrupt ? k_exit_corrupt : k_exit_io;
  }
  c.out << report->summary();
  return report->matched() ? k_exit_ok : k_exit_diverged;
}

}  // namespace keel::tools::detail
