#include "informer/key_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <utility>

namespace npc::informer {
namespace {

using Key = std::pair<std::string, std::string>;

std::set<Key> Sweep(KeyStore& s) {
  std::set<Key> gone;
  s.SweepUnmarked([&](std::string_view ns, std::string_view name) {
    EXPECT_TRUE(gone.emplace(std::string(ns), std::string(name)).second) << "reported twice";
  });
  return gone;
}

TEST(KeyStoreTest, InsertEraseContains) {
  KeyStore s;
  EXPECT_FALSE(s.Contains("a", "x"));
  EXPECT_FALSE(s.Erase("a", "x"));
  EXPECT_TRUE(s.Insert("a", "x"));
  EXPECT_FALSE(s.Insert("a", "x"));
  EXPECT_TRUE(s.Insert("b", "x"));  // same name, other namespace
  EXPECT_TRUE(s.Insert("", "x"));   // cluster-scoped
  EXPECT_TRUE(s.Insert("a/x", ""));  // no confusion with "a" + "x/"
  EXPECT_EQ(s.size(), 4u);
  EXPECT_TRUE(s.Contains("a", "x"));
  EXPECT_TRUE(s.Contains("", "x"));
  EXPECT_FALSE(s.Contains("a", "x/"));
  EXPECT_TRUE(s.Erase("a", "x"));
  EXPECT_FALSE(s.Contains("a", "x"));
  EXPECT_TRUE(s.Contains("b", "x"));
  EXPECT_EQ(s.size(), 3u);
}

TEST(KeyStoreTest, LongNames) {
  KeyStore s;
  const std::string n127(127, 'a'), n128(128, 'b'), n300(300, 'c'), n20k(20000, 'd');
  for (const auto* n : {&n127, &n128, &n300, &n20k}) EXPECT_TRUE(s.Insert("ns", *n));
  for (const auto* n : {&n127, &n128, &n300, &n20k}) EXPECT_TRUE(s.Contains("ns", *n));
  EXPECT_FALSE(s.Contains("ns", std::string(301, 'c')));
  s.ClearMarks();
  s.Insert("ns", n300);
  EXPECT_EQ(Sweep(s), (std::set<Key>{{"ns", n127}, {"ns", n128}, {"ns", n20k}}));
  EXPECT_TRUE(s.Contains("ns", n300));
  EXPECT_EQ(s.size(), 1u);
}

TEST(KeyStoreTest, ReListReportsExactlyWhatVanished) {
  KeyStore s;
  for (int i = 0; i < 1000; ++i) s.Insert("ns" + std::to_string(i % 7), "pod-" + std::to_string(i));
  // A listing that starts, is abandoned (a restart), and starts over.
  s.ClearMarks();
  for (int i = 0; i < 500; ++i) s.Insert("ns" + std::to_string(i % 7), "pod-" + std::to_string(i));
  s.ClearMarks();
  std::set<Key> expect_gone;
  for (int i = 0; i < 1000; ++i) {
    Key k{"ns" + std::to_string(i % 7), "pod-" + std::to_string(i)};
    if (i % 3 == 0) {
      expect_gone.insert(k);
    } else {
      s.Insert(k.first, k.second);
    }
  }
  s.Insert("new", "pod");  // appeared meanwhile: kept, not reported
  EXPECT_EQ(Sweep(s), expect_gone);
  EXPECT_EQ(s.size(), 1000 - expect_gone.size() + 1);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(s.Contains("ns" + std::to_string(i % 7), "pod-" + std::to_string(i)), i % 3 != 0);
  }
  EXPECT_TRUE(s.Contains("new", "pod"));
  // Nothing left to report the second time.
  s.ClearMarks();
  for (int i = 0; i < 1000; ++i) {
    if (i % 3 != 0) s.Insert("ns" + std::to_string(i % 7), "pod-" + std::to_string(i));
  }
  s.Insert("new", "pod");
  EXPECT_TRUE(Sweep(s).empty());
  // A listing that finds nothing empties the store.
  s.ClearMarks();
  EXPECT_EQ(Sweep(s).size(), 1000 - expect_gone.size() + 1);
  EXPECT_EQ(s.size(), 0u);
  EXPECT_TRUE(s.Insert("a", "b"));
  EXPECT_TRUE(s.Contains("a", "b"));
}

// Random operations against std::set, across growth, compaction, namespace
// ids freed and reused, and sweeps.
TEST(KeyStoreTest, MatchesASetUnderRandomOperations) {
  std::mt19937 rng(42);
  KeyStore s;
  std::set<Key> model;
  auto key = [&] {
    std::uniform_int_distribution<int> ns(0, 30), name(0, 3000), len(0, 20);
    std::string n = "n" + std::to_string(name(rng));
    if (len(rng) == 0) n += std::string(200, 'x');
    return Key{"ns-" + std::to_string(ns(rng)), n};
  };
  for (int round = 0; round < 20; ++round) {
    for (int op = 0; op < 5000; ++op) {
      Key k = key();
      switch (rng() % 4) {
        case 0:
        case 1: ASSERT_EQ(s.Insert(k.first, k.second), model.insert(k).second); break;
        case 2: ASSERT_EQ(s.Erase(k.first, k.second), model.erase(k) > 0); break;
        default: ASSERT_EQ(s.Contains(k.first, k.second), model.count(k) > 0); break;
      }
      ASSERT_EQ(s.size(), model.size());
    }
    // A re-list that keeps a random part.
    s.ClearMarks();
    std::set<Key> kept, gone;
    for (const Key& k : model) {
      if (rng() % 3 == 0) {
        gone.insert(k);
      } else {
        kept.insert(k);
        ASSERT_FALSE(s.Insert(k.first, k.second));
      }
    }
    ASSERT_EQ(Sweep(s), gone);
    model = kept;
    ASSERT_EQ(s.size(), model.size());
    for (const Key& k : model) ASSERT_TRUE(s.Contains(k.first, k.second));
  }
  // Erasing everything frees the arena's contents and namespaces.
  for (const Key& k : std::set<Key>(model)) ASSERT_TRUE(s.Erase(k.first, k.second));
  EXPECT_EQ(s.size(), 0u);
  EXPECT_LT(s.MemoryBytes(), size_t{64} << 10);
}

TEST(KeyStoreTest, CompactPerKey) {
  KeyStore s;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    s.Insert("ns-" + std::to_string(i % 20), "bulk-" + std::to_string(i % 100) + "-" + std::to_string(i));
  }
  // Names of about 13 bytes: well under the ~100 bytes an unordered_set<string> costs.
  EXPECT_LT(s.MemoryBytes() / n, 48u) << s.MemoryBytes();
}

}  // namespace
}  // namespace npc::informer
