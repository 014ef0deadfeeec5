// The demo's deterministic randomness: the same --seed gives the same orders, the same invalid
// ones and the same declined payments on every run and machine.
//
// splitmix64 (Steele, Lea, Flood 2014) mixes a 64-bit value; xoshiro256** (Blackman, Vigna 2018)
// is the stream generator, seeded through splitmix64 as its authors recommend.
//
// Thread safety: a prng is a value owned by one actor; the free functions are pure.
#pragma once

#include <cstdint>

namespace keel_demo {

// One splitmix64 step: advances `state` and returns the next output.
inline std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

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
  explicit prng(std::uint64_t seed) noexcept {
    for (auto& word : s_) word = splitmix64(seed);
  }

  // The next xoshiro256** output.
  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [lo, hi] (a modulo bias below 2^-40 for the demo's small ranges).
  std::int64_t between(std::int64_t lo, std::int64_t hi) noexcept {
    const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
    return lo + static_cast<std::int64_t>(next() % span);
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

}  // namespace keel_demo
