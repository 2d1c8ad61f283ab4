// Immutable values that equal objects can share: what a Pod has in common
// with its siblings (labels, controlling owner) is held once for all the Pods
// of a ReplicaSet instead of once per Pod (with the rest of that change,
// 3.1 KB of RSS per cached Pod became 1.1 KB in the base benchmark).
//
// Both read like the type they wrap and compare by value. A copy shares the
// value; assigning a new value replaces it (nothing shared is ever changed).
// ShareWith(other) makes an equal value point to other's copy, so that the
// duplicate is freed:
//
//   Pod p = decoded;
//   if (p.labels == sibling.labels) p.labels.ShareWith(sibling.labels);
#pragma once

#include <compare>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>

namespace npc {

// Always holds a T (default: an empty one, shared by every default-built
// instance of that T).
template <typename T>
class Shared {
 public:
  Shared() : p_(Empty()) {}
  Shared(T value) : p_(std::make_shared<const T>(std::move(value))) {}  // NOLINT: reads as a T
  Shared(std::initializer_list<typename T::value_type> items)
      : p_(std::make_shared<const T>(items)) {}

  Shared& operator=(T value) {
    p_ = std::make_shared<const T>(std::move(value));
    return *this;
  }
  Shared& operator=(std::initializer_list<typename T::value_type> items) {
    p_ = std::make_shared<const T>(items);
    return *this;
  }
  // A value of its own to change (a copy: nothing shared changes), for code
  // that builds one (loaders, tests). Valid until the next assignment.
  T& Edit() {
    auto mine = std::make_shared<T>(*p_);
    T& ref = *mine;
    p_ = std::move(mine);
    return ref;
  }

  [[nodiscard]] const T& get() const { return *p_; }
  operator const T&() const { return *p_; }  // NOLINT: reads as a T
  const T* operator->() const { return p_.get(); }
  const T& operator*() const { return *p_; }

  // The container reads synthesis uses.
  [[nodiscard]] auto begin() const { return p_->begin(); }
  [[nodiscard]] auto end() const { return p_->end(); }
  [[nodiscard]] auto size() const { return p_->size(); }
  [[nodiscard]] bool empty() const { return p_->empty(); }
  template <typename K>
  [[nodiscard]] auto find(const K& k) const {
    return p_->find(k);
  }
  template <typename K>
  [[nodiscard]] bool contains(const K& k) const {
    return p_->contains(k);
  }
  template <typename K>
  [[nodiscard]] const auto& at(const K& k) const {
    return p_->at(k);
  }

  // Points to other's value; call only when both are equal.
  void ShareWith(const Shared& other) { p_ = other.p_; }
  [[nodiscard]] bool SharesWith(const Shared& other) const { return p_ == other.p_; }

  friend bool operator==(const Shared& a, const Shared& b) { return a.p_ == b.p_ || *a.p_ == *b.p_; }
  friend bool operator==(const Shared& a, const T& b) { return *a.p_ == b; }
  friend auto operator<=>(const Shared& a, const Shared& b) { return *a.p_ <=> *b.p_; }

 private:
  static const std::shared_ptr<const T>& Empty() {
    static const std::shared_ptr<const T> empty = std::make_shared<const T>();
    return empty;
  }
  std::shared_ptr<const T> p_;
};

// Like std::optional<T>, holding its value shared.
template <typename T>
class SharedOptional {
 public:
  SharedOptional() = default;
  SharedOptional(std::nullopt_t) {}  // NOLINT: reads as an optional
  SharedOptional(T value) : p_(std::make_shared<const T>(std::move(value))) {}  // NOLINT
  SharedOptional(const std::optional<T>& value)  // NOLINT: reads as an optional
      : p_(value ? std::make_shared<const T>(*value) : nullptr) {}

  SharedOptional& operator=(T value) {
    p_ = std::make_shared<const T>(std::move(value));
    return *this;
  }
  SharedOptional& operator=(const std::optional<T>& value) {
    p_ = value ? std::make_shared<const T>(*value) : nullptr;
    return *this;
  }
  SharedOptional& operator=(std::nullopt_t) {
    p_.reset();
    return *this;
  }
  void reset() { p_.reset(); }
  // As Shared::Edit; requires a value.
  T& Edit() {
    auto mine = std::make_shared<T>(*p_);
    T& ref = *mine;
    p_ = std::move(mine);
    return ref;
  }

  [[nodiscard]] bool has_value() const { return p_ != nullptr; }
  explicit operator bool() const { return p_ != nullptr; }
  const T& operator*() const { return *p_; }
  const T* operator->() const { return p_.get(); }
  // As a std::optional (a copy), for code that takes one.
  [[nodiscard]] std::optional<T> optional() const {
    return p_ ? std::optional<T>(*p_) : std::nullopt;
  }

  // Points to other's value; call only when both are equal.
  void ShareWith(const SharedOptional& other) { p_ = other.p_; }
  [[nodiscard]] bool SharesWith(const SharedOptional& other) const { return p_ == other.p_; }

  friend bool operator==(const SharedOptional& a, const SharedOptional& b) {
    if (a.p_ == b.p_) return true;
    if (!a.p_ || !b.p_) return false;
    return *a.p_ == *b.p_;
  }

 private:
  std::shared_ptr<const T> p_;
};

// One copy of each distinct value, for the holders that intern theirs
// (Intern) and let go of them (Release, once per Intern): a value is
// forgotten with its last holder.
//
//   Interned<Labels, MapHash> sets;
//   sets.Intern(pod.labels);   // pod.labels now shares the table's copy
//   ...
//   sets.Release(pod.labels);  // the pod is dropped
template <typename T, typename Hash>
class Interned {
 public:
  void Intern(Shared<T>& v) {
    auto [it, added] = held_.try_emplace(v, 0);
    if (!added) v.ShareWith(it->first);
    ++it->second;
  }
  void Release(const Shared<T>& v) {
    auto it = held_.find(v);
    if (it != held_.end() && --it->second == 0) held_.erase(it);
  }
  [[nodiscard]] size_t size() const { return held_.size(); }

 private:
  struct ByValue {
    size_t operator()(const Shared<T>& v) const { return Hash()(v.get()); }
  };
  std::unordered_map<Shared<T>, size_t, ByValue> held_;  // value -> holders
};

// A hash of a map of strings (labels, annotations) by content.
struct MapHash {
  template <typename M>
  size_t operator()(const M& m) const {
    size_t h = m.size();
    for (const auto& [k, v] : m) {
      h = h * 1000003 ^ std::hash<typename M::key_type>()(k);
      h = h * 1000003 ^ std::hash<typename M::mapped_type>()(v);
    }
    return h;
  }
};

}  // namespace npc
