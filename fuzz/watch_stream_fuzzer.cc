// Fuzz target: the watch stream decoder (kube/watch_decoder.h).
//
// Input: the bytes of a watch response body (`{"type":..,"object":..}` events,
// usually one per line). Properties:
//   - when the body is a stream of valid events (simdjson's DOM parse_many is
//     the reference: JSON objects with a known "type" and an "object"), the
//     decoder hands out exactly those events (type, the object's JSON value,
//     metadata.resourceVersion), in order, and nothing is left over; and so
//     for every chunking: whole, byte by byte, random cuts;
//   - for any body, a decoder Reset after use decodes like a new one, and
//     every object handed out is a brace-delimited view followed by
//     kJsonPadding readable bytes (ASan checks the reads);
//   - with a tiny size limit the decoder fails cleanly, never overflows.
// Malformed events are not compared across chunkings: the decoder parses
// with simdjson On-Demand, which does not validate what it skips, so how far
// it gets into a malformed event can depend on where the chunks end.
#include <simdjson.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "kube/watch_decoder.h"

namespace npc::kube {
namespace {

struct Seen {
  EventType type;
  std::string object;
  std::string rv;
  int code = 0;
  int reason = 0;
  std::string message;
  bool operator==(const Seen&) const = default;
};

struct Outcome {
  std::vector<Seen> events;
  Status status;
  bool partial = false;
  bool operator==(const Outcome&) const = default;
};

std::string Describe(const Outcome& o) {
  std::string s = "status=" + o.status.ToString() + " partial=" + std::to_string(o.partial) +
                  " events=" + std::to_string(o.events.size()) + "\n";
  for (const Seen& e : o.events) {
    s += "  " + std::string(EventTypeName(e.type)) + " rv=" + fuzz::Quote(e.rv) +
         " code=" + std::to_string(e.code) + " object=" + fuzz::Quote(e.object, 200) + "\n";
  }
  return s;
}

Status Collect(const WatchEvent& e, std::vector<Seen>* out) {
  FUZZ_CHECK(e.object.size() >= 2 && e.object.front() == '{' && e.object.back() == '}',
             "object view " << fuzz::Quote(e.object));
  // The promised padding is readable (ASan reports it otherwise).
  volatile char sink = 0;
  for (size_t i = 0; i < kJsonPadding; ++i) sink = sink + e.object.data()[e.object.size() + i];
  (void)sink;
  Seen s{e.type, std::string(e.object), std::string(e.resource_version), 0, 0, {}};
  FUZZ_CHECK((e.type == EventType::kError) == (e.error != nullptr), "error pointer");
  if (e.error != nullptr) {
    FUZZ_CHECK(e.resource_version.empty(), "ERROR with a resourceVersion");
    s.code = e.error->http_code;
    s.reason = static_cast<int>(e.error->reason);
    s.message = e.error->message;
  }
  out->push_back(std::move(s));
  return Status::Ok();
}

Outcome Run(WatchDecoder& d, std::string_view data, const std::vector<size_t>& chunks) {
  Outcome o;
  size_t at = 0;
  for (size_t n : chunks) {
    o.status =
        d.Feed(data.substr(at, n), [&](const WatchEvent& e) { return Collect(e, &o.events); });
    at += n;
    if (!o.status.ok()) return o;
  }
  o.partial = d.HasPartialEvent();
  return o;
}

// The events a stream of valid events holds, or false when `data` is not
// such a stream. `partial`: an event is left unfinished at the end.
bool Reference(std::string_view data, std::vector<Seen>* want, bool* partial) {
  namespace dom = simdjson::dom;
  const simdjson::padded_string padded(data);
  dom::parser parser;
  dom::document_stream docs;
  if (parser.parse_many(padded, std::max<size_t>(padded.size(), 4096)).get(docs)) return false;
  for (auto doc : docs) {
    dom::object ev;
    if (doc.get_object().get(ev)) return false;
    std::string_view type;
    dom::object object;
    bool have_type = false;
    bool have_object = false;
    // The decoder reads every "type" and "object" key (the last one wins), so
    // each must be valid.
    for (auto [key, value] : ev) {
      if (key == "type" && !(have_type = !value.get_string().get(type))) return false;
      if (key == "object" && !(have_object = !value.get_object().get(object))) return false;
    }
    static const std::map<std::string_view, EventType> kTypes = {{"ADDED", EventType::kAdded},
                                                                 {"MODIFIED", EventType::kModified},
                                                                 {"DELETED", EventType::kDeleted},
                                                                 {"BOOKMARK", EventType::kBookmark},
                                                                 {"ERROR", EventType::kError}};
    auto t = kTypes.find(type);
    if (!have_type || !have_object || t == kTypes.end()) return false;
    Seen s{t->second, simdjson::minify(object), "", 0, 0, {}};
    // Every event's metadata must be an object with a string resourceVersion
    // (an ERROR's Status too); ERROR events carry none.
    for (auto [key, value] : object) {
      if (key != "metadata") continue;
      dom::object meta;
      if (value.get_object().get(meta)) return false;
      for (auto [k, v] : meta) {
        if (k != "resourceVersion") continue;
        std::string_view rv;
        if (v.get_string().get(rv)) return false;
        if (t->second != EventType::kError) s.rv = std::string(rv);
      }
    }
    want->push_back(std::move(s));
  }
  // A stream cut inside an event is judged by the other properties only:
  // parse_many also calls unbalanced garbage at the end "truncated".
  *partial = false;
  return docs.truncated_bytes() == 0;
}

// The decoded events as the reference describes them (objects minified).
std::vector<Seen> Normalized(const std::vector<Seen>& events) {
  std::vector<Seen> out;
  simdjson::dom::parser parser;
  for (const Seen& e : events) {
    simdjson::dom::element object;
    auto ec = parser.parse(e.object).get(object);
    FUZZ_CHECK(!ec, "an event object that is not JSON: " << fuzz::Quote(e.object));
    out.push_back({e.type, simdjson::minify(object), e.rv, 0, 0, {}});
  }
  return out;
}

}  // namespace
}  // namespace npc::kube

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace npc::kube;  // NOLINT(google-build-using-namespace)
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  constexpr size_t kLimit = size_t{1} << 20;  // above -max_len: never reached here

  WatchDecoder reused(kLimit);
  const Outcome want = Run(reused, in, {in.size()});
  reused.Reset();
  const Outcome again = Run(reused, in, {in.size()});
  FUZZ_CHECK(again == want, "after Reset:\n"
                                << Describe(again) << "new decoder:\n"
                                << Describe(want));

  std::vector<Seen> events;
  bool partial = false;
  if (Reference(in, &events, &partial)) {
    for (const std::vector<size_t>& chunks : npc::fuzz::Chunkings(in)) {
      WatchDecoder d(kLimit);
      const Outcome got = Run(d, in, chunks);
      FUZZ_CHECK(got.status.ok() && got.partial == partial && Normalized(got.events) == events,
                 "in " << chunks.size() << " chunks:\n"
                       << Describe(got) << "the reference has " << events.size()
                       << " events, partial=" << partial);
      if (chunks.size() > 1) {
        FUZZ_CHECK(got == want, "in " << chunks.size() << " chunks:\n"
                                      << Describe(got) << "whole:\n"
                                      << Describe(want));
      }
    }
  }

  // A limit smaller than most events: a clean error, no overflow.
  WatchDecoder tiny(48);
  for (size_t at = 0; at < in.size(); at += 7) {
    if (!tiny.Feed(in.substr(at, 7), [](const WatchEvent&) { return npc::Status::Ok(); }).ok())
      break;
  }
  return 0;
}
