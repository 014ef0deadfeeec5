#include <time.h>
#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "eventlog/compress.h"
#include "eventlog/meta.h"
#include "eventlog/segment.h"

#include <keel/eventlog/format.h>
#include <keel/eventlog/log.h>
#include <keel/eventlog/snapshot.h>

namespace keel::eventlog {
namespace {

std::string scope_dir_name(std::uint64_t scope) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(scope));
  return buf;
}

bool parse_scope_dir_name(const std::string& n, std::uint64_t& scope) {
  if (n.size() != 16) return false;
  std::uint64_t v = 0;
  for (const char c : n) {
    int d = -1;
    if (c >= '0' && c <= '9') d = c - '0';
    if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    if (d < 0) return false;
    v = v * 16 + static_cast<std::uint64_t>(d);
  }
  scope = v;
  return true;
}

std::string snapshot_file_name(std::uint64_t covers_seq) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%020llu.snap", static_cast<unsigned long long>(covers_seq));
  return buf;
}

bool parse_snapshot_file_name(const std::string& n, std::uint64_t& covers_seq) {
  if (n.size() != 25 || n.compare(20, 5, ".snap") != 0) return false;
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 20; ++i) {
    if (n[i] < '0' || n[i] > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(n[i] - '0');
  }
  covers_seq = v;
  return true;
}

snapshot_info info_of(const snapshot_header& h, std::string file, std::uint64_t size) {
  snapshot_info i;
  i.scope = h.scope;
  i.covers_seq = h.covers_seq;
  i.covers_actor_seq = h.covers_actor_seq;
  i.ts_ns = h.ts_ns;
  i.raw_size = h.raw_size;
  i.file_size = size;
  i.state_hash = h.state_hash;
  i.file = std::move(file);
  return i;
}

}  // namespace

status snapshot_options::validate() const {
  if (keep < 1 || keep > 1000) {
    return status(errc::invalid_config, "snapshot_options.keep: must be between 1 and 1000");
  }
  if (block_size < 4096 || block_size > (64u << 20)) {
    return status(errc::invalid_config,
                  "snapshot_options.block_size: must be between 4 KiB and 64 MiB");
  }
  return status();
}

result<std::unique_ptr<snapshot_store>> snapshot_store::open(const std::string& log_dir,
                                                             snapshot_options o, event_log* log) {
  if (status st = o.validate(); !st) return st;
  std::unique_ptr<snapshot_store> s(new snapshot_store());
  s->dir_ = log_dir + "/snap";
  s->opt_ = o;
  s->env_ = o.env != nullptr ? o.env : &io_env::posix();
  s->log_ = log;
  if (status st = detail::read_meta(*s->env_, log_dir, s->log_id_); !st) return st;
  if (status st = s->env_->make_dir(s->dir_); !st) return st;
  std::lock_guard<std::mutex> lock(s->mu_);
  for (const std::uint64_t scope : s->scopes()) {
    const std::vector<snapshot_info> l = s->list(scope);
    s->oldest_kept_[scope] = l.empty() ? 0 : l.back().covers_seq;
  }
  s->update_floor();
  return s;
}

