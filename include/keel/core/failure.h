// What keel knows about one actor failure, and the messages a supervised actor's runtime
// exchanges with its supervisor (supervisor.h).
//
// A failure is a handler (or on_start) that threw, an explicit actor::fail(reason), or a bounded
// mailbox with the `fail` policy that overflowed. An actor spawned with a supervisor
// (spawn_options::supervisor) is then *held*: it handles no user message -- they wait in its
// mailbox, in order -- and its supervisor receives a child_failed with the report below. The
// supervisor answers with a directive (resume, restart in place, stop). An actor without a
// supervisor stops, and the report goes to the diagnostics sink.
//
// The message that was being handled when the actor failed is not handed to it again (at most
// once): it is named in the report, counted as a failure, and an ask that carried it is answered
// errc::failed. Every message queued behind it is kept and handled after a resume or restart.
//
// Thread safety: plain values; a report is built on the failing actor's worker and read by its
// supervisor.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include <keel/core/ids.h>

namespace keel {

// A call stack as raw return addresses. Capturing walks the stack and resolves nothing;
// symbolize() maps each address to its module and offset (and a symbol where the dynamic symbol
// table has one), off the failing actor's path.
class stack_trace {
 public:
  static constexpr std::size_t k_max_frames = 32;

  // The calling thread's stack, skipping the `skip` innermost frames beyond capture's own.
  // No lock and no allocation after the unwinder's first use in the process (which loads it).
  [[gnu::noinline]] static stack_trace capture(std::size_t skip = 0) noexcept;

  // Copies only the frames in use (a report carries an empty trace more often than not, and is
  // moved a few times on the way to its supervisor).
  stack_trace() noexcept {}
  stack_trace(const stack_trace& o) noexcept : count_(o.count_) { copy_from(o); }
  stack_trace& operator=(const stack_trace& o) noexcept {
    count_ = o.count_;
    copy_from(o);
    return *this;
  }

  bool empty() const noexcept { return count_ == 0; }
  std::size_t size() const noexcept { return count_; }
  void* operator[](std::size_t i) const noexcept { return frames_[i]; }

  struct frame {
    void* address = nullptr;
    std::string module;         // the shared object or executable holding the address ("?" if none)
    std::uintptr_t offset = 0;  // address - the module's load address
    std::string symbol;         // the nearest dynamic symbol, demangled; empty if unknown
  };
  std::vector<frame> symbolize() const;
  // One line per frame: "#3 0x55d0c1a2b3c4 keel-demo+0x1b3c4 (symbol)".
  std::string to_string() const;

 private:
  void copy_from(const stack_trace& o) noexcept {
    for (std::size_t i = 0; i < count_; ++i) frames_[i] = o.frames_[i];
  }
  std::uint8_t count_ = 0;
  std::array<void*, k_max_frames> frames_;  // [0, count_) are set
};

enum class failure_kind : std::uint8_t {
  exception,  // a handler threw
  fail_call,  // the actor called actor::fail(reason)
  start,      // on_start threw or called fail()
  overflow,   // its bounded mailbox overflowed under the `fail` policy
  linked,     // an actor linked to it failed, and it does not trap exits (actor::link)
};
std::string_view to_string(failure_kind k) noexcept;

// Where the report's trace was taken.
enum class trace_origin : std::uint8_t {
  none,        // no trace: an exception thrown without keel's throw hook linked in
  fail_call,   // inside actor::fail()
  throw_site,  // at the throw, by the opt-in throw hook (keel::throw_hook, see throw_hook.h)
};
std::string_view to_string(trace_origin o) noexcept;

// What a supervisor decided for a failed child.
enum class directive : std::uint8_t {
  resume,    // keep the actor object and its state; handle the next message
  restart,   // replace the actor object by a new one from its child spec, in the same cell:
             // refs stay valid, the mailbox is kept
  stop,      // stop it (as failed); its queued messages become dead letters
  escalate,  // the supervisor fails in turn, to its own supervisor
};
std::string_view to_string(directive d) noexcept;

struct failure_report {
  std::string path;  // the supervision path, e.g. "root/department/worker-1" (set by the
                     // supervisor; empty for an unsupervised actor)
  actor_handle actor;
  actor_id id = k_no_actor;
  std::string actor_name;  // registered name, if any
  // The names below are static (the types' registered names, and a process-wide table of
  // demangled exception names): they live as long as the program, and building a report
  // allocates nothing for them.
  std::string_view actor_type;
  failure_kind kind = failure_kind::exception;
  std::string text;                 // what() of the exception, or the fail() reason
  std::string_view exception_type;  // the thrown type, demangled (empty if not an exception)
  std::exception_ptr exception;     // the exception itself, for a decider that matches types
  std::string_view message_type;    // the message being handled (empty in on_start)
  message_id correlation = 0;
  std::uint64_t at = 0;                  // the actor's clock (actor::now()) when it failed
  std::uint32_t restart_count = 0;       // restarts of this child before this failure (supervisor)
  directive decision = directive::stop;  // what was done about it (supervisor)
  trace_origin origin = trace_origin::none;
  stack_trace trace;

  // One line: path, actor, kind, text, message, correlation, restarts, decision.
  std::string summary() const;
  // The summary, then the trace symbolized, one frame a line (or why there is none).
  std::string to_string() const;
};

// ---- the supervision protocol (sent by the runtime; handled by keel::supervisor) ---------------

// To the supervisor when a child fails: the child is held until a directive comes back.
struct child_failed {
  static constexpr std::string_view keel_name = "keel.child_failed/1";
  failure_report report;
};

// To the supervisor when a child has stopped for good (it stopped itself, was stopped, or a
// stop directive ended it). failed: it ended by a failure.
struct child_exit {
  static constexpr std::string_view keel_name = "keel.child_exit/1";
  actor_handle who;
  bool failed = false;
  std::string reason;
};

// To the supervisor when a child has carried out a halt (its object destroyed, after on_stop
// unless it had failed; held until a restart), in a group restart.
struct child_halted {
  static constexpr std::string_view keel_name = "keel.child_halted/1";
  actor_handle who;
};

// A graceful stop request to an actor that traps exits (lists keel::exit_signal among its
// messages): a supervisor's ordered shutdown, or the end of a linked actor. An actor that does
// not handle it is stopped (or, for a linked failure, fails) instead. A trapping actor decides
// itself when to stop; a supervisor kills it once the child's shutdown timeout has passed.
enum class exit_reason : std::uint8_t { shutdown, stopped, failed };
struct exit_signal {
  static constexpr std::string_view keel_name = "keel.exit/1";
  actor_handle from;
  exit_reason reason = exit_reason::shutdown;
  std::string text;
};

}  // namespace keel
