// The compressor thread: each sealed segment gets its derived index (idx/<n>.idx,
// eventlog/index.h) and becomes a .evz file (eventlog/compress.h), off the append path and off
// the log's thread, which must stay free to prepare spares.
#include <algorithm>
#include <cstring>

#include "eventlog/compress.h"
#include "eventlog/index.h"
#include "eventlog/log_impl.h"

namespace keel::eventlog {

void event_log::impl::queue_compression(std::uint64_t no) {
  std::lock_guard<std::mutex> lock(compress_mu_);
  if (compress_stop_) return;
  compress_queue_.push_back(no);
  if (!compress_thread_.joinable()) {
    compress_thread_ = std::thread([this] {
      for (;;) {
        std::uint64_t next = 0;
        {
          std::unique_lock<std::mutex> l(compress_mu_);
          compress_cv_.wait(l, [&] { return compress_stop_ || !compress_queue_.empty(); });
          if (compress_stop_) return;
          next = compress_queue_.front();
          compress_queue_.pop_front();
        }
        compress_one(next);
      }
    });
  }
  compress_cv_.notify_one();
}

void event_log::impl::stop_compressor() {
  {
    std::lock_guard<std::mutex> lock(compress_mu_);
    compress_stop_ = true;
  }
  compress_cv_.notify_one();
  if (compress_thread_.joinable()) compress_thread_.join();
}

void event_log::impl::warn(const status& why) {
  if (!opt_.on_warning) return;
  try {
    opt_.on_warning(why);
  } catch (...) {
    // A callback that throws must not stop the compressor.
  }
}

void event_log::impl::write_index(const char* base) {
  segment_header h{};
  std::memcpy(&h, base, sizeof(h));
  const auto bytes = detail::build_index(base, h);
  if (!bytes) return;  // frames that do not verify: the compression reports them
  const std::string path = dir_ + "/" + detail::index_file_name(h.segment_no);
  const std::string tmp = path + ".tmp";
  // Derived data: not synced. A torn file fails its checksum and is rebuilt at the next open.
  auto out = env_->open(tmp, true, true);
  status st = out ? env_->write_at(*out, 0, bytes->data(), bytes->size()) : out.error();
  if (out) (void)env_->close(*out);
  if (st) {
    // Under mu_, as retention's removal of a segment and its index is: an index written for a
    // segment retention removed meanwhile would outlive it.
    std::lock_guard<std::mutex> lock(mu_);
    const bool kept = std::any_of(retained_.begin(), retained_.end(),
                                  [&](const retained_segment& r) { return r.no == h.segment_no; });
    if (!kept) {
      (void)env_->unlink(tmp);
      return;
    }
    st = env_->rename(tmp, path);
  }
  if (!st) {
    (void)env_->unlink(tmp);
    warn(status(st.code(), std::string(st.message()) + " (segment left without an index)"));
  }
}

void event_log::impl::index_compressed(std::uint64_t no) {
  const std::string evz = dir_ + "/" + detail::compressed_file_name(no);
  auto fd = env_->open(evz, false, false);
  if (!fd) return;  // deleted by retention meanwhile
  auto size = env_->file_size(*fd);
  std::vector<char> bytes(size ? *size : 0);
  const bool read = size && env_->read_at(*fd, 0, bytes.data(), bytes.size()).is_ok();
  (void)env_->close(*fd);
  std::vector<char> restored;
  if (read && detail::decompress_segment(bytes, restored, evz).is_ok() &&
      restored.size() >= k_header_size) {
    write_index(restored.data());
  }
}

void event_log::impl::compress_one(std::uint64_t no) {
  const std::string path = dir_ + "/" + detail::segment_file_name(no);
  const std::string evz = dir_ + "/" + detail::compressed_file_name(no);
  const std::string tmp = evz + ".tmp";
  auto fd = env_->open(path, false, false);
  if (!fd) {
    index_compressed(no);  // compressed already (or deleted by retention meanwhile)
    return;
  }
  result<std::vector<char>> bytes = status(errc::io_error, "not read");
  {
    segment_header h{};
    auto size = env_->file_size(*fd);
    status st = size ? env_->read_at(*fd, 0, &h, sizeof(h)) : size.error();
    if (st && (h.sealed_end == 0 || h.sealed_end > *size)) {
      st = status(errc::corrupt, path + ": not sealed, not compressed");
    }
    if (st) {
      auto mem = env_->map(*fd, h.sealed_end, false);
      if (mem) {
        write_index(static_cast<const char*>(*mem));
        if (opt_.compression_level == 0) {
          (void)env_->unmap(*mem, h.sealed_end);
          (void)env_->close(*fd);
          return;
        }
        bytes = detail::compress_segment(static_cast<const char*>(*mem), h.sealed_end, h.salt,
                                         opt_.compression_level);
        (void)env_->unmap(*mem, h.sealed_end);
        if (!bytes) st = status(errc::corrupt, path + ": " + std::string(bytes.error().message()));
      } else {
        st = mem.error();
      }
    }
    (void)env_->close(*fd);
    if (!st) {
      warn(status(st.code(), std::string(st.message()) + " (left uncompressed)"));
      return;
    }
  }
  auto out = env_->open(tmp, true, true);
  if (!out) {
    warn(out.error());
    return;
  }
  status st = env_->write_at(*out, 0, bytes->data(), bytes->size());
  if (st) st = env_->fdatasync(*out);
  (void)env_->close(*out);
  if (!st) {
    (void)env_->unlink(tmp);
    warn(st);
    return;
  }
  // The next segment's activated header must reach the disk before this segment's .evz does:
  // otherwise a power loss could leave a log whose newest file is a compressed segment.
  if (auto next = env_->open(dir_ + "/" + detail::segment_file_name(no + 1), false, false)) {
    (void)env_->fdatasync(*next);
    (void)env_->close(*next);
  }
  // The swap, under mu_: retention may have deleted the segment meanwhile.
  std::lock_guard<std::mutex> lock(mu_);
  retained_segment* r = nullptr;
  for (retained_segment& e : retained_) {
    if (e.no == no) r = &e;
  }
  if (r == nullptr || r->compressed) {
    (void)env_->unlink(tmp);
    return;
  }
  st = env_->rename(tmp, evz);
  if (st) st = env_->sync_dir(dir_ + "/seg");
  if (!st) {
    (void)env_->unlink(tmp);
    warn(st);
    return;
  }
  // From here the .evz is the segment; a crash before the unlink leaves both, and the next open
  // keeps the .evl and compresses again.
  r->compressed = true;
  r->synced = true;
  r->bytes = bytes->size();
  if (status un = env_->unlink(path); !un) warn(un);
}

}  // namespace keel::eventlog
