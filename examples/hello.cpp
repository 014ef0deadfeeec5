// hello: the smallest keel program. Spawn an actor, send it messages, ask it a question.
#include <chrono>
#include <cstdio>
#include <string>

#include <keel/keel.h>

using namespace std::chrono_literals;

// A message is any movable type with a stable name (its type id is a hash of the name).
struct greet {
  static constexpr std::string_view keel_name = "hello.greet/1";
  std::string who;
};
struct how_many {  // a question...
  static constexpr std::string_view keel_name = "hello.how_many/1";
};
struct count {  // ...and its answer
  static constexpr std::string_view keel_name = "hello.count/1";
  int value = 0;
};

// An actor lists the messages it handles and has one on() per message. Handlers of one actor
// never run at the same time, so `greeted_` needs no lock.
class greeter : public keel::actor<greeter, greet, how_many> {
 public:
  static constexpr std::string_view keel_name = "hello.greeter";
  void on(greet& m) {
    std::printf("hello, %s!\n", m.who.c_str());
    ++greeted_;
  }
  void on(how_many&) { reply(count{greeted_}); }

 private:
  int greeted_ = 0;
};

int main() {
  // One worker thread per core; every setting has a default.
  auto sys = keel::actor_system::create(keel::system_config{}).value();
  keel::actor_ref<greeter> g = sys->spawn<greeter>().value();

  // send: fire and forget, from any thread. Messages from one sender arrive in order.
  for (const char* who : {"world", "keel", "actors"}) {
    if (g.send(greet{who}) != keel::send_status::ok) return 1;
  }
  // ask: send and wait for the reply (from a thread that is not a keel worker).
  keel::result<count> n = g.ask<count>(how_many{}, 1s);
  if (!n) {
    std::printf("ask failed: %s\n", n.error().to_string().c_str());
    return 1;
  }
  std::printf("greeted %d times\n", n->value);

  // Stops every actor, newest first; the destructor would do the same.
  sys->shutdown();
  return n->value == 3 ? 0 : 1;
}
