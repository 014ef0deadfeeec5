// keel::supervisor on the deterministic executor and its virtual clock: backoff curves,
// intensity and escalation, ordered shutdown, deciders, failure reports, bad input, dynamic
// children, restart guards, significant children, hooks and a 10,000-child crash storm.
// (The strategies on both executors: conformance_supervisor.cpp.)
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "core/supervision_actors.h"
#include "core/test_actors.h"

#include <keel/keel.h>

namespace {

using namespace std::chrono_literals;
using keel::directive;
using keel::errc;
using keel::restart_strategy;
using keel::restart_type;
using keel::send_status;
using namespace keel::test;

class counting_hooks : public keel::hook_subscriber {
 public:
  counting_hooks() : keel::hook_subscriber(keel::hook_phase::metrics) {}
  void on_restart(const keel::lifecycle_event& ev) noexcept override {
    restarts.fetch_add(1);
    std::lock_guard<std::mutex> lock(mu);
    paths.emplace_back(ev.reason);
    ids.push_back(ev.id);
    new_incarnation.push_back(ev.new_incarnation);
  }
  void on_escalate(const keel::lifecycle_event&) noexcept override { escalations.fetch_add(1); }
  std::atomic<int> restarts{0};
  std::atomic<int> escalations{0};
  std::mutex mu;
  std::vector<std::string> paths;
  std::vector<keel::actor_id> ids;
  std::vector<bool> new_incarnation;
};

class supervisor_test : public ::testing::Test {
 protected:
  void start(std::uint64_t seed = 7) {
    keel::system_config cfg;
    cfg.scheduler.executor = keel::sched::executor_kind::deterministic;
    cfg.scheduler.policy = std::make_shared<keel::sched::seeded_random_policy>(seed);
    cfg.seed = seed;
    cfg.hooks = {hooks_};
    cfg.diagnostics = [this](const keel::diagnostic& d) {
      std::lock_guard<std::mutex> lock(mu_);
      diags_.push_back(d);
    };
    sys_ = keel::actor_system::create(std::move(cfg)).value();
    det_ = sys_->deterministic();
  }
  void TearDown() override {
    if (sys_) (void)sys_->shutdown();
  }
  std::size_t diags(keel::diagnostic_kind k) {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<std::size_t>(
        std::count_if(diags_.begin(), diags_.end(), [&](const auto& d) { return d.kind == k; }));
  }
  void run() { det_->run_until_idle(); }

  std::shared_ptr<counting_hooks> hooks_ = std::make_shared<counting_hooks>();
  std::unique_ptr<keel::actor_system> sys_;
  keel::sched::deterministic_executor* det_ = nullptr;
  std::mutex mu_;
  std::vector<keel::diagnostic> diags_;
};

keel::supervisor_config one_worker(journal* j, keel::backoff_policy b) {
  keel::supervisor_config cfg;
  cfg.name = "root";
  cfg.intensity = {1000, 10s};
  cfg.backoff = b;
  cfg.children = {worker_spec(j, "w")};
  return cfg;
}

// Crashes `w` `n` times, `gap` apart; returns the delay from each crash to the restart.
std::vector<std::uint64_t> crash_and_measure(keel::sched::deterministic_executor* det, journal& j,
                                             const keel::actor_ref<sup_worker>& w, int n,
                                             std::chrono::nanoseconds gap) {
  std::vector<std::uint64_t> delays;
  for (int i = 0; i < n; ++i) {
    const std::size_t before = j.times().size();
    EXPECT_EQ(w.send(crash{}), send_status::ok);
    det->run_until_idle();
    const std::uint64_t crashed = det->now();
    det->advance(gap);
    const auto t = j.times();
    EXPECT_EQ(t.size(), before + 1) << "crash " << i << " was not followed by one restart";
    if (t.size() == before + 1) delays.push_back(t.back() - crashed);
  }
  return delays;
}

TEST_F(supervisor_test, backoff_delays_follow_the_configured_curve) {
  start();
  journal& j = new_journal();
  keel::backoff_policy b;
  b.min_delay = 10ms;
  b.max_delay = 80ms;
  b.factor = 2;
  b.random_factor = 0;
  b.reset_after = 10s;
  auto sup = sys_->spawn<keel::supervisor>(one_worker(&j, b)).value();
  run();
  auto w = child_named(sup, "w");
  const auto delays = crash_and_measure(det_, j, w, 5, 200ms);
  const std::vector<std::uint64_t> want{10'000'000, 20'000'000, 40'000'000, 80'000'000, 80'000'000};
  EXPECT_EQ(delays, want);
  EXPECT_EQ(status_of(sup).children[0].restarts, 5U);
}

TEST_F(supervisor_test, backoff_starts_over_after_a_stable_period) {
  start();
  journal& j = new_journal();
  keel::backoff_policy b;
  b.min_delay = 10ms;
  b.max_delay = 1s;
  b.random_factor = 0;
  b.reset_after = 500ms;
  auto sup = sys_->spawn<keel::supervisor>(one_worker(&j, b)).value();
  run();
  auto w = child_named(sup, "w");
  EXPECT_EQ(crash_and_measure(det_, j, w, 3, 100ms),
            (std::vector<std::uint64_t>{10'000'000, 20'000'000, 40'000'000}));
  det_->advance(600ms);  // it ran 500 ms without failing
  EXPECT_EQ(crash_and_measure(det_, j, w, 2, 100ms),
            (std::vector<std::uint64_t>{10'000'000, 20'000'000}));
}

TEST_F(supervisor_test, jitter_comes_from_the_supervisors_seeded_rng) {
  std::vector<std::vector<std::uint64_t>> runs;
  for (std::uint64_t seed : {11, 11, 12}) {
    start(seed);
    journal& j = new_journal();
    keel::backoff_policy b;
    b.min_delay = 10ms;
    b.max_delay = 1s;
    b.random_factor = 0.5;
    auto sup = sys_->spawn<keel::supervisor>(one_worker(&j, b)).value();
    run();
    const auto delays = crash_and_measure(det_, j, child_named(sup, "w"), 4, 300ms);
    ASSERT_EQ(delays.size(), 4U);
    std::uint64_t base = 10'000'000;
    for (std::uint64_t d : delays) {
      EXPECT_GE(d, base);
      EXPECT_LE(d, base + base / 2 + 1'000'000);  // + one timer tick
      base *= 2;
    }
    runs.push_back(delays);
    (void)sys_->shutdown();
    sys_.reset();
  }
  EXPECT_EQ(runs[0], runs[1]);  // the same seed, the same delays
  EXPECT_NE(runs[0], runs[2]);
}

TEST_F(supervisor_test, exceeding_the_intensity_escalates_exactly_once) {
  start();
  journal& j = new_journal();
  keel::supervisor_config cfg;
  cfg.name = "root";
  cfg.intensity = {2, 1s};
  cfg.children = {worker_spec(&j, "w1"), worker_spec(&j, "w2")};
  auto sup = sys_->spawn<keel::supervisor>(cfg).value();
  run();
  // Spaced wider than the period: never more than one restart within it.
  auto w1 = child_named(sup, "w1");
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(w1.send(crash{}), send_status::ok);
    det_->advance(1100ms);
  }
  EXPECT_TRUE(sup.alive());
  EXPECT_EQ(diags(keel::diagnostic_kind::escalation), 0U);
  // Three within a second: the third is one too many.
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(w1.send(crash{}), send_status::ok);
    run();
  }
  run();
  EXPECT_EQ(diags(keel::diagnostic_kind::escalation), 1U);
  EXPECT_EQ(hooks_->escalations.load(), 1);
  // A root with keep_running: its children stopped, newest first, then itself.
  EXPECT_FALSE(sup.alive());
  EXPECT_EQ(j.only("stop"), (std::vector<std::string>{"w2"}));  // w1 had failed: no on_stop
  EXPECT_FALSE(sys_->stop_requested().has_value());
}

