// Shared by the event log tests: a temporary directory removed at the end of the test, the
// small segments the tests use (1 MiB, so that a few thousand records roll, not compressed), and
// eventually() for work the log's threads do in the background, and pad_record() for logs whose
// seqs have a gap.
#pragma once

#include <stdlib.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "eventlog/segment.h"

#include <keel/eventlog/log.h>
#include <keel/eventlog/reader.h>

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

// Turns the record at `offset` of sealed segment `seg` into padding and lowers the segment's
// record_count by one, as the recovery of a killed writer's claim leaves a segment: its seqs
// then have a gap, and base_seq + record_count ends below its last seq.
inline void pad_record(const segment_info& seg, std::uint64_t offset) {
  std::fstream f(seg.file, std::ios::in | std::ios::out | std::ios::binary);
  frame_header h{};
  f.seekg(static_cast<std::streamoff>(offset));
  f.read(reinterpret_cast<char*>(&h), sizeof(h));
  std::vector<char> frame(align_up(static_cast<std::uint64_t>(h.len)), 0);
  detail::write_padding(frame.data(), frame.size(), seg.header.salt);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(frame.data(), static_cast<std::streamsize>(frame.size()));
  const std::uint64_t count = seg.header.record_count - 1;
  f.seekp(offsetof(segment_header, record_count));
  f.write(reinterpret_cast<const char*>(&count), sizeof(count));
}

}  // namespace keel::eventlog::testing
