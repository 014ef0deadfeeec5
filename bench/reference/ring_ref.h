// Reference for `ring`: a raw single-message activation loop, written without keel, on one
// thread. 1000 "actors", each an intrusive Vyukov MPSC mailbox whose head word carries an IDLE
// bit (Pony style). Per hop: the running actor pops the token (acquire load), mallocs the next
// token, pushes it into the next actor's mailbox (one exchange; the IDLE bit it returns tells
// the sender to schedule that actor), frees the old token, and marks itself idle (one CAS).
// The run queue is a plain FIFO of actor pointers. This is what one hop of any mailbox actor
// runtime must do at least; keel adds dispatch, envelopes, counters and the scheduler.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace keel::bench::reference {

struct ring_node {
  std::atomic<ring_node*> next{nullptr};
};
struct ring_token : ring_node {
  std::uint64_t remaining = 0;
  std::uint64_t hops = 0;
};

struct alignas(64) ring_actor {
  static constexpr std::uintptr_t k_idle = 1;
  std::atomic<std::uintptr_t> head{0};
  ring_node* tail = nullptr;
  ring_node stub;
  ring_actor* next_actor = nullptr;

  ring_actor() {
    tail = &stub;
    head.store(reinterpret_cast<std::uintptr_t>(&stub) | k_idle, std::memory_order_relaxed);
  }
  // Any thread. Returns true if the actor was idle: the caller must schedule it.
  bool push(ring_node* n) noexcept {
    n->next.store(nullptr, std::memory_order_relaxed);
    const std::uintptr_t prev =
        head.exchange(reinterpret_cast<std::uintptr_t>(n), std::memory_order_acq_rel);
    reinterpret_cast<ring_node*>(prev & ~k_idle)->next.store(n, std::memory_order_release);
    return (prev & k_idle) != 0;
  }
  // Owner. The next token, or nullptr; frees the previous tail (every node is malloc'd with its
  // ring_node first, so the node's address is the block's).
  ring_node* pop() noexcept {
    ring_node* t = tail;
    ring_node* n = t->next.load(std::memory_order_acquire);
    if (n == nullptr) return nullptr;
    tail = n;
    if (t != &stub) std::free(t);
    return n;
  }
  // Owner. Gives up the actor if its mailbox is empty (one CAS).
  bool try_idle() noexcept {
    std::uintptr_t h = head.load(std::memory_order_acquire);
    ring_node* t = tail;
    if (h != reinterpret_cast<std::uintptr_t>(t)) return false;
    stub.next.store(nullptr, std::memory_order_relaxed);
    tail = &stub;
    if (head.compare_exchange_strong(h, reinterpret_cast<std::uintptr_t>(&stub) | k_idle,
                                     std::memory_order_acq_rel, std::memory_order_acquire)) {
      if (t != &stub) std::free(t);
      return true;
    }
    tail = t;
    return false;
  }
};

struct ring_result {
  std::uint64_t hops = 0;
  std::uint32_t last_actor = 0;
};

// Passes one token `hops` times around a ring of `actors` actors, starting at actor 0.
inline ring_result raw_ring(std::uint32_t actors, std::uint64_t hops) {
  std::unique_ptr<ring_actor[]> ring(new ring_actor[actors]);
  for (std::uint32_t i = 0; i < actors; ++i) ring[i].next_actor = &ring[(i + 1) % actors];
  std::vector<ring_actor*> runq(actors + 1);  // a FIFO ring buffer; at most one entry per actor
  std::size_t rq_head = 0;
  std::size_t rq_tail = 0;
  auto enqueue = [&](ring_actor* a) {
    runq[rq_tail] = a;
    rq_tail = rq_tail + 1 == runq.size() ? 0 : rq_tail + 1;
  };
  ring_result r;
  auto* first = static_cast<ring_token*>(std::malloc(sizeof(ring_token)));
  ::new (first) ring_token();
  first->remaining = hops;
  if (ring[0].push(first)) enqueue(&ring[0]);
  while (rq_head != rq_tail) {
    ring_actor* a = runq[rq_head];
    rq_head = rq_head + 1 == runq.size() ? 0 : rq_head + 1;
    while (auto* t = static_cast<ring_token*>(a->pop())) {
      if (t->remaining == 0) {
        r.hops = t->hops;
        r.last_actor = static_cast<std::uint32_t>(a - ring.get());
        continue;
      }
      auto* n = static_cast<ring_token*>(std::malloc(sizeof(ring_token)));
      ::new (n) ring_token();
      n->remaining = t->remaining - 1;
      n->hops = t->hops + 1;
      if (a->next_actor->push(n)) enqueue(a->next_actor);
    }
    if (!a->try_idle()) enqueue(a);
  }
  return r;
}

