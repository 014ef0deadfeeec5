// An actor class must declare its type name.
#include <keel/keel.h>

struct msg {
  static constexpr std::string_view keel_name = "cf.msg/1";
};

class quiet : public keel::actor<quiet, msg> {
 public:
#if !defined(KEEL_EXPECT_FAIL)
  static constexpr std::string_view keel_name = "cf.quiet";
#endif
  void on(msg&) {}
};

void use(keel::actor_system& sys) { (void)sys.spawn<quiet>(); }
