// Opening a log for writing: the lock, LOG.meta, the segment chain, and recovery of the last
// segment (docs/eventlog-format.md, "Recovery").
#include <algorithm>
#include <cstring>
#include <fstream>
#include <vector>

#include "eventlog/compress.h"
#include "eventlog/index.h"
#include "eventlog/log_impl.h"
#include "eventlog/meta.h"
#include "eventlog/scan_frames.h"

namespace keel::eventlog {
namespace {

status corrupt(std::string what) { return status(errc::corrupt, what); }

// /proc/sys/kernel/random/boot_id ("8-4-4-4-12" hex) as 16 bytes; zeros if unreadable, which
// makes every earlier writer look like another boot (nothing past a torn frame is trusted).
void read_boot_id(std::uint8_t out[16]) {
  std::memset(out, 0, 16);
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string text;
  if (!(in >> text)) return;
  std::size_t k = 0;
  for (std::size_t i = 0; i + 1 < text.size() && k < 16; ++i) {
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    const int hi = hex(text[i]);
    const int lo = hex(text[i + 1]);
    if (hi < 0 || lo < 0) continue;
    out[k++] = static_cast<std::uint8_t>(hi * 16 + lo);
    ++i;
  }
}

// A sealed segment that an earlier writer never synced (its header's `durable` says so) may have
// lost pages with the machine: every frame is checked, and the segment synced. corrupt names the
// damage; other errors are the file's.
status verify_unsynced(io_env& env, const std::string& path, const segment_header& h) {
  auto fd = env.open(path, false, false);
  if (!fd) return fd.error();
  auto mem = env.map(*fd, h.capacity, false);
  if (!mem) {
    (void)env.close(*fd);
    return mem.error();
  }
  const char* base = static_cast<const char*>(*mem);
  const detail::scan_result r = detail::scan_frames(
      base, h.capacity, h.salt, 0, [](const frame_header&, std::uint64_t) { return true; },
      [](std::uint64_t, std::uint64_t) {});
  (void)env.unmap(*mem, h.capacity);
  status st = env.fdatasync(*fd);
  (void)env.close(*fd);
  if (!st) return st;
  if (r.stop != detail::scan_end::clean || r.end < h.sealed_end || r.records != h.record_count) {
    return corrupt(path + ": sealed segment never synced, and damaged at offset " +
                   std::to_string(r.stop_offset) + " (" + std::string(detail::to_string(r.stop)) +
                   ", " + std::to_string(r.records) + " of " + std::to_string(h.record_count) +
                   " records valid; lost with the machine before a sync?)");
  }
  return status();
}

}  // namespace

status log_options::validate() const {
  auto bad = [](const char* field, const char* why) {
    return status(errc::invalid_config, std::string("log_options.") + field + ": " + why);
  };
  if (segment_size < (1ull << 20) || segment_size > (1ull << 30))
    return bad("segment_size", "must be between 1 MiB and 1 GiB");
  if (segment_size % 4096 != 0) return bad("segment_size", "must be a multiple of 4 KiB");
  if (max_record < 128 || max_record > segment_size / 4)
    return bad("max_record", "must be between 128 bytes and segment_size / 4");
  if (sync_interval < std::chrono::milliseconds(1) || sync_interval > std::chrono::hours(1))
    return bad("sync_interval", "must be between 1 ms and 1 h");
  if (roll_after.count() < 0) return bad("roll_after", "must not be negative");
  if (release_grace < std::chrono::seconds(1) || release_grace > std::chrono::hours(1))
    return bad("release_grace", "must be between 1 s and 1 h");
  if (retain_age.count() < 0) return bad("retain_age", "must not be negative");
  if (compression_level < 0 || compression_level > 12)
    return bad("compression_level", "must be between 0 (off) and 12");
  if (mode != durability::page_cache && mode != durability::interval &&
      mode != durability::group_commit)
    return bad("mode", "is not a durability mode");
  return status();
}

event_log::impl::impl(std::string dir, log_options o)
    : dir_(std::move(dir)),
      opt_(std::move(o)),
      env_(opt_.env != nullptr ? opt_.env : &io_env::posix()) {}

event_log::impl::~impl() {
  stop_thread();
  stop_compressor();
  for (auto& s : segments_) {
    if (s->base != nullptr) (void)env_->unmap(s->base, s->released ? k_header_size : s->capacity);
    if (s->fd >= 0) (void)env_->close(s->fd);
  }
  if (lock_fd_ >= 0) (void)env_->close(lock_fd_);  // (closing releases the flock)
}

status event_log::impl::open() {
  if (status st = opt_.validate(); !st) return st;
  if (status st = env_->make_dir(dir_); !st) return st;
  if (status st = env_->make_dir(dir_ + "/seg"); !st) return st;
  if (status st = env_->make_dir(dir_ + "/idx"); !st) return st;
  auto lock_fd = env_->open(dir_ + "/LOCK", true, true);
  if (!lock_fd) return lock_fd.error();
  lock_fd_ = *lock_fd;
  if (status st = env_->lock(lock_fd_); !st) return st;

  // The segments present, by number.
  auto names = env_->list_dir(dir_ + "/seg");
  if (!names) return names.error();
  for (const std::string& n : *names) {
    if (n.size() > 4 && n.compare(n.size() - 4, 4, ".tmp") == 0) {
      // A spare, or a compressed copy, that a crash interrupted before its rename.
      if (status st = env_->unlink(dir_ + "/seg/" + n); !st) return st;
    }
  }
  std::vector<detail::segment_file> files = detail::list_segments(*names);
  for (detail::segment_file& f : files) {
    if (f.also_uncompressed) {
      // A compression cut short between its rename and the original's removal: the original is
      // complete; the compressor does it again.
      if (status st = env_->unlink(dir_ + "/" + detail::compressed_file_name(f.no)); !st) return st;
      f.also_uncompressed = false;
    }
  }

  // LOG.meta: the log's id.
  auto top = env_->list_dir(dir_);
  if (!top) return top.error();
  const bool has_meta = std::find(top->begin(), top->end(), "LOG.meta") != top->end();
  if (has_meta) {
    if (status st = detail::read_meta(*env_, dir_, log_id_); !st) return st;
  } else {
    if (!files.empty()) return corrupt(dir_ + ": segments without LOG.meta");
    if (status st = detail::create_meta(*env_, dir_, log_id_); !st) return st;
    recovery_.created = true;
  }
  read_boot_id(boot_id_);
  detail::random_bytes(incarnation_, sizeof(incarnation_));
  detail::random_bytes(reinterpret_cast<std::uint8_t*>(&salt_state_), sizeof(salt_state_));

  // The chain: headers valid and this log's, numbers contiguous, each salt chained to the one
  // before. Spares (prepared, never activated) after the last active segment are removed; one
  // before an active segment is a hole in the chain.
  std::vector<segment_header> headers;
  std::vector<detail::segment_file> header_files;
  std::vector<std::uint64_t> header_sizes;
  std::vector<std::string> spare_paths;
  for (const detail::segment_file& file : files) {
    const std::string path = dir_ + "/" + file.rel();
    auto fd = env_->open(path, false, false);
    if (!fd) return fd.error();
    segment_header h{};
    auto size = env_->file_size(*fd);
    status st = !size ? size.error() : status();
    if (st && *size >= sizeof(h)) st = env_->read_at(*fd, 0, &h, sizeof(h));
    (void)env_->close(*fd);
    if (!st) return st;
    // A compressed segment is shorter than its capacity; its header is the original's.
    const std::uint64_t checked_size = file.compressed ? std::max(*size, h.capacity) : *size;
    const detail::header_problem p = detail::check_header(h, checked_size, log_id_);
    if (p == detail::header_problem::not_active && !file.compressed) {
      spare_paths.push_back(path);
      continue;
    }
    if (p != detail::header_problem::none) {
      return corrupt(path + ": " + std::string(detail::to_string(p)));
    }
    if (file.compressed && h.sealed_end == 0) {
      return corrupt(path + ": a compressed segment that was never sealed");
    }
    if (!spare_paths.empty()) {
      return corrupt(spare_paths.front() + ": never written, but segments after it were");
    }
    if (!headers.empty()) {
      const segment_header& prev = headers.back();
      if (h.segment_no != prev.segment_no + 1)
        return corrupt(dir_ + "/" + detail::segment_file_name(prev.segment_no + 1) +
                       ": missing from the chain");
      if (h.prev_salt != prev.salt)
        return corrupt(path + ": does not follow segment " + std::to_string(prev.segment_no) +
                       " (salt chain broken)");
      if (h.base_seq <= prev.base_seq)
        return corrupt(path + ": base_seq " + std::to_string(h.base_seq) +
                       " does not follow segment " + std::to_string(prev.segment_no));
    }
    header_files.push_back(file);
    header_sizes.push_back(*size);
    headers.push_back(h);
  }
  for (const std::string& path : spare_paths) {
    if (status st = env_->unlink(path); !st) return st;
  }
  const std::uint64_t spares = spare_paths.size();
  recovery_.spares_removed = spares;
  recovery_.segments = headers.size();
  next_segment_no_ = headers.empty() ? 0 : headers.back().segment_no + 1;

  std::lock_guard<std::mutex> lock(mu_);
  if (headers.empty()) {
    if (status st = prepare_spare(); !st) return st;
    log_segment* s = spare_.exchange(nullptr, std::memory_order_acq_rel);
    activate(s, 1, 0);
    active_.store(s, std::memory_order_release);
    durable_seq_.store(1, std::memory_order_release);
    return status();
  }

  // A crash soon after rolls can leave claims in flight in the segments rolled away and not yet
  // sealed (the log's thread seals a segment once its claims are committed): repair each of
  // them, oldest first, and seal it; then the last one, where appending resumes. When even the
  // newest is sealed (the segment after it was lost before its activation reached the disk, or
  // removed by hand), every segment is kept as it is and a new one follows.
  const bool newest_sealed = headers.back().sealed_end != 0;
  std::size_t first_unsealed = newest_sealed ? headers.size() : headers.size() - 1;
  while (first_unsealed > 0 && headers[first_unsealed - 1].sealed_end == 0) --first_unsealed;
  // Indexes of segments retention removed, or that a crash left half written: derived, so
  // removed (before the compressor starts writing new ones below).
  if (auto idx = env_->list_dir(dir_ + "/idx")) {
    for (const std::string& n : *idx) {
      std::uint64_t no = 0;
      bool known = detail::parse_index_file_name(n, no);
      known = known && std::any_of(headers.begin(), headers.begin() + first_unsealed,
                                   [&](const segment_header& h) { return h.segment_no == no; });
      if (!known) (void)env_->unlink(dir_ + "/idx/" + n);
    }
  }
  // The sealed ones, for retention. Those that an earlier writer never synced (their `durable`
  // field says so) are checked and synced now, so that durable_seq() starts true.
  for (std::size_t i = 0; i < first_unsealed; ++i) {
    const segment_header& h = headers[i];
    retained_segment r;
    r.no = h.segment_no;
    // One past its last seq: where the next segment starts. (base_seq + record_count falls
    // short when a killed writer's claims became padding that kept their seqs: a live seal
    // counts only the records.)
    r.end_seq = i + 1 < headers.size() ? headers[i + 1].base_seq : h.base_seq + h.record_count;
    r.bytes = header_sizes[i];
    // When it was rolled: the next segment's creation (the newest: now, which keeps it longest).
    r.created_ns = i + 1 < headers.size() ? headers[i + 1].created_ns : detail::wall_clock_ns();
    r.compressed = header_files[i].compressed;
    r.synced = r.compressed || h.durable >= h.capacity;
    bool damaged = false;
    if (!r.synced) {
      const std::string path = dir_ + "/" + detail::segment_file_name(h.segment_no);
      if (status st = verify_unsynced(*env_, path, h); st.code() == errc::corrupt) {
        recovery_.damaged.emplace_back(st.message());
        warn(st);
        damaged = true;
      } else if (!st) {
        return st;
      }
      r.synced = true;
    }
    retained_.push_back(r);
    // A backlog an earlier writer left: segments to compress, indexes missing or stale.
    const bool indexed = detail::read_index(*env_, dir_, h).has_value();
    if (!damaged && ((!r.compressed && opt_.compression_level != 0) || !indexed)) {
      queue_compression(r.no);
    }
  }
  if (newest_sealed) {
    const segment_header& last = headers.back();
    if (status st = prepare_spare(); !st) return st;
    log_segment* s = spare_.exchange(nullptr, std::memory_order_acq_rel);
    const std::uint64_t base_seq = last.base_seq + last.record_count;
    activate(s, base_seq, last.salt);
    active_.store(s, std::memory_order_release);
    durable_seq_.store(base_seq, std::memory_order_release);
    return status();
  }
  for (std::size_t i = first_unsealed; i + 1 < headers.size(); ++i) {
    std::uint64_t ordinals = 0;
    log_segment* before = nullptr;
    if (status st = recover_segment(headers[i], before, ordinals); !st) return st;
    segment_header& bh = before->header();
    bh.sealed_end = before->capacity;
    bh.record_count = ordinals;
    before->sealed = true;
    before->roll_offset = before->capacity;
    before->roll_ordinal = ordinals;
    before->synced_offset = before->capacity;
    if (status st = env_->msync(before->base, k_header_size); !st) return st;
  }
  std::uint64_t ordinals = 0;
  log_segment* s = nullptr;
  if (status st = recover_segment(headers.back(), s, ordinals); !st) return st;
  active_.store(s, std::memory_order_release);
  durable_seq_.store(s->header().base_seq + ordinals, std::memory_order_release);
  return status();
}

// Maps segment `hdr` writable, finds its valid frames, turns the claims a killed writer left into
// padding, zeroes the torn tail, syncs it, and leaves it mapped in segments_ with its tail set
// after the last valid frame. `ordinals`: the sequence numbers it has used. mu_ held.
status event_log::impl::recover_segment(const segment_header& hdr, log_segment*& out,
                                        std::uint64_t& ordinals) {
  const std::string path = dir_ + "/" + detail::segment_file_name(hdr.segment_no);
  auto fd = env_->open(path, true, false);
  if (!fd) return fd.error();
  auto seg = std::make_unique<log_segment>();
  seg->no = hdr.segment_no;
  seg->fd = *fd;
  seg->capacity = hdr.capacity;
  auto mem = env_->map(seg->fd, seg->capacity, true);
  if (!mem) {
    (void)env_->close(seg->fd);
    return mem.error();
  }
  seg->base = static_cast<char*>(*mem);
  log_segment* s = seg.get();
  segments_.push_back(std::move(seg));
  segment_header& h = s->header();
  s->base_seq = h.base_seq;
  s->created_ns = h.created_ns;
  const bool same_boot = std::any_of(std::begin(boot_id_), std::end(boot_id_),
                                     [](std::uint8_t b) { return b != 0; }) &&
                         std::memcmp(h.writer_boot_id, boot_id_, sizeof(boot_id_)) == 0;
  const std::uint64_t tail_off = h.tail & 0xffffffffu;
  const std::uint64_t claimed = same_boot ? std::min(tail_off, s->capacity) : 0;
  std::uint64_t last_seq = 0;
  std::uint64_t last_record_off = 0;
  bool any_record = false;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> aborted;
  const detail::scan_result r = detail::scan_frames(
      s->base, s->capacity, h.salt, claimed,
      [&](const frame_header& f, std::uint64_t off) {
        last_seq = f.seq;
        last_record_off = off;
        any_record = true;
        return true;
      },
      [&](std::uint64_t off, std::uint64_t len) { aborted.emplace_back(off, len); });
  // The ordinals used: up to the last record's, plus the claims a killed writer left after it.
  // Those claims become padding, so that a reader in any boot steps over them too.
  ordinals = any_record ? last_seq - h.base_seq + 1 : 0;
  for (const auto& [off, len] : aborted) {
    std::memset(s->base + off, 0, len);
    detail::write_padding(s->base + off, len, h.salt);
    if (!any_record || off > last_record_off) ++ordinals;
  }
  // Zero what lies after the valid frames: below the trusted tail, or, when the tail cannot be
  // trusted, every non-zero word to the end of the segment.
  // Past the trusted tail nothing was written in this boot, but damage from elsewhere may be
  // there: go on until a whole zero page (cheap when the tail is clean: one page read).
  const std::uint64_t zero_to = same_boot ? std::max(claimed, r.end) : s->capacity;
  std::uint64_t zeroed = 0;
  std::uint64_t zero_run = 0;
  for (std::uint64_t off = r.end; off + k_align <= s->capacity; off += k_align) {
    std::uint64_t word = 0;
    std::memcpy(&word, s->base + off, sizeof(word));
    if (word != 0) {
      std::memset(s->base + off, 0, sizeof(word));
      zeroed += k_align;
      zero_run = 0;
    } else if ((zero_run += k_align) >= 4096 && off >= zero_to) {
      break;
    }
  }
  recovery_.records = r.records;
  recovery_.aborted += r.aborted;
  recovery_.zeroed_bytes += zeroed;
  h.tail = (ordinals << 32) | r.end;
  s->synced_offset = r.end;
  s->synced_records = ordinals;
  s->activated_since_dir_sync = false;
  if (status st = env_->msync(s->base, s->capacity); !st) return st;
  if (status st = env_->fdatasync(s->fd); !st) return st;
  out = s;
  return status();
}

event_log::event_log(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
event_log::~event_log() = default;

result<std::unique_ptr<event_log>> event_log::open(const std::string& dir, log_options options) {
  auto p = std::make_unique<impl>(dir, std::move(options));
  if (status st = p->open(); !st) return st;
  p->start_thread();
  return std::unique_ptr<event_log>(new event_log(std::move(p)));
}

result<std::uint64_t> event_log::append(const record_in& r) noexcept { return impl_->append(r); }
status event_log::sync() { return impl_->sync(); }
std::uint64_t event_log::durable_seq() const noexcept {
  return impl_->durable_seq_.load(std::memory_order_acquire);
}
std::uint64_t event_log::next_seq() const noexcept { return impl_->next_seq(); }
void event_log::request_sync() noexcept { impl_->request_sync(); }
status event_log::wait_durable(std::uint64_t seq) { return impl_->wait_durable(seq); }
void event_log::set_retention_floor(std::uint64_t seq) noexcept {
  impl_->retention_floor_.store(seq, std::memory_order_relaxed);
  impl_->floor_set_.store(true, std::memory_order_release);
}

std::uint64_t event_log::impl::next_seq() const noexcept {
  log_segment* s = active_.load(std::memory_order_acquire);
  const std::uint64_t tail = __atomic_load_n(s->tail_word(), __ATOMIC_RELAXED);
  return s->base_seq + (tail >> 32);
}
status event_log::failure() const {
  std::lock_guard<std::mutex> lock(impl_->fail_mu_);
  return impl_->failure_;
}
const recovery_report& event_log::recovery() const noexcept { return impl_->recovery_; }
const std::string& event_log::dir() const noexcept { return impl_->dir_; }

}  // namespace keel::eventlog
