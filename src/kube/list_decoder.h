// Decoding one page of a LIST answer as it arrives: bytes in, items out.
//
// A page is `{"kind":"...List","metadata":{"resourceVersion":..,"continue":..},
// "items":[{...},{...}]}`, cut into chunks at arbitrary places. The decoder hands
// out each element of "items" as soon as its closing brace arrives and keeps
// only the unfinished item and the few bytes outside "items" (kind, metadata),
// so a page never sits in memory whole: memory is bounded by the largest item,
// not by the page (or the list) size. Keys may come in any order; the list's
// metadata is read in Finish(), after the last chunk.
//
//   ListPageDecoder d;
//   for (chunk : body) NPC_RETURN_IF_ERROR(d.Feed(chunk, [&](std::string_view item) {...}));
//   ListPageMeta meta;
//   NPC_RETURN_IF_ERROR(d.Finish(&meta));   // meta.continue_token: the next page
//
// Thread-safety: a decoder belongs to one thread.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace npc::kube {

struct ListPageMeta {
  std::string resource_version;
  std::string continue_token;  // empty on the last page
};

class ListPageDecoder {
 public:
  // Gets each complete item, valid only during the call and followed by at least
  // kJsonPadding readable bytes (parse it in place with simdjson). Returning a
  // non-OK Status stops Feed, which returns it.
  using ItemFn = std::function<Status(std::string_view item)>;

  explicit ListPageDecoder(size_t max_item_bytes = size_t{256} << 20);
  ~ListPageDecoder();
  ListPageDecoder(const ListPageDecoder&) = delete;
  ListPageDecoder& operator=(const ListPageDecoder&) = delete;

  // Appends bytes. Fails (and must be Reset before reuse) when the answer is not
  // one JSON object, an element of "items" is not an object, an item exceeds the
  // size limit, or the bytes outside "items" exceed 1 MiB.
  Status Feed(std::string_view chunk, const ItemFn& on_item);
  // After the last chunk: fails when the answer was cut short or is not a list
  // object; else fills `meta` from the list's metadata.
  Status Finish(ListPageMeta* meta);
  // Ready for the next page; keeps the item buffer's capacity (Release frees it).
  void Reset();
  // Frees the buffers (they grow to the largest item and the page's head).
  void Release();

 private:
  void Append(const char* data, size_t n);  // to the current item
  Status CheckItemSize() const;
  Status EndItem(const ItemFn& on_item);

  std::unique_ptr<char[]> item_;  // the unfinished item; capacity + kJsonPadding allocated
  size_t item_size_ = 0;
  size_t item_cap_ = 0;
  size_t max_item_bytes_;
  std::string head_;  // everything outside the elements of "items"
  std::string key_;   // the top-level key being read
  std::string last_key_;
  int depth_ = 0;
  bool in_string_ = false;
  bool escape_ = false;
  bool in_key_ = false;      // reading a top-level key
  bool expect_key_ = false;  // at depth 1, the next string is a key
  bool in_items_ = false;    // inside the "items" array
  bool done_ = false;        // the top-level object has closed
};

}  // namespace npc::kube
