// Reference for `fanin`: N producer threads -> 1 consumer thread through one
// moodycamel::ConcurrentQueue, written without keel. Each producer has its own ProducerToken and
// enqueues its messages one at a time (as an actor sends them); the consumer takes them with
// try_dequeue_bulk through a ConsumerToken, up to 256 at a time. Producers run pinned to
// `producer_cpu` (so N producers share one core, like N sender actors on one worker), the
// consumer to `consumer_cpu`. Each value carries (producer << 48 | sequence) so the consumer
// checks per-producer FIFO, as the keel receiver does.
#pragma once

#include <concurrentqueue.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

namespace keel::bench::reference {

struct fanin_result {
  std::uint64_t received = 0;
  std::uint64_t order_errors = 0;
  std::uint64_t elapsed_ns = 0;  // first producer start to last message consumed
};

inline fanin_result moodycamel_fanin(std::uint32_t producers, std::uint64_t per_producer,
                                     int producer_cpu, int consumer_cpu) {
  auto pin = [](int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  };
  auto now = [] {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
  };
  moodycamel::ConcurrentQueue<std::uint64_t> q;
  std::atomic<std::uint32_t> ready{0};
  std::atomic<bool> go{false};
  std::atomic<std::uint64_t> start_ns{0};
  fanin_result r;
  const std::uint64_t total = per_producer * producers;

  std::thread consumer([&] {
    pin(consumer_cpu);
    moodycamel::ConsumerToken tok(q);
    std::vector<std::uint64_t> last(producers, 0);
    std::uint64_t buf[256];
    std::uint64_t got = 0;
    std::uint64_t errors = 0;
    ready.fetch_add(1, std::memory_order_acq_rel);
    while (got < total) {
      const std::size_t n = q.try_dequeue_bulk(tok, buf, 256);
      for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t p = buf[i] >> 48;
        const std::uint64_t seq = buf[i] & ((std::uint64_t{1} << 48) - 1);
        if (last[p] + 1 != seq) ++errors;
        last[p] = seq;
      }
      got += n;
    }
    r.elapsed_ns = now() - start_ns.load(std::memory_order_acquire);
    r.received = got;
    r.order_errors = errors;
  });
  std::vector<std::thread> threads;
  for (std::uint32_t p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      pin(producer_cpu);
      moodycamel::ProducerToken tok(q);
      ready.fetch_add(1, std::memory_order_acq_rel);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      std::uint64_t expected = 0;
      start_ns.compare_exchange_strong(expected, now(), std::memory_order_acq_rel);
      const std::uint64_t tag = static_cast<std::uint64_t>(p) << 48;
      for (std::uint64_t i = 1; i <= per_producer; ++i) {
        while (!q.enqueue(tok, tag | i)) {
        }
      }
    });
  }
  while (ready.load(std::memory_order_acquire) != producers + 1) std::this_thread::yield();
  go.store(true, std::memory_order_release);
  for (auto& t : threads) t.join();
  consumer.join();
  return r;
}

}  // namespace keel::bench::reference
