// system_state: the private state of one actor_system. Shared by the files of core/.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/bounded_lane.h"
#include "core/pending_asks.h"

#include <keel/core/actor.h>
#include <keel/core/actor_system.h>
#include <keel/core/cell.h>
#include <keel/core/counters.h>
#include <keel/core/failure.h>
#include <keel/core/monitor.h>
#include <keel/core/rng.h>
#include <keel/sched/scheduler.h>

namespace keel::detail {

// Envelope size classes (header + payload), cached per worker.
inline constexpr std::size_t k_size_classes[] = {128, 256, 512, 1024};
inline constexpr std::uint8_t k_class_count = 4;

// A worker's free envelopes of one size class: a stack of raw blocks. An array rather than a
// list threaded through the blocks, so that an allocation can prefetch the blocks the next
// few sends will write (a list shows one block ahead, and a block another core freed costs a
// cross-core miss to read its link), and so that refilling from returned batches reads no
// block but the batch's head.
struct envelope_cache {
  std::unique_ptr<void*[]> slots;
  std::uint32_t count = 0;
  std::uint32_t capacity = 0;
};
inline constexpr std::uint32_t k_alloc_prefetch = 4;  // blocks ahead of the one handed out

// Envelopes freed on one worker that another worker allocated go back to it in batches. The
// first envelope of a batch becomes its head, built in place over the dead envelope, and lists
// the others: the freeing worker writes only into the head (the others' lines stay where they
// are), and the owner, once it has read the head, fetches all the others at once.
struct returned_batch {
  static constexpr std::uint32_t k_members = 13;  // a batch is the head and 13 more
  returned_batch* below = nullptr;                // the next batch on the owner's stack
  std::uint32_t count = 0;                        // members used
  std::uint8_t size_class = 0;
  void* members[k_members];
};
static_assert(sizeof(returned_batch) <= k_size_classes[0], "a batch head fits any envelope");

// What one worker holds for return to one other worker, per size class: the batch it fills,
// and full batches (linked through `below`) that go back together, one CAS per
// k_batches_per_return (about 56 envelopes: each return costs the owner a cross-core miss on
// its stack, so fewer and larger returns are cheaper).
struct return_state {
  returned_batch* filling = nullptr;
  returned_batch* full = nullptr;       // newest full batch
  returned_batch* full_last = nullptr;  // oldest full batch (its below is set at the return)
  std::uint32_t full_count = 0;
};
inline constexpr std::uint32_t k_batches_per_return = 8;

// A stopped actor's slot, ready for reuse; its next incarnation's generation follows this one.
struct free_slot {
  std::uint32_t slot;
  std::uint32_t last_generation;
};

// Per-worker core state (worker::user_data()). Owner thread only, except the counter rows,
// which other threads read.
struct core_local {
  system_state* sys = nullptr;
  sched::worker* w = nullptr;
  std::uint8_t index = envelope::k_no_origin;  // the worker's index if < 255
  std::unique_ptr<counter_row[]> counters;
  envelope_cache caches[k_class_count];
  // Envelopes on their way back, per origin worker and size class; owner only.
  std::vector<std::array<return_state, k_class_count>> returns;
  // Envelopes other workers return to this one, as batches pushed with CAS; the owner takes
  // the whole stack with one exchange when its cache runs dry. Padded: other threads write it.
  cache_padded<std::atomic<returned_batch*>> returned{nullptr};
  message_id next_id = 0;
  message_id id_limit = 0;
  actor_cell* running = nullptr;  // the actor whose activation this worker runs
  envelope* current = nullptr;    // the message it is handling
  caught_exception caught;        // what the last failing handler threw (until it is reported)
  std::string stop_text;          // why the running actor stops, when the text is not static
  // Set by a supervisor around its child_spec.start call while hooks are attached: the child's
  // supervision path. The spawn that call makes takes it (and clears it) and tells on_restart
  // in the child's own order, before the new object's on_start (tell_restart).
  std::string* restart_path = nullptr;
};

// A watcher of an actor (keel/core/monitor.h).
struct monitor_entry {
  actor_handle watcher;
  std::uint64_t id;
};

// Lazily allocated per-actor state.
// actor::fail()'s reason and trace, kept until the handler returns.
struct pending_failure {
  std::string text;
  stack_trace trace;
};
struct cell_extras {
  std::string name;
  std::unique_ptr<pending_failure> failing;  // set by actor::fail()
  // Messages to hand to the actor before its lane: held while it was suspended, or put back by
  // unstash_all (oldest first). mark_stashed says the list is not empty.
  mailbox_link* stash_head = nullptr;
  mailbox_link* stash_tail = nullptr;
  pending_asks asks;
  actor_rng rng;  // seeded on first use (rng_of)
  bool rng_ready = false;
  // The user's stash (actor_base::stash), oldest first; unstash_all moves it in front of the
  // list above (stash_head). user_stash_count includes a stash() of the running handler.
  mailbox_link* user_stash_head = nullptr;
  mailbox_link* user_stash_tail = nullptr;
  std::uint32_t user_stash_count = 0;
  std::uint32_t stash_capacity = 0;  // 0: system_config::stash_capacity
  // Death watch: who monitors this actor (sent a `down` when it stops), the monitors this
  // actor cancelled (their down is dropped), and the last monitor id it handed out.
  std::vector<monitor_entry> monitors;
  std::vector<actor_handle> links;  // actor::link peers
  std::unordered_set<std::uint64_t> demonitored;
  std::uint64_t monitor_serial = 0;
  // actor::await_capacity continuations, by token (capacity_msg), and the last token used.
  std::unordered_map<std::uint64_t, std::function<void()>> capacity_waits;
  std::uint64_t capacity_serial = 0;
  // Messages delivered while hooks were attached (deliver_event::input_no): kept across
  // restarts, so that recorded input numbers run on through them.
  std::uint64_t hook_inputs = 0;
  std::uint64_t recording_mark = 0;  // deliver_event::recording_mark
  bool replay_hold = false;          // actor_system::hold_failures_for_replay: a failure holds it
};

// System lane: add (or, add false, remove) a watcher.
struct monitor_msg {
  static constexpr std::string_view keel_name = "keel.monitor/1";
  actor_handle watcher;
  std::uint64_t id;
  bool add;
};

// System lane: a link (actor::link) added, removed, or ended by the peer's failure or stop.
struct link_msg {
  static constexpr std::string_view keel_name = "keel.link/1";
  enum class kind : std::uint8_t { add, remove, exit };
  actor_handle peer;
  kind what = kind::add;
  bool failed = false;  // exit: the peer failed (rather than stopped)
  std::string text;     // exit: why
};

// Control message on the system lane.
struct control_msg {
  static constexpr std::string_view keel_name = "keel.control/1";
  control what;
};
// An actor object on its way to a cell (a supervisor's restart): destroyed and freed unless the
// cell takes it.
struct owned_behavior {
  actor_base* p = nullptr;
  owned_behavior() noexcept = default;
  explicit owned_behavior(actor_base* b) noexcept : p(b) {}
  owned_behavior(owned_behavior&& o) noexcept : p(std::exchange(o.p, nullptr)) {}
  owned_behavior& operator=(owned_behavior&&) = delete;
  ~owned_behavior();
  actor_base* release() noexcept { return std::exchange(p, nullptr); }
};
// A supervisor's directive to a child, on the child's system lane (supervision.cpp).
enum class directive_kind : std::uint8_t {
  resume,    // held -> running, same object
  restart,   // the object becomes `fresh` (on_start runs); acked with child_step::restarted
  halt,      // on_stop (unless it failed), the object is destroyed, held; acked: halted
  stop,      // stops as failed (no on_stop)
  kill,      // stops at once: no on_stop
  shutdown,  // graceful: an exit_signal if it traps exits, else a stop with on_stop
};
struct directive_msg {
  static constexpr std::string_view keel_name = "keel.directive/1";
  directive_kind what;
  owned_behavior fresh;
  // restart by a supervisor, with hooks attached: the child's supervision path (never empty),
  // for the on_restart the child tells as it takes the new object. Empty: nothing to tell.
  std::string restart_path;
};
// Any thread: sends a directive to `child`; dead_letter if that incarnation has stopped (and
// `fresh`, if any, is freed). `restart_path`: see directive_msg.
send_status send_directive(system_state* s, actor_handle child, directive_kind what,
                           owned_behavior fresh = owned_behavior(),
                           std::string* restart_path = nullptr) noexcept;
// The restart hooks (on_restart) for the actor in `c` (generation gen), on the clock its next
// handler reads, with `path` as the reason. The caller runs in the actor's order: the child's
// activation taking a restart directive, or the spawn of a new incarnation before its start
// message. No-op without hooks.
void tell_restart(system_state* s, actor_cell* c, std::uint32_t gen, std::string_view path,
                  bool new_incarnation) noexcept;

// Internal: a bounded lane this actor waited for has room (actor::await_capacity).
struct capacity_msg {
  static constexpr std::string_view keel_name = "keel.capacity/1";
  std::uint64_t token;
};
// Internal: an ask made inside an actor timed out.
struct ask_timeout_msg {
  static constexpr std::string_view keel_name = "keel.ask_timeout/1";
  message_id request;
};

struct runtime_access {
  static void bind(actor_base* a, actor_cell* c, std::uint32_t gen) noexcept {
    a->cell_ = c;
    a->generation_ = gen;
  }
  static void set_current(actor_base* a, envelope* e) noexcept { a->current_ = e; }
  static constexpr std::uint8_t k_stop = actor_base::k_request_stop;
  static constexpr std::uint8_t k_stash = actor_base::k_request_stash;
  static constexpr std::uint8_t k_unstash = actor_base::k_request_unstash;
  static constexpr std::uint8_t k_fail = actor_base::k_request_fail;
  static std::uint8_t requests(const actor_base* a) noexcept { return a->requests_; }
  static std::uint8_t take_requests(actor_base* a) noexcept {
    return std::exchange(a->requests_, std::uint8_t{0});
  }
};

struct system_state final : sched::task_runner {
  static constexpr std::uint32_t k_chunk_bits = 12;  // 4096 cells a chunk
  static constexpr std::uint32_t k_chunk_size = 1U << k_chunk_bits;
  static constexpr std::uint32_t k_max_chunks = 1U << 15;  // 134M actors

