#include "synth/key_index.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace npc::synth {
namespace {

std::vector<std::string> Keys(const KeyIndex& index, const std::string& at) {
  const KeyRefs* r = index.Find(at);
  return r ? std::vector<std::string>(r->begin(), r->end()) : std::vector<std::string>{};
}

TEST(KeyIndexTest, KeepsEachKeyOnceInOrder) {
  KeyPool pool;
  KeyIndex users(pool);
  users.Add("shop/db", "Deployment/shop/web");
  users.Add("shop/db", "Deployment/shop/api");
  users.Add("shop/db", "Deployment/shop/web");  // again: nothing
  users.Add("shop/db", "Deployment/shop/zed");
  EXPECT_EQ(Keys(users, "shop/db"),
            (std::vector<std::string>{"Deployment/shop/api", "Deployment/shop/web",
                                      "Deployment/shop/zed"}));
  EXPECT_TRUE(users.Find("shop/db")->contains("Deployment/shop/web"));
  EXPECT_FALSE(users.Find("shop/db")->contains("Deployment/shop/x"));
  EXPECT_EQ(users.Find("shop/cache"), nullptr);
  EXPECT_EQ(pool.size(), 3u);
}

TEST(KeyIndexTest, SharesKeysAcrossIndexesAndForgetsThemWithTheLastEntry) {
  KeyPool pool;
  KeyIndex clients(pool), labels(pool);
  clients.Add("shop/db", "Deployment/shop/web");
  labels.Add("db", "Deployment/shop/web");
  labels.Add("svc", "Deployment/shop/web");
  EXPECT_EQ(pool.size(), 1u);
  EXPECT_EQ(&*clients.Find("shop/db")->begin(), &*labels.Find("svc")->begin());
  labels.Remove("db", "Deployment/shop/web");
  labels.Remove("db", "Deployment/shop/web");       // gone already: nothing
  labels.Remove("nowhere", "Deployment/shop/web");  // no such name: nothing
  EXPECT_FALSE(labels.contains("db"));              // emptied names go
  EXPECT_EQ(pool.size(), 1u);
  labels.Remove("svc", "Deployment/shop/web");
  clients.Remove("shop/db", "Deployment/shop/web");
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_EQ(clients.size(), 0u);
}

TEST(KeyIndexTest, ReleasesItsKeysWhenDestroyed) {
  KeyPool pool;
  KeyIndex kept(pool);
  kept.Add("a", "Deployment/x/one");
  {
    KeyIndex gone(pool);
    gone.Add("a", "Deployment/x/one");
    gone.Add("b", "Deployment/x/two");
    EXPECT_EQ(pool.size(), 2u);
  }
  EXPECT_EQ(pool.size(), 1u);
  EXPECT_EQ(Keys(kept, "a"), std::vector<std::string>{"Deployment/x/one"});
}

// Random adds and removes against std::set: same members, same order, and
// the pool holds exactly the keys still used.
TEST(KeyIndexTest, AgreesWithSetsOfStrings) {
  std::mt19937 rng(7);
  KeyPool pool;
  KeyIndex a(pool), b(pool);
  std::map<std::string, std::set<std::string>> want_a, want_b;
  for (int i = 0; i < 20000; ++i) {
    const std::string at = "n" + std::to_string(rng() % 7);
    const std::string key = "Deployment/ns/w" + std::to_string(rng() % 40);
    const bool first = rng() % 2 == 0;
    KeyIndex& index = first ? a : b;
    auto& want = first ? want_a : want_b;
    if (rng() % 3 == 0) {
      index.Remove(at, key);
      want[at].erase(key);
      if (want[at].empty()) want.erase(at);
    } else {
      index.Add(at, key);
      want[at].insert(key);
    }
  }
  std::set<std::string> used;
  for (const auto* want : {&want_a, &want_b}) {
    const KeyIndex& index = want == &want_a ? a : b;
    EXPECT_EQ(index.size(), want->size());
    for (const auto& [at, keys] : *want) {
      EXPECT_EQ(Keys(index, at), std::vector<std::string>(keys.begin(), keys.end())) << at;
      used.insert(keys.begin(), keys.end());
    }
  }
  EXPECT_EQ(pool.size(), used.size());
}

TEST(KeyCountIndexTest, ListsAKeyWhileItsCountIsAboveZero) {
  KeyPool pool;
  KeyIndex users(pool);
  KeyCountIndex owners(pool);
  users.Add("shop", "Deployment/shop/web");
  owners.Add("shop app=web", "Deployment/shop/web", 2);
  owners.Add("shop app=web", "Deployment/shop/api", 1);
  owners.Add("shop app=web", "Deployment/shop/zed", -1);  // never counted: nothing
  const KeyCountIndex::Counts* c = owners.Find("shop app=web");
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->size(), 2u);
  EXPECT_EQ(*(*c)[0].first, "Deployment/shop/api");
  EXPECT_EQ((*c)[1].second, 2);
  EXPECT_EQ(pool.size(), 2u);  // web's key is shared with `users`
  owners.Add("shop app=web", "Deployment/shop/web", -1);
  EXPECT_EQ(owners.Find("shop app=web")->size(), 2u);
  owners.Add("shop app=web", "Deployment/shop/web", -1);
  owners.Add("shop app=web", "Deployment/shop/api", -1);
  EXPECT_EQ(owners.Find("shop app=web"), nullptr);
  EXPECT_EQ(owners.size(), 0u);
  EXPECT_EQ(pool.size(), 1u);  // web: still in `users`
}

}  // namespace
}  // namespace npc::synth