TEST_F(supervisor_test, a_child_intensity_escalates_before_the_supervisors) {
  start();
  journal& j = new_journal();
  keel::supervisor_config cfg;
  cfg.intensity = {100, 1s};
  cfg.children = {worker_spec(&j, "w1"), worker_spec(&j, "w2")};
  cfg.children[0].intensity = keel::restart_intensity{1, 1s};
  auto sup = sys_->spawn<keel::supervisor>(cfg).value();
  run();
  auto w2 = child_named(sup, "w2");
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(w2.send(crash{}), send_status::ok);
    run();
  }
  EXPECT_EQ(diags(keel::diagnostic_kind::escalation), 0U);  // w2 has the supervisor's limit
  auto w1 = child_named(sup, "w1");
  ASSERT_EQ(w1.send(crash{}), send_status::ok);
  run();
  EXPECT_EQ(diags(keel::diagnostic_kind::escalation), 0U);
  ASSERT_EQ(w1.send(crash{}), send_status::ok);
  run();
  EXPECT_EQ(diags(keel::diagnostic_kind::escalation), 1U);
}

// A root ("root", 10 restarts a second) over one department ("dept") over `children`; the
// refs of the root and of the department.
struct two_levels {
  keel::actor_ref<keel::supervisor> root;
  keel::actor_ref<keel::supervisor> dept;
};
two_levels start_two_levels(keel::actor_system& sys, keel::sched::deterministic_executor& det,
                            std::vector<keel::child_spec> children,
                            keel::restart_intensity dept_intensity) {
  keel::supervisor_config dept;
  dept.intensity = dept_intensity;
  dept.children = std::move(children);
  keel::supervisor_config root;
  root.name = "root";
  root.intensity = {10, 1s};
  root.children = {keel::child_spec::of<keel::supervisor>("dept", dept)};
  two_levels t;
  t.root = sys.spawn<keel::supervisor>(root).value();
  det.run_until_idle();
  auto dept_ref = status_of(t.root).children.at(0).ref;
  t.dept = keel::actor_ref<keel::supervisor>::from_cell(dept_ref.cell(), dept_ref.generation());
  return t;
}

TEST_F(supervisor_test, an_escalation_restarts_the_subtree_under_the_parent) {
  start();
  journal& j = new_journal();
  auto [sup, d] =
      start_two_levels(*sys_, *det_, {worker_spec(&j, "w1"), worker_spec(&j, "w2")}, {1, 1s});
  auto w1 = child_named(d, "w1");
  ASSERT_EQ(w1.send(crash{}), send_status::ok);
  run();
  ASSERT_EQ(w1.send(crash{}), send_status::ok);
  run();
  EXPECT_EQ(diags(keel::diagnostic_kind::escalation), 1U);
  // The department was restarted in place (same ref) with new children.
  EXPECT_TRUE(d.alive());
  EXPECT_EQ(j.starts_of("w1"), 3);  // start, one restart, then the new department's child
  EXPECT_EQ(j.starts_of("w2"), 2);
  EXPECT_FALSE(w1.alive());
  EXPECT_TRUE(child_named(d, "w1").alive());
  auto st = status_of(sup);
  ASSERT_EQ(st.recent.size(), 1U);
  EXPECT_EQ(st.recent[0].path, "root/dept");
  EXPECT_EQ(st.recent[0].decision, directive::restart);
  EXPECT_NE(st.recent[0].text.find("escalated"), std::string::npos) << st.recent[0].text;
  // The department learned its path from the root.
  EXPECT_EQ(status_of(d).path, "root/dept");
}