std::vector<std::uint64_t> snapshot_store::scopes() const {
  std::vector<std::uint64_t> out;
  auto names = env_->list_dir(dir_);
  if (!names) return out;
  for (const std::string& n : *names) {
    std::uint64_t scope = 0;
    if (parse_scope_dir_name(n, scope)) out.push_back(scope);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<snapshot_info> snapshot_store::list(std::uint64_t scope) const {
  std::vector<snapshot_info> out;
  const std::string sdir = dir_ + "/" + scope_dir_name(scope);
  auto names = env_->list_dir(sdir);
  if (!names) return out;
  for (const std::string& n : *names) {
    std::uint64_t covers = 0;
    if (!parse_snapshot_file_name(n, covers)) continue;
    const std::string path = sdir + "/" + n;
    snapshot_header h{};
    std::uint64_t size = 0;
    if (auto fd = env_->open(path, false, false)) {
      auto sz = env_->file_size(*fd);
      if (sz) size = *sz;
      if (!sz || *sz < sizeof(h) || !env_->read_at(*fd, 0, &h, sizeof(h))) h = snapshot_header{};
      (void)env_->close(*fd);
    }
    snapshot_info i = info_of(h, path, size);
    i.scope = scope;
    i.covers_seq = covers;  // from the name: a damaged header still lists
    out.push_back(std::move(i));
  }
  std::sort(out.begin(), out.end(), [](const snapshot_info& a, const snapshot_info& b) {
    return a.covers_seq > b.covers_seq;
  });
  return out;
}

result<snapshot_info> snapshot_store::save(std::uint64_t scope, std::uint64_t covers_seq,
                                           std::uint64_t covers_actor_seq,
                                           std::span<const std::byte> state) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string sdir = dir_ + "/" + scope_dir_name(scope);
  std::vector<snapshot_info> existing = list(scope);
  if (!existing.empty() && existing.front().covers_seq >= covers_seq) {
    return status(errc::invalid_argument, "snapshot of scope " + std::to_string(scope) +
                                              " at seq " + std::to_string(covers_seq) +
                                              ": not newer than the one at seq " +
                                              std::to_string(existing.front().covers_seq));
  }
  const bool new_dir = existing.empty();
  if (status st = env_->make_dir(sdir); !st) return st;
  // A snapshot must not cover records a crash could still take away: the log would then
  // reuse their seqs for new records, and recovery from the snapshot would skip those.
  if (log_ != nullptr && covers_seq < log_->next_seq()) {
    if (status st = log_->wait_durable(covers_seq); !st) return st;
  }

  snapshot_header h{};
  std::memcpy(h.magic, k_snapshot_magic.data(), sizeof(h.magic));
  h.version = k_format_version;
  h.codec = k_codec_lz4;
  h.block_size = opt_.block_size;
  h.scope = scope;
  h.covers_seq = covers_seq;
  h.covers_actor_seq = covers_actor_seq;
  h.ts_ns = detail::wall_clock_ns();
  h.raw_size = state.size();
  h.state_hash = XXH3_64bits(state.data(), state.size());
  std::memcpy(h.log_id, log_id_, sizeof(h.log_id));
  detail::lz4_blocks blocks;
  const char* raw = reinterpret_cast<const char*>(state.data());
  for (std::size_t at = 0; at < state.size(); at += opt_.block_size) {
    detail::add_lz4_block(blocks, raw + at,
                          std::min<std::size_t>(opt_.block_size, state.size() - at), 0);
  }
  const std::vector<compressed_block>& index = blocks.index;
  const std::vector<char>& data = blocks.data;
  h.block_count = static_cast<std::uint32_t>(index.size());
  h.xxh3 = detail::header_and_index_hash(&h, offsetof(snapshot_header, xxh3), index.data(),
                                         index.size() * sizeof(compressed_block));

  const std::string path = sdir + "/" + snapshot_file_name(covers_seq);
  const std::string tmp = path + ".tmp";
  auto fd = env_->open(tmp, true, true);
  if (!fd) return fd.error();
  const std::size_t index_bytes = index.size() * sizeof(compressed_block);
  status st = env_->write_at(*fd, 0, &h, sizeof(h));
  if (st) st = env_->write_at(*fd, sizeof(h), index.data(), index_bytes);
  if (st) st = env_->write_at(*fd, sizeof(h) + index_bytes, data.data(), data.size());
  if (st) st = env_->fdatasync(*fd);
  (void)env_->close(*fd);
  if (st) st = env_->rename(tmp, path);
  if (st) st = env_->sync_dir(sdir);
  if (st && new_dir) st = env_->sync_dir(dir_);
  if (!st) {
    (void)env_->unlink(tmp);
    return st;
  }
  snapshot_info info = info_of(h, path, sizeof(h) + index_bytes + data.size());

  // Keep the newest `keep`.
  existing.insert(existing.begin(), info);
  while (existing.size() > opt_.keep) {
    (void)env_->unlink(existing.back().file);
    existing.pop_back();
  }
  oldest_kept_[scope] = existing.back().covers_seq;
  if (log_ != nullptr) {
    // SNAPSHOT_MARK: scope, covers_seq, covers_actor_seq, state hash, then the file's name
    // relative to the log directory.
    const std::string rel = "snap/" + scope_dir_name(scope) + "/" + snapshot_file_name(covers_seq);
    std::vector<std::byte> p(32 + rel.size());
    const std::uint64_t fields[4] = {scope, covers_seq, covers_actor_seq, h.state_hash};
    std::memcpy(p.data(), fields, sizeof(fields));
    std::memcpy(p.data() + 32, rel.data(), rel.size());
    record_in r;
    r.type = record_type::snapshot_mark;
    r.ts_ns = h.ts_ns;
    r.actor_id = scope;
    r.actor_seq = covers_actor_seq;
    r.payload = p;
    if (auto a = log_->append(r); !a) return a.error();
  }
  update_floor();
  return info;
}

void snapshot_store::need(std::uint64_t scope) {
  std::lock_guard<std::mutex> lock(mu_);
  // The scope's directory, even empty, says "the whole log is needed" to the next open().
  (void)env_->make_dir(dir_ + "/" + scope_dir_name(scope));
  oldest_kept_.try_emplace(scope, 0);
  update_floor();
}

void snapshot_store::update_floor() {
  if (log_ == nullptr) return;
  std::uint64_t floor = ~std::uint64_t{0};
  for (const auto& [scope, oldest] : oldest_kept_) floor = std::min(floor, oldest + 1);
  log_->set_retention_floor(floor);
}

result<loaded_snapshot> snapshot_store::load(std::uint64_t scope, std::uint64_t max_seq) const {
  std::vector<std::string> skipped;
  for (const snapshot_info& i : list(scope)) {
    if (i.covers_seq > max_seq) continue;
    auto r = read_file(i.file, env_);
    const bool ours = r && std::memcmp(r->log_id, log_id_, sizeof(log_id_)) == 0;
    if (ours && r->info.scope == scope && r->info.covers_seq == i.covers_seq) {
      r->skipped = std::move(skipped);
      return r;
    }
    skipped.push_back(!r     ? std::string(r.error().message())
                      : ours ? i.file + ": its header does not match its name"
                             : i.file + ": a snapshot of another log");
  }
  std::string msg = "no valid snapshot of scope " + std::to_string(scope);
  if (max_seq != ~std::uint64_t{0}) msg += " at or before seq " + std::to_string(max_seq);
  for (const std::string& s : skipped) msg += "; skipped " + s;
  return status(errc::not_found, msg);
}

result<loaded_snapshot> snapshot_store::read_file(const std::string& path, io_env* env) {
  io_env& e = env != nullptr ? *env : io_env::posix();
  auto bad = [&](const std::string& why) { return status(errc::corrupt, path + ": " + why); };
  auto fd = e.open(path, false, false);
  if (!fd) return fd.error();
  std::vector<char> bytes;
  auto size = e.file_size(*fd);
  status st = size ? status() : size.error();
  if (st) {
    bytes.resize(*size);
    st = e.read_at(*fd, 0, bytes.data(), bytes.size());
  }
  (void)e.close(*fd);
  if (!st) return st;
  snapshot_header h{};
  if (bytes.size() < sizeof(h)) return bad("truncated (shorter than a snapshot header)");
  std::memcpy(&h, bytes.data(), sizeof(h));
  if (std::memcmp(h.magic, k_snapshot_magic.data(), sizeof(h.magic)) != 0) {
    return bad("not a keel snapshot");
  }
  if (h.version != k_format_version || h.codec != k_codec_lz4) {
    return bad("a snapshot version or codec this build does not read");
  }
  const std::size_t index_bytes = std::size_t{h.block_count} * sizeof(compressed_block);
  if (bytes.size() < sizeof(h) + index_bytes) return bad("truncated index");
  if (detail::header_and_index_hash(&h, offsetof(snapshot_header, xxh3), bytes.data() + sizeof(h),
                                    index_bytes) != h.xxh3) {
    return bad("header checksum mismatch");
  }
  if (h.block_size == 0 || h.block_size > (64u << 20) ||
      h.raw_size > std::uint64_t{h.block_count} * h.block_size || h.raw_size > bytes.size() * 256) {
    return bad("header sizes out of range");
  }
  loaded_snapshot out;
  out.info = info_of(h, path, bytes.size());
  std::memcpy(out.log_id, h.log_id, sizeof(out.log_id));
  out.state.resize(h.raw_size);
  if (status restored = detail::restore_lz4_blocks(
          bytes, sizeof(h), h.block_count, h.block_size,
          std::span<char>(reinterpret_cast<char*>(out.state.data()), out.state.size()), path);
      !restored) {
    return restored;
  }
  if (XXH3_64bits(out.state.data(), out.state.size()) != h.state_hash) {
    return bad("the state does not match its hash");
  }
  return out;
}

}  // namespace keel::eventlog
