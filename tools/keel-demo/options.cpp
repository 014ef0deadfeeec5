// keel-demo's flags. Parsed by hand: five flags do not need a library.
#include "options.h"

#include <charconv>
#include <cmath>
#include <string>
#include <system_error>

namespace keel_demo {
namespace {

using keel::errc;
using keel::status;

status bad(std::string_view flag, std::string_view what, std::string_view value) {
  return status(errc::invalid_argument, std::string(flag) + ": " + std::string(what) + ", got '" +
                                            std::string(value) + "'");
}

// Parses all of `text` as a T with std::from_chars; false if anything is left over.
template <class T>
bool parse_all(std::string_view text, T& out) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

keel::result<double> parse_rate(std::string_view text) {
  double rate = 0;
  if (!parse_all(text, rate) || !std::isfinite(rate) || rate <= 0 || rate > k_max_rate) {
    return bad("--rate", "must be a number of orders per second above 0 and at most 1000000", text);
  }
  return rate;
}

keel::result<std::uint64_t> parse_seed(std::string_view text) {
  std::uint64_t seed = 0;
  if (!parse_all(text, seed)) {
    return bad("--seed", "must be an unsigned 64-bit integer", text);
  }
  return seed;
}

}  // namespace

keel::result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  // The unit: trailing letters; the number: the digits before them.
  std::size_t digits = text.size();
  while (digits > 0 && (text[digits - 1] < '0' || text[digits - 1] > '9')) --digits;
  const std::string_view unit = text.substr(digits);
  std::int64_t ms_per_unit = 0;
  if (unit.empty() || unit == "s") {
    ms_per_unit = 1000;
  } else if (unit == "ms") {
    ms_per_unit = 1;
  } else if (unit == "m") {
    ms_per_unit = 60'000;
  }
  std::int64_t n = 0;
  constexpr std::int64_t k_max_ms = 24LL * 3600 * 1000;
  if (ms_per_unit == 0 || !parse_all(text.substr(0, digits), n) || n <= 0 ||
      n > k_max_ms / ms_per_unit) {
    return bad("--duration", "must be a positive whole number with unit ms, s or m (at most 24h)",
               text);
  }
  return std::chrono::milliseconds(n * ms_per_unit);
}

keel::result<options> parse_options(int argc, const char* const* argv) {
  options out;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      continue;
    }
    if (!arg.starts_with("-")) {
      return status(errc::invalid_argument, "unexpected argument '" + std::string(arg) +
                                                "' (keel-demo takes flags only; see --help)");
    }
    // --flag=value or --flag value.
    std::string_view flag = arg;
    std::string_view value;
    bool has_value = false;
    if (const auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      flag = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    if (flag != "--rate" && flag != "--duration" && flag != "--seed" && flag != "--chaos" &&
        flag != "--log-dir") {
      return status(errc::invalid_argument,
                    "unknown flag '" + std::string(arg) + "' (see --help for the flags)");
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        return status(errc::invalid_argument, std::string(flag) + ": needs a value");
      }
      value = argv[++i];  // taken as is, even when it starts with '-' (`--rate -5`)
    }
    if (flag == "--rate") {
      auto r = parse_rate(value);
      if (!r) return r.error();
      out.rate = *r;
    } else if (flag == "--duration") {
      auto d = parse_duration(value);
      if (!d) return d.error();
      out.duration = *d;
    } else if (flag == "--chaos") {
      if (value != "on" && value != "off") return bad("--chaos", "must be on or off", value);
      out.chaos = value == "on";
    } else if (flag == "--log-dir") {
      if (value.empty()) return bad("--log-dir", "must name a directory", value);
      out.log_dir = std::string(value);
    } else {
      auto s = parse_seed(value);
      if (!s) return s.error();
      out.seed = *s;
    }
  }
  return out;
}

std::string usage(std::string_view program) {
  std::string text = "usage: " + std::string(program) +
                     " [--rate N] [--duration D] [--seed S] [--chaos on|off]\n"
                     "       [--log-dir DIR] [--help]\n"
                     "\n"
                     "Runs keel's order-processing demo: a load driver sends orders to a gateway,\n"
                     "which hands them round-robin to validators (a one_for_one department);\n"
                     "valid orders are charged by payment and stored by the database (an\n"
                     "all_for_one service, with a cache) and committed to the ledger. With chaos\n"
                     "on, validators and payment crash on a few orders and the database has an\n"
                     "outage halfway through that makes the service escalate to the root. Prints\n"
                     "a summary at the end and exits 0 only if every order sent was accepted,\n"
                     "rejected, declined, or lost to an injected fault and counted as such.\n"
                     "\n"
                     "flags (a value follows the flag or an '='):\n"
                     "  --rate N       orders per second, above 0, at most 1000000 (default 1000)\n"
                     "  --duration D   how long the load runs: 5, 5s, 500ms or 2m (default 10s)\n"
                     "  --seed S       seed of the order stream (amounts, cards, faults), an\n"
                     "                 unsigned 64-bit integer (default 1)\n"
                     "  --chaos on|off inject faults into validators and the service (default on)\n"
                     "  --log-dir DIR  record every message the pipeline's actors receive, with a\n"
                     "                 state hash after each, into a new event log in DIR (absent\n"
                     "                 or empty); read it with keel-demo-log (default: no log)\n"
                     "  --help, -h     print this help and exit\n"
                     "\n"
                     "example: " +
                     std::string(program) + " --rate 2000 --duration 5s --seed 7\n";
  return text;
}

}  // namespace keel_demo
