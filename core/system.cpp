// actor_system: construction, spawn, the actor table, names, shutdown and the read-side APIs.
#include <algorithm>
#include <cstdio>
#include <random>
#include <thread>
#include <utility>

#include "core/system_state.h"

#include <keel/core/actor_system.h>

namespace keel {
namespace detail {

system_state::system_state(system_config c) : cfg(std::move(c)) {
  chunks.reset(new std::atomic<actor_cell*>[k_max_chunks]);
  for (std::uint32_t i = 0; i < k_max_chunks; ++i)
    chunks[i].store(nullptr, std::memory_order_relaxed);
  external_rows.reset(new counter_row[cfg.max_actor_types]);
  atype_names.reset(new std::string_view[cfg.max_actor_types]);
  hooks = cfg.hooks;
  std::stable_sort(hooks.begin(), hooks.end(),
                   [](const auto& a, const auto& b) { return a->phase() < b->phase(); });
  any_hooks = !hooks.empty();
}

void free_held_envelopes(core_local* l) noexcept {
  for (auto& per_class : l->returns) {
    for (return_state& r : per_class) {
      if (r.filling != nullptr) free_batch(r.filling);
      for (returned_batch* b = r.full; b != nullptr;) {
        returned_batch* below = b == r.full_last ? nullptr : b->below;
        free_batch(b);
        b = below;
      }
    }
  }
  for (auto& c : l->caches) {
    while (c.count != 0) sched::free_block(c.slots[--c.count]);
  }
}

system_state::~system_state() {
  // Envelopes in transit back to their workers, and the workers' caches (the workers have
  // stopped; their heaps were deleted, which keeps the blocks valid for free).
  for (auto& l : locals) {
    free_held_envelopes(l.get());
    returned_batch* b = l->returned->exchange(nullptr, std::memory_order_acquire);
    while (b != nullptr) {
      returned_batch* below = b->below;
      free_batch(b);
      b = below;
    }
  }
  for (std::uint32_t i = 0; i < k_max_chunks; ++i) {
    actor_cell* chunk = chunks[i].load(std::memory_order_relaxed);
    if (chunk == nullptr) break;
    for (std::uint32_t j = 0; j < k_chunk_size; ++j) {
      actor_cell& cell = chunk[j];
      // Free whatever is still queued (the workers have stopped).
      auto drop = [](envelope* e) noexcept { free_envelope(e); };
      while (envelope* e = pop_lane(cell.sys_tail, &cell.sys_stub, drop))
        e->ops->destroy(e->payload());
      while (envelope* e = pop_lane(cell.tail, &cell.stub, drop)) e->ops->destroy(e->payload());
      if (cell.sys_tail != &cell.sys_stub && cell.sys_tail != nullptr)
        free_envelope(static_cast<envelope*>(cell.sys_tail));
      if (cell.tail != &cell.stub && cell.tail != nullptr)
        free_envelope(static_cast<envelope*>(cell.tail));
      if (cell.behavior != nullptr) {
        cell.behavior->~actor_base();
        sched::free_block(cell.behavior);
      }
      delete cell.extras;
      cell.~actor_cell();
    }
    ::operator delete[](chunk, std::align_val_t(k_cache_line));
  }
  while (bounded_lane* b = bounded_lanes) {
    bounded_lanes = b->next_owned;
    delete b;
  }
}

std::unique_ptr<core_local> system_state::make_local(std::uint8_t index) {
  auto l = std::make_unique<core_local>();
  l->sys = this;
  l->index = index;
  l->returns.resize(sched->worker_count());
  for (auto& c : l->caches) {
    c.capacity = cfg.envelope_cache;
    c.slots.reset(new void*[c.capacity]);
  }
  l->counters.reset(new counter_row[cfg.max_actor_types]);
  return l;
}

void system_state::on_worker_start(sched::worker& w) noexcept {
  if (w.dedicated()) {
    start_detached_local(w);  // blocking.cpp
    return;
  }
  core_local* l = locals[w.index()].get();
  l->w = &w;
  w.set_user_data(l);
}

void system_state::on_worker_stop(sched::worker& w) noexcept {
  if (w.dedicated()) {
    stop_detached_local(w);  // blocking.cpp
    return;
  }
  // The caches stay until ~system_state: other workers may still return envelopes here.
  w.set_user_data(nullptr);
}

void system_state::report(diagnostic d) noexcept {
  try {
    if (cfg.diagnostics) {
      cfg.diagnostics(d);
      return;
    }
    // Default sink: stderr, at most 10 lines a second; the rest are counted and summarised.
    std::lock_guard<std::mutex> lock(diag_mu);
    const std::uint64_t now = sched::clock_now();
    if (now - diag_window_start > 1'000'000'000ULL) {
      if (diag_suppressed > 0) {
        std::fprintf(stderr, "keel: %llu more diagnostics suppressed\n",
                     static_cast<unsigned long long>(diag_suppressed));
      }
      diag_window_start = now;
      diag_in_window = 0;
      diag_suppressed = 0;
    }
    if (diag_in_window++ < 10) {
      std::fprintf(stderr, "%s\n", d.to_string().c_str());
    } else {
      ++diag_suppressed;
    }
  } catch (...) {
    // A diagnostics sink that throws must not take a worker down.
  }
}

actor_system& system_of(actor_cell* c) noexcept { return *c->system->face; }

std::string_view system_state::type_name_of(std::uint32_t type_index) const noexcept {
  return type_index < atype_count.load(std::memory_order_acquire) ? atype_names[type_index]
                                                                  : std::string_view();
}

actor_handle system_state::parent_of(std::uint32_t slot, std::uint32_t generation) const noexcept {
  actor_cell* c = cell_at(slot);
  if (c == nullptr || generation == 0) return {};
  // The word belongs to this incarnation if the generation is the same before and after it is
  // read (spawn writes it before publishing the generation; a stop clears the generation first).
  if (c->generation.load(std::memory_order_acquire) != generation) return {};
  const std::uint64_t v = parent_word(slot)->load(std::memory_order_acquire);
  if (c->generation.load(std::memory_order_acquire) != generation) return {};
  return unpack(v);
}

std::uint32_t system_state::cached_type_index(const void* identity) const noexcept {
  const std::size_t h = std::hash<const void*>{}(identity);
  for (std::size_t i = 0; i < k_atype_probe; ++i) {
    const atype_cache_entry& e = atype_cache[(h + i) % k_atype_cache];
    // acquire: pairs with the release store of identity, after index.
    const void* id = e.identity.load(std::memory_order_acquire);
    if (id == identity) return e.index.load(std::memory_order_relaxed);
    if (id == nullptr) break;
  }
  return UINT32_MAX;
}

void system_state::cache_type_index(const void* identity, std::uint32_t index) noexcept {
  const std::size_t h = std::hash<const void*>{}(identity);
  for (std::size_t i = 0; i < k_atype_probe; ++i) {
    atype_cache_entry& e = atype_cache[(h + i) % k_atype_cache];
    if (e.identity.load(std::memory_order_relaxed) != nullptr) continue;
    e.index.store(index, std::memory_order_relaxed);
    e.identity.store(identity, std::memory_order_release);
    return;
  }
}

}  // namespace detail

using detail::actor_cell;
using detail::system_state;

result<std::unique_ptr<actor_system>> actor_system::create(system_config config) {
  if (status s = config.validate(); !s) return s;
  auto state = std::make_unique<system_state>(std::move(config));
  system_state* s = state.get();
  s->seed = s->cfg.seed;
  while (s->seed == 0) {
    std::random_device rd;
    s->seed = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }
  auto sched = sched::scheduler::create(s->cfg.scheduler, *s);
  if (!sched) return sched.error();
  s->sched = std::move(sched).value();
  for (std::uint32_t i = 0; i < s->sched->worker_count(); ++i) {
    s->locals.push_back(s->make_local(i < envelope::k_no_origin ? static_cast<std::uint8_t>(i)
                                                                : envelope::k_no_origin));
  }
  std::unique_ptr<actor_system> sys(new actor_system(std::move(state)));
  s->face = sys.get();
  s->factories = std::make_unique<actor_factory_registry>(*sys);
  s->sched->start();
  return sys;
}

actor_system::actor_system(std::unique_ptr<detail::system_state> s) noexcept
    : state_(std::move(s)) {}

actor_system::~actor_system() {
  if (!state_->shut_down) shutdown();
  state_->sched->stop();
}

result<actor_ref<>> actor_system::spawn_erased(const detail::spawn_request& req,
                                               const spawn_options& opts) {
  system_state* s = state_.get();
  if (s->shutting_down.load(std::memory_order_acquire)) {
    return status(errc::shutting_down, "spawn after shutdown");
  }
  if (req.align > alignof(std::max_align_t)) {
    return status(errc::invalid_argument, "actor alignment above 16 bytes is not supported");
  }
  if (opts.mailbox.capacity > mailbox_bound::k_max_capacity) {
    return status(errc::invalid_argument,
                  "spawn_options.mailbox.capacity: " + std::to_string(opts.mailbox.capacity) +
                      " is above the maximum " + std::to_string(mailbox_bound::k_max_capacity));
  }
  if (static_cast<std::uint8_t>(opts.mailbox.policy) >
      static_cast<std::uint8_t>(overflow_policy::fail)) {
    return status(errc::invalid_argument, "spawn_options.mailbox.policy: not an overflow_policy");
  }
  if (opts.detached && opts.pin != sched::k_any_worker) {
    return status(errc::invalid_argument,
                  "spawn_options: a detached actor has its own thread; it cannot also be pinned");
  }
  if (opts.pin != sched::k_any_worker && opts.pin >= s->sched->worker_count()) {
    return status(errc::invalid_argument,
                  "spawn_options.pin: no worker " + std::to_string(opts.pin));
  }
  // The actor type's counter row (registering the type and its messages on first spawn).
  std::uint32_t type_index = s->cached_type_index(req.identity);
  if (type_index == UINT32_MAX) {
    std::lock_guard<std::mutex> lock(s->atype_mu);
    auto it = s->atype_index.find(req.identity);
    if (it != s->atype_index.end()) {
      type_index = it->second;
    } else {
      status st = s->types.add_entry(type_entry{xxh3_64(req.type_name), std::string(req.type_name),
                                                type_kind::actor, req.identity, nullptr});
      if (st.is_ok()) req.register_messages(s->types, st);
      if (!st) return st;
      const std::uint32_t n = s->atype_count.load(std::memory_order_relaxed);
      if (n >= s->cfg.max_actor_types) {
        return status(errc::invalid_argument,
                      "more actor types than system_config.max_actor_types");
      }
      type_index = n;
      s->atype_names[n] = req.type_name;
      s->atype_count.store(n + 1, std::memory_order_release);
      s->atype_index.emplace(req.identity, type_index);
      s->cache_type_index(req.identity, type_index);
    }
  }
  // The supervisor, and the held incarnation a restart replaces.
  actor_cell* target = nullptr;
  if (opts.supervisor.valid()) {
    actor_cell* p = s->cell_at(opts.supervisor.slot);
    if (p == nullptr || p->generation.load(std::memory_order_acquire) != opts.supervisor.generation)
      return status(errc::actor_stopped, "spawn_options.supervisor: no live actor");
  }
  if (opts.replace.valid()) {
    detail::core_local* l = s->local();
    target = s->cell_at(opts.replace.slot);
    if (target == nullptr ||
        target->generation.load(std::memory_order_acquire) != opts.replace.generation)
      return status(errc::actor_stopped, "spawn_options.replace: no live actor");
    const bool by_replay = opts.replace == s->replay_replacing && l == nullptr;
    if (!by_replay &&
        (!opts.supervisor.valid() ||
         s->parent_of(opts.replace.slot, opts.replace.generation) != opts.supervisor ||
         l == nullptr || l->running == nullptr ||
         actor_handle{l->running->slot, l->running->own_generation} != opts.supervisor)) {
      return status(errc::invalid_argument,
                    "spawn_options.replace: only the actor's supervisor, from its handler, "
                    "restarts it");
    }
    if (target->type_index != type_index)
      return status(errc::invalid_argument,
                    "spawn_options.replace: the new object's type differs from the actor's");
  } else if (!opts.name.empty()) {
    std::lock_guard<std::mutex> lock(s->names_mu);
    if (s->names.count(opts.name) != 0) {
      return status(errc::duplicate_name, "an actor named \"" + opts.name + "\" is alive");
    }
  }
  if (s->cfg.alloc_fault && s->cfg.alloc_fault(alloc_site::actor)) {
    return status(errc::out_of_memory, "spawn: no memory for the actor");
  }
  // A bounded lane's counts, in case the slot has none yet (allocated before anything else, so
  // that no later step can fail for want of it).
  std::unique_ptr<detail::bounded_lane> spare_lane;
  if (opts.mailbox.capacity != 0) {
    spare_lane.reset(new (std::nothrow) detail::bounded_lane());
    if (!spare_lane) return status(errc::out_of_memory, "spawn: no memory for the mailbox bound");
  }
  void* mem = sched::allocate_block(req.size);
  if (mem == nullptr) return status(errc::out_of_memory, "spawn: no memory for the actor");
  actor_base* behavior = nullptr;
  try {
    behavior = req.make(mem, req.args);
  } catch (const std::exception& ex) {
    sched::free_block(mem);
    return status(errc::failed, std::string("actor constructor threw: ") + ex.what());
  } catch (...) {
    sched::free_block(mem);
    return status(errc::failed, "actor constructor threw");
  }
  auto fail_spawn = [&](status st) {
    behavior->~actor_base();
    sched::free_block(mem);
    return st;
  };
  // A supervisor restarting a child with hooks attached left the child's path for this spawn
  // (supervisor_state::restart_one): on_restart is told in the child's order.
  std::string* restart_path = nullptr;
  if (detail::core_local* l = s->local();
      l != nullptr && l->restart_path != nullptr && l->running != nullptr &&
      actor_handle{l->running->slot, l->running->own_generation} == opts.supervisor) {
    restart_path = std::exchange(l->restart_path, nullptr);
  }
  if (target != nullptr) {
    // A restart in place: the held incarnation takes the new object from its system lane (and
    // tells on_restart as it does).
    detail::runtime_access::bind(behavior, target, opts.replace.generation);
    if (detail::send_directive(s, opts.replace, detail::directive_kind::restart,
                               detail::owned_behavior(behavior), restart_path) != send_status::ok) {
      return status(errc::actor_stopped, "spawn_options.replace: the actor stopped");
    }
    return actor_ref<>::from_cell(target, opts.replace.generation);
  }

  // A cell: a released one whose mailbox is closed and idle, or a fresh one.
  actor_cell* c = nullptr;
  std::uint32_t gen = 1;
  // Takes the cell of `f` if its mailbox is closed and idle. Fails while a late sender drains
  // the closed mailbox: the slot is then tried again later.
  auto take = [&](detail::free_slot f) {
    actor_cell* cand = s->cell_at(f.slot);
    std::uintptr_t closed =
        reinterpret_cast<std::uintptr_t>(&cand->stub) | detail::k_idle | detail::k_closed;
    if (!cand->head.compare_exchange_strong(
            closed, reinterpret_cast<std::uintptr_t>(&cand->stub) | detail::k_idle,
            std::memory_order_acq_rel, std::memory_order_acquire)) {
      return false;
    }
    c = cand;
    gen = f.last_generation + 1;
    if (gen == 0) gen = 1;
    return true;
  };
  if (c == nullptr) {
    std::lock_guard<std::mutex> lock(s->table_mu);
    for (std::size_t tries = s->free_slots.size(); tries > 0 && c == nullptr; --tries) {
      detail::free_slot f = s->free_slots.front();
      s->free_slots.pop_front();
      if (!take(f)) s->free_slots.push_back(f);
    }
    if (c == nullptr) {
      const std::uint32_t slot = s->slots_used;
      const std::uint32_t chunk_index = slot >> system_state::k_chunk_bits;
      if (chunk_index >= system_state::k_max_chunks)
        return fail_spawn(status(errc::out_of_memory, "actor table full"));
      if ((slot & (system_state::k_chunk_size - 1)) == 0) {
        if (s->cfg.alloc_fault && s->cfg.alloc_fault(alloc_site::cell_chunk)) {
          return fail_spawn(status(errc::out_of_memory, "spawn: no memory for the actor table"));
        }
        // The cells, then each one's parent word (system_state::parent_word).
        void* raw = ::operator new[](
            (sizeof(actor_cell) + sizeof(std::atomic<std::uint64_t>)) * system_state::k_chunk_size,
            std::align_val_t(k_cache_line), std::nothrow);
        if (raw == nullptr)
          return fail_spawn(status(errc::out_of_memory, "spawn: no memory for the actor table"));
        auto* chunk = static_cast<actor_cell*>(raw);
        for (std::uint32_t i = 0; i < system_state::k_chunk_size; ++i) {
          actor_cell* cell = ::new (&chunk[i]) actor_cell();
          cell->system = s;
          cell->slot = slot + i;
          cell->tail = &cell->stub;
          cell->sys_tail = &cell->sys_stub;
          cell->sys_head.store(&cell->sys_stub, std::memory_order_relaxed);
          cell->head.store(reinterpret_cast<std::uintptr_t>(&cell->stub) | detail::k_idle,
                           std::memory_order_relaxed);
        }
        auto* words =
            reinterpret_cast<std::atomic<std::uint64_t>*>(chunk + system_state::k_chunk_size);
        for (std::uint32_t i = 0; i < system_state::k_chunk_size; ++i) {
          ::new (&words[i]) std::atomic<std::uint64_t>(0);
        }
        s->chunks[chunk_index].store(chunk, std::memory_order_release);
      }
      ++s->slots_used;
      c = s->cell_at(slot);
    }
  }
  // We own the cell (its mailbox is idle and open; its generation is 0, so stale sends fail).
  c->id = (static_cast<actor_id>(s->cfg.node) << k_node_shift) |
          s->next_serial.fetch_add(1, std::memory_order_relaxed);
  c->type_index = type_index;
  c->pin = opts.pin;
  c->budget = static_cast<std::uint16_t>(opts.budget != 0 ? opts.budget : s->cfg.message_budget);
  c->behavior = behavior;
  c->own_generation = gen;
  c->mailbox_age_us = 0;
  c->marks = 0;
  if (c->extras != nullptr) {
    delete c->extras;
    c->extras = nullptr;
  }
  detail::runtime_access::bind(behavior, c, gen);
  // A spawn that fails from here on gives the cell back: closed and idle on the free list (its
  // generation stays 0, so no send reached it), and the actor object freed.
  auto give_back_cell = [&](status st) {
    c->behavior = nullptr;
    {
      std::lock_guard<std::mutex> tlock(s->table_mu);
      s->free_slots.push_back(detail::free_slot{c->slot, gen});
    }
    c->head.store(reinterpret_cast<std::uintptr_t>(&c->stub) | detail::k_idle | detail::k_closed,
                  std::memory_order_release);
    return fail_spawn(std::move(st));
  };
  if (!opts.name.empty()) {
    std::lock_guard<std::mutex> lock(s->names_mu);
    if (!s->names.emplace(opts.name, actor_handle{c->slot, gen}).second) {
      return give_back_cell(
          status(errc::duplicate_name, "an actor named \"" + opts.name + "\" is alive"));
    }
    detail::extras_of(c).name = opts.name;
  }
  if (opts.detached) {
    // The actor's own thread: started last, so that nothing after it can fail.
    auto dedicated =
        s->sched->start_dedicated(opts.name.empty() ? req.type_name : std::string_view(opts.name));
    if (!dedicated) {
      if (!opts.name.empty()) {
        std::lock_guard<std::mutex> lock(s->names_mu);
        s->names.erase(opts.name);
      }
      return give_back_cell(dedicated.error());
    }
    c->pin = *dedicated;
  }
  if (opts.stash_capacity != 0) detail::extras_of(c).stash_capacity = opts.stash_capacity;
  if (opts.supervisor.valid()) {
    s->parent_word(c->slot)->store(system_state::pack(opts.supervisor), std::memory_order_relaxed);
    c->mark(detail::mark_supervised, true);
  }
  detail::bind_bounded_lane(s, c, opts.mailbox, spare_lane);
  c->state.store(detail::lifecycle::starting, std::memory_order_relaxed);  // until on_start ran
  // release: everything above is visible to whoever loads this generation with acquire.
  c->generation.store(gen, std::memory_order_release);
  s->live.fetch_add(1, std::memory_order_relaxed);
  s->count(s->local(), type_index, &detail::counter_row::spawned);
#if !defined(KEEL_NO_HOOKS)
  if (s->any_hooks) {
    lifecycle_event ev{actor_handle{c->slot, gen}, c->id, req.type_name, {}};
    ev.now = detail::cached_now(c);
    ev.actor_name = opts.name;
    for (const auto& h : s->hooks) {
      if (h->enabled()) h->on_spawn(ev);
    }
    // A restart into a new incarnation: told after its spawn, before its on_start is queued.
    if (restart_path != nullptr) detail::tell_restart(s, c, gen, *restart_path, true);
  }
#endif
  // on_start runs inside the actor, before any user message (system lane first).
  if (detail::send_control(c, gen, detail::control::start) == send_status::out_of_memory) {
    // No memory for the start message: the actor still runs, without on_start... refuse instead.
    (void)detail::send_control(c, gen, detail::control::stop);
    return status(errc::out_of_memory, "spawn: no memory for the start message");
  }
  return actor_ref<>::from_cell(c, gen);
}

result<actor_ref<>> actor_system::lookup(std::string_view name) const {
  std::lock_guard<std::mutex> lock(state_->names_mu);
  auto it = state_->names.find(std::string(name));
  if (it == state_->names.end()) {
    return status(errc::actor_not_found, "no live actor named \"" + std::string(name) + "\"");
  }
  return actor_ref<>::from_cell(state_->cell_at(it->second.slot), it->second.generation);
}

shutdown_report actor_system::shutdown() { return shutdown(state_->cfg.shutdown_timeout); }

shutdown_report actor_system::shutdown(std::chrono::nanoseconds timeout) {
  system_state* s = state_.get();
  shutdown_report report;
  if (s->local() != nullptr) return report;  // never from our own worker: it would wait on itself
  if (s->shutting_down.exchange(true, std::memory_order_acq_rel)) return report;
  // Live actors, newest first (ids count spawns).
  std::vector<std::pair<actor_id, actor_ref<>>> alive;
  {
    std::lock_guard<std::mutex> lock(s->table_mu);
    for (std::uint32_t slot = 0; slot < s->slots_used; ++slot) {
      actor_cell* c = s->cell_at(slot);
      const std::uint32_t gen = c->generation.load(std::memory_order_acquire);
      if (gen != 0) alive.emplace_back(c->id, actor_ref<>::from_cell(c, gen));
    }
  }
  std::sort(alive.begin(), alive.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  report.alive_at_start = alive.size();
  // Newest first. Up to k_strict actors are stopped one at a time (each waits for the previous
  // one to finish on_stop); beyond that, in batches of k_batch (ordered between batches), so a
  // system with a million actors still shuts down in seconds.
  constexpr std::size_t k_strict = 4096;
  constexpr std::size_t k_batch = 256;
  const std::size_t batch = alive.size() <= k_strict ? 1 : k_batch;
  // The waits below are on the executor's clock: under the deterministic executor they run
  // the actors on this thread, in virtual time.
  sched::scheduler& ex = *s->sched;
  const std::uint64_t deadline =
      ex.now() + static_cast<std::uint64_t>(std::max<std::int64_t>(0, timeout.count()));
  auto left = [&] {
    const std::uint64_t now = ex.now();
    return std::chrono::nanoseconds(now < deadline ? deadline - now : 0);
  };
  for (std::size_t first = 0; first < alive.size(); first += batch) {
    const std::size_t last = std::min(alive.size(), first + batch);
    for (std::size_t i = first; i < last; ++i) (void)alive[i].second.stop();
    for (std::size_t i = first; i < last; ++i) {
      ex.await(
          left(), [&] { return !alive[i].second.alive(); },
          [](std::chrono::nanoseconds) { std::this_thread::yield(); });
    }
  }
  // Actors spawned during shutdown (by on_stop, say) fail to spawn; the rest have stopped or
  // timed out. Let the workers finish what is queued (dead letters) before they stop.
  ex.await(
      left(), [&] { return s->live.load(std::memory_order_acquire) == 0; },
      [](std::chrono::nanoseconds l) {
        std::this_thread::sleep_for(
            std::min<std::chrono::nanoseconds>(l, std::chrono::microseconds(200)));
      });
  for (auto& [id, ref] : alive) {
    if (ref.alive()) {
      actor_info info;
      info.id = id;
      info.handle = ref.handle();
      info.type = s->type_name_of(ref.cell()->type_index);
      if (ref.cell()->extras != nullptr) info.name = ref.cell()->extras->name;
      report.still_running.push_back(std::move(info));
    } else {
      ++report.stopped;
    }
  }
  s->sched->stop();
  s->shut_down = true;
  return report;
}

void actor_system::request_stop(std::string reason) {
  std::lock_guard<std::mutex> lock(state_->stop_mu);
  if (!state_->stop_reason) state_->stop_reason = std::move(reason);
}

std::optional<std::string> actor_system::stop_requested() const {
  std::lock_guard<std::mutex> lock(state_->stop_mu);
  return state_->stop_reason;
}

std::uint64_t actor_system::dead_letter_count() const noexcept {
  return state_->dead_letters.load(std::memory_order_acquire);  // pairs with system_state::dead
}

std::uint64_t actor_system::allocation_failures() const noexcept {
  return state_->send_oom.load(std::memory_order_relaxed);
}

std::uint64_t actor_system::cancelled_timer_drops() const noexcept {
  return state_->cancelled_timer_drops.load(std::memory_order_relaxed);
}

std::vector<dead_letter> actor_system::recent_dead_letters() const {
  std::lock_guard<std::mutex> lock(state_->dl_mu);
  return {state_->recent.begin(), state_->recent.end()};
}

std::vector<type_counters> actor_system::counters() const {
  system_state* s = state_.get();
  const std::uint32_t n = s->atype_count.load(std::memory_order_acquire);
  std::vector<type_counters> out(n);
  auto add = [](type_counters& t, const detail::counter_row& r) {
    t.received += r.received.load(std::memory_order_relaxed);
    t.sent += r.sent.load(std::memory_order_relaxed);
    t.failures += r.failures.load(std::memory_order_relaxed);
    t.dead_letters += r.dead_letters.load(std::memory_order_relaxed);
    t.spawned += r.spawned.load(std::memory_order_relaxed);
    t.stopped += r.stopped.load(std::memory_order_relaxed);
  };
  for (std::uint32_t i = 0; i < n; ++i) {
    out[i].type = std::string(s->type_name_of(i));
    add(out[i], s->external_rows[i]);
    for (const auto& l : s->locals) add(out[i], l->counters[i]);
  }
  std::lock_guard<std::mutex> lock(s->dedicated_mu);
  for (std::uint32_t i = 0; i < n; ++i) {
    for (const detail::core_local* l : s->dedicated_locals) add(out[i], l->counters[i]);
  }
  return out;
}

actor_handle actor_system::supervisor_of(actor_handle a) const noexcept {
  return a.valid() ? state_->parent_of(a.slot, a.generation) : actor_handle{};
}

result<mailbox_stats> actor_system::mailbox(const actor_ref<>& ref) const {
  detail::actor_cell* c = ref.cell();
  if (c == nullptr || !ref.alive())
    return status(errc::actor_stopped, "mailbox: the actor is gone");
  detail::bounded_lane* b = c->bounded.load(std::memory_order_relaxed);
  mailbox_stats m;
  if (b != nullptr) m = detail::stats_of(*b);
  if (m.capacity == 0)
    return status(errc::invalid_argument, "mailbox: the actor's mailbox is unbounded");
  return m;
}

std::size_t actor_system::actor_count() const noexcept {
  return state_->live.load(std::memory_order_relaxed);
}
type_registry& actor_system::types() noexcept { return state_->types; }
sched::scheduler& actor_system::scheduler() noexcept { return *state_->sched; }
std::uint64_t actor_system::seed() const noexcept { return state_->seed; }
actor_factory_registry& actor_system::factories() noexcept { return *state_->factories; }
sched::deterministic_executor* actor_system::deterministic() noexcept {
  return state_->sched->deterministic();
}
const system_config& actor_system::config() const noexcept { return state_->cfg; }

}  // namespace keel
