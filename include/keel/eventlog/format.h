// The event log's on-disk format: constants and the two fixed layouts (the segment header and
// the record frame). The format is specified in docs/eventlog-format.md; this header and that
// document describe the same bytes and must change together (tests/eventlog/golden/ holds a log
// that must decode the same way forever).
//
// All integers are little-endian; every structure is 8-byte aligned.
//
// Thread safety: constants and plain structs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace keel::eventlog {

inline constexpr std::string_view k_segment_magic{"KEELSEG\0", 8};
inline constexpr std::string_view k_meta_magic{"KEELLOG\0", 8};
inline constexpr std::uint16_t k_format_version = 1;

// The header occupies the first page of a segment; records start after it.
inline constexpr std::uint32_t k_header_size = 4096;
// Frames start and end on multiples of this.
inline constexpr std::uint32_t k_align = 8;
// The smallest frame: length, type, flags and checksum. Only padding frames are this short.
inline constexpr std::uint32_t k_min_frame = 16;

constexpr std::uint64_t align_up(std::uint64_t n) noexcept {
  return (n + k_align - 1) & ~std::uint64_t{k_align - 1};
}

// What a record is. Bit 15 (k_safe_ignore) set: a reader that does not know the type may skip
// the record; clear: an unknown type ends the valid part of a segment (a newer writer, or damage).
enum class record_type : std::uint16_t {
  padding = 1,  // fills the end of a segment; no seq, no content
  message = 2,  // a message an actor received (payload: the message's codec bytes)
  event = 3,    // an event an event-sourced actor persisted
  spawn = 4,    // reserved for the recording issue, like the rest below
  stop = 5,
  failure = 6,
  restart = 7,
  timer = 8,
  rng_seed = 9,
  external_input = 10,
  state_hash = 11,
  snapshot_mark = 12,
  steering = 13,
  chaos = 14,
  breaker = 15,
  quarantine = 16,
  // An actor asked: actor_id the asker, message_id the request's id (its reply's or timeout's
  // causation), payload_type the request's type, no payload. Replay pairs the recorded asks with
  // the replayed ones in order. Safe to ignore for a reader that does not know it.
  ask = 0x8000 | 17,
  // A checkpoint (replay starts an actor there instead of at its SPAWN). With actor_id 0: the
  // request, message_id the checkpoint's number, payload its label. With an actor: that actor's
  // state after input actor_seq, message_id the number; payload: u16 type-name length, the
  // actor type's name, u8 1 if its generator has drawn, the generator's 4 u64 (zero if not),
  // then save_state's bytes. Safe to ignore.
  checkpoint = 0x8000 | 18,
};
inline constexpr std::uint16_t k_safe_ignore = 0x8000;

// frame_header::flags.
inline constexpr std::uint16_t k_flag_no_payload = 1;  // the payload's type has no codec: omitted
inline constexpr std::uint16_t k_flag_sampled = 2;     // one input in N was recorded (tracing)
// A MESSAGE record that completed one of the actor's asks (its continuation ran): the reply
// (payload: the reply message), or the ask's timeout (no payload). causation: the ask's id.
inline constexpr std::uint16_t k_flag_reply = 4;
inline constexpr std::uint16_t k_flag_ask_timeout = 8;
// A SPAWN record's payload: the actor type's name, then, for an actor with a registered name,
// a 0 byte and that name.
struct spawn_names {
  std::string_view type;
  std::string_view name;  // "" if none
};
inline spawn_names split_spawn(std::span<const std::byte> payload) noexcept {
  const std::string_view all(reinterpret_cast<const char*>(payload.data()), payload.size());
  const std::size_t nul = all.find('\0');
  if (nul == std::string_view::npos) return {all, {}};
  return {all.substr(0, nul), all.substr(nul + 1)};
}

// A RESTART record of a restart into a new actor (this record's actor_id, spawned just before):
// its SPAWN was the restart, so replay does not restart it again.
inline constexpr std::uint16_t k_flag_new_incarnation = 16;
inline constexpr std::uint16_t k_last_known_type = 16;

// Segment header flags (written once, at activation: the flags are checksummed). A segment is
// sealed when its mutable `sealed_end` is not 0.
inline constexpr std::uint32_t k_segment_active = 1;  // activated: base_seq and chain are set

// The first page of a segment file. Bytes [0, k_header_checked) are written once, when the
// segment is activated, and covered by header_xxh3; the fields from `tail` on change while the
// segment is written and are not checksummed (docs/eventlog-format.md, "Segment header").
struct segment_header {
  char magic[8];              // k_segment_magic
  std::uint16_t version;      // k_format_version
  std::uint16_t header_size;  // k_header_size
  std::uint32_t flags;        // k_segment_active
  std::uint8_t log_id[16];    // the log's id (LOG.meta): a segment of another log is refused
  std::uint64_t segment_no;   // 0, 1, 2, ... (the file name)
  std::uint64_t base_seq;     // the seq of the first record in this segment
  std::uint32_t stream_id;    // 0; reserved for per-worker streams
  std::uint32_t reserved0;
  std::uint64_t salt;        // random per segment; seeds every record checksum
  std::uint64_t prev_salt;   // the previous segment's salt (0 for segment 0): the chain check
  std::uint64_t capacity;    // the file's size in bytes
  std::uint32_t max_record;  // the largest frame a writer may append
  std::uint32_t align;       // k_align
  std::uint8_t writer_boot_id[16];  // /proc/sys/kernel/random/boot_id of the writer
  std::uint32_t writer_pid;
  std::uint32_t reserved1;
  std::uint8_t writer_incarnation[16];  // random per open of the log for writing
  std::int64_t created_ns;              // CLOCK_REALTIME at activation
  std::uint64_t reserved2;
  std::uint64_t header_xxh3;  // XXH3-64 of bytes [0, 144), seed 0
  std::uint8_t reserved3[32];
  // --- mutable, not checksummed ---
  alignas(64) std::uint64_t tail;  // (ordinal << 32) | offset: the next claim (writer only)
  std::uint8_t reserved4[56];
  std::uint64_t durable;       // offset below which every frame is on stable storage
  std::uint64_t sealed_end;    // sealed: the offset after the last frame; 0: not sealed
  std::uint64_t record_count;  // sealed: the number of records (padding excluded)
};
inline constexpr std::size_t k_header_checked = 144;
static_assert(offsetof(segment_header, header_xxh3) == k_header_checked);
static_assert(offsetof(segment_header, tail) == 192);
static_assert(offsetof(segment_header, durable) == 256);
static_assert(sizeof(segment_header) <= k_header_size);

