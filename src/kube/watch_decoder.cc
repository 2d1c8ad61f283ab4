#include "kube/watch_decoder.h"

#include <simdjson.h>

#include <array>
#include <cstring>

namespace npc::kube {
namespace {

static_assert(kJsonPadding >= simdjson::SIMDJSON_PADDING);

// Byte classes outside strings.
enum : unsigned char { kOther = 0, kOpen, kClose, kQuote, kSpace };

constexpr std::array<unsigned char, 256> MakeClasses() {
  std::array<unsigned char, 256> t{};
  t['{'] = kOpen;
  t['['] = kOpen;
  t['}'] = kClose;
  t[']'] = kClose;
  t['"'] = kQuote;
  t[' '] = kSpace;
  t['\t'] = kSpace;
  t['\r'] = kSpace;
  t['\n'] = kSpace;
  return t;
}
constexpr std::array<unsigned char, 256> kClass = MakeClasses();

}  // namespace

JsonStreamSplitter::JsonStreamSplitter(size_t max_object_bytes)
    : max_object_bytes_(max_object_bytes) {}
JsonStreamSplitter::~JsonStreamSplitter() = default;

void JsonStreamSplitter::Reserve(size_t n) {
  if (n <= cap_) return;
  size_t cap = cap_ == 0 ? 16384 : cap_;
  while (cap < n) cap *= 2;
  auto b = std::make_unique<char[]>(cap + kJsonPadding);
  if (size_ > 0) std::memcpy(b.get(), buf_.get(), size_);
  std::memset(b.get() + size_, 0, cap + kJsonPadding - size_);
  buf_ = std::move(b);
  cap_ = cap;
}

void JsonStreamSplitter::Reset() {
  size_ = scan_ = obj_start_ = str_start_ = 0;
  depth_ = 0;
  in_string_ = false;
}

bool JsonStreamSplitter::HasPartialObject() const {
  return depth_ > 0;
}

Status JsonStreamSplitter::Feed(std::string_view chunk, const ObjectFn& on_object) {
  if (chunk.empty()) return Status::Ok();
  Reserve(size_ + chunk.size());
  std::memcpy(buf_.get() + size_, chunk.data(), chunk.size());
  size_ += chunk.size();

  const char* b = buf_.get();
  size_t i = scan_;
  Status result;
  while (i < size_) {
    if (in_string_) {
      const void* q = std::memchr(b + i, '"', size_ - i);
      if (q == nullptr) {
        i = size_;
        break;
      }
      size_t qi = static_cast<const char*>(q) - b;
      size_t backslashes = 0;
      while (qi - backslashes - 1 > str_start_ && b[qi - backslashes - 1] == '\\') ++backslashes;
      i = qi + 1;
      if (backslashes % 2 == 0) in_string_ = false;
      continue;
    }
    switch (kClass[static_cast<unsigned char>(b[i])]) {
      case kQuote:
        if (depth_ == 0) {
          result = InvalidArgument("JSON stream: a top-level value that is not an object");
          break;
        }
        in_string_ = true;
        str_start_ = i;
        break;
      case kOpen:
        if (depth_ == 0) {
          if (b[i] != '{') {
            result = InvalidArgument("JSON stream: a top-level value that is not an object");
            break;
          }
          obj_start_ = i;
        }
        ++depth_;
        break;
      case kClose:
        if (depth_ == 0) {
          result = InvalidArgument("JSON stream: unbalanced '" + std::string(1, b[i]) + "'");
          break;
        }
        if (--depth_ == 0) {
          result = on_object(std::string_view(b + obj_start_, i + 1 - obj_start_));
        }
        break;
      case kSpace: break;
      default:
        if (depth_ == 0) {
          result = InvalidArgument("JSON stream: unexpected byte '" + std::string(1, b[i]) +
                                   "' between objects");
        }
        break;
    }
    if (!result.ok()) return result;
    ++i;
  }
  // Everything before the unfinished object (or all that was scanned) is done.
  size_t consumed = depth_ > 0 ? obj_start_ : i;
  if (depth_ > 0 && i - obj_start_ > max_object_bytes_) {
    return InvalidArgument("JSON stream: an object larger than " +
                           std::to_string(max_object_bytes_) + " bytes");
  }
  // Drop what is done, keep the unfinished object at the front.
  if (consumed > 0) {
    size_t rest = size_ - consumed;
    if (rest > 0) std::memmove(buf_.get(), buf_.get() + consumed, rest);
    size_ = rest;
    i -= consumed;
    if (depth_ > 0) obj_start_ -= consumed;
    if (in_string_) str_start_ -= consumed;
  }
  scan_ = i;
  return Status::Ok();
}

std::string_view EventTypeName(EventType t) {
  switch (t) {
    case EventType::kAdded: return "ADDED";
    case EventType::kModified: return "MODIFIED";
    case EventType::kDeleted: return "DELETED";
    case EventType::kBookmark: return "BOOKMARK";
    case EventType::kError: return "ERROR";
  }
  return "?";
}

struct WatchDecoder::Impl {
  simdjson::ondemand::parser parser;
  KubeError error;
};

WatchDecoder::WatchDecoder(size_t max_object_bytes)
    : splitter_(max_object_bytes), impl_(std::make_unique<Impl>()) {}
WatchDecoder::~WatchDecoder() = default;

Status WatchDecoder::Feed(std::string_view chunk, const EventFn& on_event) {
  return splitter_.Feed(chunk, [&](std::string_view text) { return Decode(text, on_event); });
}

namespace {

Status Malformed(std::string_view what, simdjson::error_code ec = simdjson::SUCCESS) {
  std::string m = "watch stream: ";
  m += what;
  if (ec != simdjson::SUCCESS) {
    m += ": ";
    m += simdjson::error_message(ec);
  }
  return Status(StatusCode::kInternal, std::move(m));
}

// Finds metadata.resourceVersion in `obj`, consuming it.
simdjson::error_code FindResourceVersion(simdjson::ondemand::object obj, std::string_view* rv) {
  for (auto field : obj) {
    std::string_view key;
    if (auto ec = field.unescaped_key().get(key); ec) return ec;
    if (key != "metadata") continue;
    simdjson::ondemand::object meta;
    if (auto ec = field.value().get_object().get(meta); ec) return ec;
    for (auto mf : meta) {
      std::string_view mkey;
      if (auto ec = mf.unescaped_key().get(mkey); ec) return ec;
      if (mkey == "resourceVersion") {
        if (auto ec = mf.value().get_string().get(*rv); ec) return ec;
      }
    }
  }
  return simdjson::SUCCESS;
}

}  // namespace

Status WatchDecoder::Decode(std::string_view text, const EventFn& on_event) {
  // text is inside the splitter's buffer, which keeps kJsonPadding bytes past its end.
  simdjson::ondemand::document doc;
  if (auto ec =
          impl_->parser.iterate(text.data(), text.size(), text.size() + kJsonPadding).get(doc);
      ec) {
    return Malformed("an event that is not JSON", ec);
  }
  simdjson::ondemand::object ev;
  if (auto ec = doc.get_object().get(ev); ec)
    return Malformed("an event that is not an object", ec);
  std::string_view type;
  bool have_type = false;
  std::string_view object;
  std::string_view rv;
  for (auto field : ev) {
    std::string_view key;
    if (auto ec = field.unescaped_key().get(key); ec) return Malformed("bad key", ec);
    if (key == "type") {
      if (auto ec = field.value().get_string().get(type); ec) return Malformed("bad type", ec);
      have_type = true;
    } else if (key == "object") {
      simdjson::ondemand::value v;
      if (auto ec = field.value().get(v); ec) return Malformed("bad object", ec);
      const char* start = nullptr;
      if (auto ec = v.current_location().get(start); ec) return Malformed("bad object", ec);
      simdjson::ondemand::object obj;
      if (auto ec = v.get_object().get(obj); ec) return Malformed("object is not an object", ec);
      if (auto ec = FindResourceVersion(obj, &rv); ec) return Malformed("bad object", ec);
      const char* end = nullptr;
      if (auto ec = doc.current_location().get(end); ec) return Malformed("bad object", ec);
      while (end > start && end[-1] != '}') --end;
      object = std::string_view(start, static_cast<size_t>(end - start));
    }
  }
  if (!have_type) return Malformed("an event without a type");
  if (object.data() == nullptr) return Malformed("an event without an object");
  // simdjson's unescaped strings live in the parser; the next iterate reuses them,
  // so everything below must finish before returning.
  WatchEvent e{EventType::kAdded, object, rv, nullptr};
  if (type == "ADDED") {
    e.type = EventType::kAdded;
  } else if (type == "MODIFIED") {
    e.type = EventType::kModified;
  } else if (type == "DELETED") {
    e.type = EventType::kDeleted;
  } else if (type == "BOOKMARK") {
    e.type = EventType::kBookmark;
  } else if (type == "ERROR") {
    e.type = EventType::kError;
    e.resource_version = {};
    impl_->error = ParseStatus(0, object, std::nullopt);
    if (impl_->error.reason == Reason::kUnknown && impl_->error.http_code == 0) {
      impl_->error.reason = Reason::kInternalError;
    }
    e.error = &impl_->error;
  } else {
    return Malformed("unknown event type \"" + std::string(type) + "\"");
  }
  return on_event(e);
}

}  // namespace npc::kube
