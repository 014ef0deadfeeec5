// Shared by the event log tests: a temporary directory removed at the end of the test, the
// small segments the tests use (1 MiB, so that a few thousand records roll, not compressed), and
// eventually() for work the log's threads do in the background.
#pragma once

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "eventlog/segment.h"

#include <keel/eventlog/log.h>

namespace keel::eventlog::testing {

class temp_dir {
 public:
  temp_dir() {
    std::string t = (std::filesystem::temp_directory_path() / "keel-log-XXXXXX").string();
    path_ = ::mkdtemp(t.data());
  }
  ~temp_dir() { std::filesystem::remove_all(path_); }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const { return path_; }
  // The log directory inside it (created by event_log::open).
  std::string log() const { return path_ + "/log"; }
  // Segment `no`'s file.
  std::string seg(std::uint64_t no) const { return log() + "/" + detail::segment_file_name(no); }

 private:
  std::string path_;
};

// Uncompressed: most tests look at .evl files; compression_test turns it on.
inline log_options small_segments() {
  log_options o;
  o.segment_size = 1u << 20;
  o.max_record = 64u << 10;
  o.compression_level = 0;
  return o;
}

// Polls `done` until it holds or a generous deadline passes (a bound on failure, not a timing
// assertion: the log's threads seal, sync, index and compress in the background).
template <class F>
bool eventually(F done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace keel::eventlog::testing
