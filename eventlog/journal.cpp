#include <vector>

#include <keel/eventlog/journal.h>

namespace keel::eventlog {

status journal_options::validate() const {
  if (status st = log.validate(); !st) return st;
  if (status st = snapshots.validate(); !st) return st;
  if (recovery_batch == 0) {
    return status(errc::invalid_config, "journal_options.recovery_batch: must be at least 1");
  }
  return status();
}

result<std::unique_ptr<journal>> journal::open(const std::string& dir, journal_options o) {
  if (status st = o.validate(); !st) return st;
  std::unique_ptr<journal> j(new journal());
  j->opt_ = o;
  j->dir_ = dir;
  journal* self = j.get();
  log_options lo = o.log;
  lo.retention_waits_for_floor = true;  // the snapshot store sets it below
  lo.on_durable = [self, user = o.log.on_durable](std::uint64_t d) {
    self->durable(d);
    if (user) user(d);
  };
  lo.on_failure = [self, user = o.log.on_failure](const status& why) {
    self->failed(why);
    if (user) user(why);
  };
  auto log = event_log::open(dir, lo);
  if (!log) return log.error();
  j->log_ = std::move(*log);
  auto snaps = snapshot_store::open(dir, o.snapshots, j->log_.get());
  if (!snaps) return snaps.error();
  j->snapshots_ = std::move(*snaps);
  return j;
}

journal::~journal() {
  // The log's threads stop first: no callback runs into a half-destroyed journal.
  snapshots_.reset();
  log_.reset();
}

void journal::when_durable(std::uint64_t seq, std::function<void(const status&)> done) {
  if (opt_.log.mode == durability::page_cache) {
    done(status());
    return;
  }
  bool failed = false;
  bool waiting = false;
  status why;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (failed_) {
      failed = true;
      why = failure_;
    } else if (log_->durable_seq() <= seq) {
      waiters_.emplace(seq, std::move(done));
      waiting = true;
    }
  }
  if (failed) {
    done(status(errc::log_failed, "the event log failed: " + std::string(why.message())));
  } else if (waiting) {
    log_->request_sync();
  } else {
    done(status());  // already durable
  }
}

void journal::durable(std::uint64_t d) {
  std::vector<std::function<void(const status&)>> ready;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto end = waiters_.lower_bound(d);  // every seq below d is durable
    for (auto it = waiters_.begin(); it != end; ++it) ready.push_back(std::move(it->second));
    waiters_.erase(waiters_.begin(), end);
  }
  for (auto& f : ready) f(status());
}

void journal::failed(const status& why) {
  std::vector<std::function<void(const status&)>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    failed_ = true;
    failure_ = why;
    for (auto& [seq, f] : waiters_) all.push_back(std::move(f));
    waiters_.clear();
  }
  const status st(errc::log_failed, "the event log failed: " + std::string(why.message()));
  for (auto& f : all) f(st);
}

result<std::uint64_t> journal::read_events(
    std::uint64_t persistence_id, std::uint64_t from_seq, std::uint64_t until_seq,
    std::uint32_t max,
    const std::function<void(const frame_header&, std::span<const std::byte>)>& visit) const {
  if (from_seq >= until_seq) return 0;
  auto reader = log_reader::open(dir_);
  if (!reader) return reader.error();
  std::uint32_t n = 0;
  std::uint64_t next = from_seq;  // the first record not yet looked at
  bool full = false;
  const scan_report rep = reader->scan(
      [&](const record_view& r) {
        if (r.header.seq >= until_seq) return false;
        if (n == max) {
          full = true;
          return false;
        }
        if (r.header.type == static_cast<std::uint16_t>(record_type::event) &&
            r.header.actor_id == persistence_id) {
          visit(r.header, r.payload);
          ++n;
        }
        next = r.header.seq + 1;
        return true;
      },
      from_seq);
  if (rep.corrupt()) return status(errc::corrupt, rep.message());
  if (full) return next;
  if (next < until_seq) {
    // The end of what is committed, short of until_seq: a record below it is still being
    // written by another thread (claims commit out of order), or sits in a segment rolled after
    // the reader listed them. The next step reads on from it. Anything else there is damage,
    // and a failed log will never finish the record.
    const bool live_end = rep.problem == log_problem::none || rep.problem == log_problem::in_flight;
    if (!live_end) return status(errc::corrupt, rep.message());
    if (status f = log_->failure(); !f) {
      return status(errc::log_failed, "the event log failed before record " + std::to_string(next) +
                                          " was written: " + std::string(f.message()));
    }
    return next;
  }
  return 0;
}

}  // namespace keel::eventlog
