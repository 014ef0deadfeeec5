#include <algorithm>
#include <cstring>

#include "eventlog/segment.h"

#include <keel/core/actor.h>
#include <keel/core/actor_system.h>
#include <keel/core/envelope.h>
#include <keel/core/rng.h>
#include <keel/core/state.h>
#include <keel/eventlog/recorder.h>

namespace keel::eventlog {
namespace {

// '*' matches any run of characters; everything else matches itself.
bool glob(std::string_view pat, std::string_view s) noexcept {
  std::size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
  while (i < s.size()) {
    if (p < pat.size() && pat[p] == '*') {
      star = p++;
      mark = i;
    } else if (p < pat.size() && pat[p] == s[i]) {
      ++p;
      ++i;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

std::size_t slot_of(std::uint64_t key, std::size_t i, std::size_t n) noexcept {
  return static_cast<std::size_t>((key ^ (key >> 29)) + i) & (n - 1);
}

// Per-thread buffers, reused: no allocation once they have grown to the largest payload.
thread_local std::vector<std::byte> t_payload;
thread_local state_writer t_state;

}  // namespace

status recording_options::validate() const {
  if (sample_one_in == 0) {
    return status(errc::invalid_config, "recording_options.sample_one_in: must be at least 1");
  }
  for (const std::string& p : actor_types) {
    if (p.empty()) {
      return status(errc::invalid_config, "recording_options.actor_types: an empty pattern");
    }
  }
  for (const std::string& p : actor_names) {
    if (p.empty()) {
      return status(errc::invalid_config, "recording_options.actor_names: an empty pattern");
    }
  }
  return status();
}

result<std::shared_ptr<recorder>> recorder::create(event_log& log, recording_options o) {
  if (status st = o.validate(); !st) return st;
  return std::make_shared<recorder>(log, std::move(o));
}

recorder::recorder(event_log& log, recording_options o)
    : hook_subscriber(hook_phase::recording), log_(log), opt_(std::move(o)) {}

void recorder::use_types(const type_registry& types) noexcept {
  types_.store(&types, std::memory_order_release);
}

void recorder::use_system(actor_system& sys) noexcept {
  use_types(sys.types());
  system_seed_.store(sys.seed(), std::memory_order_relaxed);
  seed_known_.store(true, std::memory_order_release);
}

void recorder::append(const record_in& r, std::atomic<std::uint64_t>& written) noexcept {
  count(log_.append(r) ? written : failed_);
}

recording_counters recorder::counters() const noexcept {
  recording_counters c;
  c.inputs = inputs_.load(std::memory_order_relaxed);
  c.no_payload = no_payload_.load(std::memory_order_relaxed);
  c.state_hashes = state_hashes_.load(std::memory_order_relaxed);
  c.lifecycle = lifecycle_.load(std::memory_order_relaxed);
  c.failed = failed_.load(std::memory_order_relaxed);
  c.checkpoints = checkpoints_.load(std::memory_order_relaxed);
  c.externals = externals_.load(std::memory_order_relaxed);
  return c;
}

bool recorder::selected(const deliver_event& ev) noexcept {
  // The name only when the type does not decide (it is read from another cache line).
  return selected_type(ev.actor_type) ||
         (!opt_.actor_names.empty() && selected(ev.actor_type, ev.actor_name()));
}

bool recorder::selected(std::string_view actor_type, std::string_view actor_name) noexcept {
  if (selected_type(actor_type)) return true;
  if (actor_name.empty()) return false;
  for (const std::string& p : opt_.actor_names) {
    if (glob(p, actor_name)) return true;
  }
  return false;
}

bool recorder::selected_type(std::string_view actor_type) noexcept {
  const char* key = actor_type.data();
  const auto k = reinterpret_cast<std::uintptr_t>(key);
  for (std::size_t i = 0; i < k_slots; ++i) {
    select_slot& s = selected_[slot_of(k, i, k_slots)];
    const char* have = s.key.load(std::memory_order_acquire);
    if (have == key) {
      const std::uint8_t v = s.value.load(std::memory_order_acquire);
      if (v != 0) return v == 1;
      break;  // being filled: decide on the slow path
    }
    if (have == nullptr) break;
  }
  bool yes = false;
  for (const std::string& p : opt_.actor_types) yes = yes || glob(p, actor_type);
  std::lock_guard<std::mutex> lock(mu_);
  for (std::size_t i = 0; i < k_slots; ++i) {
    select_slot& s = selected_[slot_of(k, i, k_slots)];
    const char* have = s.key.load(std::memory_order_relaxed);
    if (have == key) break;
    if (have == nullptr) {
      s.value.store(yes ? 1 : 2, std::memory_order_relaxed);
      s.key.store(key, std::memory_order_release);  // (value first: a reader that sees the key
      break;                                        // sees it)
    }
  }
  return yes;
}

const codec_ops* recorder::codec_for(type_id t) noexcept {
  for (std::size_t i = 0; i < k_slots; ++i) {
    codec_slot& s = codecs_[slot_of(t, i, k_slots)];
    const type_id have = s.key.load(std::memory_order_acquire);
    if (have == t) {
      if (s.ready.load(std::memory_order_acquire)) return s.value.load(std::memory_order_relaxed);
      break;
    }
    if (have == 0) break;
  }
  const type_registry* types = types_.load(std::memory_order_acquire);
  if (types == nullptr) return nullptr;  // not told yet: not cached either
  const codec_ops* c = nullptr;
  try {
    if (auto e = types->find(t)) c = e->codec;
  } catch (...) {
    return nullptr;  // out of memory copying the entry: no payload this time
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (std::size_t i = 0; i < k_slots; ++i) {
    codec_slot& s = codecs_[slot_of(t, i, k_slots)];
    const type_id have = s.key.load(std::memory_order_relaxed);
    if (have == t) break;
    if (have == 0) {
      s.value.store(c, std::memory_order_relaxed);
      s.ready.store(true, std::memory_order_release);
      s.key.store(t, std::memory_order_release);
      break;
    }
  }
  return c;
}

void recorder::on_deliver(const deliver_event& ev) noexcept {
  // A message put back by unstash_all() was recorded when it first arrived.
  if ((ev.flags & envelope_flags::redelivered) != 0 || !selected(ev)) return;
  std::uint16_t flags = 0;
  if (ev.kind == input_kind::reply) flags |= k_flag_reply;
  if (opt_.sample_one_in > 1) {
    if (sample_tick_.fetch_add(1, std::memory_order_relaxed) % opt_.sample_one_in != 0) return;
    flags |= k_flag_sampled;
  }
  record_in r;
  r.type = (ev.flags & envelope_flags::timer) != 0 ? record_type::timer : record_type::message;
  r.ts_ns = static_cast<std::int64_t>(ev.now);
  r.actor_id = ev.target_id;
  r.actor_seq = ev.input_no;
  r.message_id = ev.id;
  r.correlation = ev.correlation;
  r.causation = ev.causation;
  r.payload_type = ev.type;
  if (ev.kind == input_kind::ask_timeout) {
    r.flags = flags | k_flag_ask_timeout;
    r.payload_type = 0;
    append(r, inputs_);
    return;
  }
  const codec_ops* codec = codec_for(ev.type);
  if (codec != nullptr && ev.payload != nullptr) {
    t_payload.clear();
    try {
      codec->encode(ev.payload, t_payload);
      r.payload = t_payload;
    } catch (...) {
      codec = nullptr;  // out of memory growing the buffer: recorded without payload
    }
  }
  if (codec == nullptr) {
    flags |= k_flag_no_payload;
    count(no_payload_);
  }
  r.flags = flags;
  append(r, inputs_);
}

result<recorder::checkpoint_started> recorder::checkpoint(std::string_view label) {
  if (label.empty()) return status(errc::invalid_argument, "checkpoint: an empty label");
  std::lock_guard<std::mutex> lock(mu_);  // numbers and request records in the same order
  const std::uint64_t number = checkpoint_.load(std::memory_order_relaxed) + 1;
  record_in r;
  r.type = record_type::checkpoint;
  r.ts_ns = detail::wall_clock_ns();
  r.message_id = number;
  r.payload = std::as_bytes(std::span(label.data(), std::min<std::size_t>(label.size(), 1024)));
  auto seq = log_.append(r);
  if (!seq) return seq.error();
  checkpoint_.store(number, std::memory_order_release);
  return checkpoint_started{number, *seq};
}

namespace {

// Saves the state of the actor that handled `ev` into t_state: false when it has none.
// Throws what save_state throws (std::bad_alloc).
bool save_into_buffer(const deliver_event& ev) {
  t_state.clear();
  return ev.actor->save_state_to(t_state);
}

// A record about the input `ev` of the actor that handled it.
record_in about_input(record_type type, const deliver_event& ev) noexcept {
  record_in r;
  r.type = type;
  r.ts_ns = static_cast<std::int64_t>(ev.now);
  r.actor_id = ev.target_id;
  r.actor_seq = ev.input_no;
  r.correlation = ev.correlation;
  return r;
}

}  // namespace

void recorder::write_checkpoint(const deliver_event& ev, std::uint64_t number) noexcept {
  try {
    if (!save_into_buffer(ev)) return;  // no state: replayed from its SPAWN
    const std::string_view type = ev.actor_type;
    t_payload.clear();
    const auto put = [](std::vector<std::byte>& out, const void* p, std::size_t n) {
      const auto* b = static_cast<const std::byte*>(p);
      out.insert(out.end(), b, b + n);
    };
    const auto len = static_cast<std::uint16_t>(std::min<std::size_t>(type.size(), 0xffff));
    put(t_payload, &len, sizeof(len));
    put(t_payload, type.data(), len);
    const std::uint8_t drawn = ev.rng != nullptr ? 1 : 0;
    put(t_payload, &drawn, 1);
    actor_rng::state st{};
    if (ev.rng != nullptr) st = ev.rng->save();
    put(t_payload, st.s.data(), sizeof(st.s));
    const std::span<const std::byte> state = t_state.bytes();
    t_payload.insert(t_payload.end(), state.begin(), state.end());
  } catch (...) {
    count(failed_);
    return;
  }
  record_in r = about_input(record_type::checkpoint, ev);
  r.message_id = number;
  r.payload = t_payload;
  append(r, checkpoints_);
}

void recorder::on_handled(const deliver_event& ev) noexcept {
  // A checkpoint this actor has not written yet: its state after this input.
  const std::uint64_t number = checkpoint_.load(std::memory_order_acquire);
  if (number != 0 && ev.recording_mark != nullptr && *ev.recording_mark < number &&
      ev.actor != nullptr && selected(ev)) {
    *ev.recording_mark = number;
    write_checkpoint(ev, number);
  }
  const std::uint32_t k = opt_.state_hash_every;
  if (k == 0 || ev.input_no == 0 || ev.input_no % k != 0 || ev.actor == nullptr || !selected(ev)) {
    return;
  }
  std::uint64_t hash = 0;
  try {
    if (!save_into_buffer(ev)) return;
    hash = state_hash(t_state.bytes());
  } catch (...) {
    count(failed_);
    return;
  }
  record_in r = about_input(record_type::state_hash, ev);
  r.payload = std::as_bytes(std::span(&hash, 1));
  append(r, state_hashes_);
}

void recorder::on_ask(const ask_event& ev) noexcept {
  if (!selected(ev.asker_type, ev.asker_name)) return;
  record_in r;
  r.type = record_type::ask;
  r.actor_id = ev.asker_id;
  r.message_id = ev.request;
  r.correlation = ev.correlation;
  r.payload_type = ev.type;
  append(r, lifecycle_);
}

void recorder::on_external_input(const external_event& ev) noexcept {
  if (!selected(ev.actor_type, ev.actor_name)) return;
  record_in r;
  r.type = record_type::external_input;
  r.flags = ev.has_codec ? 0 : k_flag_no_payload;
  r.ts_ns = static_cast<std::int64_t>(ev.now);
  r.actor_id = ev.id;
  r.actor_seq = ev.input_no;  // the input whose handler made the call (0: on_start)
  r.correlation = ev.correlation;
  r.causation = ev.message;
  r.payload_type = ev.type;
  r.payload = ev.bytes;
  append(r, externals_);
}

void recorder::lifecycle(record_type type, const lifecycle_event& ev) noexcept {
  if (!selected(ev.actor_type, ev.actor_name)) return;
  record_in r;
  r.type = type;
  r.actor_id = ev.id;
  r.ts_ns = static_cast<std::int64_t>(ev.now);
  r.correlation = ev.correlation;  // a failure: the order it failed on shows in its trace
  r.causation = ev.message;
  if (type == record_type::restart && ev.new_incarnation) r.flags = k_flag_new_incarnation;
  const std::string_view text = type == record_type::spawn ? ev.actor_type : ev.reason;
  r.payload = std::as_bytes(std::span(text.data(), text.size()));
  if (type == record_type::spawn && !ev.actor_name.empty()) {
    // "type\0name": replay spawns it under its registered name again.
    try {
      t_payload.resize(text.size() + 1 + ev.actor_name.size());
      std::memcpy(t_payload.data(), text.data(), text.size());
      t_payload[text.size()] = std::byte{0};
      std::memcpy(t_payload.data() + text.size() + 1, ev.actor_name.data(), ev.actor_name.size());
      r.payload = t_payload;
    } catch (...) {
      // Out of memory for the buffer: the type alone (replay spawns it unnamed).
    }
  }
  if (r.payload.size() + k_frame_header > 4096) r.payload = r.payload.first(4096 - k_frame_header);
  append(r, lifecycle_);
}

void recorder::on_spawn(const lifecycle_event& ev) noexcept {
  lifecycle(record_type::spawn, ev);
  if (!seed_known_.load(std::memory_order_acquire) || !selected(ev.actor_type, ev.actor_name))
    return;
  const std::uint64_t seeds[2] = {
      system_seed_.load(std::memory_order_relaxed),
      actor_rng::seed_for(system_seed_.load(std::memory_order_relaxed), ev.id)};
  record_in r;
  r.type = record_type::rng_seed;
  r.actor_id = ev.id;
  r.payload = std::as_bytes(std::span(seeds));
  append(r, lifecycle_);
}
void recorder::on_stop(const lifecycle_event& ev) noexcept { lifecycle(record_type::stop, ev); }
void recorder::on_failure(const lifecycle_event& ev) noexcept {
  lifecycle(record_type::failure, ev);
}
void recorder::on_restart(const lifecycle_event& ev) noexcept {
  lifecycle(record_type::restart, ev);
}

}  // namespace keel::eventlog
