// Message codecs: bytes and JSON round trips, exact encodings, every error named, the type
// registry's codec functions, and the round trip of every registered codec.
#include <gtest/gtest.h>

#include "core/test_actors.h"

#include <keel/core/codec.h>

namespace {

using keel::errc;

enum class color : std::uint8_t { red = 1, green = 2 };

struct line_item {
  std::string sku;
  std::int32_t qty = 0;
  static constexpr auto keel_fields =
      keel::fields(keel::field("sku", &line_item::sku), keel::field("qty", &line_item::qty));
  friend bool operator==(const line_item&, const line_item&) = default;
};

struct order_placed {
  static constexpr std::string_view keel_name = "test.codec.order_placed/1";
  std::uint64_t order = 0;
  std::int64_t delta = 0;
  std::int8_t small = 0;
  bool rush = false;
  double price = 0;
  float weight = 0;
  color tint = color::red;
  std::string note;
  std::vector<line_item> items;
  std::optional<std::string> coupon;
  std::vector<std::uint16_t> codes;
  static constexpr auto keel_fields = keel::fields(
      keel::field("order", &order_placed::order), keel::field("delta", &order_placed::delta),
      keel::field("small", &order_placed::small), keel::field("rush", &order_placed::rush),
      keel::field("price", &order_placed::price), keel::field("weight", &order_placed::weight),
      keel::field("tint", &order_placed::tint), keel::field("note", &order_placed::note),
      keel::field("items", &order_placed::items), keel::field("coupon", &order_placed::coupon),
      keel::field("codes", &order_placed::codes));
  friend bool operator==(const order_placed&, const order_placed&) = default;
};

struct tiny {
  static constexpr std::string_view keel_name = "test.codec.tiny/1";
  std::uint16_t a = 0;
  std::string s;
  static constexpr auto keel_fields =
      keel::fields(keel::field("a", &tiny::a), keel::field("s", &tiny::s));
};

struct no_codec {
  static constexpr std::string_view keel_name = "test.codec.no_codec/1";
  int x = 0;
};

static_assert(keel::codec_message<order_placed>);
static_assert(!keel::codec_message<no_codec>);

order_placed sample_order() {
  order_placed o;
  o.order = 18446744073709551615ULL;  // above INT64_MAX: JSON keeps it exact
  o.delta = -42;
  o.small = -128;
  o.rush = true;
  o.price = 19.99;
  o.weight = 0.25F;
  o.tint = color::green;
  o.note = "quote \" and \\ and \n and \xc3\xa9";
  o.items = {{"A-1", 2}, {"B-22", -7}};
  o.coupon = "SAVE5";
  o.codes = {1, 65535};
  return o;
}

TEST(codec, bytes_round_trip) {
  const order_placed o = sample_order();
  const auto bytes = keel::encode(o);
  auto back = keel::decode<order_placed>(bytes);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, o);
  order_placed empty;
  EXPECT_EQ(keel::decode<order_placed>(keel::encode(empty)).value(), empty);
}

TEST(codec, the_encoding_is_the_documented_one) {
  tiny t;
  t.a = 0x0102;
  t.s = std::string(200, 'x');  // a two-byte LEB128 length: 200 = 0xC8 0x01
  const auto b = keel::encode(t);
  ASSERT_EQ(b.size(), 2U + 2U + 200U);
  EXPECT_EQ(b[0], std::byte{0x02});  // little-endian u16
  EXPECT_EQ(b[1], std::byte{0x01});
  EXPECT_EQ(b[2], std::byte{0xC8});
  EXPECT_EQ(b[3], std::byte{0x01});
  EXPECT_EQ(b[4], std::byte{'x'});
}