// ring/required: raw_ring plus only what the issue itself requires of every hop, still without
// keel code -- the design's ceiling for this workload:
//   - a clock read per activation (the worker's cached tick is "refreshed per activation"): one
//     RDTSC, the cheapest clock there is;
//   - a stealable run-next slot (at most 3 in a row): an atomic word that the woken actor is
//     stored into and taken from with an exchange (thieves could take it; none runs here);
//   - the envelope's header: message id, correlation, causation, timestamp and sender written
//     per send.
struct ring_envelope : ring_node {
  std::uint64_t remaining = 0;
  std::uint64_t hops = 0;
  std::uint64_t id = 0;
  std::uint64_t correlation = 0;
  std::uint64_t causation = 0;
  std::uint64_t timestamp = 0;
  std::uint64_t sender = 0;
};

inline ring_result raw_ring_required(std::uint32_t actors, std::uint64_t hops) {
  std::unique_ptr<ring_actor[]> ring(new ring_actor[actors]);
  for (std::uint32_t i = 0; i < actors; ++i) ring[i].next_actor = &ring[(i + 1) % actors];
  std::vector<ring_actor*> runq(actors + 1);
  std::size_t rq_head = 0;
  std::size_t rq_tail = 0;
  auto enqueue_back = [&](ring_actor* a) {
    runq[rq_tail] = a;
    rq_tail = rq_tail + 1 == runq.size() ? 0 : rq_tail + 1;
  };
  alignas(64) std::atomic<ring_actor*> run_next{nullptr};
  auto wake = [&](ring_actor* a) {  // the woken actor runs next; what it displaces goes back
    if (run_next.load(std::memory_order_relaxed) == nullptr) {
      run_next.store(a, std::memory_order_release);
    } else if (ring_actor* prev = run_next.exchange(a, std::memory_order_acq_rel)) {
      enqueue_back(prev);
    }
  };
  std::uint32_t run_next_streak = 0;
  auto next = [&]() -> ring_actor* {
    if (run_next.load(std::memory_order_relaxed) != nullptr) {
      if (ring_actor* a = run_next.exchange(nullptr, std::memory_order_acquire)) {
        if (run_next_streak < 3) {
          ++run_next_streak;
          return a;
        }
        enqueue_back(a);
      }
    }
    run_next_streak = 0;
    if (rq_head == rq_tail) return nullptr;
    ring_actor* a = runq[rq_head];
    rq_head = rq_head + 1 == runq.size() ? 0 : rq_head + 1;
    return a;
  };
  ring_result r;
  std::uint64_t next_id = 1;
  auto* first = static_cast<ring_envelope*>(std::malloc(sizeof(ring_envelope)));
  ::new (first) ring_envelope();
  first->remaining = hops;
  if (ring[0].push(first)) wake(&ring[0]);
  while (ring_actor* a = next()) {
#if defined(__x86_64__)
    const std::uint64_t tick = __rdtsc();
#else
    const std::uint64_t tick = 0;
#endif
    while (auto* t = static_cast<ring_envelope*>(a->pop())) {
      if (t->remaining == 0) {
        r.hops = t->hops;
        r.last_actor = static_cast<std::uint32_t>(a - ring.get());
        continue;
      }
      auto* n = static_cast<ring_envelope*>(std::malloc(sizeof(ring_envelope)));
      ::new (n) ring_envelope();
      n->remaining = t->remaining - 1;
      n->hops = t->hops + 1;
      n->id = next_id++;
      n->correlation = t->correlation;
      n->causation = t->id;
      n->timestamp = tick;
      n->sender = static_cast<std::uint64_t>(a - ring.get());
      if (a->next_actor->push(n)) wake(a->next_actor);
    }
    if (!a->try_idle()) enqueue_back(a);
  }
  return r;
}

}  // namespace keel::bench::reference
