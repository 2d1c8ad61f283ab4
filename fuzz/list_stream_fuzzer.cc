// Fuzz target: the LIST page decoder (kube/list_decoder.h).
//
// Input: the bytes of one LIST response body. Properties:
//   - the same items, metadata and outcome whatever the chunking (whole, byte
//     by byte, random cuts), and after Reset as with a new decoder;
//   - every item handed out is a brace-delimited view followed by
//     kJsonPadding readable bytes (ASan checks the reads);
//   - when the body is valid JSON (simdjson's DOM parser is the reference), an
//     object whose "items" are objects and whose metadata is an object, the
//     decoder succeeds, its items are exactly the elements of "items" (the
//     same JSON values) and it reads the same resourceVersion and continue.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "kube/list_decoder.h"
#include "kube/watch_decoder.h"  // kJsonPadding

namespace npc::kube {
namespace {

namespace dom = simdjson::dom;

struct Outcome {
  std::vector<std::string> items;
  Status status;
  ListPageMeta meta;
  bool operator==(const Outcome& o) const {
    return items == o.items && status == o.status &&
           meta.resource_version == o.meta.resource_version &&
           meta.continue_token == o.meta.continue_token;
  }
};

std::string Describe(const Outcome& o) {
  std::string s = "status=" + o.status.ToString() + " rv=" + fuzz::Quote(o.meta.resource_version) +
                  " continue=" + fuzz::Quote(o.meta.continue_token) +
                  " items=" + std::to_string(o.items.size()) + "\n";
  for (const std::string& i : o.items) s += "  " + fuzz::Quote(i, 200) + "\n";
  return s;
}

Outcome Run(ListPageDecoder& d, std::string_view data, const std::vector<size_t>& chunks) {
  Outcome o;
  auto on_item = [&](std::string_view item) -> Status {
    FUZZ_CHECK(item.size() >= 2 && item.front() == '{' && item.back() == '}',
               "item view " << fuzz::Quote(item));
    volatile char sink = 0;
    for (size_t i = 0; i < kJsonPadding; ++i) sink = sink + item.data()[item.size() + i];
    (void)sink;
    o.items.emplace_back(item);
    return Status::Ok();
  };
  size_t at = 0;
  for (size_t n : chunks) {
    o.status = d.Feed(data.substr(at, n), on_item);
    at += n;
    if (!o.status.ok()) return o;
  }
  o.status = d.Finish(&o.meta);
  return o;
}

// The minified JSON of an element, to compare values regardless of spacing.
std::string Minify(const dom::element& e) {
  return simdjson::minify(e);
}

// What the decoder must produce for a valid JSON body, or false when the body
// is outside the contract checked here.
bool Reference(std::string_view data, Outcome* want) {
  dom::parser parser;
  dom::element root;
  if (parser.parse(data.data(), data.size()).get(root)) return false;
  dom::object obj;
  if (root.get_object().get(obj)) return false;
  for (auto [key, value] : obj) {
    if (key == "items") {
      if (value.is_null()) continue;
      dom::array items;
      if (value.get_array().get(items)) return false;
      for (dom::element item : items) {
        if (!item.is_object()) return false;
        want->items.push_back(Minify(item));
      }
    } else if (key == "metadata") {
      dom::object meta;
      if (value.get_object().get(meta)) return false;
      for (auto [k, v] : meta) {  // the last of duplicate keys wins, as in Go
        std::string_view s;
        if (k == "resourceVersion" && !v.get_string().get(s)) want->meta.resource_version = s;
        if (k == "continue" && !v.get_string().get(s)) want->meta.continue_token = s;
      }
    }
  }
  return true;
}

}  // namespace
}  // namespace npc::kube

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace npc::kube;  // NOLINT(google-build-using-namespace)
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  constexpr size_t kLimit = size_t{1} << 20;

  ListPageDecoder reused(kLimit);
  const Outcome want = Run(reused, in, {in.size()});
  reused.Reset();
  const Outcome again = Run(reused, in, {in.size()});
  FUZZ_CHECK(again == want, "after Reset:\n"
                                << Describe(again) << "new decoder:\n"
                                << Describe(want));

  for (const std::vector<size_t>& chunks : npc::fuzz::Chunkings(in)) {
    ListPageDecoder d(kLimit);
    const Outcome got = Run(d, in, chunks);
    FUZZ_CHECK(got == want, "in " << chunks.size() << " chunks:\n"
                                  << Describe(got) << "whole:\n"
                                  << Describe(want));
  }

  Outcome ref;
  if (Reference(in, &ref)) {
    FUZZ_CHECK(want.status.ok(), "valid list rejected: " << want.status.ToString());
    std::vector<std::string> got;
    simdjson::dom::parser p;
    for (const std::string& item : want.items) {
      simdjson::dom::element e;
      auto ec = p.parse(item).get(e);
      FUZZ_CHECK(!ec, "item is not JSON: " << npc::fuzz::Quote(item));
      got.push_back(Minify(e));
    }
    FUZZ_CHECK(got == ref.items, "decoded:\n" << Describe(want) << "reference:\n" << Describe(ref));
    FUZZ_CHECK(want.meta.resource_version == ref.meta.resource_version &&
                   want.meta.continue_token == ref.meta.continue_token,
               "decoded:\n"
                   << Describe(want) << "reference:\n"
                   << Describe(ref));
  }

  // A limit smaller than most items: a clean error, no overflow.
  ListPageDecoder tiny(32);
  for (size_t at = 0; at < in.size(); at += 5) {
    if (!tiny.Feed(in.substr(at, 5), [](std::string_view) { return npc::Status::Ok(); }).ok())
      break;
  }
  return 0;
}
