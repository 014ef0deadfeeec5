// Test helpers: scale stress tests down under sanitizers (KEEL_STRESS_SCALE, default 1).
#pragma once

#include <cstdint>
#include <cstdlib>

namespace keel::test {

inline double stress_scale() {
  const char* s = std::getenv("KEEL_STRESS_SCALE");
  if (s == nullptr) return 1.0;
  const double v = std::atof(s);
  return v > 0 ? v : 1.0;
}

// n scaled by KEEL_STRESS_SCALE, at least `min`.
inline std::uint64_t scaled(std::uint64_t n, std::uint64_t min = 1) {
  const auto v = static_cast<std::uint64_t>(static_cast<double>(n) * stress_scale());
  return v < min ? min : v;
}

}  // namespace keel::test
