// Install test: spawns an actor through the installed keel package, asks it to add two numbers
// and exits 0 only if the reply is right. Built by scripts/install_test.sh.
#include <chrono>
#include <string_view>

#include <keel/keel.h>

struct add {
  static constexpr std::string_view keel_name = "install.add/1";
  int a, b;
};
struct sum {
  static constexpr std::string_view keel_name = "install.sum/1";
  int value;
};

class adder : public keel::actor<adder, add> {
 public:
  static constexpr std::string_view keel_name = "install.adder";
  void on(add& m) { reply(sum{m.a + m.b}); }
};

int main() {
  keel::actor_system sys{keel::system_config{}};
  auto ref = sys.spawn<adder>();
  auto r = ref.ask<sum>(add{2, 3}, std::chrono::seconds(5));
  return (r && r->value == 5) ? 0 : 1;
}
