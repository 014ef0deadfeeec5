// The compressor thread: sealed segments become .evz files (eventlog/compress.h), off the
// append path and off the log's thread, which must stay free to prepare spares.
#include "eventlog/compress.h"
#include "eventlog/log_impl.h"

namespace keel::eventlog {

void event_log::impl::queue_compression(std::uint64_t no) {
  if (opt_.compression_level == 0) return;
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

void event_log::impl::compress_one(std::uint64_t no) {
  const std::string path = dir_ + "/" + detail::segment_file_name(no);
  const std::string evz = dir_ + "/" + detail::compressed_file_name(no);
  const std::string tmp = evz + ".tmp";
  auto fd = env_->open(path, false, false);
  if (!fd) return;  // deleted by retention meanwhile
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
