// keel::actor_rng: the per-actor pseudo-random generator behind actor_base::rng().
//
// xoshiro256** (Blackman and Vigna), seeded through SplitMix64 from the system seed and the
// actor id, so an actor's draws depend only on (system seed, actor id, its own history): under
// the deterministic executor, and in replay, they repeat exactly. Its state can be saved and
// restored (a snapshot or a replay checkpoint carries it).
//
// It satisfies std::uniform_random_bit_generator, so <random> distributions accept it; below()
// and uniform() are exact and portable (the standard distributions are not the same across
// standard libraries, which matters when a run is replayed elsewhere).
//
// Thread safety: none; it belongs to one actor, whose handlers run one at a time.
#pragma once

#include <array>
#include <cstdint>

#include <keel/base/splitmix.h>

namespace keel {

class actor_rng {
 public:
  using result_type = std::uint64_t;
  struct state {
    std::array<std::uint64_t, 4> s{};
    friend bool operator==(const state&, const state&) = default;
  };

  // The seed an actor with id `actor` gets in a system seeded with `system_seed`.
  static std::uint64_t seed_for(std::uint64_t system_seed, std::uint64_t actor) noexcept {
    std::uint64_t x = system_seed;
    const std::uint64_t a = splitmix64(x);
    x = actor ^ a;
    return splitmix64(x);
  }

  explicit actor_rng(std::uint64_t seed = 0) noexcept { reseed(seed); }

  void reseed(std::uint64_t seed) noexcept {
    std::uint64_t x = seed;
    for (auto& w : st_.s) w = splitmix64(x);  // never all zero: SplitMix64 is a bijection
  }

  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return UINT64_MAX; }

  result_type operator()() noexcept {
    auto& s = st_.s;
    const std::uint64_t result = rotl(s[1] * 5, 7) * 9;
    const std::uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }

  // Uniform in [0, n); 0 when n is 0. Lemire's method with rejection: no modulo bias.
  std::uint64_t below(std::uint64_t n) noexcept {
    if (n == 0) return 0;
    __extension__ using u128 = unsigned __int128;
    u128 m = static_cast<u128>((*this)()) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
      const std::uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<u128>((*this)()) * n;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }

  // Uniform in [0, 1), 53 random bits.
  double uniform() noexcept { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }

  state save() const noexcept { return st_; }
  void restore(const state& s) noexcept { st_ = s; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

  state st_;
};

}  // namespace keel
