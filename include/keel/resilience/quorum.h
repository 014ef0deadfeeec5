// quorum_group: ask N replicas the same question and accept the answer at least `agree` of them
// give (with the caller's equality), naming the replicas that answered otherwise. For values
// that must not come from one faulty replica: a price, a balance, a configuration.
//
//   auto prices = keel::resilience::quorum_group<pricer>::create(replicas, {.agree = 2}).value();
//   // in a handler:
//   prices.ask<price>(self(), quote{sku}, [](const price& a, const price& b) {
//     return a.cents == b.cents; }, [this](keel::result<keel::resilience::quorum_answer<price>> r)
//     { if (!r) { ... r.code(): errc::no_quorum or errc::timeout ... } else use(r->value);   //
//     r->dissenters: the replicas that disagreed
//   });
//
// The round is decided as soon as `agree` answers are equal, so a slow replica does not hold it;
// answers that come later are still compared, and a late dissent is counted in the stats. It
// fails as soon as `agree` equal answers can no longer happen: errc::no_quorum when enough
// replicas answered but disagreed; when too few answered, errc::timeout if some timed out and
// errc::failed (insufficient replicas) if they failed. `agree` must be a majority, so a minority
// answer is never returned.
//
// Thread safety: create() anywhere; ask() from a handler of `self` (its continuations run in
// `self`); stats() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <keel/base/result.h>
#include <keel/core/actor.h>
#include <keel/core/actor_ref.h>
#include <keel/core/ask.h>

namespace keel::resilience {

struct quorum_config {
  // Equal answers needed: a majority of the replicas (more than half, at most all of them).
  std::uint32_t agree = 2;
  std::chrono::nanoseconds timeout = std::chrono::seconds(1);  // each replica's ask; > 0
};

template <class R>
struct quorum_answer {
  R value;
  std::uint32_t votes = 0;              // replicas that gave this value when it was decided
  std::vector<std::size_t> dissenters;  // replicas (indices) that had answered something else
  std::uint32_t pending = 0;            // replicas that had not answered yet
  std::uint32_t failed = 0;             // replicas whose ask had failed or timed out
};

// Counts over every round of a group (copies of a group share them). Relaxed counters.
class quorum_stats {
 public:
  explicit quorum_stats(std::size_t replicas) : minority_(replicas) {}
  std::uint64_t agreed() const noexcept { return agreed_.load(std::memory_order_relaxed); }
  std::uint64_t no_quorum() const noexcept { return no_quorum_.load(std::memory_order_relaxed); }
  std::uint64_t timed_out() const noexcept { return timed_out_.load(std::memory_order_relaxed); }
  std::uint64_t dissents() const noexcept { return dissents_.load(std::memory_order_relaxed); }
  // Answers of replica i that disagreed with its round's decided value.
  std::uint64_t minority_votes(std::size_t i) const noexcept {
    return i < minority_.size() ? minority_[i].load(std::memory_order_relaxed) : 0;
  }

  // For quorum_group's rounds.
  void count_agreed() noexcept { agreed_.fetch_add(1, std::memory_order_relaxed); }
  void count_no_quorum() noexcept { no_quorum_.fetch_add(1, std::memory_order_relaxed); }
  void count_timed_out() noexcept { timed_out_.fetch_add(1, std::memory_order_relaxed); }
  void count_dissent(std::size_t i) noexcept {
    dissents_.fetch_add(1, std::memory_order_relaxed);
    if (i < minority_.size()) minority_[i].fetch_add(1, std::memory_order_relaxed);
  }

 private:
  std::atomic<std::uint64_t> agreed_{0}, no_quorum_{0}, timed_out_{0}, dissents_{0};
  std::vector<std::atomic<std::uint64_t>> minority_;
};

// errc::invalid_config naming the field (agree larger than the replicas, no replicas, ...).
status validate_quorum(const quorum_config& cfg, std::size_t replicas);

template <class T>
class quorum_group {
 public:
  static result<quorum_group> create(std::vector<actor_ref<T>> replicas, quorum_config cfg) {
    if (auto st = validate_quorum(cfg, replicas.size()); !st) return st;
    return quorum_group(std::move(replicas), cfg);
  }

