// KeyStore: the set of "namespace/name" keys an informer knows, so that a
// re-list can report exactly the objects that vanished meanwhile.
//
// It is the one per-object cost of watching Pods as metadata, so it is
// compact: namespaces are interned (counted, freed with their last key); names
// live back to back in one arena (a varint length, then the bytes); an
// open-addressing table of 8-byte slots (namespace id + mark bit, arena
// offset) finds them. About name length + 12..22 bytes a key, against ~100 for
// an unordered_set<std::string>. Erased names leave holes that are compacted
// away once they outweigh the live ones.
//
// A re-list marks what it sees: ClearMarks(), Insert() each listed key (which
// marks it), then SweepUnmarked() reports and removes the rest.
//
//   KeyStore keys;
//   keys.ClearMarks();
//   for (item : list) keys.Insert(item.ns, item.name);
//   keys.SweepUnmarked([&](std::string_view ns, std::string_view name) { OnDelete(ns, name); });
//
// Thread-safety: none; one informer thread owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace npc::informer {

class KeyStore {
 public:
  KeyStore() = default;
  KeyStore(const KeyStore&) = delete;
  KeyStore& operator=(const KeyStore&) = delete;

  // Adds the key if absent, and marks it either way. Returns true when added.
  bool Insert(std::string_view ns, std::string_view name);
  // Returns true when the key was there.
  bool Erase(std::string_view ns, std::string_view name);
  [[nodiscard]] bool Contains(std::string_view ns, std::string_view name) const;
  [[nodiscard]] size_t size() const { return size_; }

  // Unmarks every key (a listing begins, or begins again).
  void ClearMarks();
  // Calls fn for every unmarked key, then removes them all. fn must not touch
  // the store.
  void SweepUnmarked(const std::function<void(std::string_view ns, std::string_view name)>& fn);

  // Bytes held (table, arena, namespaces), for tests and curiosity.
  [[nodiscard]] size_t MemoryBytes() const;

 private:
  struct Slot {
    uint32_t offset = kEmpty;  // of the name's length prefix in arena_
    uint32_t ns_mark = 0;      // namespace id << 1 | mark
  };
  static constexpr uint32_t kEmpty = UINT32_MAX;

  // Namespace ids: -1 when unknown.
  [[nodiscard]] int64_t FindNs(std::string_view ns) const;
  uint32_t InternNs(std::string_view ns);
  void ReleaseNs(uint32_t id);

  [[nodiscard]] std::string_view NameAt(uint32_t offset) const;
  [[nodiscard]] static size_t Hash(uint32_t ns, std::string_view name);
  [[nodiscard]] size_t HashOf(const Slot& s) const { return Hash(s.ns_mark >> 1, NameAt(s.offset)); }
  // The slot holding the key, or the empty slot where it would go.
  [[nodiscard]] size_t Probe(uint32_t ns, std::string_view name) const;
  void RemoveSlot(size_t i);
  // Rebuilds table and arena with `capacity` slots (a power of two), dropping
  // unmarked keys when `drop_unmarked`.
  void Rebuild(size_t capacity, bool drop_unmarked);

  std::vector<Slot> slots_;  // size is 0 or a power of two
  size_t size_ = 0;
  std::vector<char> arena_;
  size_t dead_bytes_ = 0;  // in arena_, of erased names

  std::vector<std::string> ns_names_;  // by id; "" for a freed id
  std::vector<uint32_t> ns_refs_;      // keys per namespace id
  std::vector<uint32_t> ns_free_;      // freed ids to reuse
  struct NsHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, uint32_t, NsHash, std::equal_to<>> ns_ids_;
};

}  // namespace npc::informer