TEST_F(supervisor_test, supervisor_of_names_each_actor_s_supervisor_while_it_lives) {
  start();
  journal& j = new_journal();
  auto [sup, d] = start_two_levels(*sys_, *det_, {worker_spec(&j, "w1")}, {10, 1s});
  auto w1 = child_named(d, "w1");
  EXPECT_EQ(sys_->supervisor_of(w1.handle()), d.handle());
  EXPECT_EQ(sys_->supervisor_of(d.handle()), sup.handle());
  EXPECT_FALSE(sys_->supervisor_of(sup.handle()).valid()) << "a root has none";
  EXPECT_FALSE(sys_->supervisor_of(keel::actor_handle{}).valid());
  ASSERT_EQ(w1.send(crash{}), send_status::ok);  // restarted in a new incarnation
  run();
  auto w1_again = child_named(d, "w1");
  EXPECT_EQ(sys_->supervisor_of(w1_again.handle()), d.handle());
  ASSERT_EQ(sup.stop(), send_status::ok);
  run();
  EXPECT_FALSE(sys_->supervisor_of(w1_again.handle()).valid()) << "stopped: no supervisor";
}

TEST_F(supervisor_test, a_root_with_stop_system_asks_the_host_to_stop) {
  start();
  journal& j = new_journal();
  keel::supervisor_config cfg;
  cfg.name = "root";
  cfg.intensity = {0, 1s};
  cfg.root = keel::root_policy::stop_system;
  cfg.children = {worker_spec(&j, "w")};
  auto sup = sys_->spawn<keel::supervisor>(cfg).value();
  run();
  ASSERT_EQ(child_named(sup, "w").send(crash{}), send_status::ok);
  run();
  auto why = sys_->stop_requested();
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("root: escalated at the root"), std::string::npos) << *why;
  EXPECT_FALSE(sup.alive());
}

TEST_F(supervisor_test, shutdown_stops_children_newest_first_and_kills_one_that_ignores_it) {
  start();
  journal& j = new_journal();
  keel::supervisor_config cfg;
  cfg.children = {worker_spec(&j, "a"),
                  keel::child_spec::of<exit_ignorer>("b", &j, std::string("b")),
                  worker_spec(&j, "c")};
  cfg.children[1].shutdown = 100ms;
  auto sup = sys_->spawn<keel::supervisor>(cfg).value();
  run();
  const std::uint64_t t0 = det_->now();
  auto st = sup.ask<keel::supervisor_status>(keel::shutdown_supervisor{}, 10s);
  ASSERT_TRUE(st.has_value()) << st.error().to_string();
  EXPECT_EQ(st->killed, (std::vector<std::string>{"b"}));
  // c stopped, b was asked (exit_signal), ignored it and was killed 100 ms later, then a.
  // (The three started in some order: each runs its on_start on its own.)
  auto events = j.snapshot();
  ASSERT_EQ(events.size(), 6U);
  EXPECT_EQ(std::vector<std::string>(events.begin() + 3, events.end()),
            (std::vector<std::string>{"stop:c", "exit_signal:b", "stop:a"}));
  EXPECT_GE(det_->now() - t0, 100'000'000U);
  EXPECT_EQ(diags(keel::diagnostic_kind::shutdown_kill), 1U);
  run();
  EXPECT_FALSE(sup.alive());
}

TEST_F(supervisor_test, the_decider_picks_per_exception_type_and_failure_kind) {
  start();
  journal& j = new_journal();
  keel::supervisor_config cfg;
  cfg.intensity = {100, 1s};
  cfg.decider = keel::decider()
                    .on<std::logic_error>(directive::resume)
                    .on(keel::failure_kind::fail_call, directive::stop);
  cfg.children = {worker_spec(&j, "w")};
  auto sup = sys_->spawn<keel::supervisor>(cfg).value();
  run();
  auto w = child_named(sup, "w");
  ASSERT_EQ(w.send(work{5}), send_status::ok);
  ASSERT_EQ(w.send(crash_logic{}), send_status::ok);  // resumed: state kept
  ASSERT_EQ(w.send(work{6}), send_status::ok);
  auto c = w.ask<count_is>(get_count{}, 1s);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->count, 2);
  EXPECT_EQ(c->sum, 11);
  EXPECT_EQ(j.starts_of("w"), 1);
  ASSERT_EQ(w.send(crash{}), send_status::ok);  // runtime_error: restart (the default)
  run();
  EXPECT_EQ(j.starts_of("w"), 2);
  ASSERT_EQ(w.send(crash_by_fail{}), send_status::ok);  // fail(): stop
  run();
  EXPECT_FALSE(w.alive());
  EXPECT_TRUE(status_of(sup).children.empty());
  std::vector<directive> decisions;
  for (const auto& r : status_of(sup).recent) decisions.push_back(r.decision);
  EXPECT_EQ(decisions,
            (std::vector<directive>{directive::resume, directive::restart, directive::stop}));
}