  // Asks every replica `m` (copied to each) and runs `then(result<quorum_answer<R>>)` once
  // inside `self`. REQUIRES: called from a handler of `self`.
  template <message R, class Self, class M, class Equal, class Then>
  requires keel::detail::accepts<T, M> && std::is_copy_constructible_v<std::remove_cvref_t<M>> &&
      std::is_invocable_r_v<bool, Equal&, const R&, const R&> &&
      std::is_invocable_v<Then&, result<quorum_answer<R>>>
  void ask(const actor_ref<Self>& self, const M& m, Equal equal, Then then) const {
    keel::detail::actor_cell* cell = self.cell();
    const std::size_t n = replicas_.size();
    // The round and its n + 1 continuations (the replicas' asks, then the deadline) are two
    // allocations; the round lives until every continuation is released.
    auto* r =
        new round<R, Equal, Then>(cell, n, cfg_.agree, stats_, std::move(equal), std::move(then));
    // One deadline for the round, and the replicas' asks without timers of their own (a timer
    // per ask was most of a round's cost). `next`: the first slot not handed out yet; whatever
    // ends this early (no memory, bad_alloc, a throwing copy of M or `then`), the slots from
    // `next` on give back their share here, so the round is freed.
    std::size_t next = 0;
    try {
      r->deadline = keel::detail::start_ask_deadline(cell, cfg_.timeout,
                                                     keel::detail::continuation_ptr(&r->slots[n]));
      if (r->deadline == 0) {  // no memory: the round failed at once (errc::out_of_memory)
        for (; next < n; ++next) r->slots[next].release();
        return;
      }
      while (next < n) {
        const std::size_t i = next++;
        keel::detail::continuation_ptr k(&r->slots[i]);  // releases slot i however this ends
        envelope* e = keel::detail::make_envelope(cell->system, std::remove_cvref_t<M>(m));
        if (e == nullptr) {
          k->complete(status(errc::out_of_memory, "quorum: no memory for the request"));
          continue;
        }
        r->slots[i].request = e->id;
        keel::detail::actor_ask_untimed(cell, replicas_[i].cell(), replicas_[i].generation(), e,
                                        std::move(k));
      }
    } catch (...) {
      for (; next < n; ++next) r->slots[next].release();
      throw;
    }
  }

  const quorum_stats& stats() const noexcept { return *stats_; }
  const quorum_config& config() const noexcept { return cfg_; }
  std::size_t size() const noexcept { return replicas_.size(); }

 private:
  quorum_group(std::vector<actor_ref<T>> replicas, quorum_config cfg)
      : replicas_(std::move(replicas)),
        cfg_(cfg),
        stats_(std::make_shared<quorum_stats>(replicas_.size())) {}

  // One round's answers; touched only inside the asking actor (its continuations), so its
  // reference count is a plain integer.
  template <class R, class Equal, class Then>
  struct round {
    // A replica's ask (index < n) or the round's deadline (index n), owned by the pending-ask
    // table until it completes or is dropped; release() gives back its share of the round.
    struct slot final : keel::detail::ask_continuation {
      void complete(result<keel::detail::reply_ptr> a) override {
        if (index == owner->n) {
          if (!a && a.code() == errc::out_of_memory) {
            owner->fail_at_once(a.error());  // the deadline could not be armed
          } else {
            owner->expire();
          }
        } else {
          owner->answer(index, keel::detail::take_reply<R>(std::move(a)));
        }
      }
      void release() noexcept override { owner->unref(); }

      round* owner = nullptr;
      std::size_t index = 0;
      std::optional<R> answer;  // (replicas only)
      message_id request = 0;   // the replica's ask (0: it could not be sent)
      bool failed = false;      // the replica's ask failed or timed out
    };

    round(keel::detail::actor_cell* c, std::size_t n_, std::uint32_t agree_,
          std::shared_ptr<quorum_stats> s, Equal eq, Then th)
        : self(c),
          n(n_),
          slots(std::make_unique<slot[]>(n_ + 1)),
          refs(n_ + 1),
          agree(agree_),
          stats(std::move(s)),
          equal(std::move(eq)),
          then(std::move(th)) {
      for (std::size_t i = 0; i <= n; ++i) {
        slots[i].owner = this;
        slots[i].index = i;
      }
    }

    void unref() noexcept {
      if (--refs == 0) delete this;
    }

