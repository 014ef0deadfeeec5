// The demo's deterministic randomness: the same --seed gives the same orders, the same invalid
// ones and the same declined payments on every run and machine.
//
// keel::splitmix64 mixes a 64-bit value; keel::actor_rng (xoshiro256**, seeded through
// splitmix64) is the stream generator, the one actors get from rng().
//
// Thread safety: a prng is a value owned by one actor; the free functions are pure.
#pragma once

#include <cstdint>

#include <keel/base/splitmix.h>
#include <keel/core/rng.h>

namespace keel_demo {

using keel::splitmix64;

// A stateless hash of (seed, key): decisions that must not depend on arrival order (which
// payment to decline) use it instead of a shared stream.
inline std::uint64_t mix(std::uint64_t seed, std::uint64_t key) noexcept {
  std::uint64_t state = seed ^ (key * 0xd1b54a32d192ed03ULL);
  return splitmix64(state);
}

// Whether a 64-bit random value falls in the first `per_10k` ten-thousandths of its range.
inline bool chance(std::uint64_t random, std::uint32_t per_10k) noexcept {
  return random % 10'000 < per_10k;
}

class prng {
 public:
  explicit prng(std::uint64_t seed) noexcept : rng_(seed) {}

  // The next xoshiro256** output.
  std::uint64_t next() noexcept { return rng_(); }
  // Uniform in [lo, hi] (a modulo bias below 2^-40 for the demo's small ranges).
  std::int64_t between(std::int64_t lo, std::int64_t hi) noexcept {
    const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
    return lo + static_cast<std::int64_t>(next() % span);
  }

 private:
  keel::actor_rng rng_;
};

}  // namespace keel_demo