TEST_F(supervisor_test, failure_reports_carry_what_is_known_and_a_trace_for_fail) {
  start();
  journal& j = new_journal();
  keel::supervisor_config cfg;
  cfg.name = "root";
  cfg.intensity = {100, 1s};
  cfg.children = {worker_spec(&j, "w")};
  auto sup = sys_->spawn<keel::supervisor>(cfg).value();
  run();
  auto w = child_named(sup, "w");
  ASSERT_EQ(w.send(crash{}), send_status::ok);
  run();
  ASSERT_EQ(w.send(crash_by_fail{}), send_status::ok);
  run();
  auto st = status_of(sup);
  ASSERT_EQ(st.recent.size(), 2U);
  const keel::failure_report& thrown = st.recent[0];
  EXPECT_EQ(thrown.path, "root/w");
  EXPECT_EQ(thrown.kind, keel::failure_kind::exception);
  EXPECT_EQ(thrown.text, "crash on purpose");
  EXPECT_EQ(thrown.exception_type, "std::runtime_error");
  EXPECT_TRUE(thrown.exception != nullptr);
  EXPECT_EQ(thrown.actor_type, "test.sup.worker");
  EXPECT_EQ(thrown.message_type, "test.sup.crash/1");
  EXPECT_NE(thrown.correlation, 0U);
  EXPECT_EQ(thrown.restart_count, 0U);
  EXPECT_EQ(thrown.origin, keel::trace_origin::none);  // no throw hook in this binary
  EXPECT_NE(thrown.to_string().find("no throw-site trace"), std::string::npos);
  const keel::failure_report& failed = st.recent[1];
  EXPECT_EQ(failed.kind, keel::failure_kind::fail_call);
  EXPECT_EQ(failed.text, "failed on purpose");
  EXPECT_EQ(failed.restart_count, 1U);
  EXPECT_EQ(failed.origin, keel::trace_origin::fail_call);
  ASSERT_FALSE(failed.trace.empty());
  const auto frames = failed.trace.symbolize();
  // The innermost frame is the handler that called fail(), in this test binary.
  EXPECT_EQ(frames[0].module, "test_core_supervisor");
  EXPECT_NE(frames[0].offset, 0U);
  // Each report went to the diagnostics sink, with the report attached.
  EXPECT_EQ(diags(keel::diagnostic_kind::child_failure), 2U);
}

TEST_F(supervisor_test, bad_input_gets_a_clear_error_and_disturbs_nothing) {
  start();
  journal& j = new_journal();
  // An invalid config: spawn fails, naming the field.
  keel::supervisor_config bad_cfg;
  bad_cfg.backoff.factor = 0.5;
  auto r = sys_->spawn<keel::supervisor>(bad_cfg);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("backoff.factor"), std::string::npos);
  keel::supervisor_config dup;
  dup.children = {worker_spec(&j, "x"), worker_spec(&j, "x")};
  EXPECT_NE(sys_->spawn<keel::supervisor>(dup).error().message().find("children[1].name"),
            std::string::npos);
  // The error names the first child whose name an earlier one has.
  dup.children = {worker_spec(&j, "y"), worker_spec(&j, "x"), worker_spec(&j, "z"),
                  worker_spec(&j, "x"), worker_spec(&j, "y")};
  EXPECT_NE(sys_->spawn<keel::supervisor>(dup).error().message().find("children[3].name: \"x\""),
            std::string::npos);

  keel::supervisor_config cfg;
  cfg.children = {worker_spec(&j, "w")};
  auto sup = sys_->spawn<keel::supervisor>(cfg).value();
  run();
  auto w = child_named(sup, "w");
  ASSERT_EQ(w.send(work{3}), send_status::ok);
  auto ask = [&](auto m) {
    auto rep = sup.ask<keel::supervisor_reply>(std::move(m), 1s);
    EXPECT_TRUE(rep.has_value());
    return rep.has_value() ? rep->result : keel::status(errc::timeout, "no reply");
  };
  EXPECT_EQ(ask(keel::create_child{worker_spec(&j, "w")}).code(), errc::duplicate_name);
  EXPECT_EQ(ask(keel::create_child{keel::child_spec{}}).code(), errc::invalid_argument);
  auto negative = worker_spec(&j, "n");
  negative.shutdown = -1ms;
  EXPECT_NE(ask(keel::create_child{negative}).message().find("child_spec.shutdown"),
            std::string::npos);
  keel::reconfigure_supervisor rc;
  rc.backoff.random_factor = 2;
  EXPECT_EQ(ask(rc).code(), errc::invalid_argument);
  EXPECT_EQ(
      ask(keel::create_child_of_type{"t", "no.such.type", {}, restart_type::permanent}).code(),
      errc::invalid_argument);
  // A starter that hands back the supervisor itself, or its parent.
  keel::child_spec itself;
  itself.name = "itself";
  itself.start = [sup](keel::actor_system&, const keel::spawn_options&) {
    return keel::result<keel::actor_ref<>>(keel::actor_ref<>(sup));
  };
  EXPECT_NE(ask(keel::create_child{itself}).message().find("itself"), std::string::npos);
  keel::supervisor_config inner;
  auto parent_spec = keel::child_spec::of<keel::supervisor>("inner", inner);
  ASSERT_TRUE(ask(keel::create_child{parent_spec}).is_ok());
  auto inner_ref = status_of(sup).children.back().ref;
  auto in = keel::actor_ref<keel::supervisor>::from_cell(inner_ref.cell(), inner_ref.generation());
  keel::child_spec ancestor;
  ancestor.name = "ancestor";
  ancestor.start = [sup](keel::actor_system&, const keel::spawn_options&) {
    return keel::result<keel::actor_ref<>>(keel::actor_ref<>(sup));
  };
  auto rep = in.ask<keel::supervisor_reply>(keel::create_child{ancestor}, 1s);
  ASSERT_TRUE(rep.has_value());
  EXPECT_NE(rep->result.message().find("ancestors"), std::string::npos) << rep->result.message();
  EXPECT_EQ(ask(keel::terminate_child{"nobody"}).code(), errc::actor_not_found);
  // Nothing that ran was disturbed.
  EXPECT_TRUE(sup.alive());
  auto c = w.ask<count_is>(get_count{}, 1s);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->count, 1);
  EXPECT_EQ(j.starts_of("w"), 1);
  // A supervisor on its way down takes no new child.
  keel::supervisor_config slow;
  slow.children = {keel::child_spec::of<exit_ignorer>("s", &j, std::string("s"))};
  slow.children[0].shutdown = 1s;
  auto sl = sys_->spawn<keel::supervisor>(slow).value();
  run();
  ASSERT_EQ(sl.send(keel::shutdown_supervisor{}), send_status::ok);
  auto late = sl.ask<keel::supervisor_reply>(keel::create_child{worker_spec(&j, "late")}, 10ms);
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->result.code(), errc::shutting_down);
}

