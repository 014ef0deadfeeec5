#include <algorithm>

#include <keel/core/actor_system.h>
#include <keel/core/factory.h>

namespace keel {

status actor_factory_registry::add_named(std::string type_name, factory make) {
  if (type_name.empty()) return status(errc::invalid_argument, "a factory needs a type name");
  if (!make) return status(errc::invalid_argument, "factory for \"" + type_name + "\" is empty");
  std::lock_guard<std::mutex> lock(mu_);
  if (by_name_.count(type_name) != 0) {
    return status(errc::duplicate_name, "actor type \"" + type_name + "\" has a factory already");
  }
  by_name_.emplace(std::move(type_name), std::move(make));
  return status::ok();
}

result<actor_ref<>> actor_factory_registry::spawn(std::string_view type_name,
                                                  const json_value& args) {
  return spawn(type_name, args, spawn_options{});
}

result<actor_ref<>> actor_factory_registry::spawn(std::string_view type_name,
                                                  const json_value& args,
                                                  const spawn_options& opts) {
  factory make;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_name_.find(std::string(type_name));
    if (it == by_name_.end()) {
      return status(errc::invalid_argument,
                    "no factory for actor type \"" + std::string(type_name) + "\"");
    }
    make = it->second;  // a copy: the factory runs outside the lock
  }
  try {
    return make(sys_, args, opts);
  } catch (const std::bad_alloc&) {
    return status(errc::out_of_memory, "factory for \"" + std::string(type_name) + "\"");
  } catch (const std::exception& e) {
    return status(errc::failed,
                  "factory for \"" + std::string(type_name) + "\" threw: " + e.what());
  }
}

bool actor_factory_registry::contains(std::string_view type_name) const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_name_.count(std::string(type_name)) != 0;
}

std::vector<std::string> actor_factory_registry::names() const {
  std::vector<std::string> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    out.reserve(by_name_.size());
    for (const auto& [name, f] : by_name_) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace keel
