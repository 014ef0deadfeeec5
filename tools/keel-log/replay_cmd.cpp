// keel-log replay: deterministic re-execution of a correlation id's actors, with state hashes
// and recorded outputs compared (keel::eventlog::replay_controller). It needs the application's
// actor factories: the stock tool has none and says so.
#include "tools/keel-log/tool.h"

#include <keel/eventlog/replay.h>

namespace keel::tools::detail {

int cmd_replay(context& c, const std::string& dir, const replay_args& a,
               const factory_setup& factories) {
  if (!a.exec) {
    c.err << "keel-log: replay needs --exec (deterministic re-execution, hashes compared); "
             "'keel-log trace --corr ID' shows the scenario without running it\n";
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