TEST_F(supervisor_test, children_created_by_type_name_restart_in_place) {
  start();
  journal& j = new_journal();
  ASSERT_TRUE(
      sys_->factories()
          .add<sup_worker>(
              [&j](keel::actor_system& s, const keel::json_value& args,
                   const keel::spawn_options& o) -> keel::result<keel::actor_ref<sup_worker>> {
                const auto* v = args.find("name");
                if (v == nullptr || !v->is_string())
                  return keel::status(errc::invalid_argument, "args.name");
                return s.spawn_with<sup_worker>(o, &j, v->as_string());
              })
          .is_ok());
  auto sup = sys_->spawn<keel::supervisor>(keel::supervisor_config{}).value();
  run();
  auto rep = sup.ask<keel::supervisor_reply>(
      keel::create_child_of_type{"dyn", "test.sup.worker",
                                 keel::parse_json(R"({"name": "dyn"})").value(),
                                 restart_type::permanent},
      1s);
  ASSERT_TRUE(rep.has_value());
  ASSERT_TRUE(rep->result.is_ok()) << rep->result.to_string();
  auto w = keel::actor_ref<sup_worker>::from_cell(rep->child.cell(), rep->child.generation());
  ASSERT_EQ(w.send(crash{}), send_status::ok);
  run();
  EXPECT_EQ(j.starts_of("dyn"), 2);
  EXPECT_TRUE(w.alive());  // the same incarnation, a new object
  // Bad args: the factory's own error.
  auto bad = sup.ask<keel::supervisor_reply>(
      keel::create_child_of_type{"dyn2", "test.sup.worker", {}, restart_type::permanent}, 1s);
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->result.code(), errc::invalid_argument);
}

TEST_F(supervisor_test, reconfigure_changes_the_strategy_and_intensity_while_it_runs) {
  start();
  journal& j = new_journal();
  keel::supervisor_config cfg;
  cfg.intensity = {100, 1s};
  cfg.children = {worker_spec(&j, "a"), worker_spec(&j, "b")};
  auto sup = sys_->spawn<keel::supervisor>(cfg).value();
  run();
  ASSERT_EQ(child_named(sup, "b").send(crash{}), send_status::ok);
  run();
  EXPECT_EQ(j.starts_of("a"), 1);  // one_for_one: b alone
  keel::reconfigure_supervisor rc;
  rc.strategy = restart_strategy::one_for_all;
  rc.intensity = {1, 1s};
  auto rep = sup.ask<keel::supervisor_reply>(rc, 1s);
  ASSERT_TRUE(rep.has_value());
  ASSERT_TRUE(rep->result.is_ok());
  EXPECT_EQ(status_of(sup).strategy, restart_strategy::one_for_all);
  det_->advance(2s);  // out of the first restart's period
  ASSERT_EQ(child_named(sup, "b").send(crash{}), send_status::ok);
  run();
  EXPECT_EQ(j.starts_of("a"), 2);  // one_for_all now: a restarted with b
  EXPECT_EQ(diags(keel::diagnostic_kind::escalation), 0U);
  ASSERT_EQ(child_named(sup, "b").send(crash{}), send_status::ok);  // a second within 1 s
  run();
  EXPECT_EQ(diags(keel::diagnostic_kind::escalation), 1U);
}

// Each group strategy with each restart type: who starts again after "x" fails or quits.
struct matrix_case {
  restart_strategy strategy;
  restart_type type;
  bool quit;  // stop_self instead of a crash
  // Starts of a, x, z afterwards (a before x, z after it in start order).
  int a, x, z;
  bool x_listed;
};

