#include "informer/key_store.h"

#include <cstring>

namespace npc::informer {
namespace {

// Names are prefixed with their length, a LEB128 varint (one byte below 128).
size_t PrefixBytes(size_t len) {
  size_t n = 1;
  while (len >= 128) {
    len >>= 7;
    ++n;
  }
  return n;
}

void PutPrefix(std::vector<char>* arena, size_t len) {
  while (len >= 128) {
    arena->push_back(static_cast<char>(128 | (len & 127)));
    len >>= 7;
  }
  arena->push_back(static_cast<char>(len));
}

// The name stored at `p`, and how many bytes it takes with its prefix.
std::string_view ReadName(const char* p, size_t* stored) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  size_t len = 0;
  size_t i = 0;
  for (int shift = 0;; shift += 7) {
    len |= static_cast<size_t>(u[i] & 127) << shift;
    if ((u[i++] & 128) == 0) break;
  }
  if (stored) *stored = i + len;
  return {p + i, len};
}

}  // namespace

int64_t KeyStore::FindNs(std::string_view ns) const {
  auto it = ns_ids_.find(ns);
  return it == ns_ids_.end() ? -1 : static_cast<int64_t>(it->second);
}

uint32_t KeyStore::InternNs(std::string_view ns) {
  if (int64_t id = FindNs(ns); id >= 0) {
    ++ns_refs_[id];
    return static_cast<uint32_t>(id);
  }
  uint32_t id;
  if (!ns_free_.empty()) {
    id = ns_free_.back();
    ns_free_.pop_back();
    ns_names_[id] = std::string(ns);
  } else {
    id = static_cast<uint32_t>(ns_names_.size());
    ns_names_.emplace_back(ns);
    ns_refs_.push_back(0);
  }
  ns_refs_[id] = 1;
  ns_ids_.emplace(std::string(ns), id);
  return id;
}

void KeyStore::ReleaseNs(uint32_t id) {
  if (--ns_refs_[id] > 0) return;
  ns_ids_.erase(ns_names_[id]);
  std::string().swap(ns_names_[id]);
  ns_free_.push_back(id);
}

std::string_view KeyStore::NameAt(uint32_t offset) const {
  return ReadName(arena_.data() + offset, nullptr);
}

size_t KeyStore::Hash(uint32_t ns, std::string_view name) {
  size_t h = std::hash<std::string_view>{}(name);
  // Mix the namespace in (a 64-bit multiplicative step; the table masks low bits).
  return (h ^ (static_cast<size_t>(ns) * 0x9E3779B97F4A7C15ULL)) * 0xBF58476D1CE4E5B9ULL >> 7 ^ h;
}

size_t KeyStore::Probe(uint32_t ns, std::string_view name) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = Hash(ns, name) & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.offset == kEmpty) return i;
    if ((s.ns_mark >> 1) == ns && NameAt(s.offset) == name) return i;
  }
}

bool KeyStore::Contains(std::string_view ns, std::string_view name) const {
  if (slots_.empty()) return false;
  int64_t id = FindNs(ns);
  if (id < 0) return false;
  return slots_[Probe(static_cast<uint32_t>(id), name)].offset != kEmpty;
}

bool KeyStore::Insert(std::string_view ns, std::string_view name) {
  if (int64_t id = FindNs(ns); id >= 0 && !slots_.empty()) {
    Slot& s = slots_[Probe(static_cast<uint32_t>(id), name)];
    if (s.offset != kEmpty) {
      s.ns_mark |= 1;
      return false;
    }
  }
  // Grow at 3/4 full.
  if ((size_ + 1) * 4 > slots_.size() * 3) Rebuild(slots_.empty() ? 64 : slots_.size() * 2, false);
  const uint32_t id = InternNs(ns);
  const size_t at = Probe(id, name);
  const auto offset = static_cast<uint32_t>(arena_.size());
  PutPrefix(&arena_, name.size());
  arena_.insert(arena_.end(), name.begin(), name.end());
  slots_[at] = Slot{offset, id << 1 | 1};
  ++size_;
  return true;
}

