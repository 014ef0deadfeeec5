// named_ref: a ref to an actor by its registered name, looked up again when the actor it holds
// has stopped. Children of a supervisor keep their refs across restarts in place, but a subtree
// that escalated is started anew, with new refs under the same names: the stages of the
// pipeline reach each other through this.
//
// Threading: owned by one actor (plain fields); lookup() is safe from any thread.
#pragma once

#include <string>
#include <utility>

#include <keel/core/actor_system.h>

namespace keel_demo {

template <class A>
class named_ref {
 public:
  named_ref() = default;
  named_ref(keel::actor_system* sys, std::string name) : sys_(sys), name_(std::move(name)) {}

  // The actor now registered under the name (looked up again if the last one has stopped), or
  // an empty ref if none is.
  const keel::actor_ref<A>& get() {
    if (!ref_.alive()) {
      auto r = sys_->lookup(name_);
      ref_ = r ? keel::actor_ref<A>::from_cell(r->cell(), r->generation()) : keel::actor_ref<A>();
    }
    return ref_;
  }
  const std::string& name() const noexcept { return name_; }

 private:
  keel::actor_system* sys_ = nullptr;
  std::string name_;
  keel::actor_ref<A> ref_;
};

}  // namespace keel_demo
