#include "eventlog/index.h"

#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <climits>
#include <cstddef>
#include <cstdio>
#include <cstring>

#include "eventlog/segment.h"

namespace keel::eventlog::detail {
namespace {

constexpr std::uint64_t k_corr_seed = 0x636f7272;   // "corr": the two kinds of key never collide
constexpr std::uint64_t k_actor_seed = 0x6163746f;  // "acto"

// The bits a key sets: double hashing over one XXH3.
template <class F>
void for_each_bit(std::uint64_t key, std::uint64_t seed, std::uint32_t words, F&& f) noexcept {
  const std::uint64_t h = XXH3_64bits_withSeed(&key, sizeof(key), seed);
  const std::uint64_t h1 = h;
  const std::uint64_t h2 = (h >> 32) | 1;
  const std::uint64_t mask = std::uint64_t{words} * 64 - 1;
  for (std::uint32_t i = 0; i < k_bloom_hashes; ++i) f((h1 + i * h2) & mask);
}

bool bloom_has(const std::vector<std::uint64_t>& bloom, std::uint64_t key,
               std::uint64_t seed) noexcept {
  bool all = true;
  for_each_bit(key, seed, static_cast<std::uint32_t>(bloom.size()),
               [&](std::uint64_t bit) { all = all && (bloom[bit / 64] >> (bit % 64) & 1) != 0; });
  return all;
}

std::uint64_t file_checksum(std::span<const char> bytes) noexcept {
  // XXH3 over the file with the checksum field taken as zero: a streaming state, so that the
  // file is not copied.
  XXH3_state_t* st = XXH3_createState();
  if (st == nullptr) return 0;  // out of memory: no index matches, none is trusted
  const std::size_t at = offsetof(index_header, checksum);
  const std::uint64_t zero = 0;
  (void)XXH3_64bits_reset(st);
  (void)XXH3_64bits_update(st, bytes.data(), at);
  (void)XXH3_64bits_update(st, &zero, sizeof(zero));
  (void)XXH3_64bits_update(st, bytes.data() + at + sizeof(zero), bytes.size() - at - sizeof(zero));
  const std::uint64_t h = XXH3_64bits_digest(st);
  (void)XXH3_freeState(st);
  return h;
}

}  // namespace

bool segment_index::may_hold_correlation(std::uint64_t corr) const noexcept {
  return bloom.empty() || bloom_has(bloom, corr, k_corr_seed);
}

bool segment_index::may_hold_actor(std::uint64_t actor) const noexcept {
  return bloom.empty() || bloom_has(bloom, actor, k_actor_seed);
}

std::uint64_t segment_index::start_offset(std::uint64_t from_seq,
                                          std::int64_t from_ts) const noexcept {
  // The last entry before which nothing is wanted: all earlier seqs below from_seq, or all
  // earlier timestamps below from_ts.
  std::uint64_t best = k_header_size;
  for (const sparse_entry& e : sparse) {
    if (e.seq <= from_seq || e.max_ts_before < from_ts) {
      best = e.offset;
    } else {
      break;
    }
  }
  return best;
}

std::string index_file_name(std::uint64_t segment_no) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "idx/%020llu.idx", static_cast<unsigned long long>(segment_no));
  return buf;
}

bool parse_index_file_name(std::string_view name, std::uint64_t& segment_no) {
  if (name.size() != 24 || name.substr(20) != ".idx") return false;
  std::uint64_t v = 0;
  for (char c : name.substr(0, 20)) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  segment_no = v;
  return true;
}

