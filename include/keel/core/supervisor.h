// keel::supervisor: an actor that starts children from specs, restarts them when they fail, and
// fails in turn -- to its own supervisor -- when they fail too often. OTP's supervisor, with
// in-place restarts (a child's refs stay valid and its mailbox is kept), backoff, a decider per
// failure and failure reports with stack traces.
//
//   keel::supervisor_config dept;
//   dept.strategy = keel::restart_strategy::one_for_one;
//   dept.children = {keel::child_spec::of<worker>("worker-1"),
//   keel::child_spec::of<worker>("worker-2")}; keel::supervisor_config root; root.name = "root";
//   root.children = {keel::child_spec::of<keel::supervisor>("department", dept)};
//   auto tree = sys->spawn<keel::supervisor>(root).value();
//
// Restarts. A child that fails is held (failure.h): its queued messages wait. The decider picks a
// directive (default: restart). A restart replaces the child's actor object by a new one from its
// spec, in the same cell, after the backoff delay; the strategy says which siblings restart with
// it (one_for_all: all; rest_for_one: those started after it). Siblings restarted with it stop
// gracefully (on_stop) in reverse start order, then all start (on_start) in start order. Each
// restart counts against the child's intensity and the supervisor's; beyond either the
// supervisor stops all its children (reverse start order) and fails to its parent. A root
// supervisor (no parent) follows root_policy instead.
//
// Exits. A child that stops on its own (stop_self, ref.stop()) is restarted -- as a new actor,
// with new refs -- if it is permanent; a transient or temporary child is removed. A temporary
// child is never restarted: a failure stops it.
//
// Talking to a supervisor: the messages at the end of this file, by send or ask, from any actor
// or thread; each request is answered with the reply named beside it.
//
// Thread safety: a supervisor is an actor; its state is its own. The config types are values.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <keel/base/result.h>
#include <keel/core/actor.h>
#include <keel/core/actor_system.h>
#include <keel/core/failure.h>
#include <keel/core/json.h>

namespace keel {

enum class restart_strategy : std::uint8_t { one_for_one, one_for_all, rest_for_one };
std::string_view to_string(restart_strategy s) noexcept;

enum class restart_type : std::uint8_t {
  permanent,  // always restarted (a failure in place; an exit as a new actor)
  transient,  // restarted after a failure only; an exit removes it
  temporary,  // never restarted: a failure stops it; an exit removes it
};
std::string_view to_string(restart_type t) noexcept;

// At most max_restarts restarts within any `period`; one more escalates.
struct restart_intensity {
  std::uint32_t max_restarts = 3;
  std::chrono::nanoseconds period = std::chrono::seconds(5);
};

// Delay before restart n (0-based, counting restarts since the child last ran `reset_after`
// without failing): min(max, min_delay * factor^n) * (1 + random_factor * u), u uniform in
// [0, 1) from the supervisor's actor::rng(). min_delay 0: restart at once.
struct backoff_policy {
  std::chrono::nanoseconds min_delay{0};
  std::chrono::nanoseconds max_delay = std::chrono::seconds(30);
  double factor = 2.0;
  double random_factor = 0.2;
  std::chrono::nanoseconds reset_after = std::chrono::seconds(60);
};

// Which failures the decider sees, and a decider built from rules:
//   cfg.decider = keel::decider().on<std::bad_alloc>(keel::directive::stop)
//                                .on(keel::failure_kind::overflow, keel::directive::resume);
// Rules are tried in order; the first that matches decides; no match: restart.
class decider {
 public:
  template <class E>
  decider& on(directive d) {
    rules_.push_back([d](const failure_report& r) -> std::optional<directive> {
      if (!r.exception) return std::nullopt;
      try {
        std::rethrow_exception(r.exception);
      } catch (const E&) {
        return d;
      } catch (...) {
      }
      return std::nullopt;
    });
    return *this;
  }
  decider& on(failure_kind k, directive d) {
    rules_.push_back([k, d](const failure_report& r) -> std::optional<directive> {
      return r.kind == k ? std::optional<directive>(d) : std::nullopt;
    });
    return *this;
  }
  // Any predicate over the report.
  decider& on(std::function<std::optional<directive>(const failure_report&)> rule) {
    rules_.push_back(std::move(rule));
    return *this;
  }
  directive operator()(const failure_report& r) const {
    for (const auto& rule : rules_) {
      if (auto d = rule(r)) return *d;
    }
    return directive::restart;
  }

