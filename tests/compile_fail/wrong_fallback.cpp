// A protected_call whose fallback does not return the reply type must not compile.
#include <keel/keel.h>
#include <keel/resilience/protected_call.h>

namespace {

struct question {
  static constexpr std::string_view keel_name = "test.cf.question/1";
};
struct answer {
  static constexpr std::string_view keel_name = "test.cf.answer/1";
  int v = 0;
};

class oracle final : public keel::actor<oracle, question> {
 public:
  static constexpr std::string_view keel_name = "test.cf.oracle";
  void on(question&) { reply(answer{42}); }
};

class asker final : public keel::actor<asker, question> {
 public:
  static constexpr std::string_view keel_name = "test.cf.asker";
  asker(keel::actor_ref<oracle> o, keel::resilience::circuit_breaker* b) : o_(o), b_(b) {}
  void on(question&) {
    keel::resilience::protected_call<answer>(
        self(), *b_, o_, question{}, std::chrono::milliseconds(10),
        [](keel::resilience::protected_reply<answer>) {},
#if defined(KEEL_EXPECT_FAIL)
        [] { return 7; });  // an int, not an answer
#else
        [] { return answer{7}; });
#endif
  }

 private:
  keel::actor_ref<oracle> o_;
  keel::resilience::circuit_breaker* b_;
};

}  // namespace

// Instantiate the handler.
void keel_compile_fail_use(keel::actor_system& sys, keel::actor_ref<oracle> o,
                           keel::resilience::circuit_breaker* b);
void keel_compile_fail_use(keel::actor_system& sys, keel::actor_ref<oracle> o,
                           keel::resilience::circuit_breaker* b) {
  (void)sys.spawn<asker>(o, b);
}
