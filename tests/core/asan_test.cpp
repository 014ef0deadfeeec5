// AddressSanitizer must catch a use-after-free of an envelope in the malloc build: proof that
// the sanitizer CI job can see keel's own allocations (it could not through mimalloc heaps).
#include <gtest/gtest.h>

#include "core/test_actors.h"

#include <keel/core/send.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KEEL_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define KEEL_TEST_ASAN 1
#endif

namespace {

using namespace keel::test;

[[gnu::noinline, maybe_unused]] int touch_after_free(keel::actor_system& sys) {
  keel::actor_ref<adder> ref = sys.spawn<adder>().value();
  keel::envelope* e = keel::detail::make_envelope(ref.cell()->system, add{1, 2});
  e->ops->destroy(e->payload());
  keel::detail::free_envelope(e);
  return static_cast<int>(e->type & 1);  // use after free
}

TEST(asan, catches_a_use_after_free_of_an_envelope) {
#if defined(KEEL_TEST_ASAN)
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto sys = make_system();
        (void)touch_after_free(*sys);
      },
      "heap-use-after-free");
#else
  GTEST_SKIP() << "only meaningful in the ASan build (KEEL_SANITIZE=address)";
#endif
}

}  // namespace