 private:
  std::vector<std::function<std::optional<directive>(const failure_report&)>> rules_;
};

// A breaker-like guard a supervisor consults before each restart of a child (the resilience
// layer supplies real ones): allow() false cuts the child off -- it is stopped and removed
// instead of restarted. Runs inside the supervisor.
class restart_guard {
 public:
  virtual ~restart_guard() = default;
  virtual bool allow(const failure_report& r, std::uint64_t now) = 0;
};

class supervisor;

// How to start (and restart) one child.
struct child_spec {
  // Starts the child with the given options (which name its supervisor and, on a restart, the
  // incarnation to replace): usually system.spawn_with<A>(options, ...). It must pass the
  // options on unchanged.
  using starter = std::function<result<actor_ref<>>(actor_system&, const spawn_options&)>;

  std::string name;  // unique among the supervisor's children; the last part of its path
  starter start;
  restart_type restart = restart_type::permanent;
  // Graceful stop (on_stop, or an exit_signal for an actor that traps exits), then a kill if it
  // has not stopped within `shutdown`. 0: kill at once (OTP brutal_kill).
  std::chrono::nanoseconds shutdown = std::chrono::seconds(5);
  // A significant child's exit ends its supervisor (supervisor_config::auto_shutdown).
  bool significant = false;
  // This child's own limit; unset: the supervisor's. Counted beside the supervisor's.
  std::optional<restart_intensity> intensity;
  // Spawn options (name, pin, mailbox, ...); `supervisor` and `replace` are the supervisor's.
  spawn_options options;
  // Set by of<keel::supervisor>: the child is a supervisor (it learns its path).
  bool is_supervisor = false;
  // Consulted before each restart (may be null).
  std::shared_ptr<restart_guard> guard;

  // A child of actor type A constructed from copies of `args` at every (re)start.
  template <class A, class... Args>
  static child_spec of(std::string name, Args... args) {
    child_spec s;
    s.name = std::move(name);
    s.start = [... a = std::move(args)](actor_system& sys,
                                        const spawn_options& o) -> result<actor_ref<>> {
      auto r = sys.spawn_with<A>(o, a...);
      if (!r) return r.error();
      return actor_ref<>(*r);
    };
    s.is_supervisor = std::is_same_v<A, supervisor>;
    return s;
  }
  // A child of a type registered in the system's actor factory registry (factory.h).
  static child_spec of_type(std::string name, std::string type_name, json_value args = {});
};

enum class auto_shutdown : std::uint8_t { never, any_significant, all_significant };

// What a root supervisor (one without a supervisor of its own) does when it would escalate.
enum class root_policy : std::uint8_t {
  keep_running,  // stop the tree below it and itself, report; the rest of the system runs on
  stop_system,   // the same, and actor_system::stop_requested() returns the report's text
};

struct supervisor_config {
  std::string name;  // the first part of the paths below a root supervisor ("" : its type)
  restart_strategy strategy = restart_strategy::one_for_one;
  restart_intensity intensity;
  backoff_policy backoff;
  keel::decider decider;
  auto_shutdown shutdown_on = auto_shutdown::never;
  root_policy root = root_policy::keep_running;
  std::size_t report_history = 32;   // failure reports kept (the newest)
  std::vector<child_spec> children;  // started in order by on_start

