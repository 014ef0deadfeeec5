#include "eventlog/compress.h"

#include <lz4.h>
#include <lz4hc.h>
#include <xxhash.h>

#include <cstdio>
#include <cstring>

#include "eventlog/segment.h"

namespace keel::eventlog::detail {
namespace {

constexpr std::size_t k_first_field = 16;  // seq
constexpr std::size_t k_fields = 8;        // seq .. payload_type

status corrupt_at(const char* what, std::uint64_t offset) {
  return status(errc::corrupt, std::string(what) + " at offset " + std::to_string(offset));
}

bool is_padding(const char* f) {
  std::uint16_t type = 0;
  std::memcpy(&type, f + 4, sizeof(type));
  return type == static_cast<std::uint16_t>(record_type::padding);
}

// Builds the transformed byte stream block by block and compresses each block when full.
class block_writer {
 public:
  block_writer(std::vector<char>& out, int level) : out_(out), level_(level) {
    buf_.reserve(k_compress_block);
  }
  void put(const char* p, std::size_t n) {
    while (n > 0) {
      const std::size_t take = std::min(n, k_compress_block - buf_.size());
      buf_.insert(buf_.end(), p, p + take);
      p += take;
      n -= take;
      if (buf_.size() == k_compress_block) flush();
    }
  }
  void flush() {
    if (buf_.empty()) return;
    add_lz4_block(blocks_, buf_.data(), buf_.size(), level_);
    buf_.clear();
  }
  // Appends the index and the blocks to `out_` after `h`.
  void finish(compressed_header& h) {
    flush();
    const std::size_t index_bytes = blocks_.index.size() * sizeof(compressed_block);
    h.block_count = static_cast<std::uint32_t>(blocks_.index.size());
    h.xxh3 = header_and_index_hash(&h, offsetof(compressed_header, xxh3), blocks_.index.data(),
                                   index_bytes);
    const char* hp = reinterpret_cast<const char*>(&h);
    out_.insert(out_.end(), hp, hp + sizeof(h));
    const char* ip = reinterpret_cast<const char*>(blocks_.index.data());
    out_.insert(out_.end(), ip, ip + index_bytes);
    out_.insert(out_.end(), blocks_.data.begin(), blocks_.data.end());
  }

 private:
  std::vector<char>& out_;
  int level_;
  std::vector<char> buf_;
  lz4_blocks blocks_;
};

}  // namespace

void add_lz4_block(lz4_blocks& out, const char* raw, std::size_t n, int level) {
  const int bound = LZ4_compressBound(static_cast<int>(n));
  const std::size_t used = out.data.size();
  out.data.resize(used + static_cast<std::size_t>(bound));
  char* dst = out.data.data() + used;
  const int c = level == 0 ? LZ4_compress_default(raw, dst, static_cast<int>(n), bound)
                           : LZ4_compress_HC(raw, dst, static_cast<int>(n), bound, level);
  out.data.resize(used + static_cast<std::size_t>(c));
  compressed_block b{};
  b.compressed_size = static_cast<std::uint32_t>(c);
  b.raw_size = static_cast<std::uint32_t>(n);
  b.xxh3 = XXH3_64bits(dst, static_cast<std::size_t>(c));
  out.index.push_back(b);
}

std::uint64_t header_and_index_hash(const void* header, std::size_t checked_bytes,
                                    const void* index, std::size_t index_bytes) noexcept {
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  XXH3_64bits_update(st, header, checked_bytes);
  XXH3_64bits_update(st, index, index_bytes);
  const std::uint64_t v = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return v;
}

status restore_lz4_blocks(std::span<const char> file, std::size_t index_at, std::uint32_t count,
                          std::uint32_t block_size, std::span<char> out, const std::string& name) {
  std::size_t at = index_at + std::size_t{count} * sizeof(compressed_block);
  std::size_t filled = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    compressed_block b{};
    std::memcpy(&b, file.data() + index_at + i * sizeof(b), sizeof(b));
    const std::string block =
        name + ": block " + std::to_string(i) + " at offset " + std::to_string(at);
    if (b.compressed_size > file.size() - at || b.raw_size > block_size ||
        b.raw_size > out.size() - filled) {
      return status(errc::corrupt, block + ": sizes out of range (truncated?)");
    }
    if (XXH3_64bits(file.data() + at, b.compressed_size) != b.xxh3) {
      return status(errc::corrupt, block + ": checksum mismatch");
    }
    const int n =
        LZ4_decompress_safe(file.data() + at, out.data() + filled,
                            static_cast<int>(b.compressed_size), static_cast<int>(b.raw_size));
    if (n != static_cast<int>(b.raw_size)) {
      return status(errc::corrupt, block + ": does not decompress");
    }
    at += b.compressed_size;
    filled += b.raw_size;
  }
  if (filled != out.size()) {
    return status(errc::corrupt, name + ": the blocks do not add up to the expected size");
  }
  return status();
}

std::string compressed_file_name(std::uint64_t segment_no) {
  std::string n = segment_file_name(segment_no);
  n.replace(n.size() - 3, 3, "evz");
  return n;
}

bool parse_compressed_file_name(std::string_view name, std::uint64_t& segment_no) {
  if (name.size() != 24 || name.substr(20) != ".evz") return false;
  std::string as_evl(name.substr(0, 20));
  as_evl += ".evl";
  return parse_segment_file_name(as_evl, segment_no);
}

