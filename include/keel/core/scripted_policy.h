// keel::scripted_policy: a delivery policy for the deterministic executor that delivers in a
// recorded order, for replay. The script lists, in order, the actor that receives each next
// user message: each actor's recorded input order, merged into one sequence (eventlog/ replay
// builds it from the log). Activations that deliver no user message (an actor's start, a stop)
// are not in the script: they run first, whenever one is runnable.
//
// When the next scripted actor has no message to receive, or the script is used up, the run has
// left the script: the policy counts a divergence, remembers where the first one happened, and
// runs the oldest runnable actor so the run can go on.
//
// Thread safety: used by the deterministic executor's driving thread; read the counters from
// that thread (or after it stopped driving).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include <keel/core/ids.h>
#include <keel/sched/deterministic.h>

namespace keel {

class scripted_policy final : public sched::delivery_policy {
 public:
  explicit scripted_policy(std::vector<actor_id> script) noexcept : script_(std::move(script)) {}

  std::size_t pick(std::span<sched::task* const> runnable) noexcept override;

  // Script entries delivered so far.
  std::size_t position() const noexcept { return position_; }
  bool finished() const noexcept { return position_ == script_.size(); }
  // Deliveries made off the script, and the script position of the first one.
  std::uint64_t divergences() const noexcept { return divergences_; }
  std::optional<std::size_t> first_divergence() const noexcept { return first_divergence_; }

 private:
  std::vector<actor_id> script_;
  std::size_t position_ = 0;
  std::uint64_t divergences_ = 0;
  std::optional<std::size_t> first_divergence_;
};

}  // namespace keel
