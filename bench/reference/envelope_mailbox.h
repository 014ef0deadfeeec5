// The mailbox keel's design requires, written raw (no keel code), for "design ceiling"
// references: how fast the data movement of an intrusive-envelope actor mailbox can be at best,
// with nothing else of an actor runtime (no scheduling, dispatch, counters or ids).
//
// An envelope is what the design puts in a mailbox (DESIGN.md, core/): an intrusive `next`
// link, an 80-byte header (type, ops, sender, message id, correlation, causation, timestamp,
// target generation, flags) and the payload inline, in 128-byte slots. The mailbox is an
// intrusive Vyukov MPSC list with a stub (one exchange per push; the consumer follows links).
// Envelopes are recycled as keel recycles them: each thread allocates from its own free list,
// and a consumer hands envelopes back to the thread that allocated them in batches of 64
// through that thread's lock-free stack (one CAS per batch).
//
// The references built on it (fanin/envelope_ceiling, pingpong/envelope_ceiling) show which
// part of a gap to the raw references (a moodycamel queue of 8-byte items, two atomics)
// belongs to the envelope-and-linked-mailbox design itself rather than to keel's code.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <thread>
#include <vector>

#include "reference/fanin_ref.h"
#include "reference/pingpong_ref.h"

namespace keel::bench::reference {

struct alignas(16) raw_envelope {
  std::atomic<raw_envelope*> next{nullptr};
  std::uint64_t header[8] = {};  // keel's 72 remaining header bytes, and the owner below
  std::uint32_t owner = 0;       // the recycler it returns to
  std::uint32_t flags = 0;
  std::uint64_t payload[2] = {};  // a 16-byte message
};
static_assert(sizeof(raw_envelope) == 96, "keel's 80-byte header plus a 16-byte payload");

// One thread's envelope supply: a local free list, refilled from batches other threads return.
class raw_recycler {
 public:
  static constexpr std::uint32_t k_batch = 64;
  static constexpr std::size_t k_slot = 128;  // keel's smallest size class

  explicit raw_recycler(std::uint32_t index) : index_(index) {}
  raw_recycler(const raw_recycler&) = delete;
  raw_recycler& operator=(const raw_recycler&) = delete;
  ~raw_recycler() {
    for (void* s : slabs_) std::free(s);
  }

  // Owner thread.
  raw_envelope* allocate() {
    if (free_ == nullptr) refill();
    raw_envelope* e = free_;
    free_ = e->next.load(std::memory_order_relaxed);
    __builtin_prefetch(free_, 1);
    return e;
  }

  // What one other thread has collected for this recycler.
  struct batch_chain {
    raw_envelope* head = nullptr;
    raw_envelope* tail = nullptr;
    std::uint32_t count = 0;
  };
  // Any one other thread, through its own batch_chain: collects `e` and hands each full batch
  // back with one CAS.
  void give_back(batch_chain& c, raw_envelope* e) {
    e->next.store(nullptr, std::memory_order_relaxed);
    if (c.tail != nullptr) {
      c.tail->next.store(e, std::memory_order_relaxed);
    } else {
      c.head = e;
    }
    c.tail = e;
    if (++c.count < k_batch) return;
    // The batch's head carries the link to the next batch on the stack in its header.
    raw_envelope* below = returned_.load(std::memory_order_relaxed);
    do {
      c.head->header[0] = reinterpret_cast<std::uintptr_t>(below);
      c.head->header[1] = reinterpret_cast<std::uintptr_t>(c.tail);
    } while (!returned_.compare_exchange_weak(below, c.head, std::memory_order_release,
                                              std::memory_order_relaxed));
    c = batch_chain{};
  }

  std::uint32_t index() const { return index_; }

 private:
  void refill() {
    raw_envelope* b = returned_.exchange(nullptr, std::memory_order_acquire);
    while (b != nullptr) {
      auto* below = reinterpret_cast<raw_envelope*>(b->header[0]);
      auto* tail = reinterpret_cast<raw_envelope*>(b->header[1]);
      tail->next.store(free_, std::memory_order_relaxed);
      free_ = b;
      b = below;
    }
    if (free_ != nullptr) return;
    constexpr std::size_t k_per_slab = 256;
    void* slab = std::aligned_alloc(64, k_slot * k_per_slab);
    if (slab == nullptr) throw std::bad_alloc();
    slabs_.push_back(slab);
    for (std::size_t i = k_per_slab; i-- > 0;) {
      auto* e = ::new (static_cast<char*>(slab) + i * k_slot) raw_envelope();
      e->owner = index_;
      e->next.store(free_, std::memory_order_relaxed);
      free_ = e;
    }
  }

  std::uint32_t index_;
  raw_envelope* free_ = nullptr;
  std::vector<void*> slabs_;
  alignas(64) std::atomic<raw_envelope*> returned_{nullptr};
};

// An intrusive Vyukov MPSC mailbox. push: any thread; pop: the one consumer.
class raw_mailbox {
 public:
  raw_mailbox() {
    head_.store(&stub_, std::memory_order_relaxed);
    tail_ = &stub_;
  }
  raw_mailbox(const raw_mailbox&) = delete;
  raw_mailbox& operator=(const raw_mailbox&) = delete;

  void push(raw_envelope* e) {
    e->next.store(nullptr, std::memory_order_relaxed);
    raw_envelope* prev = head_.exchange(e, std::memory_order_acq_rel);
    prev->next.store(e, std::memory_order_release);
  }
  // The next envelope, or nullptr. The returned envelope stays the tail until the next pop,
  // which hands the previous one to `done` (as keel frees the previous tail).
  template <class Done>
  raw_envelope* pop(Done&& done) {
    raw_envelope* t = tail_;
    raw_envelope* n = t->next.load(std::memory_order_acquire);
    if (n == nullptr) return nullptr;
    tail_ = n;
    if (t != &stub_) done(t);
    return n;
  }

