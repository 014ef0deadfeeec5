#include <gtest/gtest.h>
#include <xxhash.h>

#include <random>
#include <string>

#include <keel/base/xxh3.h>

namespace {

TEST(xxh3, matches_libxxhash_for_every_length_up_to_240) {
  std::mt19937_64 rng(42);
  for (std::size_t len = 0; len <= keel::k_max_hashed_name; ++len) {
    for (int round = 0; round < 16; ++round) {
      std::string s(len, '\0');
      for (char& c : s) c = static_cast<char>(rng());
      ASSERT_EQ(keel::xxh3_64(s), XXH3_64bits(s.data(), s.size())) << "length " << len;
    }
  }
}

TEST(xxh3, is_a_compile_time_constant) {
  constexpr std::uint64_t id = keel::xxh3_64("shop.order_placed/1");
  static_assert(id != 0);
  EXPECT_EQ(id, XXH3_64bits("shop.order_placed/1", 19));
}

}  // namespace
