#include <keel/resilience/quorum.h>

namespace keel::resilience {

status validate_quorum(const quorum_config& cfg, std::size_t replicas) {
  if (replicas == 0) return status(errc::invalid_config, "quorum: no replicas");
  if (cfg.agree < 1 || cfg.agree > replicas) {
    return status(errc::invalid_config, "quorum_config::agree is " + std::to_string(cfg.agree) +
                                            "; it must be 1.." + std::to_string(replicas) +
                                            " (the number of replicas)");
  }
  if (cfg.timeout.count() <= 0) {
    return status(errc::invalid_config, "quorum_config::timeout must be > 0");
  }
  return status::ok();
}

}  // namespace keel::resilience
