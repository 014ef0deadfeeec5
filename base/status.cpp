#include <ostream>

#include <keel/base/status.h>

namespace keel {

std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::ok:
      return "ok";
    case errc::invalid_config:
      return "invalid_config";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::actor_not_found:
      return "actor_not_found";
    case errc::actor_stopped:
      return "actor_stopped";
    case errc::timeout:
      return "timeout";
    case errc::shutting_down:
      return "shutting_down";
    case errc::out_of_memory:
      return "out_of_memory";
    case errc::duplicate_name:
      return "duplicate_name";
    case errc::type_collision:
      return "type_collision";
    case errc::unhandled_message:
      return "unhandled_message";
    case errc::wrong_thread:
      return "wrong_thread";
    case errc::dropped:
      return "dropped";
    case errc::failed:
      return "failed";
    case errc::type_mismatch:
      return "type_mismatch";
    case errc::expectation_failed:
      return "expectation_failed";
    case errc::full:
      return "full";
    case errc::io_error:
      return "io_error";
    case errc::log_locked:
      return "log_locked";
    case errc::log_failed:
      return "log_failed";
    case errc::corrupt:
      return "corrupt";
    case errc::no_space:
      return "no_space";
    case errc::not_found:
      return "not_found";
    case errc::quarantined:
      return "quarantined";
    case errc::no_quorum:
      return "no_quorum";
    case errc::circuit_open:
      return "circuit_open";
  }
  return "unknown";
}

std::string status::to_string() const {
  if (is_ok()) return "ok";
  std::string s(keel::to_string(code_));
  s += ": ";
  s += message();
  return s;
}

std::ostream& operator<<(std::ostream& os, const status& s) { return os << s.to_string(); }

}  // namespace keel
