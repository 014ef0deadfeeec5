// keel::throw_hook (opt-in; see include/keel/core/throw_hook.h): an interposer for the C++
// runtime's __cxa_throw that records the stack of each throw for keel's failure reports, then
// throws through the runtime's own __cxa_throw. Built as an object library so that linking it
// always brings the definition in; keel itself never links it.
#include <dlfcn.h>

#include <cstdlib>
#include <typeinfo>

#include <keel/core/throw_hook.h>

// AddressSanitizer intercepts __cxa_throw to clean up the stack it leaves; this definition takes
// the interceptor's place, so it does that work itself when ASan is linked in.
extern "C" void __asan_handle_no_return() __attribute__((weak));

namespace {

using cxa_throw_fn = void (*)(void*, std::type_info*, void (*)(void*));

cxa_throw_fn runtime_throw() noexcept {
  static const cxa_throw_fn fn = reinterpret_cast<cxa_throw_fn>(::dlsym(RTLD_NEXT, "__cxa_throw"));
  return fn;
}

}  // namespace

extern "C" [[noreturn]] void __cxa_throw(void* object, std::type_info* type,
                                         void (*destroy)(void*)) {
  keel::detail::throw_record& r = keel::detail::last_throw();
  r.trace = keel::stack_trace::capture(0);  // from the throw expression's function
  r.object = object;
  if (__asan_handle_no_return != nullptr) __asan_handle_no_return();
  cxa_throw_fn fn = runtime_throw();
  if (fn == nullptr) std::abort();  // no C++ runtime to throw with: nothing sane is left
  fn(object, type, destroy);
  __builtin_unreachable();
}
