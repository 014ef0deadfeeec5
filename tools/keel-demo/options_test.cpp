#include "options.h"

#include <gtest/gtest.h>

#include <chrono>
#include <initializer_list>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using keel_demo::options;
using keel_demo::parse_options;

keel::result<options> parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"keel-demo"};
  argv.insert(argv.end(), args);
  return parse_options(static_cast<int>(argv.size()), argv.data());
}

// The error message of a parse that must fail.
std::string error_of(std::initializer_list<const char*> args) {
  auto r = parse(args);
  EXPECT_FALSE(r) << "parsed, but should not have";
  if (r) return "";
  EXPECT_EQ(r.code(), keel::errc::invalid_argument);
  return std::string(r.error().message());
}

TEST(options, defaults_apply_without_flags) {
  auto r = parse({});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->rate, 1000);
  EXPECT_EQ(r->duration, 10s);
  EXPECT_EQ(r->seed, 1U);
  EXPECT_TRUE(r->chaos);
  EXPECT_TRUE(r->log_dir.empty());
  EXPECT_FALSE(r->help);
}

TEST(options, reads_every_flag_with_a_space_or_an_equals_sign) {
  auto r = parse({"--rate", "2500", "--duration=3s", "--seed", "18446744073709551615"});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->rate, 2500);
  EXPECT_EQ(r->duration, 3s);
  EXPECT_EQ(r->seed, 18446744073709551615ULL);
  EXPECT_FALSE(parse({"--chaos", "off"})->chaos);
  EXPECT_TRUE(parse({"--chaos=on"})->chaos);
  EXPECT_EQ(parse({"--log-dir", "/tmp/run 1"})->log_dir, "/tmp/run 1");
  EXPECT_EQ(error_of({"--log-dir="}).rfind("--log-dir:", 0), 0U);
  auto f = parse({"--rate=0.5"});
  ASSERT_TRUE(f) << f.error().to_string();
  EXPECT_EQ(f->rate, 0.5);
}

TEST(options, accepts_durations_in_seconds_milliseconds_and_minutes) {
  EXPECT_EQ(keel_demo::parse_duration("5").value(), 5s);
  EXPECT_EQ(keel_demo::parse_duration("5s").value(), 5s);
  EXPECT_EQ(keel_demo::parse_duration("500ms").value(), 500ms);
  EXPECT_EQ(keel_demo::parse_duration("2m").value(), 2min);
}

TEST(options, help_is_a_flag_and_the_usage_lists_every_flag) {
  auto r = parse({"--rate", "10", "--help"});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->help);
  EXPECT_TRUE(parse({"-h"})->help);
  const std::string text = keel_demo::usage("keel-demo");
  for (const char* flag : {"--rate", "--duration", "--seed", "--chaos", "--log-dir", "--help"}) {
    EXPECT_NE(text.find(flag), std::string::npos) << flag;
  }
}

TEST(options, a_bad_rate_is_an_error_that_names_the_flag) {
  for (const char* bad : {"-5", "0", "abc", "10x", "", "inf", "nan", "2000000"}) {
    EXPECT_EQ(error_of({"--rate", bad}).rfind("--rate:", 0), 0U) << "'" << bad << "'";
  }
}

TEST(options, a_bad_duration_is_an_error_that_names_the_flag) {
  for (const char* bad : {"0", "-1", "5h", "1.5s", "s", "ms", "", "5 s", "25h", "99999999999m"}) {
    EXPECT_EQ(error_of({"--duration", bad}).rfind("--duration:", 0), 0U) << "'" << bad << "'";
  }
}

TEST(options, a_bad_seed_is_an_error_that_names_the_flag) {
  for (const char* bad : {"-1", "x", "18446744073709551616", "0x10"}) {
    EXPECT_EQ(error_of({"--seed", bad}).rfind("--seed:", 0), 0U) << "'" << bad << "'";
  }
}

TEST(options, a_bad_chaos_value_is_an_error_that_names_the_flag) {
  for (const char* bad : {"yes", "", "ON", "1"}) {
    EXPECT_EQ(error_of({"--chaos", bad}).rfind("--chaos:", 0), 0U) << "'" << bad << "'";
  }
}

TEST(options, unknown_flags_missing_values_and_stray_arguments_are_errors) {
  EXPECT_NE(error_of({"--rat", "5"}).find("'--rat'"), std::string::npos);
  EXPECT_NE(error_of({"--log", "/tmp"}).find("'--log'"), std::string::npos);
  EXPECT_NE(error_of({"stray"}).find("'stray'"), std::string::npos);
  EXPECT_EQ(error_of({"--rate"}), "--rate: needs a value");
  EXPECT_EQ(error_of({"--seed", "3", "--duration"}), "--duration: needs a value");
}

}  // namespace
