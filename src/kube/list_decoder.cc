#include "kube/list_decoder.h"

#include <simdjson.h>

#include <array>
#include <cstring>

#include "kube/json_scan.h"
#include "kube/watch_decoder.h"  // kJsonPadding

namespace npc::kube {
namespace {

constexpr size_t kMaxHeadBytes = size_t{1} << 20;

using json_scan::kClass;
using json_scan::kClose;
using json_scan::kOpen;
using json_scan::kQuote;
using json_scan::kSpace;
using json_scan::kStringClass;

Status Malformed(std::string_view what) {
  return Status(StatusCode::kInternal, "list answer: " + std::string(what));
}

// A top-level key as JSON means it: escapes (rare, but "it\u0065ms" is
// "items") resolved. Keys that are not valid JSON strings stay as written;
// Finish rejects the page anyway.
std::string UnescapeKey(std::string raw) {
  if (raw.find('\\') == std::string::npos) return raw;
  simdjson::dom::parser parser;
  std::string_view key;
  if (parser.parse(simdjson::padded_string("\"" + raw + "\"")).get_string().get(key)) return raw;
  return std::string(key);
}

}  // namespace

ListPageDecoder::ListPageDecoder(size_t max_item_bytes) : max_item_bytes_(max_item_bytes) {}
ListPageDecoder::~ListPageDecoder() = default;

void ListPageDecoder::Reset() {
  item_size_ = 0;
  head_.clear();
  key_.clear();
  last_key_.clear();
  depth_ = 0;
  in_string_ = escape_ = in_key_ = expect_key_ = in_items_ = done_ = false;
}

void ListPageDecoder::Release() {
  Reset();
  item_.reset();
  item_cap_ = 0;
  std::string().swap(head_);
}

void ListPageDecoder::Append(const char* data, size_t n) {
  if (item_size_ + n > item_cap_) {
    size_t cap = item_cap_ == 0 ? 4096 : item_cap_;
    while (cap < item_size_ + n) cap *= 2;
    auto b = std::make_unique<char[]>(cap + kJsonPadding);
    if (item_size_ > 0) std::memcpy(b.get(), item_.get(), item_size_);
    item_ = std::move(b);
    item_cap_ = cap;
  }
  std::memcpy(item_.get() + item_size_, data, n);
  item_size_ += n;
}

Status ListPageDecoder::CheckItemSize() const {
  if (item_size_ <= max_item_bytes_) return Status::Ok();
  return Malformed("an item larger than " + std::to_string(max_item_bytes_) + " bytes");
}

Status ListPageDecoder::EndItem(const ItemFn& on_item) {
  // simdjson reads up to kJsonPadding bytes past the end: make them defined.
  std::memset(item_.get() + item_size_, 0, kJsonPadding);
  Status s = on_item(std::string_view(item_.get(), item_size_));
  item_size_ = 0;
  return s;
}

Status ListPageDecoder::Feed(std::string_view chunk, const ItemFn& on_item) {
  const char* b = chunk.data();
  const auto* u = reinterpret_cast<const unsigned char*>(b);
  const size_t n = chunk.size();
  size_t i = 0;
  while (i < n) {
    const bool in_item = in_items_ && depth_ >= 3;
    if (in_string_) {
      size_t j = i;
      if (escape_) {
        escape_ = false;  // the byte after a backslash never ends the string
        ++j;
      } else {
        while (j < n && kStringClass[u[j]] == 0) ++j;
        if (j < n) {
          if (u[j] == '\\') {
            escape_ = true;
          } else {
            in_string_ = false;
          }
          ++j;
        }
      }
      if (in_item) {
        Append(b + i, j - i);
        if (Status s = CheckItemSize(); !s.ok()) return s;
      } else {
        head_.append(b + i, j - i);
        if (in_key_) {
          key_.append(b + i, j - i);
          if (!in_string_) {
            key_.pop_back();  // the closing quote
            last_key_ = UnescapeKey(key_);
            in_key_ = false;
            expect_key_ = false;
          }
        }
      }
      i = j;
      continue;
    }
    if (in_item) {
      size_t j = i;
      while (j < n && kClass[u[j]] < kOpen) ++j;  // numbers, literals, ':' ',' whitespace
      if (j == n) {
        Append(b + i, j - i);
        break;
      }
      Append(b + i, j + 1 - i);
      if (Status s = CheckItemSize(); !s.ok()) return s;
      switch (kClass[u[j]]) {
        case kQuote: in_string_ = true; break;
        case kOpen: ++depth_; break;
        default:  // kClose
          if (--depth_ == 2) {
            if (u[j] != '}') return Malformed("an element of \"items\" is not an object");
            if (Status s = EndItem(on_item); !s.ok()) return s;
          }
          break;
      }
      i = j + 1;
      continue;
    }
    // Outside the items: the list object itself, or between items.
    const char c = b[i];
    switch (kClass[u[i]]) {
      case kSpace: break;
      case kQuote:
        if (depth_ == 0)
          return Malformed(done_ ? "data after the list object" : "not a JSON object");
        if (in_items_) return Malformed("an element of \"items\" is not an object");
        in_string_ = true;
        head_ += c;
        if (depth_ == 1 && expect_key_) {
          in_key_ = true;
          key_.clear();
        }
        break;
      case kOpen:
        if (done_) return Malformed("data after the list object");
        if (depth_ == 0) {
          if (c != '{') return Malformed("not a JSON object");
          expect_key_ = true;
          head_ += c;
        } else if (in_items_) {
          if (c != '{') return Malformed("an element of \"items\" is not an object");
          Append(&c, 1);
        } else if (depth_ == 1 && c == '[' && !expect_key_ && last_key_ == "items") {
          in_items_ = true;
          head_ += c;
        } else {
          head_ += c;
        }
        ++depth_;
        break;
      case kClose:
        if (depth_ == 0 || done_) return Malformed("unbalanced '" + std::string(1, c) + "'");
        if (in_items_ && depth_ == 2) {
          if (c != ']') return Malformed("unbalanced '}' in \"items\"");
          in_items_ = false;
        }
        head_ += c;
        if (--depth_ == 0) done_ = true;
        break;
      default:
        if (depth_ == 0)
          return Malformed(done_ ? "data after the list object" : "not a JSON object");
        if (in_items_) {
          if (c != ',') return Malformed("an element of \"items\" is not an object");
          break;
        }
        if (depth_ == 1 && c == ',') expect_key_ = true;
        head_ += c;
        break;
    }
    if (head_.size() > kMaxHeadBytes) return Malformed("more than 1 MiB outside \"items\"");
    ++i;
  }
  return Status::Ok();
}

Status ListPageDecoder::Finish(ListPageMeta* meta) {
  if (!done_ || in_string_) return Malformed("ended in the middle");
  meta->resource_version.clear();
  meta->continue_token.clear();
  // The head is small (kind, apiVersion, metadata, "items":[]): a local parser.
  simdjson::ondemand::parser parser;
  simdjson::padded_string buf(head_);
  simdjson::ondemand::document doc;
  if (auto ec = parser.iterate(buf).get(doc); ec) {
    return Malformed(std::string("not JSON: ") + simdjson::error_message(ec));
  }
  simdjson::ondemand::object obj;
  if (doc.get_object().get(obj)) return Malformed("not an object");
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return Malformed("bad key");
    if (key != "metadata") continue;
    simdjson::ondemand::object m;
    if (field.value().get_object().get(m)) return Malformed("bad metadata");
    for (auto mf : m) {
      std::string_view k, v;
      if (mf.unescaped_key().get(k)) return Malformed("bad metadata");
      if (k == "continue" && !mf.value().get_string().get(v)) meta->continue_token = std::string(v);
      if (k == "resourceVersion" && !mf.value().get_string().get(v)) {
        meta->resource_version = std::string(v);
      }
    }
  }
  return Status::Ok();
}

}  // namespace npc::kube
