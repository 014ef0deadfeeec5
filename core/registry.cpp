// Small pieces of core/: configuration validation, the type registry, names of enums and the
// diagnostic line format.
#include <new>

#include <keel/core/config.h>
#include <keel/core/diagnostics.h>
#include <keel/core/failure.h>
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
  if (stash_capacity == 0 || stash_capacity > (1U << 24)) {
    return bad("stash_capacity", "must be between 1 and 16777216");
  }
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
  if (it->second.identity == e.identity) {
    if (it->second.codec == nullptr) it->second.codec = e.codec;
    return status::ok();
  }
  if (it->second.name == e.name) {
    return status(errc::duplicate_name, "type name \"" + e.name + "\" is declared by two types");
  }
  return status(errc::type_collision, "type names \"" + e.name + "\" and \"" + it->second.name +
                                          "\" have the same XXH3-64 id; rename one");
}

namespace {

// Storage for one message of a registered type, destroyed with its ops when it holds one.
class message_box {
 public:
  explicit message_box(const message_ops* ops)
      : ops_(ops), mem_(::operator new(ops->size, std::align_val_t(ops->align))) {}
  ~message_box() {
    if (full_) ops_->destroy(mem_);
    ::operator delete(mem_, std::align_val_t(ops_->align));
  }
  message_box(const message_box&) = delete;
  message_box& operator=(const message_box&) = delete;
  void* get() noexcept { return mem_; }
  void filled() noexcept { full_ = true; }

 private:
  const message_ops* ops_;
  void* mem_;
  bool full_ = false;
};

result<type_entry> codec_entry(const type_registry& r, type_id id) {
  auto e = r.find(id);
  if (!e || e->kind != type_kind::message) {
    return status(errc::invalid_argument, "no message type with id " + std::to_string(id));
  }
  if (e->codec == nullptr) {
    return status(errc::invalid_argument,
                  "message type \"" + e->name + "\" has no codec (declare its keel_fields)");
  }
  return *e;
}

}  // namespace

bool type_registry::has_codec(type_id id) const {
  auto e = find(id);
  return e && e->codec != nullptr;
}

result<std::vector<std::byte>> type_registry::json_to_bytes(type_id id,
                                                            std::string_view json) const {
  auto e = codec_entry(*this, id);
  if (!e) return e.error();
  auto j = parse_json(json);
  if (!j) return j.error();
  message_box box(e->ops);
  if (status s = e->codec->from_json(*j, box.get()); !s) return s;
  box.filled();
  std::vector<std::byte> out;
  e->codec->encode(box.get(), out);
  return out;
}

result<std::string> type_registry::bytes_to_json(type_id id,
                                                 std::span<const std::byte> bytes) const {
  auto e = codec_entry(*this, id);
  if (!e) return e.error();
  message_box box(e->ops);
  if (status s = e->codec->decode(bytes, box.get()); !s) return s;
  box.filled();
  auto j = e->codec->to_json(box.get());
  if (!j) return j.error();
  return dump_json(*j);
}

status type_registry::check_codecs(std::uint32_t samples) const {
  for (const type_entry& e : entries()) {
    if (e.codec == nullptr) continue;
    auto fail = [&](std::uint64_t seed, std::string_view step, const status& why) {
      std::string text =
          "codec of \"" + e.name + "\", sample " + std::to_string(seed) + ": " + std::string(step);
      if (!why) text += ": " + why.to_string();
      return status(errc::invalid_argument, text);
    };
    for (std::uint64_t seed = 1; seed <= samples; ++seed) {
      message_box original(e.ops);
      e.codec->sample(original.get(), seed);
      original.filled();
      std::vector<std::byte> bytes;
      e.codec->encode(original.get(), bytes);

      message_box decoded(e.ops);
      if (status s = e.codec->decode(bytes, decoded.get()); !s) return fail(seed, "decode", s);
      decoded.filled();
      std::vector<std::byte> again;
      e.codec->encode(decoded.get(), again);
      if (again != bytes) return fail(seed, "bytes -> message -> bytes changed the bytes", {});

      auto j = e.codec->to_json(original.get());
      if (!j) return fail(seed, "to_json", j.error());
      auto parsed = parse_json(dump_json(*j));
      if (!parsed) return fail(seed, "parse of to_json's text", parsed.error());
      message_box from_text(e.ops);
      if (status s = e.codec->from_json(*parsed, from_text.get()); !s) {
        return fail(seed, "from_json", s);
      }
      from_text.filled();
      std::vector<std::byte> via_json;
      e.codec->encode(from_text.get(), via_json);
      if (via_json != bytes) return fail(seed, "message -> JSON -> message changed it", {});
    }
  }
  return status::ok();
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
    case dead_letter_reason::mailbox_full:
      return "mailbox_full";
    case dead_letter_reason::quarantined:
      return "quarantined";
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
    case diagnostic_kind::long_handler:
      s += "long_handler";
      break;
    case diagnostic_kind::child_failure:
      s += "child_failure";
      break;
    case diagnostic_kind::escalation:
      s += "escalation";
      break;
    case diagnostic_kind::shutdown_kill:
      s += "shutdown_kill";
      break;
  }
  s += ": actor " + std::to_string(actor);
  if (!actor_type.empty() || !actor_name.empty()) {
    s += " (";
    s += actor_type;
    if (!actor_name.empty()) s += " \"" + actor_name + "\"";
    s += ")";
  }
  if (!message_type.empty()) {
    s += " on ";
    s += message_type;
  }
  if (correlation != 0) s += " [correlation " + std::to_string(correlation) + "]";
  if (kind == diagnostic_kind::mailbox_age) s += " age " + std::to_string(value / 1000) + " us";
  if (kind == diagnostic_kind::long_handler) {
    s += " for " + std::to_string(value / 1'000'000) + " ms";
  }
  s += ": " + text;
  if (report != nullptr) {
    s += '\n';
    s += report->to_string();  // the summary line (path, decision, ...), then the trace
  }
  return s;
}

}  // namespace keel
