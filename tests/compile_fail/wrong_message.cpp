// A typed ref refuses a message its actor does not declare. Built twice by ctest: without
// KEEL_EXPECT_FAIL it must compile (the control), with it it must fail for the right reason.
#include <keel/keel.h>

struct add {
  static constexpr std::string_view keel_name = "cf.add/1";
  int a;
};
struct other {
  static constexpr std::string_view keel_name = "cf.other/1";
};

class adder : public keel::actor<adder, add> {
 public:
  static constexpr std::string_view keel_name = "cf.adder";
  void on(add&) {}
};

void use(keel::actor_ref<adder> ref) {
#if defined(KEEL_EXPECT_FAIL)
  ref.send(other{});
#else
  ref.send(add{1});
#endif
}
