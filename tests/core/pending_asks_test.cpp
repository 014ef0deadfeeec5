// The pending-ask table (core/pending_asks.h): lookups after many inserts and erases in random
// order against a std::map model (erases shift later entries back), growth, and continuations
// released exactly once by erase and drop_all.
#include "core/pending_asks.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <vector>

namespace {

using keel::detail::continuation_ptr;
using keel::detail::pending_asks;

// Counts its releases; never deleted by them (it lives in the test's vector).
struct counted final : keel::detail::ask_continuation {
  void complete(keel::result<keel::detail::reply_ptr>) override {}
  void release() noexcept override { ++released; }
  int released = 0;
};

TEST(pending_asks, finds_every_entry_after_random_inserts_and_erases) {
  pending_asks t;
  std::map<std::uint64_t, bool> model;
  std::mt19937_64 rng(42);
  std::uint64_t next_id = 1;
  for (int step = 0; step < 20'000; ++step) {
    const bool add = model.size() < 8 || (rng() % 100) < (model.size() < 300 ? 60 : 40);
    if (add) {
      // Mostly sequential ids (as the runtime hands them out), sometimes far apart.
      next_id += (rng() % 8 == 0) ? (rng() % 100'000) + 1 : 1;
      t.insert(next_id);
      model[next_id] = true;
    } else {
      auto it = model.begin();
      std::advance(it, static_cast<long>(rng() % model.size()));
      keel::detail::pending_ask* p = t.find(it->first);
      ASSERT_NE(p, nullptr) << "id " << it->first << " at step " << step;
      t.erase(p);
      model.erase(it);
    }
    ASSERT_EQ(t.size(), model.size());
    if (step % 97 == 0) {
      for (const auto& [id, unused] : model) ASSERT_NE(t.find(id), nullptr) << "id " << id;
      ASSERT_EQ(t.find(next_id + 1), nullptr);
    }
  }
  for (const auto& [id, unused] : model) EXPECT_NE(t.find(id), nullptr) << "id " << id;
}

TEST(pending_asks, an_empty_table_finds_nothing_and_grows_on_first_insert) {
  pending_asks t;
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.find(7), nullptr);
  t.insert(7);
  EXPECT_NE(t.find(7), nullptr);
  EXPECT_EQ(t.find(8), nullptr);
  t.erase(t.find(7));
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.find(7), nullptr);
}

TEST(pending_asks, erase_and_drop_all_release_each_continuation_once) {
  std::vector<counted> ks(100);
  {
    pending_asks t;
    for (std::uint64_t i = 0; i < ks.size(); ++i) t.insert(i + 1).k = continuation_ptr(&ks[i]);
    // Taken out before the erase (as a reply does): erase must not release it.
    continuation_ptr taken = std::move(t.find(1)->k);
    t.erase(t.find(1));
    EXPECT_EQ(ks[0].released, 0);
    taken.reset();
    EXPECT_EQ(ks[0].released, 1);
    // Erased with its continuation inside (as cancel_ask does): released by the erase.
    t.erase(t.find(2));
    EXPECT_EQ(ks[1].released, 1);
    t.drop_all();
    EXPECT_TRUE(t.empty());
    EXPECT_EQ(t.find(50), nullptr);
    for (std::size_t i = 0; i < ks.size(); ++i)
      EXPECT_EQ(ks[i].released, 1) << "continuation " << i;
    t.insert(5);  // usable again after drop_all
    EXPECT_NE(t.find(5), nullptr);
  }
  for (std::size_t i = 0; i < ks.size(); ++i) EXPECT_EQ(ks[i].released, 1) << "continuation " << i;
}

}  // namespace
