// failure.h: stack traces (capture and symbolization), failure reports as text, actor::fail's
// bookkeeping and the throw hook's thread-local slot.
#include <cxxabi.h>
#include <dlfcn.h>
#include <execinfo.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/system_state.h"

#include <keel/core/failure.h>
#include <keel/core/throw_hook.h>

namespace keel {
namespace detail {

std::string demangle(const char* name) {
  if (name == nullptr) return {};
  int rc = 0;
  std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(name, nullptr, nullptr, &rc),
                                             std::free);
  return rc == 0 && out ? std::string(out.get()) : std::string(name);
}

}  // namespace detail

stack_trace stack_trace::capture(std::size_t skip) noexcept {
  stack_trace t;
  // One more frame than asked, for capture itself (it is never inlined).
  void* raw[k_max_frames + 16];
  const std::size_t want = std::min<std::size_t>(k_max_frames + skip + 1, std::size(raw));
  const int n = ::backtrace(raw, static_cast<int>(want));
  const std::size_t first = std::min<std::size_t>(skip + 1, static_cast<std::size_t>(n));
  for (std::size_t i = first; i < static_cast<std::size_t>(n) && t.count_ < k_max_frames; ++i) {
    t.frames_[t.count_++] = raw[i];
  }
  return t;
}

std::vector<stack_trace::frame> stack_trace::symbolize() const {
  std::vector<frame> out;
  out.reserve(count_);
  for (std::size_t i = 0; i < count_; ++i) {
    frame f;
    f.address = frames_[i];
    Dl_info info{};
    if (::dladdr(frames_[i], &info) != 0 && info.dli_fname != nullptr) {
      std::string_view path(info.dli_fname);
      const auto slash = path.rfind('/');
      f.module = std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
      f.offset = reinterpret_cast<std::uintptr_t>(frames_[i]) -
                 reinterpret_cast<std::uintptr_t>(info.dli_fbase);
      if (info.dli_sname != nullptr) f.symbol = detail::demangle(info.dli_sname);
    } else {
      f.module.assign(1, '?');  // (not `= "?"`: GCC 12 -O3 warns falsely about the copy)
      f.offset = reinterpret_cast<std::uintptr_t>(frames_[i]);
    }
    out.push_back(std::move(f));
  }
  return out;
}

std::string stack_trace::to_string() const {
  std::string s;
  std::size_t i = 0;
  for (const frame& f : symbolize()) {
    char line[96];
    std::snprintf(line, sizeof line, "#%zu %p %s+0x%" PRIxPTR, i++, f.address, f.module.c_str(),
                  f.offset);
    s += line;
    if (!f.symbol.empty()) s += " (" + f.symbol + ")";
    s += '\n';
  }
  return s;
}

std::string_view to_string(failure_kind k) noexcept {
  switch (k) {
    case failure_kind::exception:
      return "exception";
    case failure_kind::fail_call:
      return "fail_call";
    case failure_kind::start:
      return "start";
    case failure_kind::overflow:
      return "overflow";
    case failure_kind::linked:
      return "linked";
  }
  return "unknown";
}

std::string_view to_string(trace_origin o) noexcept {
  switch (o) {
    case trace_origin::none:
      return "none";
    case trace_origin::fail_call:
      return "fail_call";
    case trace_origin::throw_site:
      return "throw_site";
  }
  return "unknown";
}

std::string_view to_string(directive d) noexcept {
  switch (d) {
    case directive::resume:
      return "resume";
    case directive::restart:
      return "restart";
    case directive::stop:
      return "stop";
    case directive::escalate:
      return "escalate";
  }
  return "unknown";
}

std::string failure_report::summary() const {
  std::string s = "failure of ";
  if (path.empty()) {
    s += actor_type;
  } else {
    s += path;
  }
  s += " (actor ";
  s += std::to_string(id);
  s += ", ";
  s += actor_type;
  if (!actor_name.empty()) {
    s += " \"";
    s += actor_name;
    s += '"';
  }
  s += "): ";
  s += keel::to_string(kind);
  if (!exception_type.empty()) {
    s += ' ';
    s += exception_type;
  }
  s += ": ";
  s += text;
  if (!message_type.empty()) {
    s += "; handling ";
    s += message_type;
  }
  if (correlation != 0) {
    s += " (correlation ";
    s += std::to_string(correlation);
    s += ')';
  }
  s += "; restarts before: ";
  s += std::to_string(restart_count);
  s += "; decision: ";
  s += keel::to_string(decision);
  return s;
}

std::string failure_report::to_string() const {
  std::string s = summary();
  s += '\n';
  if (origin == trace_origin::none) {
    s += "no throw-site trace (link keel::throw_hook to record one)\n";
  } else {
    s += "trace (";
    s += keel::to_string(origin);
    s += "):\n" + trace.to_string();
  }
  return s;
}

namespace detail {

throw_record& last_throw() noexcept {
  thread_local throw_record record;
  return record;
}

void note_failure(actor_cell* self, std::string_view reason) noexcept {
  stack_trace trace = stack_trace::capture(1);  // from fail()'s caller
  cell_extras* x = try_extras_of(self);
  if (x == nullptr) return;
  try {
    if (x->failing == nullptr) x->failing = std::make_unique<pending_failure>();
    x->failing->text.assign(reason);
    x->failing->trace = trace;
  } catch (...) {
    // No memory for the reason: the failure still happens, reported without it.
  }
}

}  // namespace detail
}  // namespace keel
