// The POSIX io_env: thin wrappers that turn errno into keel's status.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <keel/eventlog/io_env.h>

namespace keel::eventlog {
namespace {

status os_error(const char* op, const std::string& what, int err) {
  std::string m(op);
  m += ' ';
  m += what;
  m += ": ";
  m += std::strerror(err);
  return status(err == ENOSPC ? errc::no_space : errc::io_error, m);
}

std::string fd_name(int fd) { return "fd " + std::to_string(fd); }

class posix_env final : public io_env {
 public:
  result<int> open(const std::string& path, bool writable, bool create) override {
    int flags = (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC;
    if (create) flags |= O_CREAT;
    const int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0) return os_error("open", path, errno);
    return fd;
  }
  status close(int fd) override {
    if (::close(fd) != 0) return os_error("close", fd_name(fd), errno);
    return status();
  }
  status allocate(int fd, std::uint64_t size) override {
    const int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(size));
    if (rc != 0) return os_error("posix_fallocate", fd_name(fd), rc);
    return status();
  }
  result<std::uint64_t> file_size(int fd) override {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return os_error("fstat", fd_name(fd), errno);
    return static_cast<std::uint64_t>(st.st_size);
  }
  status read_at(int fd, std::uint64_t offset, void* buf, std::size_t n) override {
    auto* p = static_cast<char*>(buf);
    while (n > 0) {
      const ssize_t got = ::pread(fd, p, n, static_cast<off_t>(offset));
      if (got < 0) {
        if (errno == EINTR) continue;
        return os_error("pread", fd_name(fd), errno);
      }
      if (got == 0) return status(errc::corrupt, "pread " + fd_name(fd) + ": the file is short");
      p += got;
      offset += static_cast<std::uint64_t>(got);
      n -= static_cast<std::size_t>(got);
    }
    return status();
  }
  status write_at(int fd, std::uint64_t offset, const void* buf, std::size_t n) override {
    const auto* p = static_cast<const char*>(buf);
    while (n > 0) {
      const ssize_t put = ::pwrite(fd, p, n, static_cast<off_t>(offset));
      if (put < 0) {
        if (errno == EINTR) continue;
        return os_error("pwrite", fd_name(fd), errno);
      }
      p += put;
      offset += static_cast<std::uint64_t>(put);
      n -= static_cast<std::size_t>(put);
    }
    return status();
  }
  result<void*> map(int fd, std::uint64_t size, bool writable) override {
    const int prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
    const int flags = writable ? MAP_SHARED | MAP_POPULATE : MAP_SHARED;
    void* p = ::mmap(nullptr, size, prot, flags, fd, 0);
    if (p == MAP_FAILED) return os_error("mmap", fd_name(fd), errno);
      // MAP_POPULATE maps a shared file's pages read-only (so as not to dirty them): the first
      // write to each page would still fault. MADV_POPULATE_WRITE (Linux 5.14) faults them in
      // writable now, on the log's own thread, instead of in append(). Older kernels: EINVAL,
      // and appends take those faults.
#ifdef MADV_POPULATE_WRITE
    if (writable) (void)::madvise(p, size, MADV_POPULATE_WRITE);
#endif
    return p;
  }
  status unmap(void* addr, std::uint64_t size) override {
    if (::munmap(addr, size) != 0) return os_error("munmap", "a segment", errno);
    return status();
  }
  status msync(void* addr, std::uint64_t size) override {
    if (::msync(addr, size, MS_SYNC) != 0) return os_error("msync", "a segment", errno);
    return status();
  }
  status fdatasync(int fd) override {
    if (::fdatasync(fd) != 0) return os_error("fdatasync", fd_name(fd), errno);
    return status();
  }
  status rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return os_error("rename", from, errno);
    return status();
  }
  status unlink(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return os_error("unlink", path, errno);
    return status();
  }
  status make_dir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0755) == 0) return status();
    const int err = errno;
    struct stat st {};
    if (err == EEXIST && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return status();
    return os_error("mkdir", path, err);
  }
  status sync_dir(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return os_error("open", path, errno);
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) return os_error("fsync", path, err);
    return status();
  }
  status lock(int fd) override {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return status();
    if (errno == EWOULDBLOCK) {
      return status(errc::log_locked, "the log is open for writing elsewhere (LOCK is held)");
    }
    return os_error("flock", fd_name(fd), errno);
  }
  result<std::vector<std::string>> list_dir(const std::string& path) override {
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(path.c_str()), &::closedir);
    if (!d) return os_error("opendir", path, errno);
    std::vector<std::string> names;
    errno = 0;
    while (dirent* e = ::readdir(d.get())) {
      const std::string_view n(e->d_name);
      if (n != "." && n != "..") names.emplace_back(n);
    }
    if (errno != 0) return os_error("readdir", path, errno);
    return names;
  }
  result<std::uint64_t> free_space(const std::string& path) override {
    struct statvfs st {};
    if (::statvfs(path.c_str(), &st) != 0) return os_error("statvfs", path, errno);
    return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
  }
};

}  // namespace

io_env& io_env::posix() {
  static posix_env env;
  return env;
}

}  // namespace keel::eventlog