result<std::vector<char>> compress_segment(const char* base, std::uint64_t sealed_end,
                                           std::uint64_t salt, int level) {
  std::vector<char> out(base, base + k_header_size);
  block_writer w(out, level);
  std::uint64_t prev[k_fields] = {};
  std::vector<char> frame;
  XXH3_state_t* raw = XXH3_createState();
  XXH3_64bits_reset(raw);
  std::uint64_t off = k_header_size;
  while (off < sealed_end) {
    const char* f = base + off;
    std::int32_t len = 0;
    std::memcpy(&len, f, sizeof(len));
    const auto ulen = static_cast<std::uint64_t>(len);
    if (len < static_cast<std::int32_t>(k_min_frame) || off + align_up(ulen) > sealed_end) {
      XXH3_freeState(raw);
      return corrupt_at("an impossible frame length", off);
    }
    std::uint64_t sum = 0;
    std::memcpy(&sum, f + 8, sizeof(sum));
    if (frame_checksum(f, static_cast<std::uint32_t>(ulen), salt) != sum) {
      XXH3_freeState(raw);
      return corrupt_at("a checksum mismatch", off);
    }
    const std::uint64_t step = align_up(ulen);
    XXH3_64bits_update(raw, f, step);
    frame.assign(f, f + step);
    std::memset(frame.data() + 8, 0, 8);  // the checksum, recomputed on restore
    if (!is_padding(f) && ulen >= k_frame_header) {
      for (std::size_t i = 0; i < k_fields; ++i) {
        std::uint64_t v = 0;
        std::memcpy(&v, f + k_first_field + 8 * i, 8);
        const std::uint64_t d = v - prev[i];
        std::memcpy(frame.data() + k_first_field + 8 * i, &d, 8);
        prev[i] = v;
      }
    }
    w.put(frame.data(), frame.size());
    off += step;
  }
  compressed_header h{};
  std::memcpy(h.magic, k_compressed_magic.data(), sizeof(h.magic));
  h.version = k_format_version;
  h.codec = k_codec_lz4_delta;
  h.block_size = k_compress_block;
  h.raw_end = sealed_end;
  h.raw_xxh3 = XXH3_64bits_digest(raw);
  XXH3_freeState(raw);
  w.finish(h);
  return out;
}

status decompress_segment(std::span<const char> evz, std::vector<char>& out,
                          const std::string& file) {
  auto bad = [&](const std::string& what) { return status(errc::corrupt, file + ": " + what); };
  if (evz.size() < k_header_size + sizeof(compressed_header)) return bad("truncated");
  compressed_header h{};
  std::memcpy(&h, evz.data() + k_header_size, sizeof(h));
  if (std::memcmp(h.magic, k_compressed_magic.data(), sizeof(h.magic)) != 0) {
    return bad("not a compressed keel segment");
  }
  if (h.version != k_format_version || h.codec != k_codec_lz4_delta) {
    return bad("a compressed segment version or codec this build does not read");
  }
  const std::size_t index_at = k_header_size + sizeof(h);
  const std::size_t index_bytes = std::size_t{h.block_count} * sizeof(compressed_block);
  if (evz.size() < index_at + index_bytes) return bad("truncated index");
  const std::uint64_t want = header_and_index_hash(&h, offsetof(compressed_header, xxh3),
                                                   evz.data() + index_at, index_bytes);
  if (want != h.xxh3) return bad("compressed header checksum mismatch");
  segment_header seg{};
  std::memcpy(&seg, evz.data(), sizeof(seg));
  if (h.raw_end < k_header_size || h.raw_end % k_align != 0 || h.raw_end > seg.capacity ||
      h.block_size == 0 || h.block_size > (64u << 20)) {
    return bad("compressed header sizes out of range");
  }
  out.assign(evz.data(), evz.data() + k_header_size);
  out.resize(h.raw_end);
  if (status st = restore_lz4_blocks(evz, index_at, h.block_count, h.block_size,
                                     std::span<char>(out).subspan(k_header_size), file);
      !st) {
    return st;
  }
  // Undo the transform and restore the checksums.
  const segment_header* sh = reinterpret_cast<const segment_header*>(out.data());
  std::uint64_t prev[k_fields] = {};
  std::uint64_t off = k_header_size;
  while (off < h.raw_end) {
    if (off + k_min_frame > h.raw_end) {
      return bad("a frame cut short at offset " + std::to_string(off));
    }
    char* f = out.data() + off;
    std::int32_t len = 0;
    std::memcpy(&len, f, sizeof(len));
    const auto ulen = static_cast<std::uint64_t>(len);
    if (len < static_cast<std::int32_t>(k_min_frame) || off + align_up(ulen) > h.raw_end) {
      return bad("an impossible frame length at offset " + std::to_string(off));
    }
    if (!is_padding(f) && ulen >= k_frame_header) {
      for (std::size_t i = 0; i < k_fields; ++i) {
        std::uint64_t d = 0;
        std::memcpy(&d, f + k_first_field + 8 * i, 8);
        prev[i] += d;
        std::memcpy(f + k_first_field + 8 * i, &prev[i], 8);
      }
    }
    const std::uint64_t sum = frame_checksum(f, static_cast<std::uint32_t>(ulen), sh->salt);
    std::memcpy(f + 8, &sum, sizeof(sum));
    off += align_up(ulen);
  }
  if (XXH3_64bits(out.data() + k_header_size, h.raw_end - k_header_size) != h.raw_xxh3) {
    return bad("the restored frames do not match their checksum");
  }
  return status();
}

}  // namespace keel::eventlog::detail
