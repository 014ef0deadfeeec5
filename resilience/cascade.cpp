// cascade_guard: failure edges, cascade linking, and the quarantine table (see cascade.h).
#include <algorithm>
#include <cmath>
#include <deque>
#include <unordered_map>

#include <keel/core/actor_system.h>
#include <keel/eventlog/log.h>
#include <keel/resilience/cascade.h>
#include <keel/resilience/quarantine_record.h>

namespace keel::resilience {
namespace {

std::uint64_t pack(actor_handle h) noexcept {
  return h.valid() ? (static_cast<std::uint64_t>(h.generation) << 32) | h.slot : 0;
}
actor_handle unpack(std::uint64_t k) noexcept {
  return {static_cast<std::uint32_t>(k & 0xFFFFFFFFU), static_cast<std::uint32_t>(k >> 32)};
}
bool within(std::uint64_t earlier, std::uint64_t now, std::uint64_t window) noexcept {
  return now >= earlier ? now - earlier <= window : true;  // a lagging clock: treat as recent
}

status bad(std::string_view field, std::string_view why) {
  return status(errc::invalid_config,
                "cascade_config::" + std::string(field) + " " + std::string(why));
}

}  // namespace

status cascade_config::validate() const {
  if (window.count() <= 0) return bad("window", "must be > 0");
  if (max_spread < 1) return bad("max_spread", "must be >= 1");
  if (quarantine_base < std::chrono::milliseconds(1)) {
    return bad("quarantine_base", "must be >= 1 ms");
  }
  if (!(std::isfinite(quarantine_multiplier) && quarantine_multiplier >= 1.0)) {
    return bad("quarantine_multiplier", "must be >= 1");
  }
  if (quarantine_max < quarantine_base) return bad("quarantine_max", "must be >= quarantine_base");
  if (history < 1) return bad("history", "must be >= 1");
  if (findings < 1) return bad("findings", "must be >= 1");
  if (max_quarantined < 1 || max_quarantined > 4096) {
    return bad("max_quarantined", "must be 1..4096");
  }
  return status::ok();
}

// One quarantined actor. The atomics are read by the hooks without the mutex (and written under
// it); the rest is the mutex's. An entry is reused after a release: a lock-free reader checks the
// key again after reading the fields, and every probe decision is taken under the mutex.
struct quarantine_entry {
  std::atomic<std::uint64_t> key{0};  // pack(actor); 0: a free entry. Published last (release).
  std::atomic<std::uint64_t> until{0};
  std::atomic<std::uint64_t> probe_id{0};  // the message let through as the probe (0: none)
  std::uint64_t probe_deadline = 0;        // a new probe may replace it from then (the mutex's)
  std::atomic<std::uint64_t> fallback{0};
  std::atomic<std::uint64_t> dropped{0};
  std::atomic<std::uint64_t> redirected{0};
  std::atomic<std::uint32_t> level{0};  // written under the mutex, read by on_send
  std::atomic<bool> subtree{false};     // covers the actors below it (written before the key)
  actor_id id = 0;
  std::string reason;
};

struct cascade_guard::state {
  explicit state(std::size_t n) : table(std::make_unique<quarantine_entry[]>(n)), size(n) {}

  // Lock-free side (the hooks).
  std::atomic<std::uint32_t> active{0};  // entries in use (a hint: raised first, lowered last)
  std::unique_ptr<quarantine_entry[]> table;
  std::size_t size;
  std::atomic<std::uint64_t> probes{0}, dropped{0}, redirected{0};
  std::atomic<eventlog::event_log*> log{nullptr};
  std::atomic<std::uint32_t> subtrees{0};  // subtree entries in use (a hint, like `active`)
  std::atomic<const actor_system*> sys{nullptr};

  quarantine_entry* find(std::uint64_t k) const noexcept {
    if (k == 0) return nullptr;
    for (std::size_t i = 0; i < size; ++i) {
      // acquire: the entry's fields were set before its key was published.
      if (table[i].key.load(std::memory_order_acquire) == k) return &table[i];
    }
    return nullptr;
  }

