#include <xxhash.h>

#include <keel/core/state.h>

namespace keel {

void state_reader::fail(std::string_view why) {
  if (r_.error.empty()) r_.error = why.empty() ? std::string("invalid state") : std::string(why);
}

status state_reader::error() const {
  if (r_.error.empty()) return status();
  return status(errc::invalid_argument, "load_state: " + r_.error);
}

status state_reader::finish() const {
  if (status st = error(); !st) return st;
  if (r_.left() != 0) {
    return status(errc::invalid_argument, "load_state: " + std::to_string(r_.left()) +
                                              " bytes left over (a state saved by other code?)");
  }
  return status();
}

std::uint64_t state_hash(std::span<const std::byte> bytes) noexcept {
  return XXH3_64bits(bytes.data(), bytes.size());
}

}  // namespace keel
