// Small pieces of core/: configuration validation, the type registry, names of enums and the
// diagnostic line format.
#include <keel/core/config.h>
#include <keel/core/diagnostics.h>
#include <keel/core/hooks.h>
#include <keel/core/type_registry.h>

namespace keel {

status system_config::validate() const {
  auto bad = [](std::string_view field, std::string_view why) {
    return status(errc::invalid_config,
                  std::string("system_config.") + std::string(field) + ": " + std::string(why));
  };
  if (status s = scheduler.validate(); !s) {
    return status(errc::invalid_config, "system_config." + std::string(s.message()));
  }
  if (message_budget == 0 || message_budget > 65535) {
    return bad("message_budget", "must be between 1 and 65535");
  }
  if (time_budget.count() <= 0) return bad("time_budget", "must be positive");
  if (mailbox_age_limit.count() < 0) return bad("mailbox_age_limit", "must not be negative");
  if (max_actor_types == 0 || max_actor_types > 65536) {
    return bad("max_actor_types", "must be between 1 and 65536");
  }
  if (shutdown_timeout.count() < 0) return bad("shutdown_timeout", "must not be negative");
  for (const auto& h : hooks) {
    if (h == nullptr) return bad("hooks", "contains a null subscriber");
  }
  return status::ok();
}

status type_registry::add_entry(type_entry e) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_id_.find(e.id);
  if (it == by_id_.end()) {
    by_id_.emplace(e.id, std::move(e));
    return status::ok();
  }
  if (it->second.identity == e.identity) return status::ok();
  if (it->second.name == e.name) {
    return status(errc::duplicate_name, "type name \"" + e.name + "\" is declared by two types");
  }
  return status(errc::type_collision, "type names \"" + e.name + "\" and \"" + it->second.name +
                                          "\" have the same XXH3-64 id; rename one");
}

std::optional<type_entry> type_registry::find(type_id id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

std::string type_registry::name_of_id(type_id id) const {
  auto e = find(id);
  return e ? e->name : std::string();
}

std::size_t type_registry::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_id_.size();
}

std::vector<type_entry> type_registry::entries() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<type_entry> out;
  out.reserve(by_id_.size());
  for (const auto& [id, e] : by_id_) out.push_back(e);
  return out;
}

std::string_view to_string(dead_letter_reason r) noexcept {
  switch (r) {
    case dead_letter_reason::actor_stopped:
      return "actor_stopped";
    case dead_letter_reason::unhandled_message:
      return "unhandled_message";
    case dead_letter_reason::dropped_by_hook:
      return "dropped_by_hook";
    case dead_letter_reason::timer_cancelled:
      return "timer_cancelled";
    case dead_letter_reason::late_reply:
      return "late_reply";
    case dead_letter_reason::shutdown:
      return "shutdown";
    case dead_letter_reason::out_of_memory:
      return "out_of_memory";
  }
  return "unknown";
}

std::string diagnostic::to_string() const {
  std::string s = "keel: ";
  switch (kind) {
    case diagnostic_kind::failure:
      s += "failure";
      break;
    case diagnostic_kind::mailbox_age:
      s += "mailbox_age";
      break;
    case diagnostic_kind::hook_refused:
      s += "hook_refused";
      break;
  }
  s += ": actor " + std::to_string(actor);
  if (!actor_type.empty() || !actor_name.empty()) {
    s += " (" + actor_type;
    if (!actor_name.empty()) s += " \"" + actor_name + "\"";
    s += ")";
  }
  if (!message_type.empty()) s += " on " + message_type;
  if (correlation != 0) s += " [correlation " + std::to_string(correlation) + "]";
  if (kind == diagnostic_kind::mailbox_age) s += " age " + std::to_string(value / 1000) + " us";
  s += ": " + text;
  return s;
}

}  // namespace keel
