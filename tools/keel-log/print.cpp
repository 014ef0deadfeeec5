// keel-log's record filter, record printers, progress bar and error reporting.
#include <time.h>

#include <charconv>
#include <cstdio>
#include <optional>
#include <string_view>

#include "tools/keel-log/tool.h"

#include <keel/resilience/breaker_record.h>

namespace keel::tools::detail {
namespace el = keel::eventlog;
namespace {

// A JSON string literal (the names printed are identifiers, but nothing is assumed).
std::string quoted(std::string_view s) {
  std::string q = "\"";
  for (const char ch : s) {
    if (ch == '"' || ch == '\\') {
      q += '\\';
      q += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(ch));
      q += buf;
    } else {
      q += ch;
    }
  }
  return q + "\"";
}

std::string type_name(std::uint16_t type) {
  const std::string_view n = el::to_string(static_cast<el::record_type>(type));
  return n.empty() ? "type_" + std::to_string(type) : std::string(n);
}

// Unsigned decimal or 0x hex; nullopt if `s` is neither.
std::optional<std::uint64_t> parse_u64(std::string_view s) {
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<std::int64_t> parse_i64(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

std::string hex(std::span<const std::byte> bytes, std::size_t max) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  const std::size_t n = std::min(bytes.size(), max);
  s.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    const auto b = static_cast<unsigned>(bytes[i]);
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

std::string hex64(std::uint64_t v, bool prefix) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), prefix ? "0x%016llx" : "%016llx",
                static_cast<unsigned long long>(v));
  return buf;
}

bool record_filter::matches(const el::frame_header& h) const noexcept {
  if (h.seq < from_seq || h.seq > to_seq) return false;
  if (h.ts_ns < from_ts || h.ts_ns > to_ts) return false;
  if (actor && h.actor_id != *actor) return false;
  if (correlation && h.correlation != *correlation) return false;
  if (payload_type && h.payload_type != *payload_type) return false;
  if (type && (h.type & ~el::k_safe_ignore) != static_cast<std::uint16_t>(*type)) return false;
  return true;
}

el::scan_query record_filter::query() const noexcept {
  el::scan_query q;
  q.from_seq = from_seq;
  q.to_seq = to_seq == std::numeric_limits<std::uint64_t>::max() ? to_seq : to_seq + 1;
  q.from_ts = from_ts;
  q.to_ts = to_ts;
  q.correlation = correlation.value_or(0);
  q.actor = actor.value_or(0);
  return q;
}

result<record_filter> make_filter(const filter_args& a, const type_registry& types) {
  record_filter f;
  auto bad = [](const char* opt, const std::string& v, const char* want) {
    return status(errc::invalid_argument, std::string(opt) + ": '" + v + "' is not " + want);
  };
  auto u64 = [&](const char* opt, const std::string& v,
                 std::optional<std::uint64_t>& out) -> status {
    if (v.empty()) return status();
    out = parse_u64(v);
    return out ? status() : bad(opt, v, "a number (decimal or 0x hex)");
  };
  if (status st = u64("--actor", a.actor, f.actor); !st) return st;
  if (status st = u64("--corr", a.correlation, f.correlation); !st) return st;
  if (!a.payload_type.empty()) {
    if (auto id = parse_u64(a.payload_type)) {
      f.payload_type = *id;
    } else {
      for (const type_entry& e : types.entries()) {
        if (e.name == a.payload_type) f.payload_type = e.id;
      }
      if (!f.payload_type) {
        return bad("--payload-type", a.payload_type,
                   "a type id or the name of a message type this tool knows");
      }
    }
  }
  if (!a.type.empty()) {
    el::record_type t{};
    if (!el::parse_record_type(a.type, t) || t == el::record_type::padding) {
      return bad("--type", a.type, "a record type (message, event, spawn, failure, ...)");
    }
    f.type = t;
  }
  if (!a.from_seq.empty()) {
    auto v = parse_u64(a.from_seq);
    if (!v) return bad("--from-seq", a.from_seq, "a sequence number");
    f.from_seq = *v;
  }
  if (!a.to_seq.empty()) {
    auto v = parse_u64(a.to_seq);
    if (!v) return bad("--to-seq", a.to_seq, "a sequence number");
    f.to_seq = *v;
  }
  if (!a.from_ts.empty()) {
    auto t = parse_i64(a.from_ts);
    if (!t) return bad("--from-ts", a.from_ts, "a time in nanoseconds");
    f.from_ts = *t;
  }
  if (!a.to_ts.empty()) {
    auto t = parse_i64(a.to_ts);
    if (!t) return bad("--to-ts", a.to_ts, "a time in nanoseconds");
    f.to_ts = *t;
  }
  if (f.from_seq > f.to_seq) {
    return status(errc::invalid_argument, "--from-seq is after --to-seq");
  }
  if (f.from_ts > f.to_ts) return status(errc::invalid_argument, "--from-ts is after --to-ts");
  return f;
}