  explicit system_state(system_config c);
  ~system_state() override;

  // task_runner
  sched::run_result run(sched::task* t, sched::worker& w) noexcept override;
  // One activation of a live actor (system lane, then up to the budget of user messages).
  enum class activation_outcome : std::uint8_t { drained, yield };
  activation_outcome activate(actor_cell* c, sched::worker& w, core_local* l) noexcept;
  static constexpr std::uint8_t k_kept = 0x80;  // take_handler_requests: e went into the stash
  std::uint8_t take_handler_requests(actor_cell* c, actor_base* b, envelope* e) noexcept;
  bool deliver_counted(actor_cell* c, envelope* e) noexcept;
  // Watches an idle actor's mailbox while the worker has nothing else to do; true if mail came.
  bool spin_for_mail(actor_cell* c, sched::worker& w) noexcept;
  void on_worker_start(sched::worker& w) noexcept override;
  void on_worker_stop(sched::worker& w) noexcept override;
  void on_long_activation(std::uint32_t worker_index, sched::task* t,
                          std::uint64_t elapsed_ns) noexcept override;
  // A worker's core state (envelope caches, counter shard); may throw std::bad_alloc.
  std::unique_ptr<core_local> make_local(std::uint8_t index);
  // A detached actor's thread: its own core state, created and dropped with it (blocking.cpp).
  void start_detached_local(sched::worker& w) noexcept;
  void stop_detached_local(sched::worker& w) noexcept;

