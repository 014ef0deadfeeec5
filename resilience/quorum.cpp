#include <keel/resilience/quorum.h>

namespace keel::resilience {

status validate_quorum(const quorum_config& cfg, std::size_t replicas) {
  if (replicas == 0) return status(errc::invalid_config, "quorum: no replicas");
  // A strict majority: two different values can never both reach it, so a minority value is
  // never returned.
  if (cfg.agree <= replicas / 2 || cfg.agree > replicas) {
    return status(errc::invalid_config, "quorum_config::agree is " + std::to_string(cfg.agree) +
                                            "; with " + std::to_string(replicas) +
                                            " replicas it must be " +
                                            std::to_string(replicas / 2 + 1) + ".." +
                                            std::to_string(replicas) + " (a majority)");
  }
  if (cfg.timeout.count() <= 0) {
    return status(errc::invalid_config, "quorum_config::timeout must be > 0");
  }
  return status::ok();
}

}  // namespace keel::resilience
