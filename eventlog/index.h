// Private: a sealed segment's derived index (idx/<segment number>.idx), built by the writer's
// compressor thread after the seal and rebuilt at open when it is missing or does not match its
// segment. It lets a reader skip whole sealed segments and start inside one (log_reader's
// scan_query): the segment's time range, a sparse seq -> frame offset table with the running
// maximum timestamp (one entry per k_sparse_every records), and a Bloom filter of the
// correlation ids and actor ids its records carry. Derived data: never synced, checked by its
// own XXH3 and by the segment's identity (number, salt, base seq, sealed end, record count);
// anything that does not check is ignored, which only costs speed. Format:
// docs/eventlog-format.md, "Derived indexes".
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <keel/eventlog/format.h>
#include <keel/eventlog/io_env.h>

namespace keel::eventlog::detail {

inline constexpr char k_index_magic[8] = {'K', 'E', 'E', 'L', 'I', 'D', 'X', '\0'};
inline constexpr std::uint16_t k_index_version = 1;
inline constexpr std::uint32_t k_sparse_every = 256;
inline constexpr std::uint32_t k_bloom_hashes = 7;

struct index_header {
  char magic[8];
  std::uint16_t version;
  std::uint16_t header_size;  // sizeof(index_header)
  std::uint32_t sparse_every;
  std::uint64_t segment_no;
  std::uint64_t base_seq;
  std::uint64_t record_count;
  std::uint64_t sealed_end;
  std::uint64_t salt;
  std::int64_t min_ts;  // over the records (INT64_MAX, INT64_MIN when there are none)
  std::int64_t max_ts;
  std::uint32_t sparse_count;
  std::uint32_t bloom_words;  // 64-bit words, a power of two
  std::uint32_t bloom_hashes;
  std::uint32_t reserved;
  // The last record's seq (base_seq - 1 when there is none). Not base_seq + record_count - 1:
  // a claim a killed writer left keeps its seq as padding, so seqs may have gaps.
  std::uint64_t last_seq;
  std::uint64_t checksum;  // XXH3-64 of the file with this field zeroed
};
static_assert(sizeof(index_header) == 104);

// One sparse entry: the frame at `offset` holds record `seq`; every record before it has a
// timestamp at most `max_ts_before`.
struct sparse_entry {
  std::uint64_t seq;
  std::uint64_t offset;
  std::int64_t max_ts_before;
};
static_assert(sizeof(sparse_entry) == 24);

struct segment_index {
  index_header h{};
  std::vector<sparse_entry> sparse;
  std::vector<std::uint64_t> bloom;

  // False only if no record of the segment carries that correlation id (actor id).
  bool may_hold_correlation(std::uint64_t corr) const noexcept;
  bool may_hold_actor(std::uint64_t actor) const noexcept;
  // A frame offset to start a scan from that skips no record with seq >= from_seq and
  // ts >= from_ts (k_header_size: the start).
  std::uint64_t start_offset(std::uint64_t from_seq, std::int64_t from_ts) const noexcept;
};

// idx/<20-digit segment number>.idx
std::string index_file_name(std::uint64_t segment_no);
bool parse_index_file_name(std::string_view name, std::uint64_t& segment_no);

// The index file of the sealed segment whose bytes are `base` [0, h.sealed_end). std::nullopt
// if a frame does not verify (the compressor reports such a segment).
std::optional<std::vector<char>> build_index(const char* base, const segment_header& h);

// Parses an index file and checks it against its segment's header: std::nullopt if it does
// not belong to that segment (or is damaged).
std::optional<segment_index> parse_index(std::span<const char> bytes, const segment_header& h);

// Reads and parses <dir>/idx/<n>.idx for the segment with header `h`: std::nullopt if it is
// missing, unreadable or does not match.
std::optional<segment_index> read_index(io_env& env, const std::string& dir,
                                        const segment_header& h);

}  // namespace keel::eventlog::detail
