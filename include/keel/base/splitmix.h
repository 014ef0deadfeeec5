// keel::splitmix64: one step of SplitMix64 (Steele, Lea, Flood 2014). It advances `state` by the
// golden-ratio increment and returns a well-mixed 64-bit value: the seeding function of keel's
// generators (actor_rng, seeded_random_policy, codec samples). Pure; any thread.
#pragma once

#include <cstdint>

namespace keel {

inline std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace keel
