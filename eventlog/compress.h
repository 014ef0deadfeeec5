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

// "seg/00000000000000000042.evz".
std::string compressed_file_name(std::uint64_t segment_no);
bool parse_compressed_file_name(std::string_view name, std::uint64_t& segment_no);

}  // namespace keel::eventlog::detail