  core_local* local() noexcept {  // this thread's worker state, if it is our worker
    sched::worker* w = sched::worker::current();
    if (w == nullptr) return nullptr;
    auto* l = static_cast<core_local*>(w->user_data());
    return (l != nullptr && l->sys == this) ? l : nullptr;
  }
  actor_cell* cell_at(std::uint32_t slot) const noexcept {
    actor_cell* chunk = chunks[slot >> k_chunk_bits].load(std::memory_order_acquire);
    return chunk == nullptr ? nullptr : chunk + (slot & (k_chunk_size - 1));
  }
  counter_row& row(core_local* l, std::uint32_t type_index) noexcept {
    return l != nullptr ? l->counters[type_index] : external_rows[type_index];
  }
  void count(core_local* l, std::uint32_t type_index,
             std::atomic<std::uint64_t> counter_row::*field) noexcept {
    if (l != nullptr) {
      owner_add(l->counters[type_index].*field);
    } else {
      (external_rows[type_index].*field).fetch_add(1, std::memory_order_relaxed);
    }
  }

  // Dead letters: counts, records, runs hooks, answers asks, destroys the payload; frees the
  // envelope if `owned` (an envelope still in a mailbox lane is freed by the lane).
  void dead(envelope* e, actor_cell* target, dead_letter_reason reason, bool owned) noexcept;
  void drop_system(envelope* e, actor_cell* c) noexcept;  // e is in the lane (not owned)
  void report(diagnostic d) noexcept;
  void finalize_stop(actor_cell* c, core_local* l, bool failed, std::string_view why) noexcept;
  void answer_ask(envelope* request, errc code, std::string_view text) noexcept;
  // Death watch (monitor.cpp): the token holder records or forgets a watcher; a monitor
  // request that reached a stopped actor is answered noproc; a stopped actor's watchers are
  // sent their down.
  void take_monitor_msg(actor_cell* c, envelope* e) noexcept;
  void answer_monitor_noproc(envelope* e, actor_cell* c) noexcept;
  void notify_monitors(std::vector<monitor_entry> watchers, actor_handle who, bool failed,
                       std::string_view why) noexcept;
  // The actor type's static name; empty for an index not (yet) assigned. No lock.
  std::string_view type_name_of(std::uint32_t type_index) const noexcept;
  // Links (links.cpp). take_link_msg: the token holder applies a link message; true when the
  // actor must fail because a linked actor failed (`failure`: the text). notify_links: a failed
  // or stopped actor tells its peers, and its links end.
  bool take_link_msg(actor_cell* c, envelope* e, std::string& failure) noexcept;
  void notify_links(actor_cell* c, bool failed, std::string_view why) noexcept;
  // A link request that reached a stopped actor (the stopped path's drop_system).
  void answer_link_noproc(envelope* e, actor_cell* c) noexcept;
  // Supervision, the child's side (supervision.cpp). A failed actor with a supervisor is held
  // and its report sent (true); false: it has none (or it is gone), so the actor stops.
  bool hold_failed(actor_cell* c, failure_report& r) noexcept;
  // The report of a failure of `c` while handling `e` (null: in on_start or a directive): from
  // the exception `caught` (taken out of it), `text`, or actor::fail()'s reason and trace.
  failure_report describe_failure(actor_cell* c, envelope* e, failure_kind kind,
                                  caught_exception* caught, const char* text) noexcept;
  // What the activation must do after a directive.
  enum class directive_step : std::uint8_t { nothing, resumed, start, stop, kill, graceful };
  directive_step take_directive(actor_cell* c, envelope* e) noexcept;
  // A stopped actor with a supervisor tells it (finalize_stop).
  void tell_parent_exit(actor_cell* c, actor_handle who, bool failed,
                        std::string_view why) noexcept;
  // A child_failed that no supervisor will handle: the held child is stopped.
  void release_orphan(envelope* e) noexcept;

