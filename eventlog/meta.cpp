#include "eventlog/meta.h"

#include <xxhash.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <ctime>
#include <random>

#include <keel/eventlog/format.h>

namespace keel::eventlog::detail {

void random_bytes(std::uint8_t* out, std::size_t n) {
  std::random_device rd;
  for (std::size_t i = 0; i < n; i += 4) {
    const std::uint32_t v = rd();
    std::memcpy(out + i, &v, std::min<std::size_t>(4, n - i));
  }
}

status read_meta(io_env& env, const std::string& dir, std::uint8_t log_id[16],
                 std::int64_t* created_ns) {
  const std::string path = dir + "/LOG.meta";
  auto fd = env.open(path, false, false);
  if (!fd) return fd.error();
  log_meta m{};
  auto size = env.file_size(*fd);
  status st = size ? status() : size.error();
  if (st && *size < sizeof(m)) {
    st = status(errc::corrupt, path + ": truncated (" + std::to_string(*size) + " bytes)");
  }
  if (st) st = env.read_at(*fd, 0, &m, sizeof(m));
  (void)env.close(*fd);
  if (!st) return st;
  if (std::memcmp(m.magic, k_meta_magic.data(), sizeof(m.magic)) != 0) {
    return status(errc::corrupt, path + ": not a keel log");
  }
  if (m.version != k_format_version) {
    return status(errc::corrupt, path + ": format version " + std::to_string(m.version) +
                                     "; this build reads " + std::to_string(k_format_version));
  }
  if (XXH3_64bits(&m, offsetof(log_meta, xxh3)) != m.xxh3) {
    return status(errc::corrupt, path + ": checksum mismatch");
  }
  std::memcpy(log_id, m.log_id, sizeof(m.log_id));
  if (created_ns != nullptr) *created_ns = m.created_ns;
  return status();
}

status create_meta(io_env& env, const std::string& dir, std::uint8_t log_id[16]) {
  log_meta m{};
  std::memcpy(m.magic, k_meta_magic.data(), sizeof(m.magic));
  m.version = k_format_version;
  random_bytes(m.log_id, sizeof(m.log_id));
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  m.created_ns = static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
  m.xxh3 = XXH3_64bits(&m, offsetof(log_meta, xxh3));
  const std::string path = dir + "/LOG.meta";
  const std::string tmp = path + ".tmp";
  auto fd = env.open(tmp, true, true);
  if (!fd) return fd.error();
  status st = env.write_at(*fd, 0, &m, sizeof(m));
  if (st) st = env.fdatasync(*fd);
  (void)env.close(*fd);
  if (st) st = env.rename(tmp, path);
  if (st) st = env.sync_dir(dir);
  if (!st) return st;
  std::memcpy(log_id, m.log_id, sizeof(m.log_id));
  return status();
}

}  // namespace keel::eventlog::detail