 private:
  alignas(64) std::atomic<raw_envelope*> head_;
  alignas(64) raw_envelope* tail_;
  raw_envelope stub_;
};

// Fills an envelope as a send does: the header's words and the payload.
inline void raw_fill(raw_envelope* e, std::uint64_t id, std::uint64_t a, std::uint64_t b) {
  for (int i = 0; i < 8; ++i) e->header[i] = id + static_cast<std::uint64_t>(i);
  e->flags = 0;
  e->payload[0] = a;
  e->payload[1] = b;
}

// fanin/envelope_ceiling: `producers` threads pinned to `producer_cpu` send `per_producer`
// envelopes each to one consumer pinned to `consumer_cpu`, which spins on its mailbox, reads
// each envelope's header word and payload, checks per-producer FIFO and hands envelopes back.
inline fanin_result envelope_fanin(std::uint32_t producers, std::uint64_t per_producer,
                                   int producer_cpu, int consumer_cpu) {
  raw_mailbox box;
  std::vector<std::unique_ptr<raw_recycler>> recyclers;
  for (std::uint32_t p = 0; p < producers; ++p) {
    recyclers.push_back(std::make_unique<raw_recycler>(p));
  }
  std::atomic<std::uint32_t> ready{0};
  std::atomic<bool> go{false};
  std::atomic<std::uint64_t> start_ns{0};
  fanin_result r;
  const std::uint64_t total = per_producer * producers;

  std::thread consumer([&] {
    pin_to_cpu(consumer_cpu);
    std::vector<raw_recycler::batch_chain> chains(producers);
    std::vector<std::uint64_t> last(producers, 0);
    std::uint64_t got = 0;
    std::uint64_t errors = 0;
    auto done = [&](raw_envelope* e) { recyclers[e->owner]->give_back(chains[e->owner], e); };
    ready.fetch_add(1, std::memory_order_acq_rel);
    while (got < total) {
      raw_envelope* e = box.pop(done);
      if (e == nullptr) {
        spin_pause();
        continue;
      }
      if (e->header[0] == 0) ++errors;  // the "type" word a dispatch reads
      const std::uint64_t p = e->payload[0];
      if (last[p] + 1 != e->payload[1]) ++errors;
      last[p] = e->payload[1];
      ++got;
    }
    r.elapsed_ns = ref_now_ns() - start_ns.load(std::memory_order_acquire);
    r.received = got;
    r.order_errors = errors;
  });
  std::vector<std::thread> threads;
  for (std::uint32_t p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      pin_to_cpu(producer_cpu);
      raw_recycler& mine = *recyclers[p];
      ready.fetch_add(1, std::memory_order_acq_rel);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      std::uint64_t expected = 0;
      start_ns.compare_exchange_strong(expected, ref_now_ns(), std::memory_order_acq_rel);
      for (std::uint64_t i = 1; i <= per_producer; ++i) {
        raw_envelope* e = mine.allocate();
        raw_fill(e, i, p, i);
        box.push(e);
      }
    });
  }
  while (ready.load(std::memory_order_acquire) != producers + 1) std::this_thread::yield();
  go.store(true, std::memory_order_release);
  for (auto& t : threads) t.join();
  consumer.join();
  // The consumer's last tail and partial batches stay in the slabs, which the recyclers free.
  return r;
}

// pingpong/envelope_ceiling: like atomic_pingpong, but each message is an envelope pushed into
// the other thread's mailbox; each thread spins on its own mailbox and hands envelopes back.
inline pingpong_result envelope_pingpong(int cpu_a, int cpu_b, std::uint64_t round_trips,
                                         std::uint32_t batch, std::vector<double>& samples) {
  raw_recycler rec_a(0);
  raw_recycler rec_b(1);
  raw_recycler* recs[2] = {&rec_a, &rec_b};
  raw_mailbox box_a;
  raw_mailbox box_b;
  std::atomic<bool> b_ready{false};
  pingpong_result r;
  std::thread b([&] {
    pin_to_cpu(cpu_b);
    raw_recycler::batch_chain chains[2];
    auto done = [&](raw_envelope* e) { recs[e->owner]->give_back(chains[e->owner], e); };
    b_ready.store(true, std::memory_order_release);
    for (std::uint64_t i = 1; i <= round_trips; ++i) {
      raw_envelope* e;
      while ((e = box_b.pop(done)) == nullptr) spin_pause();
      raw_envelope* reply = rec_b.allocate();
      raw_fill(reply, e->header[0], e->payload[0], i);
      box_a.push(reply);
    }
  });
  std::thread a([&] {
    pin_to_cpu(cpu_a);
    raw_recycler::batch_chain chains[2];
    auto done = [&](raw_envelope* e) { recs[e->owner]->give_back(chains[e->owner], e); };
    while (!b_ready.load(std::memory_order_acquire)) spin_pause();
    batch_timer timer(batch, samples);
    std::uint64_t completed = 0;
    for (std::uint64_t i = 1; i <= round_trips; ++i) {
      raw_envelope* e = rec_a.allocate();
      raw_fill(e, i, i, 0);
      box_b.push(e);
      raw_envelope* reply;
      while ((reply = box_a.pop(done)) == nullptr) spin_pause();
      if (reply->payload[1] == i) completed = i;
      timer.round_trip_done(i);
    }
    r.elapsed_ns = timer.elapsed_ns();
    r.round_trips = completed;
  });
  a.join();
  b.join();
  return r;
}

}  // namespace keel::bench::reference