  system_config cfg;
  actor_system* face = nullptr;
  std::unique_ptr<sched::scheduler> sched;
  std::uint64_t seed = 0;  // the system seed (never 0 once constructed)
  std::unique_ptr<actor_factory_registry> factories;
  std::vector<std::unique_ptr<core_local>> locals;
  std::atomic<bool> shutting_down{false};
  bool shut_down = false;
  // The incarnation actor_system::restart_for_replay is restarting (its spawn_options.replace
  // is allowed without a supervisor); set and read on the replay's driving thread only.
  actor_handle replay_replacing;
  // actor_system::serve_externals_for_replay: block_in_place serves recorded results from
  // external_source (set once, before the replay's first input; read by its driving thread).
  bool serving_externals = false;
  actor_system::external_source external_source;

  // Detached actors' threads: their core_local (created in on_worker_start), for counters().
  std::mutex dedicated_mu;
  std::vector<core_local*> dedicated_locals;  // guarded by dedicated_mu

  // The actor table.
  std::unique_ptr<std::atomic<actor_cell*>[]> chunks;
  std::mutex table_mu;
  std::uint32_t slots_used = 0;      // guarded by table_mu
  std::deque<free_slot> free_slots;  // guarded by table_mu
  // Bounded-lane counts, one per slot that ever had a bounded incarnation, linked through
  // next_owned (freed with the system: actor_cell::bounded points here). Guarded by table_mu.
  bounded_lane* bounded_lanes = nullptr;
  std::atomic<std::size_t> live{0};
  std::atomic<std::uint64_t> next_serial{1};
  std::atomic<message_id> next_message_id{1};

