// keel::observe::exposition and export_system: the Prometheus text format, checked as written.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <keel/core/actor_system.h>
#include <keel/observe/prometheus.h>
#include <keel/sched/scheduler.h>

namespace keel::observe {
namespace {

bool name_char(char c, bool first, bool colon) noexcept {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  if (alpha || (colon && c == ':')) return true;
  return !first && c >= '0' && c <= '9';
}

bool valid_name(std::string_view n, bool colon) noexcept {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    if (!name_char(n[i], i == 0, colon)) return false;
  }
  return true;
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  // Integers exactly (counters up to 2^53), others in the shortest form that reads back the
  // same double (0.1, not 0.10000000000000001).
  if (v == std::floor(v) && std::fabs(v) < 9.007199254740992e15) {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
    return buf;
  }
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

void escape_into(std::string& out, std::string_view v, bool help) {
  for (const char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && !help) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

}  // namespace

status exposition::family(std::string_view name, metric_kind kind, std::string_view help) {
  if (!valid_name(name, true)) {
    return status(errc::invalid_argument,
                  "metric name \"" + std::string(name) + "\" is not [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
  if (kind == metric_kind::counter &&
      (name.size() < 6 || name.substr(name.size() - 6) != "_total")) {
    return status(errc::invalid_argument,
                  "counter \"" + std::string(name) + "\" must end in _total");
  }
  if (seen_.count(name) != 0) {
    return status(errc::invalid_argument,
                  "metric family \"" + std::string(name) + "\" written twice");
  }
  seen_.emplace(name);
  current_.assign(name);
  kind_ = kind;
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  escape_into(out_, help, true);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += kind == metric_kind::counter ? " counter\n"
          : kind == metric_kind::gauge ? " gauge\n"
                                       : " histogram\n";
  return status();
}

status exposition::labels_ok(std::span<const label> labels) const {
  if (current_.empty()) return status(errc::invalid_argument, "a sample before any family");
  for (const label& l : labels) {
    if (!valid_name(l.name, false) || l.name.substr(0, 2) == "__" ||
        (kind_ == metric_kind::histogram && l.name == "le")) {
      return status(errc::invalid_argument, "label name \"" + std::string(l.name) + "\" in " +
                                                current_ + " is not a usable label name");
    }
  }
  return status();
}

void exposition::write_labels(std::span<const label> labels, const label* extra) {
  if (labels.empty() && extra == nullptr) return;
  out_ += '{';
  bool first = true;
  auto one = [&](const label& l) {
    if (!first) out_ += ',';
    first = false;
    out_ += l.name;
    out_ += "=\"";
    escape_into(out_, l.value, false);
    out_ += '"';
  };
  for (const label& l : labels) one(l);
  if (extra != nullptr) one(*extra);
  out_ += '}';
}

status exposition::sample(std::initializer_list<label> labels, double value) {
  return sample(std::span<const label>(labels.begin(), labels.size()), value);
}

status exposition::sample(std::span<const label> labels, double value) {
  if (status st = labels_ok(labels); !st) return st;
  if (kind_ == metric_kind::histogram) {
    return status(errc::invalid_argument, current_ + " is a histogram: use histogram()");
  }
  out_ += current_;
  write_labels(labels, nullptr);
  out_ += ' ';
  out_ += number(value);
  out_ += '\n';
  return status();
}

status exposition::histogram(std::span<const label> labels, const histogram_snapshot& h,
                             double unit_s, std::span<const double> bounds_s) {
  if (status st = labels_ok(labels); !st) return st;
  if (kind_ != metric_kind::histogram) {
    return status(errc::invalid_argument, current_ + " is not a histogram family");
  }
  if (!(unit_s > 0)) return status(errc::invalid_argument, "histogram unit must be > 0 s");
  double last = -1;
  for (const double b : bounds_s) {
    if (!(b > last) || b < 0) {
      return status(errc::invalid_argument, "bucket bounds must be >= 0 s and increase");
    }
    last = b;
  }
  for (const double b : bounds_s) {
    const std::string le = number(b);
    const label extra{"le", le};
    out_ += current_;
    out_ += "_bucket";
    write_labels(labels, &extra);
    // The bound in the histogram's unit, rounded down: values at most that many units.
    const double units = std::floor(b / unit_s + 1e-9);
    const std::uint64_t n =
        units >= 1.8e19 ? h.count : h.count_at_most(static_cast<std::uint64_t>(units));
    out_ += ' ';
    out_ += number(static_cast<double>(n));
    out_ += '\n';
  }
  const label inf{"le", "+Inf"};
  out_ += current_;
  out_ += "_bucket";
  write_labels(labels, &inf);
  out_ += ' ' + number(static_cast<double>(h.count)) + '\n';
  out_ += current_ + "_sum";
  write_labels(labels, nullptr);
  out_ += ' ' + number(static_cast<double>(h.sum) * unit_s) + '\n';
  out_ += current_ + "_count";
  write_labels(labels, nullptr);
  out_ += ' ' + number(static_cast<double>(h.count)) + '\n';
  return status();
}

status export_system(actor_system& sys, exposition& e) {
  const std::vector<type_counters> types = sys.counters();
  struct per_type {
    const char* name;
    metric_kind kind;
    const char* help;
    double (*value)(const type_counters&);
  };
  static constexpr per_type k_types[] = {
      {"keel_messages_received_total", metric_kind::counter,
       "Messages handled by actors of the type.",
       [](const type_counters& t) { return static_cast<double>(t.received); }},
      {"keel_messages_sent_total", metric_kind::counter, "Messages sent by actors of the type.",
       [](const type_counters& t) { return static_cast<double>(t.sent); }},
      {"keel_actor_failures_total", metric_kind::counter, "Handler failures of actors of the type.",
       [](const type_counters& t) { return static_cast<double>(t.failures); }},
      {"keel_dead_letters_total", metric_kind::counter,
       "Messages addressed to the type that became dead letters.",
       [](const type_counters& t) { return static_cast<double>(t.dead_letters); }},
      {"keel_actors_spawned_total", metric_kind::counter, "Actors of the type spawned.",
       [](const type_counters& t) { return static_cast<double>(t.spawned); }},
      {"keel_actors_stopped_total", metric_kind::counter, "Actors of the type stopped.",
       [](const type_counters& t) { return static_cast<double>(t.stopped); }},
      {"keel_actors_running", metric_kind::gauge, "Actors of the type alive now.",
       [](const type_counters& t) {
         return t.spawned >= t.stopped ? static_cast<double>(t.spawned - t.stopped) : 0.0;
       }},
  };
  for (const per_type& f : k_types) {
    if (status st = e.family(f.name, f.kind, f.help); !st) return st;
    for (const type_counters& t : types) {
      if (status st = e.sample({{"type", t.type}}, f.value(t)); !st) return st;
    }
  }
  sched::scheduler& s = sys.scheduler();
  std::vector<sched::worker_stats> workers;
  for (std::uint32_t i = 0; i < s.worker_count(); ++i) workers.push_back(s.worker_at(i).stats());
  struct per_worker {
    const char* name;
    const char* help;
    double (*value)(const sched::worker_stats&);
  };
  static constexpr per_worker k_workers[] = {
      {"keel_scheduler_activations_total", "Activations (tasks) the worker ran.",
       [](const sched::worker_stats& w) { return static_cast<double>(w.activations); }},
      {"keel_scheduler_steals_total", "Steals by the worker that took at least one task.",
       [](const sched::worker_stats& w) { return static_cast<double>(w.steals); }},
      {"keel_scheduler_parks_total", "Times the worker parked.",
       [](const sched::worker_stats& w) { return static_cast<double>(w.parks); }},
      {"keel_scheduler_wakeups_total", "Times the worker returned from a park.",
       [](const sched::worker_stats& w) { return static_cast<double>(w.wakeups); }},
      {"keel_scheduler_busy_seconds_total", "Time the worker spent inside activations.",
       [](const sched::worker_stats& w) { return static_cast<double>(w.busy_ns) * 1e-9; }},
  };
  for (const per_worker& f : k_workers) {
    if (status st = e.family(f.name, metric_kind::counter, f.help); !st) return st;
    for (std::uint32_t i = 0; i < workers.size(); ++i) {
      const std::string w = std::to_string(i);
      if (status st = e.sample({{"worker", w}}, f.value(workers[i])); !st) return st;
    }
  }
  return status();
}

}  // namespace keel::observe
