// The stock keel-log: no application types (payloads print as hex) and no actor factories.
#include <keel/core/type_registry.h>
#include <keel/tools/log_main.h>

int main(int argc, char** argv) {
  const keel::type_registry types;
  return keel::tools::log_main(argc, argv, types);
}
