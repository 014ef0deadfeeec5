// actor_factory_registry: actors created by type name, with arguments from JSON.
#include <gtest/gtest.h>

#include "core/test_actors.h"

namespace {

using keel::errc;

struct get {
  static constexpr std::string_view keel_name = "test.factory.get/1";
};
struct value_msg {
  static constexpr std::string_view keel_name = "test.factory.value/1";
  std::int64_t v;
};

class counter : public keel::actor<counter, get> {
 public:
  static constexpr std::string_view keel_name = "test.factory.counter";
  explicit counter(std::int64_t start) : v_(start) {}
  void on(get&) { reply(value_msg{v_}); }

 private:
  std::int64_t v_;
};

class plain : public keel::actor<plain, get> {
 public:
  static constexpr std::string_view keel_name = "test.factory.plain";
  void on(get&) { reply(value_msg{-1}); }
};

keel::status add_counter(keel::actor_factory_registry& f) {
  return f.add<counter>([](keel::actor_system& s, const keel::json_value& args,
                           const keel::spawn_options& o) -> keel::result<keel::actor_ref<counter>> {
    std::int64_t start = 0;
    const keel::json_value* v = args.find("start");
    if (v == nullptr || !v->get_int(start)) {
      return keel::status(errc::invalid_argument, "counter: args.start must be an integer");
    }
    return s.spawn_with<counter>(o, start);
  });
}

TEST(factory, spawns_by_type_name_with_json_arguments) {
  auto sys = keel::test::make_system();
  keel::actor_factory_registry& f = sys->factories();
  ASSERT_EQ(add_counter(f), errc::ok);
  ASSERT_EQ(f.add<plain>(), errc::ok);
  EXPECT_EQ(f.names(), (std::vector<std::string>{"test.factory.counter", "test.factory.plain"}));
  EXPECT_TRUE(f.contains("test.factory.counter"));

  auto c = f.spawn("test.factory.counter", keel::parse_json(R"({"start": 41})").value());
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->ask<value_msg>(get{}, std::chrono::seconds(5))->v, 41);

  keel::spawn_options named;
  named.name = "the-plain-one";
  auto p = f.spawn("test.factory.plain", keel::json_value(), named);
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->ask<value_msg>(get{}, std::chrono::seconds(5))->v, -1);
  EXPECT_TRUE(sys->lookup("the-plain-one").has_value());
}

TEST(factory, bad_input_gets_a_clear_error) {
  auto sys = keel::test::make_system();
  keel::actor_factory_registry& f = sys->factories();
  ASSERT_EQ(add_counter(f), errc::ok);
  ASSERT_EQ(f.add<plain>(), errc::ok);

  auto unknown = f.spawn("test.factory.nobody");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.code(), errc::invalid_argument);
  EXPECT_NE(unknown.error().message().find("no factory for actor type"), std::string_view::npos);

  auto bad_args = f.spawn("test.factory.counter", keel::parse_json(R"({"start":"x"})").value());
  ASSERT_FALSE(bad_args);
  EXPECT_NE(bad_args.error().message().find("args.start"), std::string_view::npos);

  auto extra = f.spawn("test.factory.plain", keel::parse_json(R"({"a":1})").value());
  ASSERT_FALSE(extra);
  EXPECT_NE(extra.error().message().find("takes no arguments"), std::string_view::npos);

  EXPECT_EQ(add_counter(f), errc::duplicate_name);
  EXPECT_EQ(f.add_named("", nullptr), errc::invalid_argument);
  EXPECT_EQ(f.add_named("x", nullptr), errc::invalid_argument);
  EXPECT_EQ(f.add_named("throws",
                        [](keel::actor_system&, const keel::json_value&, const keel::spawn_options&)
                            -> keel::result<keel::actor_ref<>> { throw std::runtime_error("no"); }),
            errc::ok);
  auto threw = f.spawn("throws");
  ASSERT_FALSE(threw);
  EXPECT_EQ(threw.code(), errc::failed);

  (void)sys->shutdown();
  auto late = f.spawn("test.factory.plain");
  ASSERT_FALSE(late);
  EXPECT_EQ(late.code(), errc::shutting_down);
}

}  // namespace