TEST_F(supervisor_test, group_strategies_with_each_restart_type) {
  const std::vector<matrix_case> cases = {
      {restart_strategy::one_for_all, restart_type::permanent, false, 2, 2, 2, true},
      {restart_strategy::one_for_all, restart_type::transient, false, 2, 2, 2, true},
      {restart_strategy::one_for_all, restart_type::temporary, false, 1, 1, 1, false},
      {restart_strategy::one_for_all, restart_type::permanent, true, 2, 2, 2, true},
      {restart_strategy::one_for_all, restart_type::transient, true, 1, 1, 1, false},
      {restart_strategy::rest_for_one, restart_type::permanent, false, 1, 2, 2, true},
      {restart_strategy::rest_for_one, restart_type::transient, false, 1, 2, 2, true},
      {restart_strategy::rest_for_one, restart_type::temporary, false, 1, 1, 1, false},
      {restart_strategy::rest_for_one, restart_type::permanent, true, 1, 2, 2, true},
      {restart_strategy::rest_for_one, restart_type::temporary, true, 1, 1, 1, false},
  };
  for (const matrix_case& m : cases) {
    start();
    journal& j = new_journal();
    keel::supervisor_config cfg;
    cfg.strategy = m.strategy;
    cfg.intensity = {100, 1s};
    cfg.children = {worker_spec(&j, "a"), worker_spec(&j, "x", m.type), worker_spec(&j, "z")};
    auto sup = sys_->spawn<keel::supervisor>(cfg).value();
    run();
    auto x = child_named(sup, "x");
    if (m.quit) {
      ASSERT_EQ(x.send(quit{}), send_status::ok);
    } else {
      ASSERT_EQ(x.send(crash{}), send_status::ok);
    }
    run();
    const std::string what = std::string(keel::to_string(m.strategy)) + " " +
                             std::string(keel::to_string(m.type)) + (m.quit ? " quit" : " crash");
    EXPECT_EQ(j.starts_of("a"), m.a) << what;
    EXPECT_EQ(j.starts_of("x"), m.x) << what;
    EXPECT_EQ(j.starts_of("z"), m.z) << what;
    bool listed = false;
    for (const auto& c : status_of(sup).children) {
      listed = listed || c.name == "x";
      EXPECT_EQ(c.state, keel::child_state::running) << what << " " << c.name;
    }
    EXPECT_EQ(listed, m.x_listed) << what;
    (void)sys_->shutdown();
    sys_.reset();
  }
}

class allow_n final : public keel::restart_guard {
 public:
  explicit allow_n(int n) : left_(n) {}
  bool allow(const keel::failure_report&, std::uint64_t) override { return left_-- > 0; }

 private:
  int left_;
};

TEST_F(supervisor_test, a_restart_guard_cuts_a_crash_loop_off) {
  start();
  journal& j = new_journal();
  keel::supervisor_config cfg;
  cfg.intensity = {100, 1s};
  cfg.children = {worker_spec(&j, "loop"), worker_spec(&j, "other")};
  cfg.children[0].guard = std::make_shared<allow_n>(2);
  auto sup = sys_->spawn<keel::supervisor>(cfg).value();
  run();
  auto w = child_named(sup, "loop");
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(w.send(crash{}), send_status::ok);
    run();
  }
  EXPECT_EQ(j.starts_of("loop"), 3);
  EXPECT_FALSE(w.alive());
  auto st = status_of(sup);
  ASSERT_EQ(st.children.size(), 1U);
  EXPECT_EQ(st.children[0].name, "other");
  EXPECT_NE(st.recent.back().text.find("cut off"), std::string::npos);
  EXPECT_EQ(diags(keel::diagnostic_kind::escalation), 0U);
}

TEST_F(supervisor_test, a_significant_child_ends_its_supervisor) {
  start();
  journal& j = new_journal();
  keel::supervisor_config cfg;
  cfg.shutdown_on = keel::auto_shutdown::any_significant;
  cfg.children = {worker_spec(&j, "helper"), worker_spec(&j, "main", restart_type::transient)};
  cfg.children[1].significant = true;
  auto sup = sys_->spawn<keel::supervisor>(cfg).value();
  run();
  ASSERT_EQ(child_named(sup, "main").send(quit{}), send_status::ok);
  run();
  EXPECT_FALSE(sup.alive());
  EXPECT_EQ(j.only("stop"), (std::vector<std::string>{"main", "helper"}));
}

class watcher : public keel::actor<watcher, keel::down> {
 public:
  static constexpr std::string_view keel_name = "test.sup.watcher";
  watcher(keel::actor_ref<> target, std::vector<keel::down>* out) : target_(target), out_(out) {}
  void on_start() override { monitor(target_); }
  void on(keel::down& d) { out_->push_back(d); }

 private:
  keel::actor_ref<> target_;
  std::vector<keel::down>* out_;
};

TEST_F(supervisor_test, monitors_see_no_down_across_a_restart_in_place) {
  start();
  journal& j = new_journal();
  keel::supervisor_config cfg;
  cfg.children = {worker_spec(&j, "w")};
  auto sup = sys_->spawn<keel::supervisor>(cfg).value();
  run();
  auto w = child_named(sup, "w");
  std::vector<keel::down> downs;
  auto watching = sys_->spawn<watcher>(keel::actor_ref<>(w), &downs).value();
  run();
  ASSERT_EQ(w.send(crash{}), send_status::ok);
  run();
  EXPECT_TRUE(downs.empty());
  auto rep = sup.ask<keel::supervisor_reply>(keel::terminate_child{"w"}, 1s);
  ASSERT_TRUE(rep.has_value());
  EXPECT_TRUE(rep->result.is_ok());
  run();
  ASSERT_EQ(downs.size(), 1U);
  EXPECT_EQ(downs[0].reason, keel::down_reason::stopped);
  EXPECT_EQ(j.only("stop"), (std::vector<std::string>{"w"}));
  (void)watching;
}

