// A type without a declared name is not a message, even through an untyped ref.
#include <keel/keel.h>

struct named {
  static constexpr std::string_view keel_name = "cf.named/1";
};
struct unnamed {
  int x;
};

void use(keel::actor_ref<> ref) {
#if defined(KEEL_EXPECT_FAIL)
  ref.send(unnamed{1});
#else
  ref.send(named{});
#endif
}