  // Types.
  type_registry types;
  std::mutex atype_mu;
  std::unordered_map<const void*, std::uint32_t> atype_index;  // guarded by atype_mu
  // Actor type names by type index (cfg.max_actor_types entries). They are the types' static
  // names (actor_type_name<A>()), so views that live as long as the program. Written under
  // atype_mu; read without a lock: an entry is written before atype_count is raised past it
  // (release), and a reader loads atype_count (acquire) before the entry.
  std::unique_ptr<std::string_view[]> atype_names;
  std::atomic<std::uint32_t> atype_count{0};
  // A lock-free front for atype_index: spawns of a known actor type take no lock. Entries are
  // written under atype_mu (index first, then identity with release) and never removed;
  // readers load identity with acquire. Types that find no room stay in atype_index only.
  struct atype_cache_entry {
    std::atomic<const void*> identity{nullptr};
    std::atomic<std::uint32_t> index{0};
  };
  static constexpr std::size_t k_atype_cache = 256;
  static constexpr std::size_t k_atype_probe = 8;
  std::array<atype_cache_entry, k_atype_cache> atype_cache;
  // The cached type index of `identity`, or UINT32_MAX. Any thread.
  std::uint32_t cached_type_index(const void* identity) const noexcept;
  // Under atype_mu.
  void cache_type_index(const void* identity, std::uint32_t index) noexcept;
  std::unique_ptr<counter_row[]> external_rows;
  std::atomic<std::uint64_t> cancelled_timer_drops{0};
  std::atomic<std::uint64_t> send_oom{0};  // sends that failed to allocate an envelope

  // Names.
  mutable std::mutex names_mu;
  std::unordered_map<std::string, actor_handle> names;

  // Each slot's supervisor (spawn_options::supervisor), as a packed actor_handle (0: none), in
  // an array after the chunk's cells (parent_word): not a cell field, as the cell's two lines
  // are full. Written by spawn before the generation is published, cleared when the actor
  // stops; read on failures, halts and exits only.
  std::atomic<std::uint64_t>* parent_word(std::uint32_t slot) const noexcept {
    actor_cell* chunk = chunks[slot >> k_chunk_bits].load(std::memory_order_acquire);
    if (chunk == nullptr) return nullptr;
    return reinterpret_cast<std::atomic<std::uint64_t>*>(chunk + k_chunk_size) +
           (slot & (k_chunk_size - 1));
  }
  static std::uint64_t pack(actor_handle h) noexcept {
    return (static_cast<std::uint64_t>(h.slot) << 32) | h.generation;
  }
  static actor_handle unpack(std::uint64_t v) noexcept {
    return {static_cast<std::uint32_t>(v >> 32), static_cast<std::uint32_t>(v)};
  }
  // Any thread: the supervisor of incarnation (slot, generation), or {} (none, or it stopped).
  actor_handle parent_of(std::uint32_t slot, std::uint32_t generation) const noexcept;
  // Token holder of `c`: the same, without a look for an unsupervised actor.
  actor_handle parent_of(const actor_cell* c) const noexcept {
    if (!c->marked(mark_supervised)) return {};
    return unpack(parent_word(c->slot)->load(std::memory_order_relaxed));
  }

