// keel::type_registry: the names behind type ids, owned by one actor_system (not a global).
//
// It maps each message and actor type id to its declared name and rejects a collision: a second
// C++ type with the same name (duplicate_name) or a different name whose XXH3-64 is the same id
// (type_collision). Message types an actor handles are registered when it is first spawned.
// The next layers add optional codecs (encode, decode, to_json) per message type and an actor
// factory registry beside it; entries are laid out for that.
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
#include <keel/core/message.h>

namespace keel {

enum class type_kind : std::uint8_t { message, actor };

struct type_entry {
  type_id id = 0;
  std::string name;
  type_kind kind = type_kind::message;
  const void* identity = nullptr;    // one address per C++ type
  const message_ops* ops = nullptr;  // messages only
  // Reserved for the codec layer (next issue): encode/decode/to_json/from_json.
};

class type_registry {
 public:
  // Registers message type M. OK if it is already registered as M.
  template <message M>
  status add() {
    return add_entry(type_entry{type_id_of<M>(), std::string(name_of<M>()), type_kind::message,
                                &ops_of<M>, &ops_of<M>});
  }
  // Registers an entry; OK if the same identity is registered already.
  status add_entry(type_entry e);

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
