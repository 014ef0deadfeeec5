// keel-bench's main: parses --smoke, registers the workload families compiled in, runs Google
// Benchmark, and exits non-zero if any result check failed (ctest's bench.smoke relies on it).
//
//   keel-bench [--smoke] [Google Benchmark flags...]
//
// --smoke (or KEEL_BENCH_SMOKE=1): every workload shrinks to a size that runs in well under a
// second, once, with its result checked (sums, counts, hop counts).
// --bench-child=<name>:<arg> is internal: a benchmark that needs a fresh process re-executes
// keel-bench in that mode (see harness.h).
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "harness.h"

namespace {

// `--bench-child=<name>:<arg>`: runs a registered child mode; -1 if argv asks for none.
int run_child_mode(int argc, char** argv) {
  constexpr std::string_view k_flag = "--bench-child=";
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a.substr(0, k_flag.size()) != k_flag) continue;
    const std::string_view spec = a.substr(k_flag.size());
    const std::size_t colon = spec.find(':');
    const std::string_view name = spec.substr(0, colon);
    const char* arg = colon == std::string_view::npos ? "" : argv[i] + k_flag.size() + colon + 1;
    for (const keel::bench::child_mode& m : keel::bench::child_modes()) {
      if (name == m.name) return m.fn(arg);
    }
    std::fprintf(stderr, "keel-bench: no child mode \"%.*s\"\n", static_cast<int>(name.size()),
                 name.data());
    return 2;
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (const int rc = run_child_mode(argc, argv); rc >= 0) return rc;
  std::vector<char*> args;
  const char* env = std::getenv("KEEL_BENCH_SMOKE");
  keel::bench::smoke_flag() = env != nullptr && std::strcmp(env, "0") != 0 && env[0] != '\0';
  for (int i = 0; i < argc; ++i) {
    if (i > 0 && std::strcmp(argv[i], "--smoke") == 0) {
      keel::bench::smoke_flag() = true;
      continue;
    }
    args.push_back(argv[i]);
  }
  for (keel::bench::register_fn f : keel::bench::registry()) f();

  int n = static_cast<int>(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();

  if (const std::uint64_t d = keel::bench::diagnostics_seen().load(); d != 0) {
    std::fprintf(stderr,
                 "keel-bench: keel reported %llu diagnostics (e.g. mailbox_age), not shown\n",
                 static_cast<unsigned long long>(d));
  }
  const int failed = keel::bench::failed_checks().load();
  if (failed != 0) {
    std::fprintf(stderr, "keel-bench: %d result check(s) failed\n", failed);
    return 1;
  }
  return 0;
}
