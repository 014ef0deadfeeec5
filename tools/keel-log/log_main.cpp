// keel-log's command line (CLI11: subcommands, --help for each, typed options and clear errors,
// which a hand-written parser would have to re-create) and the dispatch to the commands.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "tools/keel-log/tool.h"

#ifndef KEEL_VERSION_STRING
#error "KEEL_VERSION_STRING is set by the build"
#endif

namespace keel::tools {
namespace {

void add_filters(CLI::App* cmd, detail::filter_args& f) {
  cmd->add_option("--actor", f.actor, "only records about this actor id");
  cmd->add_option("--type", f.type, "only this record type (message, event, spawn, failure, ...)");
  cmd->add_option("--payload-type", f.payload_type,
                  "only payloads of this message type (a name this tool knows, or a type id)");
  cmd->add_option("--corr", f.correlation, "only this correlation id");
  cmd->add_option("--from-seq", f.from_seq, "start at this sequence number");
  cmd->add_option("--to-seq", f.to_seq, "stop after this sequence number");
  cmd->add_option("--from-ts", f.from_ts, "only records at or after this time (ns)");
  cmd->add_option("--to-ts", f.to_ts, "only records at or before this time (ns)");
}

}  // namespace

int log_main(int argc, const char* const* argv, const type_registry& types,
             const factory_setup& factories) {
  detail::context ctx{types, std::cout, std::cerr, ::isatty(2) == 1};

  CLI::App app{"keel-log: inspect, check and repair keel event logs (docs/keel-log.md)",
               "keel-log"};
  app.set_version_flag("--version", std::string("keel-log ") + KEEL_VERSION_STRING);
  app.require_subcommand(1, 1);
  app.fallthrough(false);
  std::string dir;
  auto log_arg = [&](CLI::App* cmd) {
    cmd->add_option("log", dir, "the log directory")->required();
  };

  CLI::App* info = app.add_subcommand("info", "what the log holds: segments, records, writer");
  log_arg(info);
  CLI::App* verify = app.add_subcommand(
      "verify", "check every segment and record; exit 1 naming the file and offset of damage");
  log_arg(verify);

  detail::filter_args dump_f;
  bool dump_json = false;
  std::uint64_t dump_limit = 0;
  CLI::App* dump = app.add_subcommand("dump", "print records, as text or JSON lines");
  log_arg(dump);
  add_filters(dump, dump_f);
  dump->add_flag("--json", dump_json, "one JSON object per line");
  dump->add_option("--limit", dump_limit, "print at most this many records")
      ->check(CLI::PositiveNumber);

  detail::filter_args tail_f;
  detail::tail_args tail_a;
  CLI::App* tail = app.add_subcommand("tail", "print the last records; -f follows a live log");
  log_arg(tail);
  add_filters(tail, tail_f);
  tail->add_option("-n,--lines", tail_a.lines, "how many (default 10)");
  tail->add_flag("-f,--follow", tail_a.follow, "keep printing records as they are appended");
  tail->add_flag("--json", tail_a.json, "one JSON object per line");
  tail->add_option("--stop-after", tail_a.stop_after,
                   "with -f: exit after printing this many new records");
  tail->add_option("--poll-ms", tail_a.poll_ms, "with -f: how often to look (default 100)")
      ->check(CLI::Range(1u, 60000u));

  std::string corr;
  bool trace_json = false;
  CLI::App* trace = app.add_subcommand("trace", "one correlation id's timeline across actors");
  log_arg(trace);
  trace->add_option("--corr", corr, "the correlation id")->required();
  trace->add_flag("--json", trace_json, "one JSON object per line");

  std::size_t top = 10;
  CLI::App* stats = app.add_subcommand("stats", "counts by record type, message type and actor");
  log_arg(stats);
  stats->add_option("--top", top, "how many message types and actors to list (default 10)");

  bool dry_run = false;
  bool apply = false;
  CLI::App* recover = app.add_subcommand(
      "recover", "show (--dry-run) or do (--apply) what opening the log for writing repairs");
  log_arg(recover);
  auto* dry = recover->add_flag("--dry-run", dry_run, "show what would be done (the default)");
  recover->add_flag("--apply", apply, "do it (the log must not be open by a writer)")
      ->excludes(dry);

  CLI::App* snapshot = app.add_subcommand("snapshot", "the snapshots beside the log");
  snapshot->require_subcommand(1, 1);
  std::string snap_file;
  CLI::App* snap_ls = snapshot->add_subcommand("ls", "list every snapshot, verified");
  log_arg(snap_ls);
  CLI::App* snap_show = snapshot->add_subcommand("show", "one snapshot file's header and state");
  snap_show->add_option("file", snap_file, "the .snap file")->required();
  CLI::App* snap_verify =
      snapshot->add_subcommand("verify", "check every snapshot; exit 1 naming the damaged ones");
  log_arg(snap_verify);

  std::string replay_corr;
  detail::replay_args replay_a;
  CLI::App* replay = app.add_subcommand(
      "replay",
      "re-emit a correlation id's records at the recorded pace, or re-execute its actors "
      "(--exec) with state hashes compared");
  log_arg(replay);
  replay->add_option("--corr", replay_corr, "the correlation id")->required();
  replay->add_flag("--exec", replay_a.exec, "run it (needs a keel-log built with factories)");
  replay->add_option("--speed", replay_a.speed, "N times the recorded pace (default: at once)")
      ->check(CLI::NonNegativeNumber);
  replay->add_flag("--shared", replay_a.shared, "all actors in one system (default: one each)");
  replay->add_flag("--json", replay_a.json, "without --exec: JSON lines (as dump --json)");

  // An unknown command gets its own message (CLI11 would only say that one is required).
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands({})) known = known || sub->get_name() == argv[1];
    if (!known) {
      ctx.err << "keel-log: unknown command '" << argv[1]
              << "' (commands: info, verify, dump, tail, trace, stats, recover, snapshot, "
                 "replay)\n"
              << "Run 'keel-log --help'.\n";
      return k_exit_usage;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, ctx.out, ctx.err) == 0 ? k_exit_ok : k_exit_usage;
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, ctx.out, ctx.err) == 0 ? k_exit_ok : k_exit_usage;
  } catch (const CLI::CallForVersion& e) {
    (void)app.exit(e, ctx.out, ctx.err);
    return k_exit_ok;
  } catch (const CLI::ParseError& e) {
    ctx.err << "keel-log: " << e.what() << "\n";
    ctx.err << "Run 'keel-log --help' or 'keel-log <command> --help'.\n";
    return k_exit_usage;
  }

  auto filter = [&](const detail::filter_args& f) -> std::optional<detail::record_filter> {
    auto r = detail::make_filter(f, types);
    if (r) return *r;
    ctx.err << "keel-log: " << r.error().message() << "\n";
    return std::nullopt;
  };
  if (info->parsed()) return detail::cmd_info(ctx, dir);
  if (verify->parsed()) return detail::cmd_verify(ctx, dir);
  if (dump->parsed()) {
    auto f = filter(dump_f);
    if (!f) return k_exit_usage;
    detail::dump_args a;
    a.filter = *f;
    a.json = dump_json;
    if (dump_limit != 0) a.limit = dump_limit;
    return detail::cmd_dump(ctx, dir, a);
  }
  if (tail->parsed()) {
    auto f = filter(tail_f);
    if (!f) return k_exit_usage;
    tail_a.filter = *f;
    return detail::cmd_tail(ctx, dir, tail_a);
  }
  if (trace->parsed()) {
    detail::filter_args fa;
    fa.correlation = corr;
    auto f = filter(fa);
    if (!f) return k_exit_usage;
    if (*f->correlation == 0) {
      ctx.err << "keel-log: --corr: 0 is no correlation id (records without one carry 0)\n";
      return k_exit_usage;
    }
    return detail::cmd_trace(ctx, dir, *f->correlation, trace_json);
  }
  if (stats->parsed()) return detail::cmd_stats(ctx, dir, top);
  if (recover->parsed()) return detail::cmd_recover(ctx, dir, apply);
  if (snap_ls->parsed()) return detail::cmd_snapshot_ls(ctx, dir);
  if (snap_show->parsed()) return detail::cmd_snapshot_show(ctx, snap_file);
  if (snap_verify->parsed()) return detail::cmd_snapshot_verify(ctx, dir);
  if (replay->parsed()) {
    detail::filter_args fa;
    fa.correlation = replay_corr;
    auto f = filter(fa);
    if (!f) return k_exit_usage;
    replay_a.correlation = *f->correlation;
    return detail::cmd_replay(ctx, dir, replay_a, factories);
  }
  return k_exit_usage;
}

}  // namespace keel::tools
