// Private to eventlog/: LOG.meta, the file that names a log (format.h, log_meta).
#pragma once

#include <cstdint>
#include <string>

#include <keel/base/status.h>
#include <keel/eventlog/io_env.h>

namespace keel::eventlog::detail {

// Reads and checks <dir>/LOG.meta; copies the log's id. errc::corrupt naming the file and the
// problem (truncated, not a keel log, a version this build does not read, checksum mismatch).
status read_meta(io_env& env, const std::string& dir, std::uint8_t log_id[16],
                 std::int64_t* created_ns = nullptr);
// Writes a new LOG.meta with a random id (to LOG.meta.tmp, synced, renamed, directory synced).
status create_meta(io_env& env, const std::string& dir, std::uint8_t log_id[16]);
// Random bytes (std::random_device).
void random_bytes(std::uint8_t* out, std::size_t n);

}  // namespace keel::eventlog::detail
