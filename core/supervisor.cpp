// keel::supervisor: configuration checks, starting children, the requests it answers and its
// status. Failures, restarts and shutdown sequences are in supervisor_restart.cpp.
#include <algorithm>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/supervisor_state.h"
#include "core/system_state.h"

#include <keel/core/supervisor.h>

namespace keel {
namespace {

status bad(std::string what) { return status(errc::invalid_argument, what); }

// The first index whose name an earlier child already has; size() if none. O(n log n) in one
// allocation: a config may list 100,000 children, and a hash set's 100,000 nodes would be freed
// pages left resident after the supervisor has started.
std::size_t first_duplicate_name(const std::vector<child_spec>& children) {
  std::vector<std::pair<std::string_view, std::size_t>> by_name;
  by_name.reserve(children.size());
  for (std::size_t i = 0; i < children.size(); ++i) by_name.emplace_back(children[i].name, i);
  std::sort(by_name.begin(), by_name.end());
  std::size_t first = children.size();
  for (std::size_t k = 1; k < by_name.size(); ++k) {
    // Sorted by (name, index): the second of a run of equal names is its first repeat.
    if (by_name[k].first == by_name[k - 1].first &&
        (k == 1 || by_name[k - 1].first != by_name[k - 2].first)) {
      first = std::min(first, by_name[k].second);
    }
  }
  return first;
}

status check_intensity(const restart_intensity& i, const std::string& field) {
  if (i.period.count() <= 0) return bad(field + ".period: must be above 0");
  return status();
}

status check_backoff(const backoff_policy& b) {
  if (b.min_delay.count() < 0) return bad("backoff.min_delay: must not be negative");
  if (b.max_delay < b.min_delay) return bad("backoff.max_delay: must not be below min_delay");
  if (!(b.factor >= 1.0) || b.factor > 1e6) return bad("backoff.factor: must be in [1, 1e6]");
  if (!(b.random_factor >= 0.0) || b.random_factor > 1.0)
    return bad("backoff.random_factor: must be in [0, 1]");
  if (b.reset_after.count() < 0) return bad("backoff.reset_after: must not be negative");
  return status();
}

}  // namespace

std::string_view to_string(restart_strategy s) noexcept {
  switch (s) {
    case restart_strategy::one_for_one:
      return "one_for_one";
    case restart_strategy::one_for_all:
      return "one_for_all";
    case restart_strategy::rest_for_one:
      return "rest_for_one";
  }
  return "unknown";
}

std::string_view to_string(restart_type t) noexcept {
  switch (t) {
    case restart_type::permanent:
      return "permanent";
    case restart_type::transient:
      return "transient";
    case restart_type::temporary:
      return "temporary";
  }
  return "unknown";
}

std::string_view to_string(child_state s) noexcept {
  switch (s) {
    case child_state::running:
      return "running";
    case child_state::held:
      return "held";
    case child_state::restarting:
      return "restarting";
    case child_state::stopping:
      return "stopping";
    case child_state::stopped:
      return "stopped";
  }
  return "unknown";
}

child_spec child_spec::of_type(std::string name, std::string type_name, json_value args) {
  child_spec s;
  s.name = std::move(name);
  s.start = [type = std::move(type_name), a = std::move(args)](
                actor_system& sys, const spawn_options& o) -> result<actor_ref<>> {
    return sys.factories().spawn(type, a, o);
  };
  return s;
}

status supervisor_config::validate() const {
  if (static_cast<std::uint8_t>(strategy) >
      static_cast<std::uint8_t>(restart_strategy::rest_for_one))
    return bad("strategy: not a restart_strategy");
  if (status s = check_intensity(intensity, "intensity"); !s) return s;
  if (status s = check_backoff(backoff); !s) return s;
  if (static_cast<std::uint8_t>(shutdown_on) >
      static_cast<std::uint8_t>(auto_shutdown::all_significant))
    return bad("shutdown_on: not an auto_shutdown");
  if (static_cast<std::uint8_t>(root) > static_cast<std::uint8_t>(root_policy::stop_system))
    return bad("root: not a root_policy");
  const std::size_t taken = first_duplicate_name(children);
  for (std::size_t i = 0; i < children.size(); ++i) {
    const child_spec& c = children[i];
    const std::string field = "children[" + std::to_string(i) + "]";
    if (c.name.empty()) return bad(field + ".name: must not be empty");
    if (c.name.find('/') != std::string::npos) return bad(field + ".name: must not contain '/'");
    if (!c.start) return bad(field + ".start: no starter");
    if (c.shutdown.count() < 0) return bad(field + ".shutdown: must not be negative");
    if (c.intensity) {
      if (status s = check_intensity(*c.intensity, field + ".intensity"); !s) return s;
    }
    if (c.options.supervisor.valid() || c.options.replace.valid())
      return bad(field + ".options: supervisor and replace are set by the supervisor");
    if (i == taken) return bad(field + ".name: \"" + c.name + "\" is taken");
  }
  return status();
}

namespace detail {

std::uint64_t supervisor_state::now() const noexcept { return self.now(); }

actor_handle supervisor_state::me() const noexcept {
  return actor_handle{self.cell()->slot, self.incarnation()};
}

status supervisor_state::check_spec(const child_spec& spec) const {
  supervisor_config one;
  one.children.push_back(spec);
  if (status s = one.validate(); !s) {
    std::string text(s.message());
    return status(s.code(), text.replace(0, text.find('.') + 1, "child_spec."));
  }
  for (const auto& c : children) {
    if (c->spec.name == spec.name) {
      return status(errc::duplicate_name, "child_spec.name: \"" + spec.name +
                                              "\" is taken among the supervisor's children");
    }
  }
  return status();
}

// What a starter returned must be a child of this supervisor: spawned with the options it was
// given. Anything else is refused, and left alone (it is not ours to stop).
status supervisor_state::adopt(child_record& c, const actor_ref<>& r) {
  const actor_handle h = r.handle();
  if (h == me())
    return bad("child_spec \"" + c.spec.name + "\": a supervisor cannot supervise itself");
  actor_handle a = sys->parent_of(self.cell());
  for (int depth = 0; a.valid() && depth < 1024; ++depth) {
    if (a == h) {
      return bad("child_spec \"" + c.spec.name +
                 "\": a supervisor cannot supervise one of its ancestors");
    }
    a = sys->parent_of(a.slot, a.generation);
  }
  if (!h.valid() || sys->parent_of(h.slot, h.generation) != me()) {
    return bad("child_spec \"" + c.spec.name +
               "\": its starter must spawn with the spawn_options it is given");
  }
  return status();
}

result<actor_ref<>> supervisor_state::start(child_record& c, bool in_place) {
  spawn_options o = c.spec.options;
  o.supervisor = me();
  if (in_place) o.replace = c.ref.handle();
  result<actor_ref<>> r = status(errc::failed, "child_spec.start threw");
  try {
    r = c.spec.start(self.system(), o);
  } catch (const std::exception& ex) {
    r = status(errc::failed, std::string("child_spec.start threw: ") + ex.what());
  } catch (...) {
  }
  if (!r) return r;
  if (in_place && *r != c.ref) {
    return bad("child_spec \"" + c.spec.name +
               "\": its starter must spawn with the spawn_options it is given");
  }
  if (!in_place) {
    if (status s = adopt(c, *r); !s) return s;
    if (c.ref.valid()) by_handle.erase(key(c.ref.handle()));
    c.ref = *r;
    by_handle[key(c.ref.handle())] = &c;
  }
  c.state = child_state::running;
  c.last_restart = now();
  c.killed = false;
  send_path(c);
  return r;
}

void supervisor_state::send_path(child_record& c) {
  if (!c.spec.is_supervisor) return;
  envelope* e = make_envelope(sys, supervisor_path{path + "/" + c.spec.name});
  if (e != nullptr) (void)deliver_to(sys, c.ref.handle(), e);
}

void supervisor_state::forget(child_record* c) {
  if (c->ref.valid()) by_handle.erase(key(c->ref.handle()));
  children.erase(
      std::remove_if(children.begin(), children.end(), [c](const auto& p) { return p.get() == c; }),
      children.end());
}

supervisor_status supervisor_state::status_now() const {
  supervisor_status s;
  s.path = path;
  s.strategy = cfg.strategy;
  s.intensity = cfg.intensity;
  s.backoff = cfg.backoff;
  for (const auto& c : children) {
    s.children.push_back(child_info{c->spec.name, c->ref, c->spec.restart, c->state, c->restarts});
  }
  s.restarts = restarts_total;
  s.failures = failures_total;
  for (const auto& r : recent) s.recent.push_back(*r);
  s.killed = killed_names;
  return s;
}

}  // namespace detail

supervisor::supervisor(supervisor_config config) {
  if (status s = config.validate(); !s) throw std::invalid_argument(std::string(s.message()));
  st_ = std::make_unique<detail::supervisor_state>(*this, std::move(config));
}

// An object replaced or stopped with children still running (its own failure): they stop too,
// newest first, so that a restarted supervisor starts from nothing.
supervisor::~supervisor() {
  for (auto it = st_->children.rbegin(); it != st_->children.rend(); ++it) {
    if ((*it)->ref.alive()) (void)(*it)->ref.stop();
  }
}

void supervisor::on_start() {
  detail::supervisor_state& s = *st_;
  s.sys = cell()->system;
  s.path = !s.cfg.name.empty()                                            ? s.cfg.name
           : (cell()->extras != nullptr && !cell()->extras->name.empty()) ? cell()->extras->name
                                                                          : std::string(keel_name);
  std::vector<child_spec> specs = std::move(s.cfg.children);
  s.cfg.children.clear();
  for (child_spec& spec : specs) {
    auto rec = std::make_unique<detail::child_record>();
    rec->spec = std::move(spec);
    detail::child_record& c = *rec;
    s.children.push_back(std::move(rec));
    if (auto r = s.start(c, false); !r) {
      // OTP: a child that cannot start stops those started before it, and the supervisor fails.
      s.children.pop_back();
      for (auto it = s.children.rbegin(); it != s.children.rend(); ++it) (void)(*it)->ref.stop();
      s.children.clear();
      s.by_handle.clear();
      fail("child \"" + c.spec.name + "\" failed to start: " + std::string(r.error().message()));
      return;
    }
  }
  // Keep the specs for a restart of this supervisor (the parent builds a new one from its own
  // copy; this copy serves status and create_child's name checks).
}

void supervisor::on_stop() {
  // Stopped from outside (ref.stop(), system shutdown) rather than through shutdown_supervisor:
  // the children are told to stop, newest first, without waiting.
  for (auto it = st_->children.rbegin(); it != st_->children.rend(); ++it) {
    if ((*it)->ref.alive()) (void)(*it)->ref.stop();
  }
  st_->children.clear();
  st_->by_handle.clear();
}

void supervisor::on(child_failed& m) { st_->on_failure(std::move(m.report)); }

void supervisor::on(child_exit& m) {
  if (detail::child_record* c = st_->find(m.who)) st_->on_exit(*c, m.failed);
}

void supervisor::on(child_halted& m) {
  detail::supervisor_state& s = *st_;
  if (s.current != nullptr && s.current->ref.handle() == m.who) s.child_done();
}

void supervisor::on(create_child& m) {
  detail::supervisor_state& s = *st_;
  if (s.goal == detail::sequence_goal::escalate || s.goal == detail::sequence_goal::shutdown) {
    reply(supervisor_reply{status(errc::shutting_down, "create_child: the supervisor is stopping"),
                           {}});
    return;
  }
  if (status st = s.check_spec(m.spec); !st) {
    reply(supervisor_reply{st, {}});
    return;
  }
  auto rec = std::make_unique<detail::child_record>();
  rec->spec = std::move(m.spec);
  detail::child_record& c = *rec;
  s.children.push_back(std::move(rec));
  auto r = s.start(c, false);
  if (!r) {
    s.children.pop_back();
    reply(supervisor_reply{r.error(), {}});
    return;
  }
  reply(supervisor_reply{status(), *r});
}

void supervisor::on(create_child_of_type& m) {
  if (!system().factories().contains(m.type_name)) {
    reply(supervisor_reply{status(errc::invalid_argument, "create_child_of_type: no actor type \"" +
                                                              m.type_name + "\" is registered"),
                           {}});
    return;
  }
  create_child c{child_spec::of_type(std::move(m.name), std::move(m.type_name), std::move(m.args))};
  c.spec.restart = m.restart;
  on(c);
}

void supervisor::on(terminate_child& m) {
  detail::supervisor_state& s = *st_;
  detail::child_record* c = s.find(m.name);
  if (c == nullptr) {
    reply(supervisor_reply{
        status(errc::actor_not_found, "terminate_child: no child named \"" + m.name + "\""), {}});
    return;
  }
  if (s.goal != detail::sequence_goal::none) {
    reply(supervisor_reply{
        status(errc::shutting_down, "terminate_child: the supervisor is busy stopping children"),
        {}});
    return;
  }
  c->remove_on_exit = true;
  s.asker = return_address();
  s.answer_with_status = false;
  s.begin_sequence(detail::sequence_goal::terminate, {c});
}

void supervisor::on(supervisor_status_request&) { reply(st_->status_now()); }

void supervisor::on(reconfigure_supervisor& m) {
  supervisor_config probe;
  probe.strategy = m.strategy;
  probe.intensity = m.intensity;
  probe.backoff = m.backoff;
  if (status st = probe.validate(); !st) {
    reply(supervisor_reply{st, {}});
    return;
  }
  st_->cfg.strategy = m.strategy;
  st_->cfg.intensity = m.intensity;
  st_->cfg.backoff = m.backoff;
  reply(supervisor_reply{status(), {}});
}

void supervisor::on(shutdown_supervisor&) {
  detail::supervisor_state& s = *st_;
  if (s.goal == detail::sequence_goal::shutdown || s.goal == detail::sequence_goal::escalate) {
    reply(s.status_now());  // already on its way
    return;
  }
  s.asker = return_address();
  s.answer_with_status = true;
  std::vector<detail::child_record*> all;
  for (auto& c : s.children) all.push_back(c.get());
  s.begin_sequence(detail::sequence_goal::shutdown, std::move(all));
}

void supervisor::on(detail::supervisor_timer& m) { st_->on_timer(m.serial); }

void supervisor::on(detail::supervisor_path& m) { st_->path = std::move(m.path); }

}  // namespace keel
