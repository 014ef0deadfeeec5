// counter: state inside an actor, a typed ref, and the compile-time check that comes with it.
#include <chrono>
#include <cstdint>
#include <cstdio>

#include <keel/keel.h>

using namespace std::chrono_literals;

struct add {
  static constexpr std::string_view keel_name = "counter.add/1";
  std::int64_t n = 1;
};
struct reset {
  static constexpr std::string_view keel_name = "counter.reset/1";
};
struct get {
  static constexpr std::string_view keel_name = "counter.get/1";
};
struct value {
  static constexpr std::string_view keel_name = "counter.value/1";
  std::int64_t n = 0;
};
struct launch_rockets {  // a message that counter does not handle
  static constexpr std::string_view keel_name = "counter.launch_rockets/1";
};

// The state lives in the actor and only its handlers touch it: no lock, no atomic.
class counter : public keel::actor<counter, add, reset, get> {
 public:
  static constexpr std::string_view keel_name = "counter.counter";
  explicit counter(std::int64_t start) : total_(start) {}
  void on(add& m) { total_ += m.n; }
  void on(reset&) { total_ = 0; }
  void on(get&) { reply(value{total_}); }

 private:
  std::int64_t total_;
};

int main() {
  auto sys = keel::actor_system::create(keel::system_config{}).value();
  // spawn<counter>(args...) constructs the actor with args and returns an actor_ref<counter>.
  keel::actor_ref<counter> c = sys->spawn<counter>(std::int64_t{100}).value();

  (void)c.send(reset{});
  for (int i = 1; i <= 10; ++i) (void)c.send(add{i});

  // The ref is typed: it accepts exactly add, reset and get. Uncomment to see the refusal:
  //   c.send(launch_rockets{});
  // GCC 12:   error: no matching function for call to
  //           'keel::actor_ref<counter>::send(launch_rockets)' ... constraints not satisfied
  // clang 14: note: because 'detail::accepts<counter, launch_rockets>' evaluated to false
  // An untyped ref accepts anything; the counter turns what it does not handle into a dead
  // letter with the reason, counted by the system:
  keel::actor_ref<> any = c;
  (void)any.send(launch_rockets{});

  keel::result<value> v = c.ask<value>(get{}, 1s);
  if (!v) {
    std::printf("ask failed: %s\n", v.error().to_string().c_str());
    return 1;
  }
  const std::uint64_t dead = sys->dead_letter_count();  // launch_rockets, handled before get
  std::printf("total %lld (expected 55), dead letters %llu\n", static_cast<long long>(v->n),
              static_cast<unsigned long long>(dead));
  sys->shutdown();
  return v->n == 55 && dead == 1 ? 0 : 1;
}