  // errc::invalid_argument naming the field, or OK.
  status validate() const;
};

// ---- requests (send or ask; the reply type follows each) ---------------------------------------

struct supervisor_reply {
  static constexpr std::string_view keel_name = "keel.supervisor_reply/1";
  status result;
  actor_ref<> child;  // create_child: the new child
};

// Starts a child from `spec` and keeps it. Reply: supervisor_reply.
struct create_child {
  static constexpr std::string_view keel_name = "keel.create_child/1";
  child_spec spec;
};
// Starts a child of a registered actor type (by name, with JSON args). Reply: supervisor_reply.
struct create_child_of_type {
  static constexpr std::string_view keel_name = "keel.create_child_of_type/1";
  std::string name;
  std::string type_name;
  json_value args;
  restart_type restart = restart_type::permanent;
};
// Stops the child (gracefully, then a kill after its shutdown timeout) and forgets its spec.
// Reply: supervisor_reply.
struct terminate_child {
  static constexpr std::string_view keel_name = "keel.terminate_child/1";
  std::string name;
};

enum class child_state : std::uint8_t {
  running,
  held,        // failed; waiting for its backoff delay or a group restart
  restarting,  // a directive is on its way
  stopping,
  stopped,  // exited (a permanent child waiting to be restarted)
};
std::string_view to_string(child_state s) noexcept;

struct child_info {
  std::string name;
  actor_ref<> ref;
  restart_type restart = restart_type::permanent;
  child_state state = child_state::running;
  std::uint32_t restarts = 0;
};

// Reply: supervisor_status.
struct supervisor_status_request {
  static constexpr std::string_view keel_name = "keel.supervisor_status_request/1";
};
struct supervisor_status {
  static constexpr std::string_view keel_name = "keel.supervisor_status/1";
  std::string path;
  restart_strategy strategy = restart_strategy::one_for_one;
  restart_intensity intensity;
  backoff_policy backoff;
  std::vector<child_info> children;    // in start order
  std::uint64_t restarts = 0;          // all restarts so far
  std::uint64_t failures = 0;          // child failures reported to it
  std::vector<failure_report> recent;  // the newest report_history reports, oldest first
  std::vector<std::string> killed;     // children it had to kill in shutdowns (names)
};

// Changes the strategy, intensity and backoff while it runs (validated like a config; the
// restart history is kept). Reply: supervisor_reply.
struct reconfigure_supervisor {
  static constexpr std::string_view keel_name = "keel.reconfigure_supervisor/1";
  restart_strategy strategy = restart_strategy::one_for_one;
  restart_intensity intensity;
  backoff_policy backoff;
};

// Stops every child in reverse start order (each within its shutdown timeout), then the
// supervisor itself. Reply: supervisor_status (as it was at the end).
struct shutdown_supervisor {
  static constexpr std::string_view keel_name = "keel.shutdown_supervisor/1";
};

namespace detail {
struct supervisor_state;
// Internal messages of the supervisor (its timers and its path).
struct supervisor_timer {
  static constexpr std::string_view keel_name = "keel.supervisor_timer/1";
  std::uint64_t serial;
};
struct supervisor_path {
  static constexpr std::string_view keel_name = "keel.supervisor_path/1";
  std::string path;
};
}  // namespace detail

class supervisor : public actor<supervisor, child_failed, child_exit, child_halted, create_child,
                                create_child_of_type, terminate_child, supervisor_status_request,
                                reconfigure_supervisor, shutdown_supervisor,
                                detail::supervisor_timer, detail::supervisor_path> {
 public:
  static constexpr std::string_view keel_name = "keel.supervisor";

  // Throws std::invalid_argument when config.validate() fails (spawn returns errc::failed
  // with the text).
  explicit supervisor(supervisor_config config);
  ~supervisor() override;

  void on_start() override;
  void on_stop() override;

  void on(child_failed& m);
  void on(child_exit& m);
  void on(child_halted& m);
  void on(create_child& m);
  void on(create_child_of_type& m);
  void on(terminate_child& m);
  void on(supervisor_status_request& m);
  void on(reconfigure_supervisor& m);
  void on(shutdown_supervisor& m);
  void on(detail::supervisor_timer& m);
  void on(detail::supervisor_path& m);

 private:
  friend struct detail::supervisor_state;
  std::unique_ptr<detail::supervisor_state> st_;
};

}  // namespace keel