TEST_F(supervisor_test, hooks_see_each_restart_with_its_path) {
  start();
  journal& j = new_journal();
  keel::supervisor_config cfg;
  cfg.name = "root";
  cfg.strategy = restart_strategy::one_for_all;
  cfg.children = {worker_spec(&j, "a"), worker_spec(&j, "b")};
  auto sup = sys_->spawn<keel::supervisor>(cfg).value();
  run();
  const keel::actor_id a_id = child_named(sup, "a").id();
  const keel::actor_id b_id = child_named(sup, "b").id();
  ASSERT_EQ(child_named(sup, "b").send(crash{}), send_status::ok);
  run();
  EXPECT_EQ(hooks_->restarts.load(), 2);
  {
    // Each told by its child as it takes its new object, so in the order the children run.
    std::lock_guard<std::mutex> lock(hooks_->mu);
    std::vector<std::string> paths = hooks_->paths;
    std::sort(paths.begin(), paths.end());
    EXPECT_EQ(paths, (std::vector<std::string>{"root/a", "root/b"}));
    std::vector<keel::actor_id> ids = hooks_->ids;
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, (std::vector<keel::actor_id>{a_id, b_id}));  // in place: same ids
    EXPECT_EQ(hooks_->new_incarnation, (std::vector<bool>{false, false}));
  }
  // A permanent child that stops on its own comes back as a new actor (and b, with its
  // group, in place).
  ASSERT_EQ(child_named(sup, "a").send(quit{}), send_status::ok);
  run();
  EXPECT_EQ(hooks_->restarts.load(), 4);
  const keel::actor_id a_new = child_named(sup, "a").id();
  EXPECT_NE(a_new, a_id);
  std::lock_guard<std::mutex> lock(hooks_->mu);
  ASSERT_EQ(hooks_->ids.size(), 4u);
  for (std::size_t i = 2; i < 4; ++i) {
    const bool is_a = hooks_->ids[i] == a_new;
    EXPECT_TRUE(is_a || hooks_->ids[i] == b_id) << hooks_->ids[i];
    EXPECT_EQ(hooks_->paths[i], is_a ? "root/a" : "root/b");
    EXPECT_EQ(hooks_->new_incarnation[i], is_a) << hooks_->paths[i];
  }
}

// A restart in place is told before the new object's on_start runs and before it handles the
// messages that waited behind the failure, on whichever worker runs the child.
TEST_F(supervisor_test, on_restart_comes_before_anything_the_new_object_does) {
  struct order_hooks : keel::hook_subscriber {
    order_hooks() : keel::hook_subscriber(keel::hook_phase::metrics) {}
    void on_restart(const keel::lifecycle_event& ev) noexcept override {
      // Slow, as a busy subscriber is: told on the supervisor's worker after the restart (as
      // it once was), the other worker would steal the child and deliver meanwhile.
      std::this_thread::sleep_for(2ms);
      note("restart", ev.id);
    }
    void on_deliver(const keel::deliver_event& ev) noexcept override {
      note("deliver", ev.target_id);
    }
    void note(const char* what, keel::actor_id id) noexcept {
      std::lock_guard<std::mutex> lock(mu);
      if (id == watched) events.emplace_back(what);
    }
    std::mutex mu;
    keel::actor_id watched = 0;
    std::vector<std::string> events;
  };
  auto order = std::make_shared<order_hooks>();
  keel::system_config cfg;
  cfg.scheduler.workers = 2;
  cfg.hooks = {order};
  auto sys = keel::actor_system::create(std::move(cfg)).value();
  journal& j = new_journal();
  keel::supervisor_config sc;
  sc.name = "root";
  sc.intensity = {1000, 1s};
  sc.children = {worker_spec(&j, "w")};
  auto sup = sys->spawn<keel::supervisor>(sc).value();
  keel::actor_ref<sup_worker> wr;
  ASSERT_TRUE(eventually([&] {
    wr = child_named(sup, "w");
    return wr.valid();
  }));
  {
    std::lock_guard<std::mutex> lock(order->mu);
    order->watched = wr.id();
  }
  // Ten rounds of a crash with two messages behind it.
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(wr.send(crash{}), send_status::ok);
    ASSERT_EQ(wr.send(work{1}), send_status::ok);
    ASSERT_EQ(wr.send(work{2}), send_status::ok);
  }
  ASSERT_TRUE(eventually([&] {
    std::lock_guard<std::mutex> lock(order->mu);
    return order->events.size() == 40;
  }));
  (void)sys->shutdown();
  std::lock_guard<std::mutex> lock(order->mu);
  ASSERT_EQ(order->events.size(), 40u);
  for (std::size_t k = 0; k < order->events.size(); k += 4) {
    EXPECT_EQ(order->events[k], "deliver") << k;  // the crash
    EXPECT_EQ(order->events[k + 1], "restart") << k;
    EXPECT_EQ(order->events[k + 2], "deliver") << k;
    EXPECT_EQ(order->events[k + 3], "deliver") << k;
  }
}

// ---- the crash storm ---------------------------------------------------------------------------

struct storm_tree {
  keel::actor_ref<keel::supervisor> root;
  std::vector<keel::actor_ref<keel::supervisor>> depts;
};