  // actor_system::request_stop.
  mutable std::mutex stop_mu;
  std::optional<std::string> stop_reason;  // guarded by stop_mu

  // Dead letters.
  std::atomic<std::uint64_t> dead_letters{0};
  mutable std::mutex dl_mu;
  std::deque<dead_letter> recent;

  // Hooks, sorted by phase. The flags are fixed at construction (no subscriber added later).
  std::vector<std::shared_ptr<hook_subscriber>> hooks;
  bool any_hooks = false;

  // Diagnostics rate limit (default sink).
  std::mutex diag_mu;
  std::uint64_t diag_window_start = 0;
  std::uint32_t diag_in_window = 0;
  std::uint64_t diag_suppressed = 0;
};

envelope* copy_envelope(system_state* s, envelope* src) noexcept;
// Frees the envelopes a stopped worker's state holds: its batches on their way back to other
// workers and its own cache.
void free_held_envelopes(core_local* l) noexcept;
// Frees an envelope of system `s` (payload destroyed): into this worker's cache if it came from
// here, batched back to the worker that allocated it otherwise. Any thread.
void free_envelope_in(system_state* s, envelope* e) noexcept;
// The same, on a worker of the envelope's system whose core_local `l` the caller holds.
void free_envelope_at(core_local* l, envelope* e) noexcept;
// Frees a batch's head and members (shutdown).
void free_batch(returned_batch* b) noexcept;
// Token holder of `c`: consumes a `down` whose monitor `c` cancelled (true); false: handle it.
bool take_down(actor_cell* c, envelope* e) noexcept;
// Token holder of `c`: runs the await_capacity continuation `e` names. May throw.
bool run_capacity_continuation(actor_cell* c, envelope* e);
// Spawn: gives the new incarnation of `c` its bound (capacity 0: unbounded), taking `spare`
// if the slot has no lane yet (spare is non-null whenever bound.capacity is not 0).
void bind_bounded_lane(system_state* s, actor_cell* c, const mailbox_bound& bound,
                       std::unique_ptr<bounded_lane>& spare) noexcept;
mailbox_stats stats_of(const bounded_lane& b) noexcept;
// Token holder of `c`: consumes `e` if it is a reply to a pending ask or an ask timeout.
bool route_reply_or_timeout(actor_cell* c, envelope* e);  // may throw (a continuation)
// Whether `e` (a reply or an ask's timeout) would complete an ask `c` is waiting for: then
// `ask_id` is the ask's request id and `timeout` says which. (For the hooks: such an
// input runs the ask's continuation.)
bool completes_pending_ask(const actor_cell* c, const envelope* e, message_id& ask_id,
                           bool& timeout) noexcept;
bool timer_cancelled(core_timer* t) noexcept;
// Any thread: pushes `e` (a runtime message) onto the system lane of incarnation `generation`
// of `c` and schedules `c` if it was idle. The caller checked that the incarnation lives; if it
// stops meanwhile, its stopped path drops `e` (drop_system).
void push_system_message(actor_cell* c, std::uint32_t generation, envelope* e) noexcept;
// A C++ symbol or type name, demangled (the name itself if it cannot be).
std::string demangle(const char* name);
// Token holder of `c`: the user's stash (actor_base::stash) goes in front of the messages to
// replay, oldest first (unstash_all, and a restart in place).
void unstash_to_front(actor_cell* c) noexcept;
cell_extras& extras_of(actor_cell* c);               // throws std::bad_alloc
cell_extras* try_extras_of(actor_cell* c) noexcept;  // nullptr when out of memory
// The text of the exception being handled (inside a catch block): what() or a placeholder.
std::string describe_exception();

}  // namespace keel::detail
