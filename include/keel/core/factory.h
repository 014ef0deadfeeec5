// keel::actor_factory_registry: actor type names -> factories, owned by one actor_system. It
// creates actors by name from data: a supervisor's create-child message, steering, replay.
//
//   sys->factories().add<worker>();  // default-constructed; its args must be null or {}
//   sys->factories().add<counter>([](keel::actor_system& s, const keel::json_value& args,
//                                    const keel::spawn_options& o) ->
//                                    keel::result<keel::actor_ref<counter>> {
//     std::int64_t start = 0;
//     if (const auto* v = args.find("start"); v == nullptr || !v->get_int(start))
//       return keel::status(keel::errc::invalid_argument, "counter: args.start must be an
//       integer");
//     return s.spawn_with<counter>(o, start);
//   });
//   auto ref = sys->factories().spawn("demo.counter", keel::parse_json(R"({"start": 5})").value());
//
// Thread safety: all methods, any thread (a mutex; a factory runs outside it).
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <keel/base/result.h>
#include <keel/core/actor.h>
#include <keel/core/actor_ref.h>
#include <keel/core/json.h>

namespace keel {

class actor_system;
struct spawn_options;

class actor_factory_registry {
 public:
  using factory =
      std::function<result<actor_ref<>>(actor_system&, const json_value&, const spawn_options&)>;

  explicit actor_factory_registry(actor_system& sys) noexcept : sys_(sys) {}

  // Registers A under its keel_name, built by `make(system, args, options)`, which returns a
  // result<actor_ref<A>> (usually from system.spawn_with<A>(options, ...)).
  // errc::duplicate_name if the name has a factory already.
  template <class A, class Make>
  status add(Make make) {
    return add_named(std::string(actor_type_name<A>()),
                     [m = std::move(make)](actor_system& s, const json_value& args,
                                           const spawn_options& o) -> result<actor_ref<>> {
                       auto r = m(s, args, o);
                       if (!r) return r.error();
                       return actor_ref<>(*r);
                     });
  }
  // Registers a default-constructible A; spawning it takes no arguments (null or {}).
  template <class A>
  requires std::is_default_constructible_v<A> status add() {
    return add<A>([](actor_system& s, const json_value& args,
                     const spawn_options& o) -> result<actor_ref<A>> {
      if (!takes_no_args(args)) {
        return status(errc::invalid_argument, std::string(actor_type_name<A>()) +
                                                  " takes no arguments; got " + dump_json(args));
      }
      return spawn_default<A>(s, o);
    });
  }
  // Registers a factory under any name.
  status add_named(std::string type_name, factory make);

  // Spawns an actor of the named type. errc::invalid_argument if no factory has that name,
  // else whatever the factory returns (its own argument errors, spawn's errors).
  result<actor_ref<>> spawn(std::string_view type_name, const json_value& args = json_value());
  result<actor_ref<>> spawn(std::string_view type_name, const json_value& args,
                            const spawn_options& opts);

  bool contains(std::string_view type_name) const;
  // The registered names, sorted.
  std::vector<std::string> names() const;

 private:
  static bool takes_no_args(const json_value& args) noexcept {
    return args.is_null() || (args.is_object() && args.as_object().empty());
  }
  template <class A>
  static result<actor_ref<A>> spawn_default(actor_system& s, const spawn_options& o);

  actor_system& sys_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, factory> by_name_;
};

}  // namespace keel
