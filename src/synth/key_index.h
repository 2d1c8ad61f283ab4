// Reverse indexes from a name (a Service, a DNS label, a namespace, a
// template label) to the workloads that use it, as Incremental keeps them.
//
// A workload key ("Deployment/ns/name") sits in a dozen of these indexes: one
// entry for each Service its references may name and each DNS label they
// write, its namespace, its template labels. As std::set<std::string> every
// entry was a tree node with a copy of the key, about 130 bytes. Here the
// keys are held once, counted, in a KeyPool, and an index keeps for each name
// a vector of pointers to them sorted by key: 8 bytes an entry (10,000
// workloads: about 20 MB less).
//
//   KeyPool pool;
//   KeyIndex users(pool);
//   users.Add("shop/db", "Deployment/shop/web");
//   if (const KeyRefs* r = users.Find("shop/db"))
//     for (const std::string& w : *r) ...;          // in key order
//   users.Remove("shop/db", "Deployment/shop/web");  // the pool forgets it
//
// A KeyIndex points into its pool: the pool must outlive it, and neither is
// copied. Thread-safety: none; the owner serializes access.
#pragma once

#include <cstddef>
#include <iterator>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace npc::synth {

// One copy of each key some index holds, freed with its last entry.
class KeyPool {
 public:
  KeyPool() = default;
  KeyPool(const KeyPool&) = delete;
  KeyPool& operator=(const KeyPool&) = delete;

  // The pool's copy of `key`, counted once more.
  const std::string* Acquire(const std::string& key);
  // One count less on a pointer Acquire gave; the copy goes with the last.
  void Release(const std::string* key);
  [[nodiscard]] size_t size() const { return refs_.size(); }
  // Each key and the number of index entries that point to it.
  [[nodiscard]] const std::unordered_map<std::string, size_t>& counts() const { return refs_; }

 private:
  std::unordered_map<std::string, size_t> refs_;  // key -> entries pointing to it
};

// The workloads of one name: keys in order, each once.
class KeyRefs {
 public:
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::string;
    using difference_type = std::ptrdiff_t;
    using pointer = const std::string*;
    using reference = const std::string&;
    iterator() = default;
    explicit iterator(std::vector<const std::string*>::const_iterator it) : it_(it) {}
    reference operator*() const { return **it_; }
    pointer operator->() const { return *it_; }
    iterator& operator++() {
      ++it_;
      return *this;
    }
    iterator operator++(int) {
      iterator old = *this;
      ++it_;
      return old;
    }
    bool operator==(const iterator&) const = default;

   private:
    std::vector<const std::string*>::const_iterator it_;
  };

  [[nodiscard]] iterator begin() const { return iterator(keys_.begin()); }
  [[nodiscard]] iterator end() const { return iterator(keys_.end()); }
  [[nodiscard]] size_t size() const { return keys_.size(); }
  [[nodiscard]] bool empty() const { return keys_.empty(); }
  [[nodiscard]] bool contains(const std::string& key) const;

 private:
  friend class KeyIndex;
  // Where `key` is or would go.
  [[nodiscard]] std::vector<const std::string*>::const_iterator LowerBound(
      const std::string& key) const;
  std::vector<const std::string*> keys_;
};

// name -> the workloads using it.
class KeyIndex {
 public:
  explicit KeyIndex(KeyPool& pool) : pool_(&pool) {}
  KeyIndex(const KeyIndex&) = delete;
  KeyIndex& operator=(const KeyIndex&) = delete;
  ~KeyIndex();

  // Adds `key` under `at` (nothing when it is there).
  void Add(const std::string& at, const std::string& key);
  // Removes it (nothing when it is not there); a name left empty goes.
  void Remove(const std::string& at, const std::string& key);
  // The workloads under `at`, or nullptr when none.
  [[nodiscard]] const KeyRefs* Find(const std::string& at) const;
  [[nodiscard]] bool contains(const std::string& at) const { return index_.contains(at); }
  [[nodiscard]] size_t size() const { return index_.size(); }
  // Every (name, workloads), in no order.
  [[nodiscard]] auto begin() const { return index_.begin(); }
  [[nodiscard]] auto end() const { return index_.end(); }

 private:
  KeyPool* pool_;
  std::unordered_map<std::string, KeyRefs> index_;
};

// name -> workload -> a count (the pods of that workload carrying a label):
// a key is listed while its count is above zero.
class KeyCountIndex {
 public:
  using Counts = std::vector<std::pair<const std::string*, int>>;  // sorted by key
  explicit KeyCountIndex(KeyPool& pool) : pool_(&pool) {}
  KeyCountIndex(const KeyCountIndex&) = delete;
  KeyCountIndex& operator=(const KeyCountIndex&) = delete;
  ~KeyCountIndex();

  // Adds `delta` to the count of `key` under `at`.
  void Add(const std::string& at, const std::string& key, int delta);
  // The keys counted under `at`, or nullptr when none.
  [[nodiscard]] const Counts* Find(const std::string& at) const;
  [[nodiscard]] size_t size() const { return index_.size(); }

 private:
  KeyPool* pool_;
  std::unordered_map<std::string, Counts> index_;
};

}  // namespace npc::synth
