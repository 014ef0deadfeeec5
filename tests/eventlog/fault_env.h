// A test io_env: the POSIX one, with failures injected on demand (leveldb's
// fault_injection_test idea). Arm a call by name; it fails with the given errc from then on (or
// once), and is counted.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include <keel/eventlog/io_env.h>

namespace keel::eventlog::testing {

class fault_env final : public io_env {
 public:
  enum class op { fdatasync, msync, allocate, open, rename, free_space };

  // Calls to `o` fail from now on (`once`: only the next one).
  void fail(op o, bool once = false) {
    std::lock_guard<std::mutex> lock(mu_);
    armed_[static_cast<int>(o)] = once ? 1 : -1;
  }
  int calls(op o) const { return calls_[static_cast<int>(o)].load(); }
  // Calls to `o` take this long before they run (a slow disk), from now on.
  void set_delay(op o, std::chrono::milliseconds d) { delay_ms_[static_cast<int>(o)] = d.count(); }
  // Calls to `o` wait until release(o) (a disk that stalls), from now on; waiting(o) counts
  // the calls stuck there.
  void hold(op o) {
    std::lock_guard<std::mutex> lock(mu_);
    held_[static_cast<int>(o)] = true;
  }
  void release(op o) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      held_[static_cast<int>(o)] = false;
    }
    unheld_.notify_all();
  }
  int waiting(op o) const { return waiting_[static_cast<int>(o)].load(); }
  // free_space() answers this when set.
  void set_free_space(std::uint64_t bytes) { free_override_ = bytes; }

  result<int> open(const std::string& path, bool writable, bool create) override {
    if (auto st = check(op::open, "open " + path); !st) return st;
    return io_env::posix().open(path, writable, create);
  }
  status close(int fd) override { return io_env::posix().close(fd); }
  status allocate(int fd, std::uint64_t size) override {
    if (auto st = check(op::allocate, "posix_fallocate"); !st) return st;
    return io_env::posix().allocate(fd, size);
  }
  result<std::uint64_t> file_size(int fd) override { return io_env::posix().file_size(fd); }
  status read_at(int fd, std::uint64_t off, void* buf, std::size_t n) override {
    return io_env::posix().read_at(fd, off, buf, n);
  }
  status write_at(int fd, std::uint64_t off, const void* buf, std::size_t n) override {
    return io_env::posix().write_at(fd, off, buf, n);
  }
  result<void*> map(int fd, std::uint64_t size, bool writable) override {
    return io_env::posix().map(fd, size, writable);
  }
  status unmap(void* addr, std::uint64_t size) override {
    return io_env::posix().unmap(addr, size);
  }
  status msync(void* addr, std::uint64_t size) override {
    if (auto st = check(op::msync, "msync"); !st) return st;
    return io_env::posix().msync(addr, size);
  }
  status fdatasync(int fd) override {
    if (auto st = check(op::fdatasync, "fdatasync"); !st) return st;
    return io_env::posix().fdatasync(fd);
  }
  status rename(const std::string& from, const std::string& to) override {
    if (auto st = check(op::rename, "rename " + from); !st) return st;
    return io_env::posix().rename(from, to);
  }
  status unlink(const std::string& path) override {
    unlinked_.fetch_add(1);
    return io_env::posix().unlink(path);
  }
  int unlinks() const { return unlinked_.load(); }
  status make_dir(const std::string& path) override { return io_env::posix().make_dir(path); }
  status sync_dir(const std::string& path) override { return io_env::posix().sync_dir(path); }
  status lock(int fd) override { return io_env::posix().lock(fd); }
  result<std::vector<std::string>> list_dir(const std::string& path) override {
    return io_env::posix().list_dir(path);
  }
  result<std::uint64_t> free_space(const std::string& path) override {
    if (auto st = check(op::free_space, "statvfs " + path); !st) return st;
    if (free_override_ != 0) return free_override_.load();
    return io_env::posix().free_space(path);
  }

 private:
  status check(op o, const std::string& what) {
    calls_[static_cast<int>(o)].fetch_add(1);
    if (const long ms = delay_ms_[static_cast<int>(o)].load(); ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (held_[static_cast<int>(o)]) {
      waiting_[static_cast<int>(o)].fetch_add(1);
      unheld_.wait(lock, [&] { return !held_[static_cast<int>(o)]; });
      waiting_[static_cast<int>(o)].fetch_sub(1);
    }
    int& a = armed_[static_cast<int>(o)];
    if (a == 0) return status();
    if (a == 1) a = 0;
    return status(errc::io_error, what + ": Input/output error (injected)");
  }
  std::mutex mu_;
  std::condition_variable unheld_;
  int armed_[6] = {};
  bool held_[6] = {};
  std::atomic<int> waiting_[6] = {};
  std::atomic<int> calls_[6] = {};
  std::atomic<long> delay_ms_[6] = {};
  std::atomic<std::uint64_t> free_override_{0};
  std::atomic<int> unlinked_{0};
};

}  // namespace keel::eventlog::testing
