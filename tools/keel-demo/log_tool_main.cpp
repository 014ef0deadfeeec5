// keel-demo-log: keel-log built with keel-demo's message types and stage factories
// (log_setup.h), so that it prints the demo's payloads as JSON and replay --exec re-executes its
// stages. Commands, options and exit codes: docs/keel-log.md.
#include "log_setup.h"

#include <keel/core/type_registry.h>
#include <keel/tools/log_main.h>

int main(int argc, char** argv) {
  keel::type_registry types;
  keel_demo::add_demo_types(types);
  return keel::tools::log_main(argc, argv, types, keel_demo::add_demo_factories);
}
