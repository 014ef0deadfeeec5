// keel::eventlog::io_env: every file operation the event log makes goes through this seam, so
// that a test can make any of them fail (leveldb's Env). io_env::posix() is the real one;
// tests/eventlog/fault_env.h wraps it to inject errors.
//
// Each call returns keel's status: errc::io_error with the operation, the path and errno's text;
// errc::log_locked from lock() when another open file description holds the lock; errc::no_space
// from allocate() on ENOSPC.
//
// Thread safety: posix() is safe from any thread. An implementation must be, too: the log calls
// it from its writer threads (rarely: rolls) and from its background thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <keel/base/result.h>

namespace keel::eventlog {

class io_env {
 public:
  virtual ~io_env() = default;

  // open(2). `create`: O_CREAT (mode 0644). `writable`: O_RDWR, else O_RDONLY. Returns the fd.
  virtual result<int> open(const std::string& path, bool writable, bool create) = 0;
  virtual status close(int fd) = 0;
  // posix_fallocate(fd, 0, size).
  virtual status allocate(int fd, std::uint64_t size) = 0;
  virtual result<std::uint64_t> file_size(int fd) = 0;
  // pread/pwrite of the whole range (short transfers are retried; a short file is an error).
  virtual status read_at(int fd, std::uint64_t offset, void* buf, std::size_t n) = 0;
  virtual status write_at(int fd, std::uint64_t offset, const void* buf, std::size_t n) = 0;
  // mmap(MAP_SHARED) of [0, size). `writable`: PROT_READ|PROT_WRITE and the pages are faulted in
  // writable now (MAP_POPULATE and MADV_POPULATE_WRITE), so that appends take no page fault.
  virtual result<void*> map(int fd, std::uint64_t size, bool writable) = 0;
  virtual status unmap(void* addr, std::uint64_t size) = 0;
  // msync(MS_SYNC) of [addr, addr + size); addr is page-aligned.
  virtual status msync(void* addr, std::uint64_t size) = 0;
  virtual status fdatasync(int fd) = 0;
  virtual status rename(const std::string& from, const std::string& to) = 0;
  virtual status unlink(const std::string& path) = 0;
  // mkdir(path, 0755); OK if it is already a directory.
  virtual status make_dir(const std::string& path) = 0;
  // fsync of the directory itself (after a create, rename or unlink in it).
  virtual status sync_dir(const std::string& path) = 0;
  // flock(LOCK_EX | LOCK_NB): errc::log_locked if held through another open file description.
  virtual status lock(int fd) = 0;
  // The names in a directory (not "." and ".."), unsorted.
  virtual result<std::vector<std::string>> list_dir(const std::string& path) = 0;
  // statvfs: bytes available to an unprivileged writer.
  virtual result<std::uint64_t> free_space(const std::string& path) = 0;

  // The process-wide POSIX implementation.
  static io_env& posix();
};

}  // namespace keel::eventlog
