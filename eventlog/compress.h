// Private to eventlog/: compression of sealed segments into .evz files and their restoration
// (docs/eventlog-format.md, "Compressed segments").
//
// The transform before LZ4: each record frame's checksum is dropped (restored by recomputing
// it) and its eight u64 header fields from seq on are replaced by their difference from the
// previous record's (wrapping), which turns counters and repeated ids into runs of zero bytes.
// Payloads are left as they are.
//
// Thread safety: pure functions over the buffers they are given.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <keel/base/result.h>
#include <keel/eventlog/format.h>

namespace keel::eventlog::detail {

inline constexpr std::uint32_t k_compress_block = 1u << 20;

// The .evz bytes of a sealed segment whose frames are `base` [k_header_size, sealed_end) (the
// header page is copied from `base`). Every frame is checked first: errc::corrupt naming the
// offset of the first that is not valid (such a segment stays uncompressed). `level`: LZ4HC's
// level, 1 to 12.
result<std::vector<char>> compress_segment(const char* base, std::uint64_t sealed_end,
                                           std::uint64_t salt, int level);

// Restores a segment from .evz bytes: `out` gets its bytes [0, raw_end) (the header page and
// the frames, exactly as they were). errc::corrupt naming what does not match: the header, a
// block's checksum or size, the restored bytes' checksum. `file` names it in messages.
status decompress_segment(std::span<const char> evz, std::vector<char>& out,
                          const std::string& file);

// Independent LZ4 blocks, each with its index entry (sizes and the XXH3 of its compressed
// bytes): the body of .evz files and of snapshots.
struct lz4_blocks {
  std::vector<compressed_block> index;
  std::vector<char> data;
};
// Compresses `n` bytes at `raw` as the next block: LZ4HC at `level`, or LZ4 (fast) for 0.
void add_lz4_block(lz4_blocks& out, const char* raw, std::size_t n, int level);
// XXH3-64 of a file header's bytes before its checksum field, followed by its block index.
std::uint64_t header_and_index_hash(const void* header, std::size_t checked_bytes,
                                    const void* index, std::size_t index_bytes) noexcept;
// Restores `count` blocks of `file` whose index starts at `index_at` (the blocks follow it)
// into `out` (exactly `out.size()` bytes in all, none over `block_size`). errc::corrupt naming
// `name` and the block that is truncated, damaged or does not decompress.
status restore_lz4_blocks(std::span<const char> file, std::size_t index_at, std::uint32_t count,
                          std::uint32_t block_size, std::span<char> out, const std::string& name);

// "seg/00000000000000000042.evz".
std::string compressed_file_name(std::uint64_t segment_no);
bool parse_compressed_file_name(std::string_view name, std::uint64_t& segment_no);

}  // namespace keel::eventlog::detail
