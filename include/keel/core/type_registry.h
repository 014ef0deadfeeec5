// keel::type_registry: the names behind type ids, owned by one actor_system (not a global).
//
// It maps each message and actor type id to its declared name and rejects a collision: a second
// C++ type with the same name (duplicate_name) or a different name whose XXH3-64 is the same id
// (type_collision). Message types an actor handles are registered when it is first spawned. A
// message type that names its fields (keel_fields, see codec.h) is registered with its codec;
// only such types can be turned into bytes or JSON and back by type id (bytes_to_json,
// json_to_bytes), which is what the event log, replay, tools and injection use.
//
// Thread safety: all methods, any thread (a mutex; registration is not a hot path).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <keel/base/status.h>
#include <keel/core/codec.h>
#include <keel/core/message.h>

namespace keel {

enum class type_kind : std::uint8_t { message, actor };

struct type_entry {
  type_id id = 0;
  std::string name;
  type_kind kind = type_kind::message;
  const void* identity = nullptr;    // one address per C++ type
  const message_ops* ops = nullptr;  // messages only
  const codec_ops* codec = nullptr;  // messages with keel_fields only
};

class type_registry {
 public:
  // Registers message type M. OK if it is already registered as M.
  // A type with keel_fields comes with its codec.
  template <message M>
  status add() {
    const codec_ops* codec = nullptr;
    if constexpr (codec_message<M>) codec = &codec_ops_of<M>;
    return add_entry(type_entry{type_id_of<M>(), std::string(name_of<M>()), type_kind::message,
                                &ops_of<M>, &ops_of<M>, codec});
  }
  // Registers an entry; OK if the same identity is registered already (a codec is added to an
  // entry that had none).
  status add_entry(type_entry e);

  // Whether `id` is a registered message type with a codec.
  bool has_codec(type_id id) const;
  // The encoding of the message of type `id` given as JSON. errc::invalid_argument when `id`
  // is unknown, has no codec, or the JSON does not fit it (the message names the field).
  result<std::vector<std::byte>> json_to_bytes(type_id id, std::string_view json) const;
  // The JSON of an encoded message of type `id`; the same errors.
  result<std::string> bytes_to_json(type_id id, std::span<const std::byte> bytes) const;
  // Round-trips every registered codec with `samples` generated values each: bytes -> message
  // -> bytes, and message -> JSON text -> message -> bytes, must give the same bytes. The first
  // failure names the type and the step.
  status check_codecs(std::uint32_t samples = 8) const;

  // The entry for `id`, if registered.
  std::optional<type_entry> find(type_id id) const;
  // The name for `id`, or "" if unknown.
  std::string name_of_id(type_id id) const;
  std::size_t size() const;
  std::vector<type_entry> entries() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<type_id, type_entry> by_id_;
};

}  // namespace keel