// A record frame's fixed part. `len` is the commit word: 0 unwritten, negative claimed (its
// absolute value is the length), positive committed. The frame is `len` bytes: this header and
// then the payload; the next frame starts at align_up(len).
struct frame_header {
  std::int32_t len;
  std::uint16_t type;   // record_type, plus k_safe_ignore
  std::uint16_t flags;  // k_flag_* bits
  // XXH3-64 of bytes [16, len) with seed = salt ^ (the frame's first 8 bytes as a u64): every
  // byte of the frame but the checksum itself, under the segment's salt.
  std::uint64_t checksum;
  std::uint64_t seq;           // base_seq + the frame's ordinal in the segment; 0 for padding
  std::int64_t ts_ns;          // the time the handler saw (actor::now()), or the append time
  std::uint64_t actor_id;      // the actor the record is about (0: none)
  std::uint64_t actor_seq;     // that actor's own sequence (0: not counted)
  std::uint64_t message_id;    // keel's message id (0: none)
  std::uint64_t correlation;   // correlation id (0: none)
  std::uint64_t causation;     // the message id that caused this one (0: none)
  std::uint64_t payload_type;  // the payload's type id (keel type_id of the message), 0: none
};
static_assert(sizeof(frame_header) == 80);
inline constexpr std::uint32_t k_frame_header = sizeof(frame_header);

// A compressed sealed segment (seg/<n>.evz): the segment's header page, byte for byte, then this
// header, then `block_count` index entries, then the blocks. The blocks hold the segment's bytes
// [k_header_size, raw_end) after the header transform (docs/eventlog-format.md, "Compressed
// segments"), cut into blocks of `block_size` bytes (the last may be shorter), each compressed
// on its own with LZ4 (HC levels).
inline constexpr std::string_view k_compressed_magic{"KEELSGZ\0", 8};
inline constexpr std::uint16_t k_codec_lz4_delta = 1;  // LZ4 blocks of delta-transformed frames
struct compressed_header {
  char magic[8];  // k_compressed_magic
  std::uint16_t version;
  std::uint16_t codec;  // k_codec_lz4_delta
  std::uint32_t block_size;
  std::uint32_t block_count;
  std::uint32_t reserved0;
  std::uint64_t raw_end;   // the segment's sealed_end: the bytes before it are restored
  std::uint64_t raw_xxh3;  // XXH3-64 (seed 0) of the restored bytes [k_header_size, raw_end)
  std::uint64_t reserved1;
  std::uint64_t xxh3;  // XXH3-64 (seed 0) of this header's bytes before it and of the index
};
static_assert(sizeof(compressed_header) == 56);
struct compressed_block {
  std::uint32_t compressed_size;
  std::uint32_t raw_size;
  std::uint64_t xxh3;  // XXH3-64 (seed 0) of the compressed bytes
};
static_assert(sizeof(compressed_block) == 16);

// A snapshot file (<log>/snap/<scope, 16 hex digits>/<covers_seq, 20 digits>.snap): this
// header, `block_count` index entries (compressed_block), then the blocks: the state's bytes
// cut into blocks of `block_size`, each compressed on its own with LZ4 (docs/eventlog-format.md,
// "Snapshots").
inline constexpr std::string_view k_snapshot_magic{"KEELSNP\0", 8};
inline constexpr std::uint16_t k_codec_lz4 = 1;  // LZ4 blocks, no transform
struct snapshot_header {
  char magic[8];  // k_snapshot_magic
  std::uint16_t version;
  std::uint16_t codec;  // k_codec_lz4
  std::uint32_t block_size;
  std::uint64_t scope;             // whose state: an event-sourced actor's persistence id
  std::uint64_t covers_seq;        // the log's seq of the last record the state includes
  std::uint64_t covers_actor_seq;  // that scope's own sequence number of the same record
  std::int64_t ts_ns;              // CLOCK_REALTIME when it was taken
  std::uint64_t raw_size;          // the state's size in bytes
  std::uint64_t state_hash;        // XXH3-64 (seed 0) of the state's bytes
  std::uint32_t block_count;
  std::uint32_t reserved0;
  std::uint8_t log_id[16];  // the log it belongs to
  std::uint64_t xxh3;       // XXH3-64 (seed 0) of the bytes before it and of the index
};
static_assert(sizeof(snapshot_header) == 96);

// LOG.meta: the log's identity, written once when the log is created (to a temporary file,
// synced, renamed).
struct log_meta {
  char magic[8];  // k_meta_magic
  std::uint16_t version;
  std::uint16_t reserved0;
  std::uint32_t reserved1;
  std::uint8_t log_id[16];  // random
  std::int64_t created_ns;
  std::uint64_t xxh3;  // XXH3-64 of the bytes before it, seed 0
};
static_assert(sizeof(log_meta) == 48);

}  // namespace keel::eventlog
