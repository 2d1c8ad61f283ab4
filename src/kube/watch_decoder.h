// Decoding a watch stream: bytes in, complete watch events out.
//
// The API server answers `?watch=1` with an endless stream of JSON objects
// `{"type":"ADDED","object":{...}}`, one after another, cut into chunks at
// arbitrary places. JsonStreamSplitter finds where each top-level object ends
// (tracking strings and escapes, so braces inside strings do not count), across
// any number of chunks, with several objects per chunk, and of any size up to a
// limit. WatchDecoder parses each object with simdjson and hands out a
// WatchEvent whose views point into the decoder's own buffer.
//
//   WatchDecoder d;
//   Status s = d.Feed(chunk, [&](const WatchEvent& e) -> Status {
//     if (e.type == EventType::kError) return e.error->ToStatus();
//     Cache(e.object, e.resource_version);
//     return Status::Ok();
//   });
//
// Steady state allocates nothing: the buffer and the parser are reused.
// Thread-safety: a decoder belongs to one thread (one watch connection).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "common/status.h"
#include "kube/errors.h"

namespace npc::kube {

// Every object view handed out by the splitter and the decoder is followed by at
// least this many readable bytes, so it can be parsed in place with simdjson
// (which needs SIMDJSON_PADDING == 64 bytes past the end).
inline constexpr size_t kJsonPadding = 64;

class JsonStreamSplitter {
 public:
  // on_object gets each complete top-level JSON object, valid only during the call.
  // Returning a non-OK Status stops Feed, which returns it.
  using ObjectFn = std::function<Status(std::string_view)>;

  explicit JsonStreamSplitter(size_t max_object_bytes = size_t{256} << 20);
  ~JsonStreamSplitter();
  JsonStreamSplitter(const JsonStreamSplitter&) = delete;
  JsonStreamSplitter& operator=(const JsonStreamSplitter&) = delete;

  // Fast path for newline-delimited streams: offered each complete line that
  // starts with '{'; returns nullopt when the line is not exactly one complete
  // object (the splitter then scans it byte by byte), else the result of
  // handling it as one object.
  using LineFn = std::function<std::optional<Status>(std::string_view)>;

  // Appends bytes. Fails (and must be Reset before reuse) on anything other than
  // whitespace between top-level objects, or on an object above the size limit.
  // With try_line, an object not followed by a newline may wait for the next
  // chunk unless the chunk ends right after it (the API server ends each event
  // with a newline).
  Status Feed(std::string_view chunk, const ObjectFn& on_object, const LineFn& try_line = nullptr);
  // True while an object has started but not ended: a stream that closes now was cut.
  [[nodiscard]] bool HasPartialObject() const;
  void Reset();

 private:
  void Reserve(size_t n);
  // Scans from *pos until one object ends (handing it to on_object) or the data does.
  Status ScanCarefully(size_t* pos, const ObjectFn& on_object);

  std::unique_ptr<char[]> buf_;
  size_t size_ = 0;
  size_t cap_ = 0;  // usable bytes; the allocation is cap_ + kJsonPadding
  size_t max_object_bytes_;
  // Scanner state; positions are offsets into buf_.
  size_t scan_ = 0;       // next byte to look at
  size_t obj_start_ = 0;  // start of the current object, when depth_ > 0
  int depth_ = 0;
  bool in_string_ = false;
  bool escape_ = false;      // in a string, right after a backslash
  size_t newline_from_ = 0;  // no '\n' before this offset (fast path)
  // The fast path turned down the line that ends before this offset: the rest
  // of it is scanned, not offered again (else a line of n objects costs n^2).
  size_t scan_line_until_ = 0;
};

enum class EventType { kAdded, kModified, kDeleted, kBookmark, kError };
std::string_view EventTypeName(EventType t);

struct WatchEvent {
  EventType type;
  // The raw JSON of "object" (followed by kJsonPadding readable bytes).
  std::string_view object;
  // object.metadata.resourceVersion; empty for ERROR.
  std::string_view resource_version;
  // ERROR only: the Status inside. 410 Expired/Gone has error->IsExpired().
  const KubeError* error = nullptr;
};

class WatchDecoder {
 public:
  using EventFn = std::function<Status(const WatchEvent&)>;

  explicit WatchDecoder(size_t max_object_bytes = size_t{256} << 20);
  ~WatchDecoder();
  WatchDecoder(const WatchDecoder&) = delete;
  WatchDecoder& operator=(const WatchDecoder&) = delete;

  // Feeds bytes; calls on_event for every complete event. A malformed event
  // (not JSON, no type, unknown type, no object) fails with kInternal.
  Status Feed(std::string_view chunk, const EventFn& on_event);
  [[nodiscard]] bool HasPartialEvent() const { return splitter_.HasPartialObject(); }
  void Reset() { splitter_.Reset(); }

 private:
  struct Impl;
  // Parses one event and hands it to on_event. With `tentative`, returns nullopt
  // instead of an error when `text` is not exactly one complete JSON object.
  std::optional<Status> Decode(std::string_view text, const EventFn& on_event, bool tentative);

  JsonStreamSplitter splitter_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace npc::kube
