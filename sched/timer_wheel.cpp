#include "sched/timer_wheel.h"

#include <bit>

namespace keel::sched {
namespace {
constexpr std::uint64_t slot_range(int level) { return std::uint64_t{1} << (6 * level); }
constexpr std::uint64_t level_range(int level) { return std::uint64_t{1} << (6 * (level + 1)); }
}  // namespace

int timer_wheel::level_for(std::uint64_t elapsed, std::uint64_t when) noexcept {
  const std::uint64_t masked = (elapsed ^ when) | (k_slots - 1);
  const int significant = 63 - std::countl_zero(masked);
  const int level = significant / 6;
  return level < k_levels ? level : k_levels - 1;
}

void timer_wheel::insert(timer_node* n, std::uint64_t when) noexcept {
  if (when <= elapsed_) when = elapsed_ + 1;
  // Beyond the top level's reach: park it in the farthest slot; it cascades down when reached.
  const std::uint64_t max_when = elapsed_ + level_range(k_levels - 1) - 1;
  if (when > max_when) when = max_when;
  n->when_tick_ = when;
  n->linked_ = true;
  ++count_;
  link(n);
}

void timer_wheel::link(timer_node* n) noexcept {
  const int level = level_for(elapsed_, n->when_tick_);
  const int slot = static_cast<int>((n->when_tick_ >> (6 * level)) & (k_slots - 1));
  n->level_ = static_cast<std::uint8_t>(level);
  n->slot_ = static_cast<std::uint8_t>(slot);
  timer_node*& head = slots_[level][slot];
  n->prev_ = nullptr;
  n->next_ = head;
  if (head != nullptr) head->prev_ = n;
  head = n;
  occupied_[level] |= std::uint64_t{1} << slot;
}

void timer_wheel::remove(timer_node* n) noexcept {
  const int level = n->level_;
  const int slot = n->slot_;
  if (n->prev_ != nullptr) {
    n->prev_->next_ = n->next_;
  } else {
    slots_[level][slot] = n->next_;
  }
  if (n->next_ != nullptr) n->next_->prev_ = n->prev_;
  if (slots_[level][slot] == nullptr) occupied_[level] &= ~(std::uint64_t{1} << slot);
  n->next_ = n->prev_ = nullptr;
  n->linked_ = false;
  --count_;
}

timer_node* timer_wheel::take_slot(int level, int slot) noexcept {
  timer_node* list = slots_[level][slot];
  slots_[level][slot] = nullptr;
  occupied_[level] &= ~(std::uint64_t{1} << slot);
  for (timer_node* n = list; n != nullptr; n = n->next_) {
    // Nodes that will fire now are no longer linked; cascaded ones are re-linked by expire().
    if (n->when_tick_ <= elapsed_) {
      n->linked_ = false;
      --count_;
    }
  }
  return list;
}

bool timer_wheel::next_expiration(slot_ref* out) const noexcept {
  for (int level = 0; level < k_levels; ++level) {
    const std::uint64_t occ = occupied_[level];
    if (occ == 0) continue;
    const int now_slot = static_cast<int>((elapsed_ >> (6 * level)) & (k_slots - 1));
    const std::uint64_t rotated = std::rotr(occ, now_slot);
    const int zeros = std::countr_zero(rotated);
    const int slot = (zeros + now_slot) % k_slots;
    const std::uint64_t start = elapsed_ & ~(level_range(level) - 1);
    std::uint64_t deadline = start + static_cast<std::uint64_t>(slot) * slot_range(level);
    if (deadline <= elapsed_ && level > 0 && slot != now_slot) deadline += level_range(level);
    if (deadline < elapsed_) deadline += level_range(level);
    out->level = level;
    out->slot = slot;
    out->deadline = deadline;
    return true;
  }
  return false;
}

std::uint64_t timer_wheel::next_expiration_tick() const noexcept {
  slot_ref r{};
  return next_expiration(&r) ? r.deadline : k_no_deadline;
}

}  // namespace keel::sched
