#include "log_setup.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gateway.h"
#include "ledger.h"
#include "load.h"
#include "messages.h"
#include "payment.h"
#include "pipeline.h"
#include "validator.h"

#include <keel/core/factory.h>
#include <keel/core/type_registry.h>

namespace keel_demo {
namespace {

// A factory that ignores its (absent) JSON args and builds A with make(system).
template <class A, class Make>
void add_stage(keel::actor_factory_registry& f, Make make) {
  (void)f.add<A>([make](keel::actor_system& s, const keel::json_value&,
                        const keel::spawn_options& o) { return make(s, o); });
}

}  // namespace

void add_demo_types(keel::type_registry& types) {
  (void)types.add<place_order>();
  (void)types.add<validate_order>();
  (void)types.add<charge>();
  (void)types.add<commit>();
  (void)types.add<order_rejected>();
  (void)types.add<payment_declined>();
  (void)types.add<store>();
  (void)types.add<store_result>();
  (void)types.add<order_deferred>();
  (void)types.add<cache_put>();
  (void)types.add<order_lost>();
  (void)types.add<load_tick>();
  (void)types.add<load_status_query>();
  (void)types.add<load_status>();
  (void)types.add<ledger_query>();
}

void add_demo_factories(keel::actor_factory_registry& f) {
  const auto faults = std::make_shared<fault_count>();  // replayed crashes count here
  add_stage<gateway>(f, [](keel::actor_system& s, const keel::spawn_options& o) {
    std::vector<named_ref<validator>> validators;
    for (std::size_t i = 0; i < k_validators; ++i) {
      validators.emplace_back(&s, "validator-" + std::to_string(i));
    }
    return s.spawn_with<gateway>(o, std::move(validators), keel::actor_ref<ledger>());
  });
  add_stage<validator>(f, [faults](keel::actor_system& s, const keel::spawn_options& o) {
    return s.spawn_with<validator>(o, named_ref<payment>(&s, "payment"), keel::actor_ref<ledger>(),
                                   faults);
  });
  add_stage<payment>(f, [faults](keel::actor_system& s, const keel::spawn_options& o) {
    // A breaker of its own, reset by payment's on_start as in the recorded run.
    std::shared_ptr<keel::resilience::circuit_breaker> breaker =
        keel::resilience::circuit_breaker::create(database_breaker_config()).value();
    return s.spawn_with<payment>(o, keel::actor_ref<ledger>(), named_ref<database>(&s, "database"),
                                 named_ref<cache>(&s, "cache"), faults, std::move(breaker));
  });
  add_stage<database>(f, [faults](keel::actor_system& s, const keel::spawn_options& o) {
    return s.spawn_with<database>(o, keel::actor_ref<ledger>(), faults);
  });
  (void)f.add<cache>();
  (void)f.add<ledger>();
}

}  // namespace keel_demo
