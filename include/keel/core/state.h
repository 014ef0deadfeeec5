// keel::state_writer and keel::state_reader: an actor's state as bytes, for snapshots, replay
// and steering (get and replace state). An actor takes part by declaring
//
//   void save_state(keel::state_writer& w) const;   // w.write(field) for each field
//   void load_state(keel::state_reader& r);          // r.read(field), same order
//
// Values are encoded as message fields are (docs/codecs.md): scalars little-endian, strings and
// vectors length-prefixed, optionals flagged, nested types through their keel_fields. The state
// hash is XXH3-64 of save_state's bytes (state_hash()): equal states give equal hashes, which is
// how replay finds the first divergence.
//
// A reader's errors are sticky: after the first failed read every read returns false, and
// status() names the read that failed (its position and the field name given, if any).
//
// Thread safety: values; one thread at a time.
#pragma once

#include <concepts>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <keel/base/status.h>
#include <keel/core/codec.h>

namespace keel {

class state_writer {
 public:
  template <class T>
  state_writer& write(const T& v) {
    detail_codec::encode_value(bytes_, v);
    return *this;
  }
  const std::vector<std::byte>& bytes() const noexcept { return bytes_; }
  // Empties it, keeping its capacity (a writer reused per state hash allocates once).
  void clear() noexcept { bytes_.clear(); }
  std::vector<std::byte> take() noexcept { return std::move(bytes_); }

 private:
  std::vector<std::byte> bytes_;
};

class state_reader {
 public:
  explicit state_reader(std::span<const std::byte> bytes) noexcept { r_.in = bytes; }

  // Reads the next value into `v`; false (and v unspecified) once anything has failed.
  // `name` labels the value in the error message.
  template <class T>
  bool read(T& v, std::string_view name = "") {
    if (!r_.error.empty()) return false;
    const std::size_t at = r_.pos;
    const std::string label =
        name.empty() ? "value at byte " + std::to_string(at) : std::string(name);
    return detail_codec::decode_value(r_, v, label);
  }
  // Marks the state invalid for a reason the reads cannot see (a value out of its range, counts
  // that disagree): later reads return false and error() names `why` (unless a read failed
  // first).
  void fail(std::string_view why);
  // OK, or errc::invalid_argument naming the read that failed.
  status error() const;
  // error(), or errc::invalid_argument if bytes are left over (a state saved by other code).
  status finish() const;
  std::size_t left() const noexcept { return r_.left(); }

 private:
  detail_codec::reader r_;
};

// XXH3-64 (seed 0) of a saved state: the STATE_HASH the log records and replay compares.
std::uint64_t state_hash(std::span<const std::byte> bytes) noexcept;

// An actor type whose state can be saved and loaded.
template <class A>
concept stateful = requires(const A& a, A& m, state_writer& w, state_reader& r) {
  a.save_state(w);
  m.load_state(r);
};

// Saves `a`'s state; its bytes and their hash.
template <stateful A>
std::vector<std::byte> save_state_of(const A& a) {
  state_writer w;
  a.save_state(w);
  return w.take();
}

}  // namespace keel
