// keel::xxh3_64: a constexpr XXH3-64 (seed 0, default secret) for inputs of at most 240 bytes.
//
// Message and actor type ids are the XXH3-64 of a name the user declares. Computing the hash at
// compile time makes each id a constant: dispatch compiles to compares against immediates, a send
// never hashes, and the id is the same in every build and process (it is XXH3 as specified, so
// any tool with libxxhash computes the same value). tests/base/xxh3_test.cpp checks every length
// from 0 to 240 against libxxhash.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace keel {
namespace detail::xxh3 {

inline constexpr std::uint64_t k_prime64_1 = 0x9E3779B185EBCA87ULL;
inline constexpr std::uint64_t k_prime64_2 = 0xC2B2AE3D27D4EB4FULL;
inline constexpr std::uint64_t k_prime64_3 = 0x165667B19E3779F9ULL;
inline constexpr std::uint64_t k_prime_mx1 = 0x165667919E3779F9ULL;
inline constexpr std::uint64_t k_prime_mx2 = 0x9FB21C651E98DF25ULL;

// The 192-byte default secret of the XXH3 specification.
inline constexpr unsigned char k_secret[192] = {
    0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
    0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
    0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
    0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
    0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
    0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
    0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
    0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
    0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
    0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
    0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
    0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
};

constexpr std::uint64_t read64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
constexpr std::uint32_t read32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
constexpr std::uint64_t secret64(int offset) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | k_secret[offset + i];
  return v;
}
constexpr std::uint32_t secret32(int offset) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | k_secret[offset + i];
  return v;
}
constexpr std::uint64_t rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
constexpr std::uint64_t swap64(std::uint64_t x) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | ((x >> (8 * i)) & 0xFF);
  return v;
}
// The 128-bit product of a and b, folded: low 64 bits xor high 64 bits. Portable 32-bit limbs
// (no __int128, which -Wpedantic rejects); compilers still emit one mul in optimised code paths.
constexpr std::uint64_t mul128_fold64(std::uint64_t a, std::uint64_t b) {
  const std::uint64_t a_lo = a & 0xFFFFFFFFU, a_hi = a >> 32;
  const std::uint64_t b_lo = b & 0xFFFFFFFFU, b_hi = b >> 32;
  const std::uint64_t lo_lo = a_lo * b_lo;
  const std::uint64_t hi_lo = a_hi * b_lo;
  const std::uint64_t lo_hi = a_lo * b_hi;
  const std::uint64_t hi_hi = a_hi * b_hi;
  const std::uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xFFFFFFFFU) + lo_hi;
  const std::uint64_t upper = (hi_lo >> 32) + (cross >> 32) + hi_hi;
  const std::uint64_t lower = (cross << 32) | (lo_lo & 0xFFFFFFFFU);
  return lower ^ upper;
}
constexpr std::uint64_t xxh64_avalanche(std::uint64_t h) {
  h ^= h >> 33;
  h *= k_prime64_2;
  h ^= h >> 29;
  h *= k_prime64_3;
  return h ^ (h >> 32);
}
constexpr std::uint64_t avalanche(std::uint64_t h) {
  h ^= h >> 37;
  h *= k_prime_mx1;
  return h ^ (h >> 32);
}
constexpr std::uint64_t rrmxmx(std::uint64_t h, std::uint64_t len) {
  h ^= rotl(h, 49) ^ rotl(h, 24);
  h *= k_prime_mx2;
  h ^= (h >> 35) + len;
  h *= k_prime_mx2;
  return h ^ (h >> 28);
}
constexpr std::uint64_t mix16(const char* p, int secret_offset) {
  return mul128_fold64(read64(p) ^ secret64(secret_offset),
                       read64(p + 8) ^ secret64(secret_offset + 8));
}

}  // namespace detail::xxh3

// XXH3_64bits(s.data(), s.size()) for s.size() <= 240, usable in constant expressions.
constexpr std::uint64_t xxh3_64(std::string_view s) {
  using namespace detail::xxh3;
  const char* p = s.data();
  const std::uint64_t len = s.size();
  if (len == 0) return xxh64_avalanche(secret64(56) ^ secret64(64));
  if (len <= 3) {
    const std::uint32_t c1 = static_cast<unsigned char>(p[0]);
    const std::uint32_t c2 = static_cast<unsigned char>(p[len >> 1]);
    const std::uint32_t c3 = static_cast<unsigned char>(p[len - 1]);
    const std::uint32_t combined =
        (c1 << 16) | (c2 << 24) | c3 | (static_cast<std::uint32_t>(len) << 8);
    const std::uint64_t bitflip = secret32(0) ^ secret32(4);
    return xxh64_avalanche(combined ^ bitflip);
  }
  if (len <= 8) {
    const std::uint64_t bitflip = secret64(8) ^ secret64(16);
    const std::uint64_t input64 =
        read32(p + len - 4) + (static_cast<std::uint64_t>(read32(p)) << 32);
    return rrmxmx(input64 ^ bitflip, len);
  }
  if (len <= 16) {
    const std::uint64_t lo = read64(p) ^ (secret64(24) ^ secret64(32));
    const std::uint64_t hi = read64(p + len - 8) ^ (secret64(40) ^ secret64(48));
    return avalanche(len + swap64(lo) + hi + mul128_fold64(lo, hi));
  }
  std::uint64_t acc = len * k_prime64_1;
  if (len <= 128) {
    if (len > 32) {
      if (len > 64) {
        if (len > 96) {
          acc += mix16(p + 48, 96);
          acc += mix16(p + len - 64, 112);
        }
        acc += mix16(p + 32, 64);
        acc += mix16(p + len - 48, 80);
      }
      acc += mix16(p + 16, 32);
      acc += mix16(p + len - 32, 48);
    }
    acc += mix16(p, 0);
    acc += mix16(p + len - 16, 16);
    return avalanche(acc);
  }
  // 129..240 bytes.
  const int rounds = static_cast<int>(len / 16);
  for (int i = 0; i < 8; ++i) acc += mix16(p + 16 * i, 16 * i);
  acc = avalanche(acc);
  for (int i = 8; i < rounds; ++i) acc += mix16(p + 16 * i, 16 * (i - 8) + 3);
  acc += mix16(p + len - 16, 136 - 17);
  return avalanche(acc);
}

// The longest name xxh3_64 accepts.
inline constexpr std::size_t k_max_hashed_name = 240;

}  // namespace keel
