// Per-worker heaps (mimalloc builds): created on the worker thread, collected before it parks,
// deleted (never destroyed: blocks may still be in flight) when it exits.
#pragma once

namespace keel::sched {

void* detail_heap_new() noexcept;
void detail_heap_collect(void* heap) noexcept;
void detail_heap_delete(void* heap) noexcept;

}  // namespace keel::sched
