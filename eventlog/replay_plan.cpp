// A replay's plan: which actors a correlation id touched, and what the log says about each of
// them (spawn, seeds, inputs, state hashes, failures, the messages they sent), with every
// reason one of them cannot be replayed.
#include <algorithm>
#include <cstring>
#include <set>

#include "eventlog/replay_impl.h"

#include <keel/eventlog/reader.h>

namespace keel::eventlog::detail {
namespace {

bool is_input(std::uint16_t type) noexcept {
  return type == static_cast<std::uint16_t>(record_type::message) ||
         type == static_cast<std::uint16_t>(record_type::timer);
}

// "seq 12, seq 40 and 3 more"
std::string some_seqs(const std::vector<std::uint64_t>& seqs) {
  std::string out;
  for (std::size_t i = 0; i < seqs.size() && i < 3; ++i) {
    if (i != 0) out += ", ";
    out += "seq " + std::to_string(seqs[i]);
  }
  if (seqs.size() > 3) out += " and " + std::to_string(seqs.size() - 3) + " more";
  return out;
}

// An actor's checkpoint record: u16 type-name length, the name, u8 drawn, 4 u64 of generator
// state, then its state. False (ignored) if it does not parse.
bool take_checkpoint(const record_view& r, planned_actor& a) {
  std::span<const std::byte> p = r.payload;
  std::uint16_t len = 0;
  if (p.size() < 2) return false;
  std::memcpy(&len, p.data(), 2);
  if (p.size() < 2u + len + 1u + 32u) return false;
  std::string type(reinterpret_cast<const char*>(p.data() + 2), len);
  const bool drawn = p[2 + len] != std::byte{0};
  actor_rng::state st{};
  std::memcpy(st.s.data(), p.data() + 3 + len, 32);
  a.type = std::move(type);
  a.rng = drawn ? std::optional<actor_rng::state>(st) : std::nullopt;
  const auto state = p.subspan(3u + len + 32u);
  a.state.assign(state.begin(), state.end());
  a.checkpoint = r.header.message_id;
  a.start_seq = r.header.seq;
  a.start_input = r.header.actor_seq;
  a.inputs = 0;
  a.last_input_no = r.header.actor_seq;
  a.failures.clear();
  a.hashes.clear();
  // Replay runs its on_start again before restoring the checkpoint: the results its SPAWN
  // context recorded stay; the rest came before the checkpoint.
  std::erase_if(a.externals, [&](const auto& e) { return e.first != a.spawn_seq; });
  a.context = r.header.seq;
  a.problems.clear();
  return true;
}

// Inputs that cannot be replayed, by reason, for one actor.
struct input_problems {
  std::vector<std::uint64_t> sampled;
  std::vector<std::uint64_t> no_payload;
  std::vector<std::uint64_t> unknown_ask;  // replies and timeouts of asks the log does not show
  std::vector<std::uint64_t> external_no_payload;  // block_in_place results without a codec
  std::map<std::uint64_t, std::vector<std::uint64_t>> unknown_type;  // type id -> seqs
};

}  // namespace

result<replay_plan> make_plan(const std::string& dir, const type_registry& types,
                              const std::vector<std::string>& factory_names, message_id correlation,
                              const replay_options& options) {
  if (correlation == 0) {
    return status(errc::invalid_argument, "replay: correlation id 0 names no scenario");
  }
  auto reader = log_reader::open(dir);
  if (!reader) return reader.error();
  const std::uint64_t end = options.until_seq != 0 ? options.until_seq : UINT64_MAX;
  replay_plan plan;
  plan.correlation = correlation;
  plan.options = options;

  // The actors the scenario touched.
  std::map<actor_id, std::uint64_t> touched;  // -> its first input of the scenario
  scan_report rep = reader->scan([&](const record_view& r) {
    if (r.header.seq >= end) return false;
    if (is_input(r.header.type) && r.header.correlation == correlation && r.header.actor_id != 0) {
      touched.emplace(r.header.actor_id, r.header.seq);
    }
    return true;
  });
  if (rep.corrupt()) return status(errc::corrupt, rep.message());
  if (touched.empty()) {
    return status(errc::not_found, "replay: no recorded input has correlation id " +
                                       std::to_string(correlation) +
                                       " (is the actor that received it recorded?)");
  }
  for (const auto& [id, first] : touched) {
    plan.actors[id].id = id;
    plan.actors[id].first_scenario_seq = first;
  }

  // What the log says about them.
  std::map<actor_id, input_problems> bad;
  std::unordered_map<message_id, actor_id> input_of;  // scenario inputs by message id
  std::set<std::pair<actor_id, message_id>> asks;     // (asker, request id) recorded
  std::uint64_t last_seq = 0;
  rep = reader->scan([&](const record_view& r) {
    const frame_header& h = r.header;
    if (h.seq >= end) return false;
    last_seq = h.seq;
    if (is_input(h.type) && h.causation != 0) {
      // A message sent while a scenario input was handled (to any recorded actor).
      if (auto it = input_of.find(h.causation); it != input_of.end()) {
        if ((h.flags & k_flag_ask_timeout) != 0) {
          // An ask's deadline (causation: the request, also the asked actor's input id): the
          // runtime's timer, not one the handler armed, and no message it sent.
        } else if (h.type == static_cast<std::uint16_t>(record_type::timer)) {
          plan.expected_timers[h.causation].insert(h.payload_type);
        } else {
          plan.expected_outputs[h.causation].push_back(h.payload_type);
        }
      }
    }
    auto it = plan.actors.find(h.actor_id);
    if (it == plan.actors.end()) return true;
    planned_actor& a = it->second;
    switch (static_cast<record_type>(h.type)) {
      case record_type::ask:
        asks.emplace(a.id, h.message_id);
        break;
      case record_type::checkpoint:
        if (h.seq < a.first_scenario_seq && take_checkpoint(r, a)) {
          // Replay starts here: what came before no longer matters.
          bad.erase(a.id);
          std::erase_if(asks, [&](const auto& k) { return k.first == a.id; });
        }
        break;
      case record_type::spawn: {
        a.spawn_seq = h.seq;
        a.context = h.seq;
        const spawn_names n = split_spawn(r.payload);
        a.name.assign(n.name);
        if (a.checkpoint == 0) {
          a.start_seq = h.seq;
          a.type.assign(n.type);
        }
        break;
      }
      case record_type::rng_seed:
        if (r.payload.size() >= 8) {
          std::memcpy(&a.system_seed, r.payload.data(), 8);
          a.has_seed = true;
        }
        break;
      case record_type::state_hash:
        if (r.payload.size() == 8) {
          std::uint64_t v = 0;
          std::memcpy(&v, r.payload.data(), 8);
          a.hashes[h.actor_seq] = v;
        }
        break;
      case record_type::failure:
        a.failures.insert(a.context);  // the input (or restart) it failed in
        break;
      case record_type::restart:
        // A restart into a new actor was its SPAWN: its on_start ran in the SPAWN's context.
        if ((h.flags & k_flag_new_incarnation) == 0) a.context = h.seq;
        break;
      case record_type::external_input:
        if ((h.flags & k_flag_no_payload) != 0) {
          bad[a.id].external_no_payload.push_back(h.seq);
        } else if (!types.has_codec(h.payload_type)) {
          bad[a.id].unknown_type[h.payload_type].push_back(h.seq);
        } else {
          a.externals[a.context].push_back(
              {h.seq, h.payload_type, {r.payload.begin(), r.payload.end()}});
        }
        break;
      case record_type::message:
      case record_type::timer: {
        ++a.inputs;
        a.last_input_no = h.actor_seq;
        a.context = h.seq;
        input_of.emplace(h.message_id, a.id);
        input_problems& p = bad[a.id];
        if ((h.flags & k_flag_sampled) != 0) p.sampled.push_back(h.seq);
        if ((h.flags & (k_flag_reply | k_flag_ask_timeout)) != 0 &&
            asks.count({a.id, h.causation}) == 0) {
          p.unknown_ask.push_back(h.seq);
        }
        if ((h.flags & k_flag_ask_timeout) != 0) {
          // no payload: the ask's id says it all
        } else if ((h.flags & k_flag_no_payload) != 0) {
          p.no_payload.push_back(h.seq);
        } else if (!types.has_codec(h.payload_type)) {
          p.unknown_type[h.payload_type].push_back(h.seq);
        }
        break;
      }
      default:
        break;
    }
    return true;
  });
  if (rep.corrupt()) return status(errc::corrupt, rep.message());
  plan.end_seq = std::min(end, last_seq + 1);

  // Every reason, for every actor.
  std::string refused;
  std::set<std::uint64_t> system_seeds;
  for (auto& [id, a] : plan.actors) {
    const input_problems& p = bad[id];
    if (a.start_seq == 0) {
      a.problems.insert(a.problems.begin(),
                        "neither its SPAWN record nor a checkpoint of it is in the log (before "
                        "the oldest segment kept?)");
    } else if (std::find(factory_names.begin(), factory_names.end(), a.type) ==
               factory_names.end()) {
      a.problems.push_back("no actor factory for its type " + a.type);
    }
    // Its generator comes from the checkpoint, or is seeded from the system seed.
    if (a.start_seq != 0 && !a.rng && !a.has_seed) {
      a.problems.push_back("no RNG_SEED record (recorded without recorder::use_system?)");
    }
    if (!p.sampled.empty()) {
      a.problems.push_back("sampled (recorded for tracing only): " + some_seqs(p.sampled));
    }
    if (!p.no_payload.empty()) {
      a.problems.push_back("inputs recorded without payload (no codec): " +
                           some_seqs(p.no_payload));
    }
    for (const auto& [type, seqs] : p.unknown_type) {
      a.problems.push_back("inputs of type id " + std::to_string(type) +
                           ", which the given registry cannot decode: " + some_seqs(seqs));
    }
    if (!p.external_no_payload.empty()) {
      a.problems.push_back(
          "block_in_place results of a type without a codec (EXTERNAL_INPUT without payload): " +
          some_seqs(p.external_no_payload));
    }
    if (!p.unknown_ask.empty()) {
      a.problems.push_back(
          "replies or timeouts of asks the log does not show (made before its "
          "checkpoint?): " +
          some_seqs(p.unknown_ask));
    }
    if (a.has_seed) system_seeds.insert(a.system_seed);
    if (a.problems.empty()) continue;
    refused += "\n  actor " + std::to_string(id) + (a.type.empty() ? "" : " (" + a.type + ")");
    for (const std::string& why : a.problems) refused += "\n    " + why;
  }
  if (!options.isolated && system_seeds.size() > 1) {
    refused += "\n  the actors come from systems with different seeds: replay them isolated";
  }
  if (!refused.empty()) {
    return status(errc::invalid_argument,
                  "replay of correlation " + std::to_string(correlation) + " refused:" + refused);
  }
  return plan;
}

}  // namespace keel::eventlog::detail