void KeyStore::RemoveSlot(size_t i) {
  const Slot gone = slots_[i];
  const size_t len = NameAt(gone.offset).size();
  dead_bytes_ += PrefixBytes(len) + len;
  ReleaseNs(gone.ns_mark >> 1);
  --size_;
  // Linear probing without tombstones: shift back the entries that probed past i.
  const size_t mask = slots_.size() - 1;
  size_t hole = i;
  for (size_t j = (i + 1) & mask; slots_[j].offset != kEmpty; j = (j + 1) & mask) {
    size_t home = HashOf(slots_[j]) & mask;
    // j may move to the hole when its home is not cyclically in (hole, j].
    if (((j - home) & mask) >= ((j - hole) & mask)) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = Slot{};
  // Shrink below 3/16 full (growth leaves it 3/8 full); compact once erased
  // names outweigh the live ones.
  size_t cap = slots_.size();
  while (cap > 64 && size_ * 16 < cap * 3) cap /= 2;
  if (cap != slots_.size() || (dead_bytes_ > 4096 && dead_bytes_ * 2 > arena_.size())) {
    Rebuild(cap, false);
  }
}

bool KeyStore::Erase(std::string_view ns, std::string_view name) {
  if (slots_.empty()) return false;
  int64_t id = FindNs(ns);
  if (id < 0) return false;
  size_t i = Probe(static_cast<uint32_t>(id), name);
  if (slots_[i].offset == kEmpty) return false;
  RemoveSlot(i);
  return true;
}

void KeyStore::ClearMarks() {
  for (Slot& s : slots_) s.ns_mark &= ~uint32_t{1};
}

void KeyStore::SweepUnmarked(
    const std::function<void(std::string_view ns, std::string_view name)>& fn) {
  size_t unmarked = 0;
  for (const Slot& s : slots_) {
    if (s.offset == kEmpty || (s.ns_mark & 1) != 0) continue;
    ++unmarked;
    fn(ns_names_[s.ns_mark >> 1], NameAt(s.offset));
  }
  if (unmarked == 0) return;
  // Keep the table at most 3/4 and (when large) at least 3/16 full.
  size_t cap = slots_.size();
  const size_t left = size_ - unmarked;
  while (cap > 64 && left * 16 < cap * 3) cap /= 2;
  Rebuild(left == 0 ? 0 : cap, true);
}

void KeyStore::Rebuild(size_t capacity, bool drop_unmarked) {
  std::vector<Slot> old;
  old.swap(slots_);
  std::vector<char> old_arena;
  old_arena.swap(arena_);
  slots_.assign(capacity, Slot{});
  size_t live_bytes = 0;
  for (const Slot& s : old) {
    if (s.offset != kEmpty && !(drop_unmarked && (s.ns_mark & 1) == 0)) {
      size_t stored = 0;
      (void)ReadName(old_arena.data() + s.offset, &stored);
      live_bytes += stored;
    }
  }
  arena_.reserve(live_bytes + live_bytes / 4);
  const size_t mask = capacity - 1;
  for (const Slot& s : old) {
    if (s.offset == kEmpty) continue;
    if (drop_unmarked && (s.ns_mark & 1) == 0) {
      --size_;
      ReleaseNs(s.ns_mark >> 1);
      continue;
    }
    size_t stored = 0;
    std::string_view name = ReadName(old_arena.data() + s.offset, &stored);
    const auto offset = static_cast<uint32_t>(arena_.size());
    arena_.insert(arena_.end(), old_arena.data() + s.offset, old_arena.data() + s.offset + stored);
    size_t i = Hash(s.ns_mark >> 1, name) & mask;
    while (slots_[i].offset != kEmpty) i = (i + 1) & mask;
    slots_[i] = Slot{offset, s.ns_mark};
  }
  dead_bytes_ = 0;
}

size_t KeyStore::MemoryBytes() const {
  size_t n = slots_.capacity() * sizeof(Slot) + arena_.capacity();
  for (const auto& s : ns_names_) n += sizeof(s) + s.capacity() * 2 + 32;  // + the map's copy
  return n + ns_refs_.capacity() * 4 + ns_free_.capacity() * 4;
}

}  // namespace npc::informer