storm_tree build_tree(keel::actor_system& sys, keel::sched::deterministic_executor* det, journal& j,
                      int depts, int workers, keel::restart_intensity dept_limit) {
  keel::supervisor_config root;
  root.name = "root";
  root.intensity = {1'000'000, 1s};
  for (int d = 0; d < depts; ++d) {
    keel::supervisor_config dept;
    dept.intensity = dept_limit;
    for (int w = 0; w < workers; ++w) {
      dept.children.push_back(worker_spec(&j, std::to_string(d) + "." + std::to_string(w)));
    }
    root.children.push_back(keel::child_spec::of<keel::supervisor>("d" + std::to_string(d), dept));
  }
  storm_tree t;
  t.root = sys.spawn<keel::supervisor>(root).value();
  det->run_until_idle();
  for (const auto& c : status_of(t.root).children) {
    t.depts.push_back(
        keel::actor_ref<keel::supervisor>::from_cell(c.ref.cell(), c.ref.generation()));
  }
  return t;
}

TEST_F(supervisor_test, a_crash_storm_over_ten_thousand_children_restarts_each_as_injected) {
  start(2026);
  journal& j = new_journal();
  constexpr int k_depts = 100;
  constexpr int k_workers = 100;
  storm_tree t = build_tree(*sys_, det_, j, k_depts, k_workers, {1'000'000, 1s});
  std::vector<keel::actor_ref<sup_worker>> all;
  for (const auto& d : t.depts) {
    for (const auto& c : status_of(d).children) {
      all.push_back(keel::actor_ref<sup_worker>::from_cell(c.ref.cell(), c.ref.generation()));
    }
  }
  ASSERT_EQ(all.size(), 10'000U);
  // 100,000 messages, 1 % of them crashes, to children drawn by a seeded generator.
  std::mt19937_64 gen(2026);
  std::vector<int> injected(all.size(), 0);
  std::vector<int> work_sent(all.size(), 0);
  for (int i = 0; i < 100'000; ++i) {
    const std::size_t k = gen() % all.size();
    if (gen() % 100 == 0) {
      ASSERT_EQ(all[k].send(crash{}), send_status::ok);
      ++injected[k];
    } else {
      ASSERT_EQ(all[k].send(work{1}), send_status::ok);
      ++work_sent[k];
    }
    if (i % 10'000 == 9'999) det_->run_until_idle();
  }
  det_->run_until_idle();
  int total = 0;
  for (const auto& d : t.depts) {
    for (const auto& c : status_of(d).children) {
      const auto k =
          static_cast<std::size_t>(std::find(all.begin(), all.end(), c.ref) - all.begin());
      ASSERT_LT(k, all.size());
      EXPECT_EQ(c.state, keel::child_state::running);
      EXPECT_TRUE(c.ref.alive());
      EXPECT_EQ(c.restarts, static_cast<std::uint32_t>(injected[k])) << c.name;
      total += injected[k];
    }
  }
  EXPECT_GT(total, 900);
  EXPECT_EQ(diags(keel::diagnostic_kind::escalation), 0U);
  EXPECT_EQ(diags(keel::diagnostic_kind::child_failure), static_cast<std::size_t>(total));
  // No queued message was lost: the messages behind each crash reached the restarted object.
  // (Each object counts its own work only; the sum over the journal's starts is checked by
  // asking a sample.)
  for (std::size_t k = 0; k < all.size(); k += 997) {
    if (injected[k] != 0) continue;
    auto c = all[k].ask<count_is>(get_count{}, 1s);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->count, work_sent[k]);
  }
}

TEST_F(supervisor_test, a_crash_storm_with_the_default_intensity_escalates_as_computed) {
  start(4242);
  journal& j = new_journal();
  constexpr int k_depts = 20;
  constexpr int k_workers = 10;
  const keel::restart_intensity limit;  // the default: 3 within 5 s
  storm_tree t = build_tree(*sys_, det_, j, k_depts, k_workers, limit);
  std::mt19937_64 gen(4242);
  int expected = 0;
  for (int round = 0; round < 12; ++round) {
    std::vector<int> per_dept(k_depts, 0);
    std::vector<std::vector<keel::child_info>> kids;
    for (const auto& d : t.depts) kids.push_back(status_of(d).children);
    for (int i = 0; i < 60; ++i) {
      const std::size_t d = gen() % k_depts;
      const auto& c = kids[d][gen() % kids[d].size()];
      ASSERT_EQ(c.ref.cell() != nullptr, true);
      if (keel::actor_ref<sup_worker>::from_cell(c.ref.cell(), c.ref.generation()).send(crash{}) ==
          send_status::ok) {
        ++per_dept[d];
      }
    }
    // A department breaches its intensity once when more than max_restarts of its children's
    // failures fall within one period (a round is shorter than a period; rounds are 6 s apart).
    for (int n : per_dept) expected += n > static_cast<int>(limit.max_restarts) ? 1 : 0;
    det_->run_until_idle();
    det_->advance(6s);
  }
  EXPECT_GT(expected, 0);
  EXPECT_EQ(diags(keel::diagnostic_kind::escalation), static_cast<std::size_t>(expected));
  EXPECT_EQ(hooks_->escalations.load(), expected);
  // Every department is back, with all its children running.
  for (const auto& d : t.depts) {
    EXPECT_TRUE(d.alive());
    auto st = status_of(d);
    EXPECT_EQ(st.children.size(), static_cast<std::size_t>(k_workers));
    for (const auto& c : st.children) EXPECT_EQ(c.state, keel::child_state::running);
  }
}

}  // namespace