  // The entry that holds messages to `a` back: its own, or that of the nearest quarantined
  // subtree above it (`key` set to the entry's key); nullptr if none.
  quarantine_entry* covering(actor_handle a, std::uint64_t& key) const noexcept {
    key = pack(a);
    if (quarantine_entry* e = find(key)) return e;
    if (subtrees.load(std::memory_order_relaxed) == 0) return nullptr;
    const actor_system* s = sys.load(std::memory_order_acquire);
    if (s == nullptr) return nullptr;
    constexpr int k_max_depth = 64;  // deeper trees are not followed further
    actor_handle h = a;
    for (int depth = 0; depth < k_max_depth; ++depth) {
      h = s->supervisor_of(h);
      if (!h.valid()) return nullptr;
      quarantine_entry* e = find(pack(h));
      if (e != nullptr && e->subtree.load(std::memory_order_relaxed)) {
        key = pack(h);
        return e;
      }
    }
    return nullptr;
  }

  // The mutex's side.
  mutable std::mutex mu;
  struct last_failure {
    std::uint64_t at = 0;
    std::uint64_t root = 0;
    actor_id id = 0;  // the failed actor's (by_actor)
  };
  std::unordered_map<std::uint64_t, last_failure> by_actor;     // each actor's last failure
  std::unordered_map<message_id, last_failure> by_correlation;  // each correlation's first
  struct cascade {
    std::uint64_t first_at = 0;
    std::string_view root_type;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> members;  // (actor, last failure)
    std::uint64_t reported_at = 0;
    bool reported = false;
  };
  std::unordered_map<std::uint64_t, cascade> cascades;  // by root
  struct past {
    std::uint32_t level = 0;
    std::uint64_t released_at = 0;
  };
  std::unordered_map<std::uint64_t, past> levels;  // actors released, for the next level
  std::deque<failure_edge> edges;
  std::deque<cascade_finding> found;
  cascade_stats counts;
};

result<std::shared_ptr<cascade_guard>> cascade_guard::create(cascade_config cfg) {
  if (auto st = cfg.validate(); !st) return st;
  return std::shared_ptr<cascade_guard>(new cascade_guard(std::move(cfg)));
}

cascade_guard::cascade_guard(cascade_config cfg)
    : hook_subscriber(hook_phase::quarantine),
      cfg_(std::move(cfg)),
      s_(std::make_unique<state>(cfg_.max_quarantined)) {}

cascade_guard::~cascade_guard() = default;

void cascade_guard::attach_log(eventlog::event_log* log) noexcept {
  s_->log.store(log, std::memory_order_release);
}

void cascade_guard::attach_system(const actor_system* sys) noexcept {
  s_->sys.store(sys, std::memory_order_release);
}

namespace {

std::uint64_t period_of(const cascade_config& c, std::uint32_t level) noexcept {
  const double d =
      static_cast<double>(c.quarantine_base.count()) *
      std::pow(c.quarantine_multiplier, static_cast<double>(level > 0 ? level - 1 : 0));
  return static_cast<std::uint64_t>(std::min(d, static_cast<double>(c.quarantine_max.count())));
}

}  // namespace

// ---- the hooks ------------------------------------------------------------------------------

send_decision cascade_guard::quarantined_send(quarantine_entry& e, std::uint64_t key,
                                              send_event& ev) noexcept {
  const std::uint64_t fb = e.fallback.load(std::memory_order_relaxed);
  // acquire: the key read again after the fields; a changed key means the entry was released
  // (and perhaps reused) meanwhile: the actor is not quarantined any more.
  if (e.key.load(std::memory_order_acquire) != key) return send_decision::pass;
  if (fb != 0) {
    e.redirected.fetch_add(1, std::memory_order_relaxed);
    s_->redirected.fetch_add(1, std::memory_order_relaxed);
    ev.redirect_to = unpack(fb);
    return send_decision::redirect;
  }
  e.dropped.fetch_add(1, std::memory_order_relaxed);
  s_->dropped.fetch_add(1, std::memory_order_relaxed);
  ev.drop_reason = dead_letter_reason::quarantined;
  return send_decision::drop;
}

send_decision cascade_guard::on_send(send_event& ev) noexcept {
  if (s_->active.load(std::memory_order_relaxed) == 0) return send_decision::pass;
  // The runtime's own traffic passes (asks complete, supervisors hear of failures), and a
  // message another hook already decided on is left to that decision.
  if (ev.runtime || ev.decision != send_decision::pass) return send_decision::pass;
  std::uint64_t key = 0;
  quarantine_entry* e = s_->covering(ev.target, key);
  if (e == nullptr) return send_decision::pass;
  const std::uint64_t now = ev.sent_at;
  if (now < e->until.load(std::memory_order_relaxed)) return quarantined_send(*e, key, ev);
  // The period is over: one message goes through as the probe (a new one if the last was not
  // handled within another period). Decided under the mutex, without waiting for it: a sender
  // that finds it taken treats the actor as still quarantined.
  std::unique_lock<std::mutex> lock(s_->mu, std::try_to_lock);
  if (!lock.owns_lock() || e->key.load(std::memory_order_relaxed) != key) {
    return quarantined_send(*e, key, ev);
  }
  const std::uint64_t out = e->probe_id.load(std::memory_order_relaxed);
  if (out != 0 && now < e->probe_deadline) return quarantined_send(*e, key, ev);
  e->probe_deadline = now + period_of(cfg_, e->level.load(std::memory_order_relaxed));
  e->probe_id.store(ev.id, std::memory_order_relaxed);
  s_->probes.fetch_add(1, std::memory_order_relaxed);
  return send_decision::pass;
}

void cascade_guard::on_handled(const deliver_event& ev) noexcept {
  if (s_->active.load(std::memory_order_relaxed) == 0) return;
  std::uint64_t key = 0;
  quarantine_entry* e = s_->covering(ev.target, key);
  if (e == nullptr || e->probe_id.load(std::memory_order_relaxed) != ev.id) return;
  try {
    std::lock_guard<std::mutex> lock(s_->mu);
    // Again under the mutex: the probe handled normally releases the actor (or subtree).
    if (e->key.load(std::memory_order_relaxed) == key &&
        e->probe_id.load(std::memory_order_relaxed) == ev.id) {
      release_locked(*e, ev.now);
    }
  } catch (...) {
    // The mutex could not be taken (system error): the next probe will release it.
  }
}

void cascade_guard::on_stop(const lifecycle_event& ev) noexcept {
  if (s_->active.load(std::memory_order_relaxed) == 0) return;
  try {
    std::lock_guard<std::mutex> lock(s_->mu);
    // A stopped actor needs no quarantine: its entry goes back to the table.
    if (quarantine_entry* e = s_->find(pack(ev.actor))) release_locked(*e, ev.now);
  } catch (...) {
  }
}

void cascade_guard::on_failure(const lifecycle_event& ev) noexcept {
  const std::uint64_t to = pack(ev.actor);
  if (to == 0) return;
  const std::uint64_t from = pack(ev.sender);
  const auto window = static_cast<std::uint64_t>(cfg_.window.count());
  const std::uint64_t now = ev.now;
  try {
    std::lock_guard<std::mutex> lock(s_->mu);
    state& s = *s_;
    ++s.counts.failures;
    // Which cascade: the sender's, if it failed recently; else an earlier failure's with the
    // same correlation; else a new one, rooted here.
    std::uint64_t root = to;
    if (from != 0 && from != to) {
      auto it = s.by_actor.find(from);
      if (it != s.by_actor.end() && within(it->second.at, now, window)) root = it->second.root;
    }
    if (root == to && ev.correlation != 0) {
      auto it = s.by_correlation.find(ev.correlation);
      if (it != s.by_correlation.end() && within(it->second.at, now, window) &&
          it->second.root != to) {
        root = it->second.root;
      }
    }
    if (root != to) ++s.counts.linked;
    s.by_actor[to] = {now, root, ev.id};
    if (ev.correlation != 0) {
      auto [it, fresh] =
          s.by_correlation.try_emplace(ev.correlation, state::last_failure{now, root, ev.id});
      if (!fresh && !within(it->second.at, now, window)) it->second = {now, root};
    }
    failure_edge edge;
    edge.from = ev.sender;
    edge.to = ev.actor;
    edge.to_id = ev.id;
    edge.to_type = ev.actor_type;
    edge.message = ev.message;
    edge.correlation = ev.correlation;
    edge.causation = ev.causation;
    edge.at = now;
    edge.root = unpack(root);
    s.edges.push_back(edge);
    while (s.edges.size() > cfg_.history) s.edges.pop_front();

    // A quarantined actor whose probe fails stays quarantined, for longer. (A failure on a
    // message queued before the quarantine changes nothing: it is quarantined already.)
    std::uint64_t covered_by = 0;
    if (quarantine_entry* e = s.covering(ev.actor, covered_by);
        e != nullptr && ev.message != 0 &&
        e->probe_id.load(std::memory_order_relaxed) == ev.message) {
      extend_locked(*e, now);
    }

    if (root != to) note_spread_locked(root, to, ev, now);
    prune_locked(now);
  } catch (...) {
    // No memory for the bookkeeping: this failure is not linked (the core handles it anyway).
  }
}

// ---- cascades ---------------------------------------------------------------------------------

void cascade_guard::note_spread_locked(std::uint64_t root, std::uint64_t to,
                                       const lifecycle_event& ev, std::uint64_t now) {
  state& s = *s_;
  const auto window = static_cast<std::uint64_t>(cfg_.window.count());
  auto [it, fresh] = s.cascades.try_emplace(root);
  state::cascade& c = it->second;
  if (fresh) {
    auto r = s.by_actor.find(root);
    c.first_at = r != s.by_actor.end() ? r->second.at : now;
  }
  bool known = false;
  for (auto& m : c.members) {
    if (m.first == to) {
      m.second = now;
      known = true;
    }
  }
  if (!known) c.members.emplace_back(to, now);
  std::uint32_t spread = 0;
  std::vector<actor_handle> actors;
  for (const auto& m : c.members) {
    if (within(m.second, now, window)) {
      ++spread;
      actors.push_back(unpack(m.first));
    }
  }
  if (spread < cfg_.max_spread) return;
  if (c.reported && within(c.reported_at, now, window)) return;  // one finding per window
  c.reported = true;
  c.reported_at = now;
  ++s.counts.cascades;
  cascade_finding f;
  f.root = unpack(root);
  for (const failure_edge& e : s.edges) {
    if (pack(e.to) == root) f.root_type = e.to_type;
  }
  f.spread = spread;
  f.actors = std::move(actors);
  f.correlation = ev.correlation;
  f.first_at = c.first_at;
  f.at = now;
  if (cfg_.quarantine_roots && s.find(root) == nullptr) {
    const std::string why = "cascade: its failures spread to " + std::to_string(spread) +
                            " actors within " + std::to_string(cfg_.window.count() / 1'000'000) +
                            " ms";
    auto r = s.by_actor.find(root);
    const actor_id root_id = r != s.by_actor.end() ? r->second.id : 0;
    f.quarantined = quarantine_locked(root, root_id, now, why, {}, false).is_ok();
  }
  s.found.push_back(std::move(f));
  while (s.found.size() > cfg_.findings) s.found.pop_front();
}

void cascade_guard::prune_locked(std::uint64_t now) {
  state& s = *s_;
  const auto window = static_cast<std::uint64_t>(cfg_.window.count());
  constexpr std::size_t k_prune_above = 1024;
  auto prune = [&](auto& map) {
    if (map.size() <= k_prune_above) return;
    for (auto it = map.begin(); it != map.end();) {
      it = within(it->second.at, now, window) ? std::next(it) : map.erase(it);
    }
  };
  prune(s.by_actor);
  prune(s.by_correlation);
  if (s.cascades.size() > k_prune_above) {
    for (auto it = s.cascades.begin(); it != s.cascades.end();) {
      const bool live = std::any_of(it->second.members.begin(), it->second.members.end(),
                                    [&](const auto& m) { return within(m.second, now, window); });
      it = live ? std::next(it) : s.cascades.erase(it);
    }
  }
  if (s.levels.size() > k_prune_above) {
    const auto keep = static_cast<std::uint64_t>(cfg_.quarantine_max.count());
    for (auto it = s.levels.begin(); it != s.levels.end();) {
      it = within(it->second.released_at, now, keep) ? std::next(it) : s.levels.erase(it);
    }
  }
}

// ---- the quarantine table -----------------------------------------------------------------------

status cascade_guard::quarantine_locked(std::uint64_t key, actor_id id, std::uint64_t now,
                                        std::string_view reason, actor_handle fallback,
                                        bool subtree) {
  state& s = *s_;
  if (quarantine_entry* e = s.find(key)) {
    e->reason.assign(reason);
    e->fallback.store(pack(fallback), std::memory_order_relaxed);
    if (subtree && !e->subtree.load(std::memory_order_relaxed)) {
      s.subtrees.fetch_add(1, std::memory_order_relaxed);
      e->subtree.store(true, std::memory_order_relaxed);
    }
    return status::ok();
  }
  quarantine_entry* slot = nullptr;
  for (std::size_t i = 0; i < s.size && slot == nullptr; ++i) {
    if (s.table[i].key.load(std::memory_order_relaxed) == 0) slot = &s.table[i];
  }
  if (slot == nullptr) {
    ++s.counts.table_full;
    return status(errc::full, "cascade_guard: " + std::to_string(s.size) +
                                  " actors are quarantined already (max_quarantined)");
  }
  // An actor quarantined again soon after its release starts one level higher.
  std::uint32_t level = 1;
  if (auto it = s.levels.find(key); it != s.levels.end()) {
    if (within(it->second.released_at, now,
               static_cast<std::uint64_t>(cfg_.quarantine_max.count()))) {
      level = it->second.level + 1;
    }
    s.levels.erase(it);
  }
  slot->level.store(level, std::memory_order_relaxed);
  slot->id = id;
  slot->reason.assign(reason);
  slot->until.store(now + period_of(cfg_, level), std::memory_order_relaxed);
  slot->probe_id.store(0, std::memory_order_relaxed);
  slot->probe_deadline = 0;
  slot->fallback.store(pack(fallback), std::memory_order_relaxed);
  slot->dropped.store(0, std::memory_order_relaxed);
  slot->redirected.store(0, std::memory_order_relaxed);
  slot->subtree.store(subtree, std::memory_order_relaxed);
  if (subtree) s.subtrees.fetch_add(1, std::memory_order_relaxed);
  s.active.fetch_add(1, std::memory_order_relaxed);
  slot->key.store(key, std::memory_order_release);
  ++s.counts.quarantines;
  record_locked(quarantine_event::quarantined, *slot, key, now);
  return status::ok();
}

void cascade_guard::extend_locked(quarantine_entry& e, std::uint64_t now) {
  const std::uint32_t level = e.level.fetch_add(1, std::memory_order_relaxed) + 1;
  e.until.store(now + period_of(cfg_, level), std::memory_order_relaxed);
  e.probe_id.store(0, std::memory_order_relaxed);
  e.probe_deadline = 0;
  ++s_->counts.extensions;
  record_locked(quarantine_event::extended, e, e.key.load(std::memory_order_relaxed), now);
}

void cascade_guard::release_locked(quarantine_entry& e, std::uint64_t now) {
  const std::uint64_t key = e.key.load(std::memory_order_relaxed);
  s_->levels[key] = {e.level.load(std::memory_order_relaxed), now};
  ++s_->counts.releases;
  record_locked(quarantine_event::released, e, key, now);
  e.key.store(0, std::memory_order_release);
  if (e.subtree.exchange(false, std::memory_order_relaxed)) {
    s_->subtrees.fetch_sub(1, std::memory_order_relaxed);
  }
  s_->active.fetch_sub(1, std::memory_order_relaxed);
}

void cascade_guard::record_locked(quarantine_event what, const quarantine_entry& e,
                                  std::uint64_t key, std::uint64_t now) {
  eventlog::event_log* log = s_->log.load(std::memory_order_acquire);
  if (log == nullptr) return;
  quarantine_record r;
  r.event = what;
  r.level = e.level.load(std::memory_order_relaxed);
  r.actor = unpack(key);
  r.id = e.id;
  r.until = what == quarantine_event::released ? 0 : e.until.load(std::memory_order_relaxed);
  r.subtree = e.subtree.load(std::memory_order_relaxed);
  r.reason = e.reason;
  quarantine_record_buffer buf;
  eventlog::record_in in;
  in.type = eventlog::record_type::quarantine;
  in.ts_ns = static_cast<std::int64_t>(now);
  in.actor_id = e.id;
  in.payload = encode_quarantine_record(r, buf);
  if (!log->append(in)) ++s_->counts.log_errors;
}

// ---- the public API ---------------------------------------------------------------------------

status cascade_guard::quarantine(actor_handle a, std::uint64_t now, std::string_view reason,
                                 actor_handle fallback) {
  if (!a.valid()) return status(errc::invalid_argument, "cascade_guard::quarantine: no actor");
  std::lock_guard<std::mutex> lock(s_->mu);
  actor_id id = 0;
  for (const failure_edge& e : s_->edges) {
    if (e.to == a) id = e.to_id;
  }
  return quarantine_locked(pack(a), id, now, reason, fallback, false);
}

status cascade_guard::quarantine_subtree(actor_handle root, std::uint64_t now,
                                         std::string_view reason, actor_handle fallback) {
  if (!root.valid()) {
    return status(errc::invalid_argument, "cascade_guard::quarantine_subtree: no actor");
  }
  if (s_->sys.load(std::memory_order_acquire) == nullptr) {
    return status(errc::invalid_argument,
                  "cascade_guard::quarantine_subtree: no system attached (attach_system) to find "
                  "the actors below it");
  }
  std::lock_guard<std::mutex> lock(s_->mu);
  actor_id id = 0;
  for (const failure_edge& e : s_->edges) {
    if (e.to == root) id = e.to_id;
  }
  return quarantine_locked(pack(root), id, now, reason, fallback, true);
}

bool cascade_guard::release(actor_handle a, std::uint64_t now) {
  std::lock_guard<std::mutex> lock(s_->mu);
  quarantine_entry* e = s_->find(pack(a));
  if (e == nullptr) return false;
  release_locked(*e, now);
  return true;
}

std::size_t cascade_guard::quarantined_count() const noexcept {
  return s_->active.load(std::memory_order_relaxed);
}

bool cascade_guard::is_quarantined(actor_handle a) const noexcept {
  std::uint64_t key = 0;
  return s_->active.load(std::memory_order_relaxed) != 0 && s_->covering(a, key) != nullptr;
}

std::vector<failure_edge> cascade_guard::edges() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  return {s_->edges.begin(), s_->edges.end()};
}