std::string payload_type_name(std::uint64_t id, const type_registry& types) {
  if (id == 0) return "";
  std::string n = types.name_of_id(id);
  return n.empty() ? hex64(id) : n;
}

namespace {

// A BREAKER record's payload (resilience/breaker_record.h), as text or JSON; nullopt for another
// record type or a payload that does not decode (printed as hex instead).
std::optional<resilience::breaker_record> breaker_of(const el::record_view& r) {
  if ((r.header.type & ~el::k_safe_ignore) !=
      static_cast<std::uint16_t>(el::record_type::breaker)) {
    return std::nullopt;
  }
  auto d = resilience::decode_breaker_record(r.payload);
  if (!d) return std::nullopt;
  return std::move(d).value();
}

std::string breaker_text(const resilience::breaker_record& b) {
  const resilience::breaker_event& e = b.event;
  std::string s = " breaker=" + b.name + " ";
  s += e.kind == resilience::breaker_event_kind::would_trip
           ? "would_trip"
           : std::string(to_string(e.from)) + "->" + std::string(to_string(e.to));
  s += " gen=" + std::to_string(e.generation);
  if (e.open_for_ns != 0) s += " open_for_ns=" + std::to_string(e.open_for_ns);
  s += " calls=" + std::to_string(e.calls) + " failures=" + std::to_string(e.failures) +
       " slow=" + std::to_string(e.slow) + " consecutive=" + std::to_string(e.consecutive);
  return s;
}

std::string breaker_json(const resilience::breaker_record& b) {
  const resilience::breaker_event& e = b.event;
  return std::string("{\"name\":") + quoted(b.name) + ",\"kind\":" +
         quoted(e.kind == resilience::breaker_event_kind::would_trip ? "would_trip"
                                                                     : "transition") +
         ",\"from\":" + quoted(std::string(to_string(e.from))) +
         ",\"to\":" + quoted(std::string(to_string(e.to))) +
         ",\"generation\":" + std::to_string(e.generation) +
         ",\"open_for_ns\":" + std::to_string(e.open_for_ns) +
         ",\"calls\":" + std::to_string(e.calls) + ",\"failures\":" + std::to_string(e.failures) +
         ",\"slow\":" + std::to_string(e.slow) +
         ",\"consecutive\":" + std::to_string(e.consecutive) + "}";
}

// SPAWN, STOP, FAILURE and RESTART records carry text (docs/eventlog-format.md): the actor's
// type and registered name, or the reason. False for other records.
bool is_lifecycle(std::uint16_t type) noexcept {
  using el::record_type;
  return type == static_cast<std::uint16_t>(record_type::spawn) ||
         type == static_cast<std::uint16_t>(record_type::stop) ||
         type == static_cast<std::uint16_t>(record_type::failure) ||
         type == static_cast<std::uint16_t>(record_type::restart);
}

std::string lifecycle_text(const el::record_view& r) {
  if (r.header.type == static_cast<std::uint16_t>(el::record_type::spawn)) {
    const el::spawn_names n = el::split_spawn(r.payload);
    std::string s = " actor_type=" + std::string(n.type);
    if (!n.name.empty()) s += " name=" + quoted(std::string(n.name));
    return s;
  }
  std::string s;
  if ((r.header.flags & el::k_flag_new_incarnation) != 0) s += " new_incarnation";
  const std::string text(reinterpret_cast<const char*>(r.payload.data()), r.payload.size());
  return s + " reason=" + quoted(text);
}

std::string lifecycle_json(const el::record_view& r) {
  if (r.header.type == static_cast<std::uint16_t>(el::record_type::spawn)) {
    const el::spawn_names n = el::split_spawn(r.payload);
    return ",\"actor_type\":" + quoted(std::string(n.type)) +
           ",\"actor_name\":" + quoted(std::string(n.name));
  }
  std::string s =
      ",\"reason\":" +
      quoted(std::string(reinterpret_cast<const char*>(r.payload.data()), r.payload.size()));
  if (r.header.type == static_cast<std::uint16_t>(el::record_type::restart)) {
    s += std::string(",\"new_incarnation\":") +
         ((r.header.flags & el::k_flag_new_incarnation) != 0 ? "true" : "false");
  }
  return s;
}

}  // namespace