    // The round's deadline: every replica that has not answered timed out. Their asks are
    // dropped (an answer that comes later is a late reply).
    void expire() {
      deadline = 0;
      for (std::size_t i = 0; i < n; ++i) {
        if (slots[i].answer || slots[i].failed) continue;
        if (slots[i].request != 0) (void)keel::detail::cancel_ask(self, slots[i].request);
        answer(i, status(errc::timeout, "quorum: no answer within the timeout"));
      }
    }

    void answer(std::size_t i, result<R> a) {
      ++finished;
      // Every replica has answered or failed: the deadline is not needed any more.
      if (finished == n && deadline != 0) {
        (void)keel::detail::cancel_ask(self, std::exchange(deadline, 0));
      }
      if (!a) {
        slots[i].failed = true;
        if (a.code() == errc::timeout) ++timeouts;
      } else {
        slots[i].answer = std::move(a).value();
        if (decided) {
          if (!equal(*slots[i].answer, *slots[*decided].answer)) stats->count_dissent(i);
        } else if (!over) {
          decide_if_agreed(i);
        }
      }
      // Fail as soon as the largest group of equal answers plus the replicas still to answer
      // cannot reach `agree`.
      if (!decided && !over && best_votes() + (n - finished) < agree) fail();
    }

    std::uint32_t votes_for(const R& v) const {
      std::uint32_t votes = 0;
      for (std::size_t j = 0; j < n; ++j) {
        if (slots[j].answer && equal(*slots[j].answer, v)) ++votes;
      }
      return votes;
    }

    std::uint32_t best_votes() const {
      std::uint32_t best = 0;
      for (std::size_t i = 0; i < n; ++i) {
        if (slots[i].answer) best = std::max(best, votes_for(*slots[i].answer));
      }
      return best;
    }

    void decide_if_agreed(std::size_t i) {
      const R& v = *slots[i].answer;
      const std::uint32_t votes = votes_for(v);
      if (votes < agree) return;
      decided = i;
      quorum_answer<R> out{v, votes, {}, 0, 0};
      for (std::size_t j = 0; j < n; ++j) {
        if (slots[j].answer && !equal(*slots[j].answer, v)) {
          out.dissenters.push_back(j);
          stats->count_dissent(j);
        } else if (!slots[j].answer) {
          if (slots[j].failed) {
            ++out.failed;
          } else {
            ++out.pending;
          }
        }
      }
      stats->count_agreed();
      then(std::move(out));
    }

    // Before any replica was asked: `then` gets `why` (the deadline had no memory).
    void fail_at_once(status why) {
      deadline = 0;
      over = true;
      then(status(why.code(), "quorum: " + std::string(why.message())));
    }

    void fail() {
      over = true;
      std::size_t answered = 0;
      for (std::size_t j = 0; j < n; ++j) answered += slots[j].answer.has_value() ? 1 : 0;
      const std::uint32_t best = best_votes();
      const std::string counts = std::to_string(answered) + " of " + std::to_string(n) +
                                 " replicas answered, " + std::to_string(best) + " agreed, " +
                                 std::to_string(agree) + " needed";
      if (answered < agree && timeouts > 0) {
        stats->count_timed_out();
        then(status(errc::timeout,
                    "quorum: " + counts + " (" + std::to_string(timeouts) + " timed out)"));
      } else if (answered < agree) {
        stats->count_no_quorum();
        then(status(errc::failed, "quorum: insufficient replicas: " + counts));
      } else {
        stats->count_no_quorum();
        then(status(errc::no_quorum, "quorum: " + counts));
      }
    }

    keel::detail::actor_cell* self;
    std::size_t n;                  // replicas
    std::unique_ptr<slot[]> slots;  // n replicas, then the deadline
    std::size_t refs;               // slots not yet released
    message_id deadline = 0;        // the round's (0: fired or cancelled)
    std::size_t finished = 0;
    std::uint32_t timeouts = 0;
    std::uint32_t agree;
    std::optional<std::size_t> decided;
    bool over = false;  // failed: then has run
    std::shared_ptr<quorum_stats> stats;
    Equal equal;
    Then then;
  };

  std::vector<actor_ref<T>> replicas_;
  quorum_config cfg_;
  std::shared_ptr<quorum_stats> stats_;
};

}  // namespace keel::resilience
