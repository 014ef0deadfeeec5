// Install test: through the installed keel package only, spawns an actor, asks it to add two
// numbers, shuts down, and exits 0 only if the reply is right and every actor stopped.
// Built and run by scripts/install_test.sh.
#include <chrono>
#include <cstdio>
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
  auto sys = keel::actor_system::create(keel::system_config{});
  if (!sys) {
    std::fprintf(stderr, "install test: create: %s\n", sys.error().to_string().c_str());
    return 1;
  }
  auto ref = (*sys)->spawn<adder>();
  if (!ref) {
    std::fprintf(stderr, "install test: spawn: %s\n", ref.error().to_string().c_str());
    return 1;
  }
  auto r = ref->ask<sum>(add{2, 3}, std::chrono::seconds(5));
  if (!r || r->value != 5) {
    std::fprintf(stderr, "install test: ask: %s\n",
                 r ? "wrong sum" : r.error().to_string().c_str());
    return 1;
  }
  const keel::shutdown_report report = (*sys)->shutdown();
  if (!report.still_running.empty()) {
    std::fprintf(stderr, "install test: %zu actors still running after shutdown\n",
                 report.still_running.size());
    return 1;
  }
  std::printf("install test: 2 + 3 = %d\n", r->value);
  return 0;
}
