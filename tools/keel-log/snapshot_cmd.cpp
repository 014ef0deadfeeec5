// keel-log snapshot ls / show / verify: the snapshots beside a log (eventlog/snapshot.h).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "tools/keel-log/tool.h"

#include <keel/eventlog/snapshot.h>

namespace keel::tools::detail {
namespace el = keel::eventlog;
namespace fs = std::filesystem;
namespace {

// Every snapshot file under <log>/snap, by scope then covers_seq (oldest first).
std::vector<std::string> snapshot_files(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& scope : fs::directory_iterator(dir + "/snap", ec)) {
    if (!scope.is_directory()) continue;
    for (const auto& f : fs::directory_iterator(scope.path(), ec)) {
      if (f.path().extension() == ".snap") out.push_back(f.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

int cmd_snapshot_ls(context& c, const std::string& dir) {
  int code = k_exit_ok;
  if (!open_log(c, dir, code)) return code;
  const std::vector<std::string> files = snapshot_files(dir);
  if (files.empty()) {
    c.out << "no snapshots in " << dir << "/snap\n";
    return k_exit_ok;
  }
  c.out << "scope             covers_seq  actor_seq  state_bytes  file_bytes  state_hash        "
           "status\n";
  int rc = k_exit_ok;
  for (const std::string& f : files) {
    auto s = el::snapshot_store::read_file(f);
    if (!s) {
      c.out << f << "  DAMAGED: " << s.error().message() << "\n";
      rc = k_exit_corrupt;
      continue;
    }
    char line[200];
    std::snprintf(line, sizeof(line), "%016llx  %10llu  %9llu  %11llu  %10llu  %s  ok\n",
                  static_cast<unsigned long long>(s->info.scope),
                  static_cast<unsigned long long>(s->info.covers_seq),
                  static_cast<unsigned long long>(s->info.covers_actor_seq),
                  static_cast<unsigned long long>(s->info.raw_size),
                  static_cast<unsigned long long>(s->info.file_size),
                  hex64(s->info.state_hash, false).c_str());
    c.out << line;
  }
  return rc;
}

int cmd_snapshot_show(context& c, const std::string& file) {
  auto s = el::snapshot_store::read_file(file);
  if (!s) {
    c.err << "keel-log: " << s.error().message() << "\n";
    return s.error().code() == errc::corrupt ? k_exit_corrupt : k_exit_io;
  }
  c.out << "file:             " << file << "\n";
  c.out << "scope:            " << s->info.scope << " (" << hex64(s->info.scope) << ")\n";
  c.out << "covers seq:       " << s->info.covers_seq << "\n";
  c.out << "covers actor seq: " << s->info.covers_actor_seq << "\n";
  c.out << "taken at:         " << s->info.ts_ns << " ns\n";
  c.out << "state:            " << s->info.raw_size << " bytes, " << s->info.file_size
        << " in the file, hash " << hex64(s->info.state_hash, false) << " (verified)\n";
  c.out << "first bytes:      " << hex(s->state, 64);
  c.out << (s->state.size() > 64 ? "..." : "") << "\n";
  return k_exit_ok;
}

int cmd_snapshot_verify(context& c, const std::string& dir) {
  int code = k_exit_ok;
  if (!open_log(c, dir, code)) return code;
  const std::vector<std::string> files = snapshot_files(dir);
  std::size_t bad = 0;
  for (const std::string& f : files) {
    if (auto s = el::snapshot_store::read_file(f); !s) {
      c.err << "keel-log: corrupt: " << s.error().message() << "\n";
      ++bad;
    }
  }
  if (bad != 0) return k_exit_corrupt;
  c.out << "ok: " << files.size() << " snapshots verified\n";
  return k_exit_ok;
}

}  // namespace keel::tools::detail
