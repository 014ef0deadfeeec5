// Running a replay plan: fresh actor systems on the deterministic executor, the scenario's actors
// spawned under their recorded ids, each recorded input delivered at its recorded now(), and
// what the actors do compared with what the log says they did.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <map>
#include <thread>
#include <unordered_map>

#include "eventlog/replay_impl.h"

#include <keel/core/actor_system.h>
#include <keel/core/state.h>
#include <keel/eventlog/reader.h>
#include <keel/eventlog/recorder.h>

namespace keel::eventlog {
namespace {

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// The replay system's only hook subscriber: lets through what the driver delivers, captures and
// drops everything else (the replayed actors' sends and timers), and watches the replayed
// actors' inputs, state after each input, and failures. Runs on the driving thread only.
class capture final : public hook_subscriber {
 public:
  capture() : hook_subscriber(hook_phase::chaos) {}

  struct watched {
    actor_id id = k_no_actor;
    std::uint64_t last_input_no = 0;
    bool stateful_checked = false;  // on_handled has looked for its state
    bool stateful = false;          // ... and found one (save_state)
    std::vector<std::pair<std::uint64_t, std::uint64_t>> hashes;  // (input no, hash) this step
    std::vector<type_id> outputs;                                 // sent this step
    std::vector<type_id> timers;                                  // timers armed this step
    // A new step: what it sends and arms is counted from here.
    void clear_captured() noexcept {
      outputs.clear();
      timers.clear();
    }
    std::uint64_t sent = 0;
    std::string failed;           // why, if it failed this step
    std::deque<message_id> asks;  // request ids of its asks not yet paired with recorded ones
  };

  bool injecting = false;
  std::map<std::uint64_t, watched> actors;  // by key_of(handle)

  static std::uint64_t key_of(actor_handle h) noexcept {
    return (std::uint64_t{h.slot} << 32) | h.generation;
  }
  watched* find(actor_handle h) noexcept {
    auto it = actors.find(key_of(h));
    return it == actors.end() ? nullptr : &it->second;
  }

  send_decision on_send(send_event& ev) noexcept override {
    if (injecting) return send_decision::pass;
    note_output(ev.sender, ev.type);
    return send_decision::drop;
  }
  void on_dead_letter(const dead_letter_event& ev) noexcept override {
    // A send to an actor that does not exist in this system never reached on_send.
    if (ev.reason != dead_letter_reason::dropped_by_hook) note_output(ev.sender, ev.type);
  }
  // A replayed actor's timers are never armed: the log's TIMER inputs are delivered instead.
  // What it arms is noted against the input being handled.
  bool on_timer(const timer_event& ev) noexcept override {
    if (watched* a = find(ev.owner)) {
      try {
        a->timers.push_back(ev.type);
      } catch (...) {
        // (out of memory: a timer not compared)
      }
    }
    return false;
  }
  void on_ask(const ask_event& ev) noexcept override {
    watched* a = find(ev.asker);
    if (a == nullptr) return;
    try {
      a->asks.push_back(ev.request);
    } catch (...) {
      a->failed = "out of memory noting an ask";
    }
  }
  void on_deliver(const deliver_event& ev) noexcept override {
    if (watched* w = find(ev.target)) w->last_input_no = ev.input_no;
  }
  void on_handled(const deliver_event& ev) noexcept override {
    watched* a = find(ev.target);
    if (a == nullptr || ev.actor == nullptr) return;
    try {
      state_writer w;
      a->stateful = ev.actor->save_state_to(w);
      a->stateful_checked = true;
      if (a->stateful) a->hashes.emplace_back(ev.input_no, state_hash(w.bytes()));
    } catch (...) {
      a->failed = "save_state threw";
    }
  }
  void on_failure(const lifecycle_event& ev) noexcept override {
    watched* a = find(ev.actor);
    if (a == nullptr) return;
    try {
      a->failed = ev.reason.empty() ? std::string("failed") : std::string(ev.reason);
    } catch (...) {
      // (out of memory: the failure is still seen, with no reason)
    }
  }

