#include <gtest/gtest.h>

#include <memory>
#include <string>

#include <keel/base/result.h>

namespace {

keel::result<int> parse_positive(int v) {
  if (v <= 0) return keel::status(keel::errc::invalid_argument, "v: must be positive");
  return v;
}

TEST(result, holds_a_value_or_an_error) {
  auto ok = parse_positive(3);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 3);
  EXPECT_TRUE(ok.error().is_ok());

  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.code(), keel::errc::invalid_argument);
  EXPECT_EQ(bad.error().message(), "v: must be positive");
  EXPECT_EQ(bad.error().to_string(), "invalid_argument: v: must be positive");
}

TEST(result, moves_move_only_values) {
  keel::result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r);
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}

TEST(status, ok_is_free_and_names_codes) {
  keel::status s;
  EXPECT_TRUE(s.is_ok());
  EXPECT_EQ(s.to_string(), "ok");
  EXPECT_EQ(keel::to_string(keel::errc::actor_stopped), "actor_stopped");
  EXPECT_EQ(keel::to_string(keel::errc::type_mismatch), "type_mismatch");
  EXPECT_EQ(keel::to_string(keel::errc::expectation_failed), "expectation_failed");
  EXPECT_EQ(keel::to_string(keel::errc::full), "full");
  EXPECT_EQ(keel::to_string(keel::errc::io_error), "io_error");
  EXPECT_EQ(keel::to_string(keel::errc::log_locked), "log_locked");
  EXPECT_EQ(keel::to_string(keel::errc::log_failed), "log_failed");
  EXPECT_EQ(keel::to_string(keel::errc::corrupt), "corrupt");
  EXPECT_EQ(keel::to_string(keel::errc::no_space), "no_space");
  EXPECT_EQ(keel::to_string(keel::errc::not_found), "not_found");
}

}  // namespace
