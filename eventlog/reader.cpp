#include <algorithm>
#include <cstring>
#include <optional>

#include "eventlog/compress.h"
#include "eventlog/index.h"
#include "eventlog/meta.h"
#include "eventlog/segment.h"

#include <keel/eventlog/reader.h>

namespace keel::eventlog {
namespace {

log_problem from(detail::header_problem p) noexcept {
  switch (p) {
    case detail::header_problem::none:
      return log_problem::none;
    case detail::header_problem::not_a_log:
    case detail::header_problem::not_active:
      return log_problem::not_a_log;
    case detail::header_problem::version:
      return log_problem::version;
    case detail::header_problem::checksum:
      return log_problem::header_checksum;
    case detail::header_problem::wrong_log:
      return log_problem::wrong_log;
    case detail::header_problem::bad_geometry:
      return log_problem::bad_geometry;
  }
  return log_problem::not_a_log;
}

log_problem from(detail::scan_end e) noexcept {
  switch (e) {
    case detail::scan_end::clean:
      return log_problem::none;
    case detail::scan_end::in_flight:
      return log_problem::in_flight;
    case detail::scan_end::bad_length:
      return log_problem::bad_length;
    case detail::scan_end::checksum:
      return log_problem::checksum_mismatch;
    case detail::scan_end::unknown_type:
      return log_problem::unknown_type;
  }
  return log_problem::bad_length;
}

// One segment file mapped read-only for a scan; unmapped and closed at the end of the scope.
struct mapped_file {
  io_env* env = nullptr;
  int fd = -1;
  void* base = nullptr;
  std::uint64_t size = 0;
  ~mapped_file() {
    if (base != nullptr) (void)env->unmap(base, size);
    if (fd >= 0) (void)env->close(fd);
  }
};

}  // namespace

namespace {
constexpr std::string_view k_type_names[] = {
    "",        "padding", "message",   "event",          "spawn",      "stop",          "failure",
    "restart", "timer",   "rng_seed",  "external_input", "state_hash", "snapshot_mark", "steering",
    "chaos",   "breaker", "quarantine"};
static_assert(std::size(k_type_names) == k_last_known_type + 1);
}  // namespace

std::string_view to_string(record_type t) noexcept {
  if (t == record_type::ask) return "ask";
  if (t == record_type::checkpoint) return "checkpoint";
  const auto v = static_cast<std::uint16_t>(t) & ~k_safe_ignore;
  return v <= k_last_known_type ? k_type_names[v] : std::string_view();
}

bool parse_record_type(std::string_view name, record_type& out) noexcept {
  if (name == "ask") {
    out = record_type::ask;
    return true;
  }
  if (name == "checkpoint") {
    out = record_type::checkpoint;
    return true;
  }
  for (std::uint16_t v = 1; v <= k_last_known_type; ++v) {
    if (k_type_names[v] == name) {
      out = static_cast<record_type>(v);
      return true;
    }
  }
  return false;
}

std::string_view to_string(log_problem p) noexcept {
  switch (p) {
    case log_problem::none:
      return "ok";
    case log_problem::in_flight:
      return "a record being written (the end of a live log)";
    case log_problem::not_a_log:
      return "not a keel log segment";
    case log_problem::version:
      return "a format version this build does not read";
    case log_problem::wrong_log:
      return "a segment of another log";
    case log_problem::header_checksum:
      return "segment header checksum mismatch";
    case log_problem::bad_geometry:
      return "segment header sizes out of range";
    case log_problem::missing_segment:
      return "a segment is missing from the chain";
    case log_problem::chain_broken:
      return "a segment does not follow the one before it";
    case log_problem::truncated:
      return "the segment ends early";
    case log_problem::bad_length:
      return "impossible frame length";
    case log_problem::checksum_mismatch:
      return "checksum mismatch";
    case log_problem::unknown_type:
      return "unknown record type";
    case log_problem::bad_compressed:
      return "a compressed segment that does not restore";
  }
  return "unknown";
}

bool scan_report::corrupt() const noexcept {
  if (problem == log_problem::none || problem == log_problem::in_flight) return false;
  // The torn tail of the last segment is where a crash stopped the writer, not damage.
  const bool tail_problem = problem == log_problem::bad_length ||
                            problem == log_problem::checksum_mismatch ||
                            problem == log_problem::truncated;
  return !(in_last_segment && tail_problem);
}

std::string scan_report::message() const {
  if (problem == log_problem::none) return "ok";
  return file + " at offset " + std::to_string(offset) + ": " + std::string(to_string(problem));
}

result<log_reader> log_reader::open(const std::string& dir, io_env* env) {
  log_reader r;
  r.dir_ = dir;
  r.env_ = env != nullptr ? env : &io_env::posix();
  if (status st = detail::read_meta(*r.env_, dir, r.log_id_, &r.created_ns_); !st) return st;
  auto names = r.env_->list_dir(dir + "/seg");
  if (!names) return names.error();
  for (const detail::segment_file& f : detail::list_segments(*names)) {
    r.segments_.push_back(seg_file{f.no, f.compressed});
  }
  return r;
}

scan_report log_reader::scan(const std::function<bool(const record_view&)>& visit,
                             std::uint64_t from_seq) const {
  scan_query q;
  q.from_seq = from_seq;
  return scan_impl(q, visit, scan_position{});
}

scan_report log_reader::scan(const std::function<bool(const record_view&)>& visit,
                             std::uint64_t from_seq, const scan_position& resume) const {
  scan_query q;
  q.from_seq = from_seq;
  return scan_impl(q, visit, resume);
}

scan_report log_reader::scan(const scan_query& q,
                             const std::function<bool(const record_view&)>& visit) const {
  return scan_impl(q, visit, scan_position{});
}

scan_report log_reader::scan_impl(const scan_query& q,
                                  const std::function<bool(const record_view&)>& visit,
                                  const scan_position& resume) const {
  const std::uint64_t from_seq = q.from_seq;
  const bool filtered = q.from_ts != INT64_MIN || q.to_ts != INT64_MAX || q.correlation != 0 ||
                        q.actor != 0 || q.from_seq != 0 || q.to_seq != UINT64_MAX;
  scan_report rep;
  // Spares (prepared by the writer, never used) after the newest active segment are not part of
  // the log; the newest active one is where the log may end early.
  std::size_t last = segments_.size();
  while (last > 0) {
    if (segments_[last - 1].compressed) break;
    const std::string path = dir_ + "/" + detail::segment_file_name(segments_[last - 1].no);
    segment_header h{};
    bool spare = false;
    if (auto fd = env_->open(path, false, false)) {
      auto size = env_->file_size(*fd);
      spare = size && *size >= sizeof(h) && env_->read_at(*fd, 0, &h, sizeof(h)).is_ok() &&
              detail::check_header(h, *size, log_id_) == detail::header_problem::not_active;
      (void)env_->close(*fd);
    }
    if (!spare) break;
    --last;
  }
  bool have_prev = false;
  segment_header prev{};
  std::uint64_t prev_end_seq = 0;
  for (std::size_t i = 0; i < last; ++i) {
    const std::uint64_t no = segments_[i].no;
    bool compressed = segments_[i].compressed;
    std::string path;
    rep.offset = 0;
    rep.in_last_segment = i + 1 == last;
    mapped_file m;
    m.env = env_;
    auto fd = open_segment(segments_[i], path, compressed);
    rep.file = path;
    if (!fd && !have_prev) continue;  // the oldest, deleted by retention since open()
    if (!fd) {
      rep.problem = log_problem::missing_segment;
      return rep;
    }
    m.fd = *fd;
    auto size = env_->file_size(m.fd);
    if (!size || *size < sizeof(segment_header)) {
      rep.problem = log_problem::not_a_log;
      return rep;
    }
    segment_header h{};
    if (status st = env_->read_at(m.fd, 0, &h, sizeof(h)); !st) {
      rep.problem = log_problem::not_a_log;
      return rep;
    }
    detail::header_problem hp =
        detail::check_header(h, compressed ? std::max(*size, h.capacity) : *size, log_id_);
    // A file cut shorter than its header says: its frames up to the cut still count.
    const bool cut = !compressed && hp == detail::header_problem::bad_geometry &&
                     h.capacity > *size &&
                     detail::check_header(h, h.capacity, log_id_) == detail::header_problem::none;
    if (cut) hp = detail::header_problem::none;
    if (hp != detail::header_problem::none) {
      rep.problem = from(hp);
      return rep;
    }
    if (have_prev) {
      if (no != prev.segment_no + 1) {
        rep.file = dir_ + "/" + detail::segment_file_name(prev.segment_no + 1);
        rep.problem = log_problem::missing_segment;
        return rep;
      }
      if (h.prev_salt != prev.salt || h.base_seq < prev_end_seq) {
        rep.problem = log_problem::chain_broken;
        return rep;
      }
    }
    // Seek: a segment whose successor starts at or before from_seq holds nothing wanted.
    if (from_seq > h.base_seq && i + 1 < last) {
      segment_header nh{};
      const seg_file& nf = segments_[i + 1];
      std::string next;
      bool next_compressed = false;
      bool skip = false;
      if (auto nfd = open_segment(nf, next, next_compressed)) {
        auto nsize = env_->file_size(*nfd);
        skip = nsize && *nsize >= sizeof(nh) && env_->read_at(*nfd, 0, &nh, sizeof(nh)).is_ok() &&
               detail::check_header(nh, std::max(*nsize, nh.capacity), log_id_) ==
                   detail::header_problem::none &&
               nh.segment_no == no + 1 && nh.prev_salt == h.salt && nh.base_seq <= from_seq;
        (void)env_->close(*nfd);
      }
      if (skip) {
        have_prev = true;
        prev = h;
        prev_end_seq = nh.base_seq;
        continue;
      }
    }
    if (q.to_seq <= h.base_seq) {
      rep.problem = log_problem::none;  // nothing at or after to_seq is wanted
      rep.offset = 0;
      return rep;
    }
    // A sealed segment whose index shows no match is skipped unread; otherwise the index may
    // say where in it to start.
    std::uint64_t index_start = k_header_size;
    const bool resuming_here = no == resume.segment_no && resume.offset > k_header_size;
    if (filtered && h.sealed_end != 0 && !resuming_here) {
      if (auto idx = detail::read_index(*env_, dir_, h)) {
        const bool none = idx->h.last_seq < h.base_seq || idx->h.max_ts < q.from_ts ||
                          idx->h.min_ts > q.to_ts || idx->h.last_seq < q.from_seq ||
                          (q.correlation != 0 && !idx->may_hold_correlation(q.correlation)) ||
                          (q.actor != 0 && !idx->may_hold_actor(q.actor));
        if (none) {
          ++rep.segments_skipped;
          have_prev = true;
          prev = h;
          prev_end_seq = idx->h.last_seq + 1;
          continue;
        }
        index_start = idx->start_offset(q.from_seq, q.from_ts);
      }
    }
    // A compressed segment is restored into memory, an uncompressed one mapped.
    std::vector<char> restored;
    std::uint64_t map_size = std::min<std::uint64_t>(*size, h.capacity);
    const char* base = nullptr;
    if (compressed) {
      std::vector<char> evz(*size);
      if (!env_->read_at(m.fd, 0, evz.data(), evz.size()) ||
          !detail::decompress_segment(evz, restored, path) ||
          std::memcmp(restored.data(), &h, sizeof(h)) != 0) {
        rep.problem = log_problem::bad_compressed;
        return rep;
      }
      map_size = restored.size();
      base = restored.data();
    } else {
      auto mem = env_->map(m.fd, map_size, false);
      if (!mem) {
        rep.problem = log_problem::not_a_log;
        return rep;
      }
      m.base = *mem;
      m.size = map_size;
      base = static_cast<const char*>(m.base);
    }
    bool stopped = false;
    std::uint64_t last_seq = h.base_seq - 1;
    std::uint64_t start = std::min(index_start, map_size);
    if (no == resume.segment_no && resume.offset > k_header_size) {
      start = std::min(align_up(resume.offset), map_size);
    }
    const detail::scan_result r = detail::scan_frames(
        base, map_size, h.salt, 0,
        [&](const frame_header& fh, std::uint64_t off) {
          last_seq = fh.seq;
          if (fh.seq < from_seq || !q.matches(fh)) return true;
          record_view v;
          v.header = fh;
          v.payload = std::span<const std::byte>(
              reinterpret_cast<const std::byte*>(base + off + k_frame_header),
              static_cast<std::size_t>(fh.len) - k_frame_header);
          v.segment_no = no;
          v.offset = off;
          ++rep.records;
          if (!visit(v)) {
            stopped = true;
            return false;
          }
          return true;
        },
        [](std::uint64_t, std::uint64_t) {}, start);
    ++rep.segments;
    if (stopped) return rep;
    rep.offset = r.stop_offset;
    if (r.stop != detail::scan_end::clean) {
      // A frame running past the end of a file cut shorter than its capacity: the cut.
      const bool past_cut = r.stop == detail::scan_end::bad_length && *size < h.capacity;
      rep.problem = past_cut ? log_problem::truncated : from(r.stop);
      return rep;
    }
    // A segment that is not the last must be full: its frames (and the padding) reach its end;
    // a compressed one's reach its sealed end.
    if (compressed ? r.end != h.sealed_end
                   : (!rep.in_last_segment && r.end + k_min_frame <= h.capacity)) {
      // Not sealed yet: a live writer rolled past a claim whose marker is not written yet (the
      // tail moved first), so a zero word sits where the claim will be. Stop there, as at any
      // claim in flight; a sealed segment that stops short is cut.
      rep.problem =
          !compressed && h.sealed_end == 0 ? log_problem::in_flight : log_problem::truncated;
      return rep;
    }
    // The last segment's file may be shorter than its capacity only if it was cut.
    if (!compressed && *size < h.capacity) {
      rep.problem = log_problem::truncated;
      return rep;
    }
    have_prev = true;
    prev = h;
    prev_end_seq = last_seq + 1;
  }
  rep.problem = log_problem::none;
  rep.offset = 0;
  return rep;
}

result<int> log_reader::open_segment(const seg_file& f, std::string& path, bool& compressed) const {
  compressed = f.compressed;
  path = dir_ + "/" +
         (compressed ? detail::compressed_file_name(f.no) : detail::segment_file_name(f.no));
  auto fd = env_->open(path, false, false);
  if (!fd && !compressed) {
    // Compressed by the writer since open(): the .evz replaced the .evl.
    const std::string evz = dir_ + "/" + detail::compressed_file_name(f.no);
    if (auto zfd = env_->open(evz, false, false)) {
      path = evz;
      compressed = true;
      return zfd;
    }
  }
  return fd;
}

std::vector<segment_info> log_reader::segments() const {
  std::vector<segment_info> out;
  for (const seg_file& f : segments_) {
    segment_info si;
    si.no = f.no;
    si.problem = log_problem::not_a_log;
    if (auto fd = open_segment(f, si.file, si.compressed)) {
      auto size = env_->file_size(*fd);
      if (size) si.file_size = *size;
      if (size && *size >= sizeof(si.header) &&
          env_->read_at(*fd, 0, &si.header, sizeof(si.header)).is_ok()) {
        const detail::header_problem p = detail::check_header(
            si.header, si.compressed ? std::max(*size, si.header.capacity) : *size, log_id_);
        si.spare = p == detail::header_problem::not_active;
        si.problem = si.spare ? log_problem::none : from(p);
      }
      (void)env_->close(*fd);
    } else {
      continue;  // deleted by retention since open()
    }
    out.push_back(si);
  }
  return out;
}

}  // namespace keel::eventlog
