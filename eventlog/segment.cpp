#include "eventlog/segment.h"

#include <time.h>
#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>

#include "eventlog/compress.h"

namespace keel::eventlog::detail {

std::string segment_file_name(std::uint64_t segment_no) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020llu.evl", static_cast<unsigned long long>(segment_no));
  return std::string("seg/") + buf;
}

bool parse_segment_file_name(std::string_view name, std::uint64_t& segment_no) {
  if (name.size() != 24 || name.substr(20) != ".evl") return false;
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < 20; ++i) {
    const char c = name[i];
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  segment_no = n;
  return true;
}

std::string segment_file::rel() const {
  return compressed ? compressed_file_name(no) : segment_file_name(no);
}

std::vector<segment_file> list_segments(const std::vector<std::string>& names) {
  std::map<std::uint64_t, segment_file> by_no;
  for (const std::string& n : names) {
    std::uint64_t no = 0;
    if (parse_segment_file_name(n, no)) {
      segment_file& f = by_no[no];
      f.no = no;
      if (f.compressed) f.also_uncompressed = true;
      f.compressed = false;
    } else if (parse_compressed_file_name(n, no)) {
      auto [it, fresh] = by_no.try_emplace(no);
      it->second.no = no;
      if (fresh) {
        it->second.compressed = true;
      } else {
        it->second.also_uncompressed = true;
      }
    }
  }
  std::vector<segment_file> out;
  out.reserve(by_no.size());
  for (const auto& [no, f] : by_no) out.push_back(f);
  return out;
}

std::int64_t wall_clock_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::uint64_t header_checksum(const segment_header& h) noexcept {
  return XXH3_64bits(&h, k_header_checked);
}

std::uint64_t frame_checksum(const char* frame, std::uint32_t len, std::uint64_t salt) noexcept {
  std::uint64_t word0 = 0;
  std::memcpy(&word0, frame, sizeof(word0));
  return XXH3_64bits_withSeed(frame + 16, len - 16, salt ^ word0);
}

void write_padding(char* frame, std::uint64_t len, std::uint64_t salt) noexcept {
  frame_header fh{};
  fh.len = static_cast<std::int32_t>(len);
  fh.type = static_cast<std::uint16_t>(record_type::padding);
  std::memcpy(frame + 4, reinterpret_cast<const char*>(&fh) + 4, 4);  // type and flags
  std::uint64_t word0 = 0;
  std::memcpy(&word0, &fh, sizeof(word0));
  const std::uint64_t sum = XXH3_64bits_withSeed(frame + 16, len - 16, salt ^ word0);
  std::memcpy(frame + 8, &sum, sizeof(sum));
  __atomic_store_n(reinterpret_cast<std::int32_t*>(frame), fh.len, __ATOMIC_RELEASE);
}

header_problem check_header(const segment_header& h, std::uint64_t file_size,
                            const std::uint8_t* log_id) noexcept {
  if (file_size < k_header_size ||
      std::memcmp(h.magic, k_segment_magic.data(), k_segment_magic.size()) != 0) {
    return header_problem::not_a_log;
  }
  if (h.version != k_format_version) return header_problem::version;
  if ((h.flags & k_segment_active) == 0) return header_problem::not_active;
  if (header_checksum(h) != h.header_xxh3) return header_problem::checksum;
  if (log_id != nullptr && std::memcmp(h.log_id, log_id, sizeof(h.log_id)) != 0) {
    return header_problem::wrong_log;
  }
  if (h.header_size != k_header_size || h.align != k_align || h.capacity < k_header_size ||
      h.capacity > file_size || h.max_record < k_frame_header) {
    return header_problem::bad_geometry;
  }
  return header_problem::none;
}

std::string_view to_string(header_problem p) noexcept {
  switch (p) {
    case header_problem::none:
      return "ok";
    case header_problem::not_a_log:
      return "not a keel log segment (bad magic or shorter than a header)";
    case header_problem::version:
      return "a format version this build does not read";
    case header_problem::not_active:
      return "a spare segment that was never written";
    case header_problem::checksum:
      return "the segment header does not match its checksum";
    case header_problem::wrong_log:
      return "the segment belongs to another log (log id differs)";
    case header_problem::bad_geometry:
      return "the segment header's sizes are out of range";
  }
  return "unknown";
}

std::string_view to_string(scan_end e) noexcept {
  switch (e) {
    case scan_end::clean:
      return "clean end";
    case scan_end::in_flight:
      return "a frame claimed and not committed";
    case scan_end::bad_length:
      return "a frame length that cannot be";
    case scan_end::checksum:
      return "checksum mismatch";
    case scan_end::unknown_type:
      return "a record type this build does not know";
  }
  return "unknown";
}

}  // namespace keel::eventlog::detail
