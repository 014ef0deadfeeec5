#include "sched/run_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "stress.h"

namespace {

using keel::sched::run_queue;
using keel::sched::task;

TEST(runqueue, owner_pops_in_fifo_order) {
  run_queue q;
  std::vector<task> tasks(10);
  for (auto& t : tasks) ASSERT_TRUE(q.push_back(&t));
  EXPECT_EQ(q.len(), 10U);
  for (auto& t : tasks) EXPECT_EQ(q.pop(), &t);
  EXPECT_EQ(q.pop(), nullptr);
}

TEST(runqueue, refuses_a_push_when_full_and_overflows_half) {
  run_queue q;
  std::vector<task> tasks(run_queue::k_capacity + 1);
  for (std::uint32_t i = 0; i < run_queue::k_capacity; ++i) ASSERT_TRUE(q.push_back(&tasks[i]));
  EXPECT_FALSE(q.push_back(&tasks.back()));
  task* out[run_queue::k_capacity / 2];
  ASSERT_EQ(q.take_half_for_overflow(out), run_queue::k_capacity / 2);
  for (std::uint32_t i = 0; i < run_queue::k_capacity / 2; ++i) EXPECT_EQ(out[i], &tasks[i]);
  EXPECT_TRUE(q.push_back(&tasks.back()));
  EXPECT_EQ(q.len(), run_queue::k_capacity / 2 + 1);
}

TEST(runqueue, steal_takes_half_and_returns_one) {
  run_queue src, dst;
  std::vector<task> tasks(8);
  for (auto& t : tasks) ASSERT_TRUE(src.push_back(&t));
  std::uint32_t stolen = 0;
  task* t = src.steal_into(dst, &stolen);
  EXPECT_EQ(stolen, 4U);
  EXPECT_EQ(t, &tasks[3]);
  EXPECT_EQ(dst.len(), 3U);
  EXPECT_EQ(src.len(), 4U);
  EXPECT_EQ(src.pop(), &tasks[4]);
  EXPECT_EQ(dst.pop(), &tasks[0]);
}

TEST(runqueue, a_thief_leaves_tasks_younger_than_the_minimum_age_to_their_owner) {
  run_queue src, dst, third;
  std::vector<task> tasks(4);
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    ASSERT_TRUE(src.push_back(&tasks[i], 10'000 + i * 100));  // queued at 10.0 to 10.3 us
  }
  std::uint32_t stolen = 0;
  EXPECT_EQ(src.stealable_at(2'000), 12'000U) << "the oldest's stamp + the minimum age";
  EXPECT_EQ(dst.stealable_at(0), UINT64_MAX) << "empty";
  EXPECT_EQ(src.steal_into(dst, &stolen, 11'999, 2'000), nullptr) << "the oldest is 1.999 us old";
  EXPECT_EQ(stolen, 0U);
  EXPECT_EQ(src.len(), 4U);
  task* t = src.steal_into(dst, &stolen, 12'000, 2'000);
  EXPECT_EQ(t, &tasks[1]) << "2 us old: half is stolen, the newer ones too";
  EXPECT_EQ(stolen, 2U);
  // The stolen task left in dst keeps its stamp (10.0 us): another thief may take it when old.
  EXPECT_EQ(dst.steal_into(third, &stolen, 11'999, 2'000), nullptr);
  EXPECT_EQ(dst.steal_into(third, &stolen, 12'000, 2'000), &tasks[0]);
  // Without a minimum age the stamps do not matter.
  EXPECT_EQ(src.steal_into(dst, &stolen, 0, 0), &tasks[2]);
}

// One owner pushes and pops while thieves steal: every task comes out exactly once.
TEST(runqueue, concurrent_steals_lose_and_duplicate_nothing) {
  const std::uint32_t n = static_cast<std::uint32_t>(keel::test::scaled(400'000, 10'000));
  std::vector<task> tasks(n);
  std::vector<std::atomic<int>> seen(n);
  for (auto& s : seen) s.store(0);
  run_queue owner;
  std::atomic<bool> done{false};
  auto record = [&](task* t) { seen[static_cast<std::size_t>(t - tasks.data())].fetch_add(1); };

  std::vector<std::thread> thieves;
  for (int i = 0; i < 2; ++i) {
    thieves.emplace_back([&] {
      run_queue mine;
      while (!done.load(std::memory_order_acquire) || !owner.is_empty()) {
        std::uint32_t stolen = 0;
        if (task* t = owner.steal_into(mine, &stolen)) {
          record(t);
          while (task* u = mine.pop()) record(u);
        }
      }
    });
  }
  std::uint32_t next = 0;
  while (next < n) {
    for (int k = 0; k < 7 && next < n; ++k) {
      if (!owner.push_back(&tasks[next])) {
        task* out[run_queue::k_capacity / 2];
        const std::uint32_t m = owner.take_half_for_overflow(out);
        for (std::uint32_t i = 0; i < m; ++i) record(out[i]);
        continue;
      }
      ++next;
    }
    if (task* t = owner.pop()) record(t);
  }
  while (task* t = owner.pop()) record(t);
  done.store(true, std::memory_order_release);
  for (auto& t : thieves) t.join();
  for (std::uint32_t i = 0; i < n; ++i) ASSERT_EQ(seen[i].load(), 1) << "task " << i;
}

}  // namespace