 private:
  void note_output(actor_handle sender, type_id type) noexcept {
    watched* a = find(sender);
    if (a == nullptr) return;
    try {
      a->outputs.push_back(type);
    } catch (...) {
      // (out of memory: an output not compared)
    }
    ++a->sent;
  }
};

// Stands in for the recorded senders of the inputs, which do not exist in the replay system, so
// that replies are sends the capture sees (and drops) like any other output.
struct sink_message {
  static constexpr std::string_view keel_name = "keel.replay.sink/1";
};
class reply_sink final : public actor<reply_sink, sink_message> {
 public:
  static constexpr std::string_view keel_name = "keel.replay.sink";
  void on(sink_message&) {}
};

struct replay_system {
  std::shared_ptr<capture> hook;
  std::unique_ptr<actor_system> sys;
  actor_handle sink;  // spawned after the replayed actors (ids only move forward)
};

// An input read ahead from the log.
struct pending_input {
  frame_header h;
  std::vector<std::byte> payload;
};

constexpr std::size_t k_read_ahead = 1024;

}  // namespace

struct replay_session::impl {
  std::string dir;
  const type_registry* types = nullptr;
  replay_factories factories;
  detail::replay_plan plan;
  replay_report report;

  std::vector<replay_system> systems;
  struct live_actor {
    replay_system* rs = nullptr;
    actor_handle handle;
    std::size_t report_index = 0;
    std::uint64_t last_match_seq = 0;
    bool done = false;          // diverged
    bool held = false;          // failed as recorded; waits for its RESTART
    std::uint64_t context = 0;  // the record whose handling runs now (planned_actor::context)
    std::deque<message_id> recorded_asks;  // ASK records not yet paired with replayed asks
    std::unordered_map<message_id, message_id> ask_ids;  // recorded request id -> replayed
    frame_header last_input{};                           // the last input delivered
    std::uint64_t start_seq = 0;                         // its SPAWN or checkpoint record
    std::uint64_t start_input = 0;  // inputs before its checkpoint (not replayed)
  };
  std::map<actor_id, live_actor> actors;
  std::deque<pending_input> ahead;
  std::uint64_t next_seq = 0;  // where the next read-ahead starts
  scan_position resume;        // ... and the frame boundary it starts at
  // The registry's entries by type id: find() copies the entry (its name) under a lock.
  std::unordered_map<type_id, std::pair<const message_ops*, const codec_ops*>> codecs;
  bool log_done = false;
  std::int64_t last_ts = 0;
  bool started = false;