std::vector<cascade_finding> cascade_guard::findings() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  return {s_->found.begin(), s_->found.end()};
}

std::vector<quarantine_info> cascade_guard::quarantined() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  std::vector<quarantine_info> out;
  for (std::size_t i = 0; i < s_->size; ++i) {
    const quarantine_entry& e = s_->table[i];
    const std::uint64_t key = e.key.load(std::memory_order_acquire);
    if (key == 0) continue;
    quarantine_info q;
    q.actor = unpack(key);
    q.fallback = unpack(e.fallback.load(std::memory_order_relaxed));
    q.level = e.level.load(std::memory_order_relaxed);
    q.until = e.until.load(std::memory_order_relaxed);
    q.probing = e.probe_id.load(std::memory_order_relaxed) != 0;
    q.dropped = e.dropped.load(std::memory_order_relaxed);
    q.redirected = e.redirected.load(std::memory_order_relaxed);
    q.subtree = e.subtree.load(std::memory_order_relaxed);
    q.reason = e.reason;
    out.push_back(std::move(q));
  }
  return out;
}

cascade_stats cascade_guard::stats() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  cascade_stats c = s_->counts;
  c.probes = s_->probes.load(std::memory_order_relaxed);
  c.dropped = s_->dropped.load(std::memory_order_relaxed);
  c.redirected = s_->redirected.load(std::memory_order_relaxed);
  return c;
}

}  // namespace keel::resilience
