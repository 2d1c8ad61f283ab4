#include "synth/key_index.h"

#include <algorithm>

namespace npc::synth {
namespace {

// After an entry of `list` (the entries of name `found`) went: the name goes
// with its last entry, and a list that shrank to under half its capacity
// gives the rest back.
template <typename Index, typename List>
void DropOrShrink(Index& index, typename Index::iterator found, List& list) {
  if (list.empty()) {
    index.erase(found);
  } else if (list.capacity() > 2 * list.size() + 4) {
    list.shrink_to_fit();
  }
}

}  // namespace

const std::string* KeyPool::Acquire(const std::string& key) {
  auto [it, added] = refs_.try_emplace(key, 0);
  ++it->second;
  return &it->first;  // a node's key: stable until the node is erased
}

void KeyPool::Release(const std::string* key) {
  auto it = refs_.find(*key);
  if (it != refs_.end() && --it->second == 0) refs_.erase(it);
}

std::vector<const std::string*>::const_iterator KeyRefs::LowerBound(const std::string& key) const {
  return std::lower_bound(keys_.begin(), keys_.end(), key,
                          [](const std::string* a, const std::string& b) { return *a < b; });
}

bool KeyRefs::contains(const std::string& key) const {
  auto it = LowerBound(key);
  return it != keys_.end() && **it == key;
}

KeyIndex::~KeyIndex() {
  for (auto& [at, refs] : index_) {
    for (const std::string* k : refs.keys_) pool_->Release(k);
  }
}

void KeyIndex::Add(const std::string& at, const std::string& key) {
  KeyRefs& refs = index_[at];
  auto& keys = refs.keys_;
  // Informers list in key order, so most keys go at the end.
  if (keys.empty() || *keys.back() < key) {
    keys.push_back(pool_->Acquire(key));
    return;
  }
  auto it = refs.LowerBound(key);
  if (it != keys.end() && **it == key) return;
  keys.insert(it, pool_->Acquire(key));
}

void KeyIndex::Remove(const std::string& at, const std::string& key) {
  auto found = index_.find(at);
  if (found == index_.end()) return;
  auto& keys = found->second.keys_;
  auto it = found->second.LowerBound(key);
  if (it == keys.end() || **it != key) return;
  const std::string* held = *it;
  keys.erase(it);
  pool_->Release(held);
  DropOrShrink(index_, found, keys);
}

const KeyRefs* KeyIndex::Find(const std::string& at) const {
  auto it = index_.find(at);
  return it == index_.end() ? nullptr : &it->second;
}

KeyCountIndex::~KeyCountIndex() {
  for (auto& [at, counts] : index_) {
    for (const auto& [k, n] : counts) pool_->Release(k);
  }
}

void KeyCountIndex::Add(const std::string& at, const std::string& key, int delta) {
  if (delta == 0) return;
  auto found = index_.find(at);
  if (found == index_.end()) {
    if (delta < 0) return;
    found = index_.emplace(at, Counts{}).first;
  }
  Counts& counts = found->second;
  auto it = std::lower_bound(counts.begin(), counts.end(), key,
                             [](const auto& e, const std::string& k) { return *e.first < k; });
  if (it == counts.end() || *it->first != key) {
    if (delta > 0) counts.insert(it, {pool_->Acquire(key), delta});
  } else if ((it->second += delta) <= 0) {
    const std::string* held = it->first;
    counts.erase(it);
    pool_->Release(held);
  }
  DropOrShrink(index_, found, counts);
}

const KeyCountIndex::Counts* KeyCountIndex::Find(const std::string& at) const {
  auto it = index_.find(at);
  return it == index_.end() ? nullptr : &it->second;
}

}  // namespace npc::synth
