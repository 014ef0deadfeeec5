// What keel-demo-log knows about keel-demo: the message types its actors receive (so that
// payloads print as JSON) and factories for the pipeline's stages (so that replay --exec can
// re-create them). In replay the stages get refs to nowhere: everything they send is captured
// as an output and compared with the log, never delivered. The load driver has no factory: its
// inputs are its own ticks, never an order's correlation.
//
// Thread safety: plain functions; the registries they fill have their own.
#pragma once

namespace keel {
class type_registry;
class actor_factory_registry;
}  // namespace keel

namespace keel_demo {

// Registers every message type a keel-demo actor receives.
void add_demo_types(keel::type_registry& types);

// Registers the gateway, validator, payment, database, cache and ledger factories.
void add_demo_factories(keel::actor_factory_registry& factories);

}  // namespace keel_demo