std::string format_text(const el::record_view& r, const type_registry& types) {
  const el::frame_header& h = r.header;
  std::string s = "#" + std::to_string(h.seq) + " " + type_name(h.type);
  s += " ts=" + std::to_string(h.ts_ns);
  if (h.actor_id != 0) {
    s += " actor=" + std::to_string(h.actor_id);
    if (h.actor_seq != 0) s += "/" + std::to_string(h.actor_seq);
  }
  if (h.message_id != 0) s += " msg=" + std::to_string(h.message_id);
  if (h.correlation != 0) s += " corr=" + std::to_string(h.correlation);
  if (h.causation != 0) s += " cause=" + std::to_string(h.causation);
  if (h.payload_type != 0) s += " " + payload_type_name(h.payload_type, types);
  if (auto b = breaker_of(r)) return s + breaker_text(*b);
  if (is_lifecycle(h.type)) return s + lifecycle_text(r);
  if (!r.payload.empty()) {
    if (auto json = types.bytes_to_json(h.payload_type, r.payload)) {
      s += " " + *json;
    } else {
      s += " hex:" + hex(r.payload, 64);
      if (r.payload.size() > 64) s += "... (" + std::to_string(r.payload.size()) + " bytes)";
    }
  }
  return s;
}

std::string format_json(const el::record_view& r, const type_registry& types) {
  const el::frame_header& h = r.header;
  std::string s = "{\"seq\":" + std::to_string(h.seq) + ",\"type\":" + quoted(type_name(h.type));
  s += ",\"ts_ns\":" + std::to_string(h.ts_ns);
  s += ",\"actor\":" + std::to_string(h.actor_id);
  s += ",\"actor_seq\":" + std::to_string(h.actor_seq);
  s += ",\"message_id\":" + std::to_string(h.message_id);
  s += ",\"correlation\":" + std::to_string(h.correlation);
  s += ",\"causation\":" + std::to_string(h.causation);
  s += ",\"payload_type\":" + quoted(hex64(h.payload_type));
  if (std::string name = types.name_of_id(h.payload_type); !name.empty()) {
    s += ",\"payload_type_name\":" + quoted(name);
  }
  if (auto b = breaker_of(r)) {
    s += ",\"breaker\":" + breaker_json(*b);
  } else if (is_lifecycle(h.type)) {
    s += lifecycle_json(r);
  } else if (auto json = types.bytes_to_json(h.payload_type, r.payload);
             json && !r.payload.empty()) {
    s += ",\"payload\":" + *json;
  } else {
    s += ",\"payload_hex\":" + quoted(hex(r.payload, r.payload.size()));
  }
  s += ",\"segment\":" + std::to_string(r.segment_no) + ",\"offset\":" + std::to_string(r.offset);
  return s + "}";
}

progress_bar::progress_bar(context& c, std::uint64_t first_segment, std::uint64_t segments)
    : c_(c), first_(first_segment), total_(segments) {}

void progress_bar::at(std::uint64_t segment_no) {
  if (!c_.progress || total_ < 2) return;
  const std::int64_t now = now_ns();
  if (now - last_draw_ns_ < 100'000'000) return;
  last_draw_ns_ = now;
  const std::uint64_t done = segment_no >= first_ ? segment_no - first_ : 0;
  const unsigned pct = static_cast<unsigned>(std::min<std::uint64_t>(100, done * 100 / total_));
  std::string bar(30, ' ');
  for (unsigned i = 0; i < pct * 30 / 100; ++i) bar[i] = '=';
  c_.err << "\r[" << bar << "] " << pct << "% segment " << done + 1 << "/" << total_ << std::flush;
  drawn_ = true;
}

void progress_bar::done() {
  if (!drawn_) return;
  c_.err << "\r" << std::string(60, ' ') << "\r" << std::flush;
  drawn_ = false;
}

std::optional<el::log_reader> open_log(context& c, const std::string& dir, int& exit_code) {
  auto r = el::log_reader::open(dir);
  if (r) return std::move(*r);
  c.err << "keel-log: " << r.error().message() << "\n";
  exit_code = r.error().code() == errc::corrupt ? k_exit_corrupt : k_exit_io;
  return std::nullopt;
}

int report_scan(context& c, const el::scan_report& rep, bool quiet_if_ok) {
  if (rep.corrupt()) {
    c.err << "keel-log: corrupt: " << rep.message() << "\n";
    return k_exit_corrupt;
  }
  if (!quiet_if_ok && rep.problem != el::log_problem::none) {
    c.err << "keel-log: note: the log ends with " << rep.message()
          << (rep.problem == el::log_problem::in_flight
                  ? ""
                  : " (a crash's torn tail; `keel-log recover --apply` clears it)")
          << "\n";
  }
  return k_exit_ok;
}

}  // namespace keel::tools::detail