std::optional<std::vector<char>> build_index(const char* base, const segment_header& h) {
  index_header ih{};
  std::memcpy(ih.magic, k_index_magic, sizeof(ih.magic));
  ih.version = k_index_version;
  ih.header_size = sizeof(index_header);
  ih.sparse_every = k_sparse_every;
  ih.segment_no = h.segment_no;
  ih.base_seq = h.base_seq;
  ih.record_count = h.record_count;
  ih.sealed_end = h.sealed_end;
  ih.salt = h.salt;
  ih.min_ts = INT64_MAX;
  ih.max_ts = INT64_MIN;
  ih.last_seq = h.base_seq - 1;
  std::vector<sparse_entry> sparse;
  std::vector<std::uint64_t> corr;
  std::vector<std::uint64_t> actors;
  std::uint64_t n = 0;
  const scan_result r = scan_frames(
      base, h.sealed_end, h.salt, 0,
      [&](const frame_header& f, std::uint64_t off) {
        if (n % k_sparse_every == 0) sparse.push_back({f.seq, off, ih.max_ts});
        ++n;
        ih.last_seq = f.seq;
        ih.min_ts = std::min(ih.min_ts, f.ts_ns);
        ih.max_ts = std::max(ih.max_ts, f.ts_ns);
        if (f.correlation != 0) corr.push_back(f.correlation);
        if (f.actor_id != 0) actors.push_back(f.actor_id);
        return true;
      },
      [](std::uint64_t, std::uint64_t) {});
  // (record_count is not compared with n: a segment sealed by a writer's open counts the
  // padding of claims a killed writer left.)
  if (r.stop != scan_end::clean || r.end + k_min_frame <= h.sealed_end) return std::nullopt;
  for (auto* keys : {&corr, &actors}) {
    std::sort(keys->begin(), keys->end());
    keys->erase(std::unique(keys->begin(), keys->end()), keys->end());
  }
  // About 10 bits per key (1% false positives with 7 hashes), a power of two of 64-bit words.
  const std::uint64_t bits = std::max<std::uint64_t>(64, (corr.size() + actors.size()) * 10);
  std::vector<std::uint64_t> bloom(std::bit_ceil(bits) / 64, 0);
  const auto words = static_cast<std::uint32_t>(bloom.size());
  for (std::uint64_t k : corr) {
    for_each_bit(k, k_corr_seed, words,
                 [&](std::uint64_t b) { bloom[b / 64] |= 1ull << (b % 64); });
  }
  for (std::uint64_t k : actors) {
    for_each_bit(k, k_actor_seed, words,
                 [&](std::uint64_t b) { bloom[b / 64] |= 1ull << (b % 64); });
  }
  ih.sparse_count = static_cast<std::uint32_t>(sparse.size());
  ih.bloom_words = words;
  ih.bloom_hashes = k_bloom_hashes;
  std::vector<char> out(sizeof(ih) + sparse.size() * sizeof(sparse_entry) +
                        bloom.size() * sizeof(std::uint64_t));
  char* p = out.data() + sizeof(ih);
  std::memcpy(p, sparse.data(), sparse.size() * sizeof(sparse_entry));
  p += sparse.size() * sizeof(sparse_entry);
  std::memcpy(p, bloom.data(), bloom.size() * sizeof(std::uint64_t));
  std::memcpy(out.data(), &ih, sizeof(ih));
  ih.checksum = file_checksum(out);
  std::memcpy(out.data(), &ih, sizeof(ih));
  return out;
}

std::optional<segment_index> parse_index(std::span<const char> bytes, const segment_header& h) {
  segment_index x;
  if (bytes.size() < sizeof(index_header)) return std::nullopt;
  std::memcpy(&x.h, bytes.data(), sizeof(x.h));
  const index_header& ih = x.h;
  if (std::memcmp(ih.magic, k_index_magic, sizeof(ih.magic)) != 0 ||
      ih.version != k_index_version || ih.header_size != sizeof(index_header) ||
      ih.segment_no != h.segment_no || ih.base_seq != h.base_seq ||
      ih.record_count != h.record_count || ih.sealed_end != h.sealed_end || ih.salt != h.salt ||
      ih.bloom_hashes != k_bloom_hashes || ih.bloom_words == 0 ||
      !std::has_single_bit(ih.bloom_words)) {
    return std::nullopt;
  }
  const std::uint64_t want = sizeof(ih) + std::uint64_t{ih.sparse_count} * sizeof(sparse_entry) +
                             std::uint64_t{ih.bloom_words} * sizeof(std::uint64_t);
  if (bytes.size() != want || file_checksum(bytes) != ih.checksum) return std::nullopt;
  const char* p = bytes.data() + sizeof(ih);
  x.sparse.resize(ih.sparse_count);
  std::memcpy(x.sparse.data(), p, x.sparse.size() * sizeof(sparse_entry));
  p += x.sparse.size() * sizeof(sparse_entry);
  x.bloom.resize(ih.bloom_words);
  std::memcpy(x.bloom.data(), p, x.bloom.size() * sizeof(std::uint64_t));
  // Offsets must be frame boundaries inside the segment, in order (a scan started at a wrong one
  // would stop with a problem, never read a wrong record; this keeps it from trying).
  std::uint64_t last = 0;
  for (const sparse_entry& e : x.sparse) {
    if (e.offset < k_header_size || e.offset >= h.sealed_end || e.offset <= last ||
        e.offset % k_align != 0) {
      return std::nullopt;
    }
    last = e.offset;
  }
  return x;
}

std::optional<segment_index> read_index(io_env& env, const std::string& dir,
                                        const segment_header& h) {
  auto fd = env.open(dir + "/" + index_file_name(h.segment_no), false, false);
  if (!fd) return std::nullopt;
  std::optional<segment_index> out;
  if (auto size = env.file_size(*fd); size && *size <= (std::uint64_t{1} << 30)) {
    std::vector<char> bytes(*size);
    if (env.read_at(*fd, 0, bytes.data(), bytes.size())) out = parse_index(bytes, h);
  }
  (void)env.close(*fd);
  return out;
}

}  // namespace keel::eventlog::detail
