// Private to keel-log: what the commands share (the output streams, the type registry, the
// record filter and printers, the progress bar) and the commands themselves, one function each.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <ostream>
#include <string>

#include <keel/base/status.h>
#include <keel/core/type_registry.h>
#include <keel/eventlog/reader.h>
#include <keel/tools/log_main.h>

namespace keel::tools::detail {

struct context {
  const type_registry& types;
  std::ostream& out;
  std::ostream& err;
  bool progress = false;  // draw a progress bar on stderr (it is a terminal)
};

// Which records a command looks at. An unset field matches everything.
struct record_filter {
  std::optional<std::uint64_t> actor;
  std::optional<std::uint64_t> correlation;
  std::optional<std::uint64_t> payload_type;
  std::optional<eventlog::record_type> type;
  std::uint64_t from_seq = 0;
  std::uint64_t to_seq = std::numeric_limits<std::uint64_t>::max();
  std::int64_t from_ts = std::numeric_limits<std::int64_t>::min();
  std::int64_t to_ts = std::numeric_limits<std::int64_t>::max();

  bool matches(const eventlog::frame_header& h) const noexcept;
  // The part a reader can use to skip segments by their indexes (seq, time, correlation, actor).
  eventlog::scan_query query() const noexcept;
};

// The filter options as typed on the command line (strings, parsed by make_filter).
struct filter_args {
  std::string actor, correlation, payload_type, type, from_seq, to_seq, from_ts, to_ts;
};
// errc::invalid_argument naming the option and the value.
result<record_filter> make_filter(const filter_args& a, const type_registry& types);

// One record as a line of text or of JSON (no newline). Payloads of types with a codec in
// `types` print as JSON, others as hex (text: the first 64 bytes).
std::string format_text(const eventlog::record_view& r, const type_registry& types);
std::string format_json(const eventlog::record_view& r, const type_registry& types);
std::string payload_type_name(std::uint64_t id, const type_registry& types);
// Lower-case hex: the first `max` bytes, and a u64 as 0x + 16 digits (`prefix` false: no 0x).
std::string hex(std::span<const std::byte> bytes, std::size_t max);
std::string hex64(std::uint64_t v, bool prefix = true);

// A progress bar on stderr, redrawn at most ten times a second; cleared by done().
class progress_bar {
 public:
  progress_bar(context& c, std::uint64_t first_segment, std::uint64_t segments);
  void at(std::uint64_t segment_no);
  void done();
  ~progress_bar() { done(); }

 private:
  context& c_;
  std::uint64_t first_ = 0;
  std::uint64_t total_ = 0;
  std::int64_t last_draw_ns_ = 0;
  bool drawn_ = false;
};

// Opens a log for reading; on failure prints "keel-log: <message>" and sets `exit_code`
// (1 for corrupt, 3 otherwise).
std::optional<eventlog::log_reader> open_log(context& c, const std::string& dir, int& exit_code);
// Whether a writer process holds the log's LOCK.
bool writer_running(const std::string& dir);
// Prints a scan's problem (if any) and returns the exit code for it: 1 for corruption, else 0.
int report_scan(context& c, const eventlog::scan_report& rep, bool quiet_if_ok);

struct dump_args {
  record_filter filter;
  bool json = false;
  std::uint64_t limit = std::numeric_limits<std::uint64_t>::max();
};
struct tail_args {
  record_filter filter;
  bool json = false;
  std::uint64_t lines = 10;
  bool follow = false;
  std::uint64_t stop_after = 0;  // follow: exit after printing this many records (0: never)
  unsigned poll_ms = 100;
};

struct replay_args {
  std::uint64_t correlation = 0;
  bool exec = false;
  double speed = 0;
  bool shared = false;  // all actors in one system
  bool json = false;    // without exec: the records as JSON lines
};

int cmd_info(context& c, const std::string& dir);
int cmd_verify(context& c, const std::string& dir);
int cmd_dump(context& c, const std::string& dir, const dump_args& a);
int cmd_tail(context& c, const std::string& dir, const tail_args& a);
int cmd_trace(context& c, const std::string& dir, std::uint64_t correlation, bool json);
int cmd_stats(context& c, const std::string& dir, std::size_t top);
int cmd_recover(context& c, const std::string& dir, bool apply);
int cmd_snapshot_ls(context& c, const std::string& dir);
int cmd_snapshot_show(context& c, const std::string& file);
int cmd_snapshot_verify(context& c, const std::string& dir);
int cmd_replay(context& c, const std::string& dir, const replay_args& a,
               const factory_setup& factories);

}  // namespace keel::tools::detail