  status start();
  result<std::vector<std::byte>> take_external(actor_id a, std::uint64_t input_no, type_id t);
  status read_ahead();
  bool pair_asks(live_actor& la, capture::watched& w);
  void diverge(live_actor& la, const frame_header& at, std::string event);
  void check(live_actor& la, const frame_header& h, capture::watched& w);
  void check_restart(live_actor& la, const frame_header& restart, capture::watched& w);
};

status replay_session::impl::start() {
  started = true;
  report.correlation = plan.correlation;
  std::uint64_t first = UINT64_MAX;
  for (const auto& [id, a] : plan.actors) first = std::min(first, a.start_seq);
  next_seq = first;
  auto make_system = [&](std::uint64_t seed) -> result<replay_system*> {
    replay_system rs;
    rs.hook = std::make_shared<capture>();
    system_config cfg;
    cfg.scheduler.executor = sched::executor_kind::deterministic;
    cfg.seed = seed;
    cfg.hooks.push_back(rs.hook);
    auto sys = actor_system::create(std::move(cfg));
    if (!sys) return sys.error();
    rs.sys = std::move(*sys);
    if (factories) factories(rs.sys->factories());
    // The application's codecs, for the results block_in_place is served (the system's own
    // registry knows only the messages its actors handle).
    for (const type_entry& e : types->entries()) {
      if (status st = rs.sys->types().add_entry(e); !st) return st;
    }
    // block_in_place in a replayed actor gets its recorded result, never runs its call.
    status served = rs.sys->serve_externals_for_replay(
        [this](actor_id a, std::uint64_t input_no, type_id t) -> result<std::vector<std::byte>> {
          return take_external(a, input_no, t);
        });
    if (!served) return served;
    systems.push_back(std::move(rs));
    return &systems.back();
  };
  systems.reserve(plan.options.isolated ? plan.actors.size() : 1);
  replay_system* shared = nullptr;
  for (const auto& [id, a] : plan.actors) {  // by id: skip_ids_to only moves forward
    replay_system* rs = shared;
    if (rs == nullptr) {
      auto made = make_system(a.system_seed);
      if (!made) return made.error();
      rs = *made;
      if (!plan.options.isolated) shared = rs;
    }
    if (status st = rs->sys->skip_ids_to(id); !st) return st;
    // Under its recorded name too, unless an older incarnation replayed here holds it.
    spawn_options named;
    if (!a.name.empty() && !rs->sys->lookup(a.name)) named.name = a.name;
    auto ref = rs->sys->factories().spawn(a.type, json_value(), named);
    if (!ref) {
      return status(ref.error().code(), "replay: spawning actor " + std::to_string(id) + " (" +
                                            a.type + "): " + std::string(ref.error().message()));
    }
    if (ref->id() != id) {
      return status(errc::failed, "replay: the factory for " + a.type +
                                      " spawned other actors first: actor " + std::to_string(id) +
                                      " came back as " + std::to_string(ref->id()));
    }
    if (status st = rs->sys->hold_failures_for_replay(ref->handle()); !st) return st;
    capture::watched w;
    w.id = id;
    w.last_input_no = a.start_input;
    rs->hook->actors.emplace(capture::key_of(ref->handle()), std::move(w));
    replay_actor ra;
    ra.id = id;
    ra.type = a.type;
    ra.start_seq = a.start_seq;
    ra.checkpoint = a.checkpoint;
    live_actor la;
    la.rs = rs;
    la.handle = ref->handle();
    la.report_index = report.actors.size();
    la.last_match_seq = a.start_seq;
    la.start_input = a.start_input;
    la.start_seq = a.start_seq;
    la.context = a.spawn_seq;  // on_start's block_in_place results were recorded after SPAWN
    report.actors.push_back(std::move(ra));
    actors.emplace(id, la);
    rs->sys->deterministic()->run_until_idle();  // on_start
    capture::watched& watched = *rs->hook->find(la.handle);
    if (a.checkpoint != 0) {
      // What on_start did belongs to the run before the checkpoint.
      actor_restore restore;
      restore.state = a.state;
      restore.rng = a.rng;
      restore.input_no = a.start_input;
      if (status st = rs->sys->restore_for_replay(la.handle, restore); !st) {
        return status(st.code(), "replay: actor " + std::to_string(id) + " from checkpoint " +
                                     std::to_string(a.checkpoint) + ": " +
                                     std::string(st.message()));
      }
      watched.asks.clear();
    }
    watched.clear_captured();
  }
  for (replay_system& rs : systems) {
    auto sink = rs.sys->spawn<reply_sink>();
    if (!sink) return sink.error();
    rs.sink = sink->handle();
  }
  return status();
}

status replay_session::impl::read_ahead() {
  auto reader = log_reader::open(dir);
  if (!reader) return reader.error();
  std::uint64_t seen_to = next_seq;
  scan_position at = resume;
  const scan_report rep = reader->scan(
      [&](const record_view& r) {
        if (r.header.seq >= plan.end_seq) {
          log_done = true;
          return false;
        }
        if (ahead.size() >= k_read_ahead) return false;
        seen_to = r.header.seq + 1;
        at = scan_position{r.segment_no,
                           r.offset + align_up(static_cast<std::uint64_t>(r.header.len))};
        const bool input = r.header.type == static_cast<std::uint16_t>(record_type::message) ||
                           r.header.type == static_cast<std::uint16_t>(record_type::timer) ||
                           r.header.type == static_cast<std::uint16_t>(record_type::ask) ||
                           r.header.type == static_cast<std::uint16_t>(record_type::restart);
        if (input && actors.count(r.header.actor_id) != 0) {
          ahead.push_back(pending_input{r.header, {r.payload.begin(), r.payload.end()}});
        }
        return true;
      },
      next_seq, resume);
  if (rep.corrupt()) return status(errc::corrupt, rep.message());
  if (seen_to == next_seq && ahead.empty()) log_done = true;  // nothing more in the log
  next_seq = seen_to;
  resume = at;
  return status();
}

// Pairs the recorded asks with the replayed ones, in order (one actor's handlers run one at a
// time, so both are in the order it asked). False, after reporting the divergence, when one
// side has asks left over once every ask of the inputs before the next is in.
bool replay_session::impl::pair_asks(live_actor& la, capture::watched& w) {
  while (!la.recorded_asks.empty() && !w.asks.empty()) {
    la.ask_ids[la.recorded_asks.front()] = w.asks.front();
    la.recorded_asks.pop_front();
    w.asks.pop_front();
  }
  if (la.last_input.seq == 0) return true;  // asks made by on_start are paired as they come
  if (!w.asks.empty()) {
    diverge(la, la.last_input, "the replay made an ask the recorded run did not make");
    return false;
  }
  if (!la.recorded_asks.empty()) {
    diverge(la, la.last_input, "the recorded run made an ask the replay did not make");
    return false;
  }
  return true;
}

void replay_session::impl::diverge(live_actor& la, const frame_header& at, std::string event) {
  replay_divergence d;
  d.actor = at.actor_id;
  d.seq = at.seq;
  d.input_no = at.actor_seq;
  d.last_match_seq = la.last_match_seq;
  d.event = std::move(event);
  report.actors[la.report_index].divergence = d;
  if (!report.divergence) report.divergence = d;  // inputs come in seq order: the first
  la.done = true;
}

void replay_session::impl::check(live_actor& la, const frame_header& h, capture::watched& w) {
  const detail::planned_actor& pa = plan.actors.at(h.actor_id);
  replay_actor& ra = report.actors[la.report_index];
  ra.outputs += w.outputs.size();
  if (w.stateful_checked) ra.state_comparable = w.stateful;
  if (!w.failed.empty()) {
    if (pa.failures.count(h.seq) != 0) {
      la.held = true;  // failed where the recorded run failed: held until its RESTART
      ++ra.failures;
      return;
    }
    diverge(la, h, "failed while handling it: " + w.failed);
    return;
  }
  if (pa.failures.count(h.seq) != 0) {
    diverge(la, h, "the recorded run failed after this input; the replay did not");
    return;
  }
  if (auto it = pa.externals.find(h.seq); it != pa.externals.end() && !it->second.empty()) {
    diverge(la, h,
            "the recorded run made " + std::to_string(it->second.size()) +
                " more block_in_place call(s) while handling it (seq " +
                std::to_string(it->second.front().seq) + ")");
    return;
  }
  if (w.last_input_no != h.actor_seq) {
    diverge(la, h,
            "replayed as input " + std::to_string(w.last_input_no) + ", recorded as input " +
                std::to_string(h.actor_seq) + " (a stash or an unrecorded input differs)");
    return;
  }
  for (const auto& [no, hash] : w.hashes) {
    auto it = pa.hashes.find(no);
    if (it == pa.hashes.end()) continue;
    ++ra.hashes_compared;
    ++report.hashes_compared;
    if (it->second != hash) {
      diverge(la, h,
              "state hash after input " + std::to_string(no) + ": recorded " + hex(it->second) +
                  ", replayed " + hex(hash));
      return;
    }
    la.last_match_seq = h.seq;
  }
  if (auto it = plan.expected_timers.find(h.message_id); it != plan.expected_timers.end()) {
    for (type_id t : it->second) {
      if (std::find(w.timers.begin(), w.timers.end(), t) == w.timers.end()) {
        auto entry = types->find(t);
        diverge(la, h,
                "the recorded run armed a timer of " +
                    (entry ? entry->name : "type " + std::to_string(t)) +
                    " while handling it; the replay did not");
        return;
      }
    }
  }
  if (auto it = plan.expected_outputs.find(h.message_id); it != plan.expected_outputs.end()) {
    std::vector<type_id> sent = w.outputs;
    for (type_id t : it->second) {
      auto found = std::find(sent.begin(), sent.end(), t);
      if (found == sent.end()) {
        auto entry = types->find(t);
        diverge(la, h,
                "the recorded run sent " + (entry ? entry->name : "type " + std::to_string(t)) +
                    " while handling it; the replay did not");
        return;
      }
      sent.erase(found);
      ++ra.outputs_checked;
      ++report.outputs_checked;
    }
  }
}

result<std::vector<std::byte>> replay_session::impl::take_external(actor_id a,
                                                                   std::uint64_t input_no,
                                                                   type_id t) {
  auto pa = plan.actors.find(a);
  if (pa == plan.actors.end()) {
    return status(errc::not_found, "replay: no recorded block_in_place results for this actor");
  }
  (void)input_no;  // the driver knows better: the record being handled (restarts keep counting)
  auto live = actors.find(a);
  auto it = live == actors.end() ? pa->second.externals.end()
                                 : pa->second.externals.find(live->second.context);
  if (it == pa->second.externals.end() || it->second.empty()) {
    return status(errc::not_found, "replay: a block_in_place call the recorded run did not make");
  }
  detail::planned_actor::external& e = it->second.front();
  if (e.type != t) {
    auto want = types->find(e.type);
    return status(errc::invalid_argument,
                  "replay: block_in_place returned " +
                      (want ? want->name : "type " + std::to_string(e.type)) +
                      " in the recorded run (seq " + std::to_string(e.seq) +
                      "), another type in the replay");
  }
  std::vector<std::byte> out = std::move(e.bytes);
  it->second.pop_front();
  return out;
}

// After a restart: the new object's on_start fails where the recorded one did, and makes the
// block_in_place calls it made.
void replay_session::impl::check_restart(live_actor& la, const frame_header& restart,
                                         capture::watched& w) {
  const detail::planned_actor& pa = plan.actors.at(restart.actor_id);
  const bool recorded_failure = pa.failures.count(restart.seq) != 0;
  if (!w.failed.empty()) {
    if (!recorded_failure) {
      diverge(la, restart, "on_start failed after the restart: " + w.failed);
      return;
    }
    la.held = true;
    ++report.actors[la.report_index].failures;
    return;
  }
  if (recorded_failure) {
    diverge(la, restart,
            "the recorded run's on_start failed after this restart; the replay's did not");
    return;
  }
  if (auto it = pa.externals.find(restart.seq); it != pa.externals.end() && !it->second.empty()) {
    diverge(la, restart,
            "the recorded run's on_start made " + std::to_string(it->second.size()) +
                " more block_in_place call(s) after this restart");
  }
}

replay_session::replay_session(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
replay_session::~replay_session() = default;

const replay_report& replay_session::report() const noexcept { return impl_->report; }

result<bool> replay_session::step() {
  impl& m = *impl_;
  if (!m.started) {
    if (status st = m.start(); !st) return st;
  }
  for (;;) {
    if (std::all_of(m.actors.begin(), m.actors.end(),
                    [](const auto& a) { return a.second.done; })) {
      return false;
    }
    if (m.ahead.empty()) {
      if (m.log_done) return false;
      if (status st = m.read_ahead(); !st) return st;
      continue;
    }
    pending_input in = std::move(m.ahead.front());
    m.ahead.pop_front();
    impl::live_actor& la = m.actors.at(in.h.actor_id);
    if (la.done) continue;
    capture::watched& w = *la.rs->hook->find(la.handle);
    const bool numbered = in.h.type == static_cast<std::uint16_t>(record_type::message) ||
                          in.h.type == static_cast<std::uint16_t>(record_type::timer);
    if (in.h.seq <= la.start_seq || (numbered && in.h.actor_seq <= la.start_input)) {
      continue;  // before its checkpoint
    }
    if (in.h.type == static_cast<std::uint16_t>(record_type::ask)) {
      la.recorded_asks.push_back(in.h.message_id);  // paired at its next input
      continue;
    }
    if (in.h.type == static_cast<std::uint16_t>(record_type::restart) &&
        (in.h.flags & k_flag_new_incarnation) != 0) {
      continue;  // a restart into this new actor: its SPAWN, replayed already, was the restart
    }
    if (in.h.type == static_cast<std::uint16_t>(record_type::restart)) {
      // Its supervisor restarted it here (after its failure, or with its group): a new object
      // in its cell, whose on_start runs at the restart's time. What the old one asked is void.
      la.context = in.h.seq;
      la.rs->sys->deterministic()->set_clock(static_cast<std::uint64_t>(in.h.ts_ns));
      w.failed.clear();
      if (status st = la.rs->sys->restart_for_replay(la.handle); !st) {
        m.diverge(la, in.h, "could not be restarted: " + std::string(st.message()));
        return true;
      }
      la.rs->sys->deterministic()->run_until_idle();
      la.held = false;
      la.recorded_asks.clear();
      la.ask_ids.clear();
      w.asks.clear();
      w.clear_captured();
      ++m.report.actors[la.report_index].restarts;
      m.check_restart(la, in.h, w);
      return true;
    }
    if (la.held) {
      m.diverge(la, in.h,
                "an input after its failure with no RESTART record before it (resumed by its "
                "supervisor? resumes are not replayed)");
      return true;
    }
    if (!m.pair_asks(la, w)) return true;
    input_kind kind = input_kind::message;
    if ((in.h.flags & k_flag_reply) != 0) kind = input_kind::reply;
    if ((in.h.flags & k_flag_ask_timeout) != 0) kind = input_kind::ask_timeout;
    message_id ask = 0;
    if (kind != input_kind::message) {
      auto it = la.ask_ids.find(in.h.causation);
      if (it == la.ask_ids.end()) {
        m.diverge(la, in.h, "completes an ask the replay did not make");
        return true;
      }
      ask = it->second;
      la.ask_ids.erase(it);
    }
    if (m.plan.options.speed > 0 && m.last_ts != 0 && in.h.ts_ns > m.last_ts) {
      std::this_thread::sleep_for(std::chrono::nanoseconds(static_cast<std::int64_t>(
          static_cast<double>(in.h.ts_ns - m.last_ts) / m.plan.options.speed)));
    }
    m.last_ts = in.h.ts_ns;
    capture& hook = *la.rs->hook;
    w.hashes.clear();
    w.clear_captured();
    w.failed.clear();
    encoded_message em;
    if (kind != input_kind::ask_timeout) {
      auto c = m.codecs.find(in.h.payload_type);
      if (c == m.codecs.end()) {
        auto entry = m.types->find(in.h.payload_type);  // the plan checked it has a codec
        c = m.codecs.emplace(in.h.payload_type, std::make_pair(entry->ops, entry->codec)).first;
      }
      em.ops = c->second.first;
      em.codec = c->second.second;
      em.bytes = in.payload;
    }
    em.kind = kind;
    em.id = in.h.message_id;
    em.correlation = in.h.correlation;
    em.causation = kind == input_kind::message ? in.h.causation : ask;
    em.sender = la.rs->sink;
    la.last_input = in.h;
    la.context = in.h.seq;
    la.rs->sys->deterministic()->set_clock(static_cast<std::uint64_t>(in.h.ts_ns));
    hook.injecting = true;
    auto sent = la.rs->sys->send_encoded(la.handle, em);
    hook.injecting = false;
    if (!sent || *sent != send_status::ok) {
      m.diverge(la, in.h,
                sent ? "could not be delivered: the replayed actor has stopped"
                     : "could not be delivered: " + std::string(sent.error().message()));
      return true;
    }
    la.rs->sys->deterministic()->run_until_idle();
    ++m.report.inputs;
    ++m.report.actors[la.report_index].inputs;
    m.check(la, in.h, w);
    return true;
  }
}

result<replay_report> replay_session::run() {
  for (;;) {
    auto more = step();
    if (!more) return more.error();
    if (!*more) return impl_->report;
  }
}

std::string replay_report::summary() const {
  std::string out = "replay of correlation " + std::to_string(correlation) + ": " +
                    std::to_string(actors.size()) + " actor(s), " + std::to_string(inputs) +
                    " inputs, " + std::to_string(hashes_compared) + " state hashes and " +
                    std::to_string(outputs_checked) + " recorded outputs compared\n";
  for (const replay_actor& a : actors) {
    out += "  actor " + std::to_string(a.id) + " (" + a.type + "): " + std::to_string(a.inputs) +
           " inputs from seq " + std::to_string(a.start_seq) +
           (a.checkpoint != 0 ? " (checkpoint " + std::to_string(a.checkpoint) + ")" : "") + ", " +
           std::to_string(a.hashes_compared) + " hashes, " + std::to_string(a.outputs) +
           " outputs captured" + (a.state_comparable ? "" : ", state not comparable") +
           (a.failures + a.restarts != 0 ? ", " + std::to_string(a.failures) + " failures, " +
                                               std::to_string(a.restarts) + " restarts"
                                         : "") +
           ": " + (a.divergence ? "DIVERGED" : "matched") + "\n";
  }
  if (divergence) {
    out += "first divergence: seq " + std::to_string(divergence->seq) + ", actor " +
           std::to_string(divergence->actor) + ", input " + std::to_string(divergence->input_no) +
           ": " + divergence->event + "\n  the input that differs lies in (seq " +
           std::to_string(divergence->last_match_seq) + ", seq " + std::to_string(divergence->seq) +
           "]\n";
  } else {
    out += "hashes match\n";
  }
  return out;
}

status replay_options::validate() const {
  if (!(speed >= 0)) {
    return status(errc::invalid_argument, "replay_options.speed: must be 0 or more");
  }
  return status();
}

replay_controller::replay_controller(std::string log_dir, const type_registry& types,
                                     replay_factories factories)
    : dir_(std::move(log_dir)), types_(types), factories_(std::move(factories)) {}

replay_controller::replay_controller(recorder& live, std::string log_dir,
                                     const type_registry& types, replay_factories factories)
    : live_(&live), dir_(std::move(log_dir)), types_(types), factories_(std::move(factories)) {}

result<checkpoint_info> replay_controller::create_checkpoint(std::string_view label) {
  if (live_ == nullptr) {
    return status(errc::invalid_argument,
                  "create_checkpoint: this replay_controller has no live recorder (it reads a "
                  "log offline)");
  }
  auto started = live_->checkpoint(label);
  if (!started) return started.error();
  return checkpoint_info{started->number, started->seq, std::string(label)};
}

result<std::unique_ptr<replay_session>> replay_controller::open_scenario(message_id correlation,
                                                                         replay_options options) {
  if (status st = options.validate(); !st) return st;
  // The factories' names, from a throwaway registry.
  std::vector<std::string> names;
  {
    system_config cfg;
    cfg.scheduler.executor = sched::executor_kind::deterministic;
    auto sys = actor_system::create(std::move(cfg));
    if (!sys) return sys.error();
    if (factories_) factories_((*sys)->factories());
    names = (*sys)->factories().names();
  }
  auto plan = detail::make_plan(dir_, types_, names, correlation, options);
  if (!plan) return plan.error();
  auto p = std::make_unique<replay_session::impl>();
  p->dir = dir_;
  p->types = &types_;
  p->factories = factories_;
  p->plan = std::move(*plan);
  return std::make_unique<replay_session>(std::move(p));
}

result<replay_report> replay_controller::replay_scenario(message_id correlation, double speed,
                                                         bool isolated) {
  replay_options o;
  o.speed = speed;
  o.isolated = isolated;
  auto session = open_scenario(correlation, o);
  if (!session) return session.error();
  return (*session)->run();
}

}  // namespace keel::eventlog