TEST(codec, json_round_trip_and_exact_text) {
  const order_placed o = sample_order();
  auto text = keel::to_json(o);
  ASSERT_TRUE(text) << text.error();
  auto back = keel::from_json<order_placed>(*text);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, o);
  tiny t;
  t.a = 7;
  t.s = "a\"b";
  EXPECT_EQ(keel::to_json(t).value(), R"({"a":7,"s":"a\"b"})");
  EXPECT_NE(text->find(R"("order":18446744073709551615)"), std::string::npos) << *text;
  EXPECT_NE(text->find(R"("coupon":"SAVE5")"), std::string::npos) << *text;
  order_placed none;
  EXPECT_NE(keel::to_json(none).value().find(R"("coupon":null)"), std::string::npos);
}

TEST(codec, every_truncation_and_trailing_byte_is_refused) {
  const auto bytes = keel::encode(sample_order());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto r = keel::decode<order_placed>(std::span<const std::byte>(bytes.data(), n));
    ASSERT_FALSE(r) << "a prefix of " << n << " of " << bytes.size() << " bytes decoded";
    EXPECT_EQ(r.code(), errc::invalid_argument);
  }
  auto longer = bytes;
  longer.push_back(std::byte{0});
  auto r = keel::decode<order_placed>(longer);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("1 bytes after the message"), std::string_view::npos)
      << r.error();
}

TEST(codec, decode_errors_name_the_field) {
  tiny t;
  t.s = "hello";
  auto b = keel::encode(t);
  b[2] = std::byte{100};  // the string claims 100 bytes, 5 are left
  auto r = keel::decode<tiny>(b);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("field 's'"), std::string_view::npos) << r.error();
  EXPECT_NE(r.error().message().find("test.codec.tiny/1"), std::string_view::npos) << r.error();

  auto ob = keel::encode(sample_order());
  // `rush` is the byte after order (8), delta (8) and small (1).
  ob[17] = std::byte{2};
  auto r2 = keel::decode<order_placed>(ob);
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().message().find("field 'rush': a bool is 0 or 1"), std::string_view::npos)
      << r2.error();

  // A length that never ends.
  std::vector<std::byte> endless(2, std::byte{0});
  endless.insert(endless.end(), 11, std::byte{0xFF});
  auto r3 = keel::decode<tiny>(endless);
  ASSERT_FALSE(r3);
  EXPECT_NE(r3.error().message().find("longer than 10 bytes"), std::string_view::npos)
      << r3.error();
}

