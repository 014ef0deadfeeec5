#include "sched/alloc.h"

#include <cstdlib>

#include <keel/sched/worker.h>

#if defined(KEEL_USE_MIMALLOC)
#include <mimalloc.h>
#endif

namespace keel::sched {

#if defined(KEEL_USE_MIMALLOC)
void* detail_heap_new() noexcept { return mi_heap_new(); }
void detail_heap_collect(void* heap) noexcept {
  if (heap != nullptr) mi_heap_collect(static_cast<mi_heap_t*>(heap), false);
}
void detail_heap_delete(void* heap) noexcept {
  // mi_heap_delete migrates live blocks to the default heap; they stay valid for mi_free.
  if (heap != nullptr) mi_heap_delete(static_cast<mi_heap_t*>(heap));
}
void* worker::allocate(std::size_t n) noexcept {
  return heap_ != nullptr ? mi_heap_malloc(static_cast<mi_heap_t*>(heap_), n) : mi_malloc(n);
}
void* allocate_block(std::size_t n) noexcept {
  if (worker* w = worker::current()) return w->allocate(n);
  return mi_malloc(n);
}
void free_block(void* p) noexcept { mi_free(p); }
#else
void* detail_heap_new() noexcept { return nullptr; }
void detail_heap_collect(void*) noexcept {}
void detail_heap_delete(void*) noexcept {}
void* worker::allocate(std::size_t n) noexcept { return std::malloc(n); }
void* allocate_block(std::size_t n) noexcept { return std::malloc(n); }
void free_block(void* p) noexcept { std::free(p); }
#endif

}  // namespace keel::sched
