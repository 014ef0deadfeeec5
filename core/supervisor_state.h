// keel::supervisor's state (include/keel/core/supervisor.h). Owned by the supervisor object;
// touched only inside its handlers. supervisor.cpp: lifecycle, requests, status;
// supervisor_restart.cpp: failures, intensity, backoff, group restarts, shutdowns.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <keel/core/supervisor.h>

namespace keel::detail {

struct system_state;

// Restart times within an intensity period, oldest first. Holds at most max_restarts + 1 times:
// enough to tell whether more than max_restarts fell within the period.
using restart_window = std::deque<std::uint64_t>;

// One child. Kept at 256 bytes (an allocator size class): it is most of what a supervised idle
// child costs (supervised_memory, docs/benchmarks.md).
struct child_record {
  child_spec spec;
  actor_ref<> ref;
  std::uint64_t last_restart = 0;          // now() at its last (re)start
  std::unique_ptr<restart_window> window;  // its own intensity's window (spec.intensity only)
  std::uint32_t restarts = 0;              // all its restarts
  std::uint32_t streak = 0;                // restarts since it last ran reset_after without failing
  child_state state = child_state::running;
  bool remove_on_exit = false;  // forget it once it has stopped
  bool killed = false;          // killed in the current shutdown or group restart
};
static_assert(sizeof(child_record) <= 256, "a child record fits the 256-byte size class");

// What a timer of the supervisor is for.
struct timer_action {
  enum class kind : std::uint8_t { restart, stop_timeout } what;  // stop: a halt or a shutdown
  actor_handle child;  // restart: the failed child (its group restarts with it)
};

// Why the children are being stopped one by one.
enum class sequence_goal : std::uint8_t {
  none,
  escalate,   // then fail to the parent (or follow the root policy)
  shutdown,   // then stop (shutdown_supervisor, auto_shutdown, a root escalation)
  terminate,  // terminate_child: just that one
  group,      // a group restart: halt (not stop) in reverse order, then restart all
};

struct supervisor_state {
  supervisor& self;
  supervisor_config cfg;
  system_state* sys = nullptr;
  std::string path;
  std::vector<std::unique_ptr<child_record>> children;  // start order
  std::unordered_map<std::uint64_t, child_record*> by_handle;
  std::uint64_t restarts_total = 0;
  std::uint64_t failures_total = 0;
  restart_window window;  // the supervisor's restart times within its period
  std::deque<std::shared_ptr<const failure_report>> recent;  // also given to the sink
  std::vector<std::string> killed_names;
  std::unordered_map<std::uint64_t, timer_action> timers;
  std::uint64_t timer_serial = 0;

  // The sequence in progress (children stopped or halted one at a time, newest first).
  sequence_goal goal = sequence_goal::none;
  std::vector<child_record*> queue;  // still to stop or halt, next at the back
  child_record* current = nullptr;   // waiting for it
  std::uint64_t current_timer = 0;
  std::vector<child_record*> group;  // a group restart's members, start order
  std::string escalate_reason;
  // Who asked for the sequence (shutdown_supervisor, terminate_child): answered at its end.
  reply_address asker;
  bool answer_with_status = false;      // shutdown_supervisor: the status; else supervisor_reply
  std::deque<failure_report> deferred;  // failures that came during a sequence
  std::deque<actor_handle> deferred_restarts;  // backoff timers that fired during one

  supervisor_state(supervisor& s, supervisor_config c) : self(s), cfg(std::move(c)) {}

  static std::uint64_t key(actor_handle h) noexcept {
    return (static_cast<std::uint64_t>(h.slot) << 32) | h.generation;
  }
  child_record* find(actor_handle h) noexcept {
    auto it = by_handle.find(key(h));
    return it == by_handle.end() ? nullptr : it->second;
  }
  child_record* find(std::string_view name) noexcept {
    for (auto& c : children) {
      if (c->spec.name == name) return c.get();
    }
    return nullptr;
  }
  std::uint64_t now() const noexcept;
  actor_handle me() const noexcept;

  // Starting.
  status check_spec(const child_spec& spec) const;
  result<actor_ref<>> start(child_record& c, bool in_place);
  status adopt(child_record& c, const actor_ref<>& r);  // checks what the starter returned
  void forget(child_record* c);
  void send_path(child_record& c);

  // Failures and exits (supervisor_restart.cpp).
  void on_failure(failure_report r);
  void on_exit(child_record& c, bool failed);
  bool count_restart(child_record& c);  // false: an intensity was exceeded
  std::uint64_t backoff_delay(child_record& c);
  void restart_now(child_record& failed);
  void restart_one(child_record& c);
  void escalate(std::string why);
  void keep_report(failure_report r);
  void arm(timer_action a, std::chrono::nanoseconds delay, std::uint64_t* serial_out = nullptr);
  void on_timer(std::uint64_t serial);

  // Sequences.
  void begin_sequence(sequence_goal g, std::vector<child_record*> members);
  void step_sequence();
  void finish_sequence();
  void child_done();      // the current child stopped or halted: on to the next
  void after_sequence();  // handle deferred failures
  void check_auto_shutdown(bool significant);  // a child left
  supervisor_status status_now() const;
};

}  // namespace keel::detail