TEST(codec, from_json_errors_name_the_path) {
  auto err = [](std::string_view text) {
    auto r = keel::from_json<order_placed>(text);
    EXPECT_FALSE(r) << text;
    return r ? std::string() : std::string(r.error().message());
  };
  const std::string good = keel::to_json(sample_order()).value();
  auto with = [&](std::string_view from, std::string_view to) {
    std::string s = good;
    const auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  EXPECT_NE(err("[1,2]").find("expected an object, got array"), std::string::npos);
  EXPECT_NE(err("{nope").find("not JSON at byte"), std::string::npos);
  EXPECT_NE(err(with(R"("rush":true,)", "")).find("field 'rush': missing"), std::string::npos);
  EXPECT_NE(
      err(with(R"("rush":true)", R"("rush":true,"extra":1)")).find("field 'extra': unknown field"),
      std::string::npos);
  EXPECT_NE(err(with(R"("small":-128)", R"("small":300)")).find("field 'small': out of range"),
            std::string::npos);
  EXPECT_NE(err(with(R"("order":18446744073709551615)", R"("order":-1)"))
                .find("field 'order': out of range (negative)"),
            std::string::npos);
  EXPECT_NE(err(with(R"("delta":-42)", R"("delta":1.5)"))
                .find("field 'delta': expected an integer, got number"),
            std::string::npos);
  EXPECT_NE(err(with(R"("qty":-7)", R"("qty":"seven")"))
                .find("field 'items[1].qty': expected an integer, got string"),
            std::string::npos);
  EXPECT_NE(err(with(R"("note":)", R"("note":5,"x":)")).find("field 'note'"), std::string::npos);
}

TEST(codec, non_finite_floats_cannot_become_json) {
  order_placed o;
  o.price = std::numeric_limits<double>::infinity();
  auto r = keel::to_json(o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("field 'price': not finite"), std::string_view::npos);
  // The bytes carry it.
  EXPECT_EQ(keel::decode<order_placed>(keel::encode(o))->price, o.price);
}

TEST(codec, strings_that_are_not_utf8_cannot_become_json) {
  tiny t;
  t.s = std::string("ok\xff", 3);
  auto r = keel::to_json(t);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("field 's': not valid UTF-8"), std::string_view::npos);
  EXPECT_EQ(keel::decode<tiny>(keel::encode(t))->s, t.s);  // the bytes carry it
  EXPECT_TRUE(keel::valid_utf8("plain \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(keel::valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(keel::valid_utf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(keel::valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(keel::valid_utf8("\xe2\x82"));          // cut short
  EXPECT_FALSE(keel::valid_utf8("\x80"));              // a lone continuation byte
}

class order_desk : public keel::actor<order_desk, order_placed, no_codec> {
 public:
  static constexpr std::string_view keel_name = "test.codec.desk";
  void on(order_placed&) {}
  void on(no_codec&) {}
};

TEST(codec, the_registry_knows_codecs_by_type_id) {
  auto sys = keel::test::make_system();
  ASSERT_TRUE(sys->spawn<order_desk>());  // registers both message types
  keel::type_registry& types = sys->types();
  const auto id = keel::type_id_of<order_placed>();
  EXPECT_TRUE(types.has_codec(id));
  EXPECT_FALSE(types.has_codec(keel::type_id_of<no_codec>()));

  const auto bytes = keel::encode(sample_order());
  auto json = types.bytes_to_json(id, bytes);
  ASSERT_TRUE(json) << json.error();
  EXPECT_EQ(*json, keel::to_json(sample_order()).value());
  auto again = types.json_to_bytes(id, *json);
  ASSERT_TRUE(again) << again.error();
  EXPECT_EQ(*again, bytes);

  auto none = types.bytes_to_json(keel::type_id_of<no_codec>(), bytes);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message().find("has no codec"), std::string_view::npos);
  auto unknown = types.json_to_bytes(12345, "{}");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message().find("no message type with id 12345"),
            std::string_view::npos);
  auto bad = types.json_to_bytes(id, R"({"order": 1})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("missing"), std::string_view::npos);

  // A codec added later to a type registered without one (explicit add of the same type).
  EXPECT_EQ(types.add<tiny>(), errc::ok);
  EXPECT_TRUE(types.has_codec(keel::type_id_of<tiny>()));
}

TEST(codec, every_registered_codec_round_trips) {
  auto sys = keel::test::make_system();
  ASSERT_TRUE(sys->spawn<order_desk>());
  ASSERT_EQ(sys->types().add<tiny>(), errc::ok);
  EXPECT_EQ(sys->types().check_codecs(16), errc::ok);
}

// A codec whose decode loses a field: check_codecs must catch it.
keel::status lossy_decode(std::span<const std::byte> in, void* dst) {
  if (keel::status s = keel::codec_ops_of<tiny>.decode(in, dst); !s) return s;
  static_cast<tiny*>(dst)->s.clear();
  return keel::status::ok();
}
struct lossy {
  static constexpr std::string_view keel_name = "test.codec.lossy/1";
};

TEST(codec, check_codecs_catches_a_codec_that_loses_data) {
  keel::type_registry reg;
  keel::codec_ops broken = keel::codec_ops_of<tiny>;
  broken.decode = &lossy_decode;
  ASSERT_EQ(reg.add_entry(keel::type_entry{keel::type_id_of<lossy>(), "test.codec.lossy/1",
                                           keel::type_kind::message, &keel::ops_of<lossy>,
                                           &keel::ops_of<tiny>, &broken}),
            errc::ok);
  auto s = reg.check_codecs(8);
  EXPECT_EQ(s, errc::invalid_argument);
  EXPECT_NE(s.message().find("test.codec.lossy/1"), std::string_view::npos) << s;
  EXPECT_NE(s.message().find("changed the bytes"), std::string_view::npos) << s;
}

}  // namespace
