// gateway: the entry of the order pipeline. Admits each order, gives it an id (from 1, in
// arrival order) and a receive timestamp, and hands it to the next validator, round-robin.
//
// Threading: a keel actor; its state is touched only by its handlers.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "messages.h"
#include "validator.h"

#include <keel/core/actor.h>

namespace keel_demo {

class gateway : public keel::actor<gateway, place_order> {
 public:
  static constexpr std::string_view keel_name = "demo.gateway";

  // REQUIRES: !validators.empty().
  explicit gateway(std::vector<keel::actor_ref<validator>> validators);

  void on(place_order& m);

 private:
  std::vector<keel::actor_ref<validator>> validators_;
  std::size_t next_validator_ = 0;
  std::uint64_t next_id_ = 1;
};

}  // namespace keel_demo
