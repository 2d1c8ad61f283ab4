#include "kube/watch_decoder.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

#include "kube/json_scan.h"

namespace npc::kube {
namespace {

static_assert(kJsonPadding >= simdjson::SIMDJSON_PADDING);

using json_scan::kClass;
using json_scan::kClose;
using json_scan::kOpen;
using json_scan::kQuote;
using json_scan::kSpace;
using json_scan::kStringClass;

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
  size_ = scan_ = obj_start_ = 0;
  depth_ = 0;
  in_string_ = false;
  escape_ = false;
  newline_from_ = 0;
  scan_line_until_ = 0;
}

bool JsonStreamSplitter::HasPartialObject() const {
  return depth_ > 0 || size_ > scan_;
}

Status JsonStreamSplitter::ScanCarefully(size_t* pos, const ObjectFn& on_object) {
  const char* b = buf_.get();
  const auto* u = reinterpret_cast<const unsigned char*>(b);
  const size_t n = size_;
  size_t i = *pos;
  Status result;
  while (i < n) {
    if (in_string_) {
      if (escape_) {  // the byte after a backslash never ends the string
        escape_ = false;
        ++i;
        continue;
      }
      while (i < n && kStringClass[u[i]] == 0) ++i;
      if (i == n) break;
      if (u[i] == '\\') {
        escape_ = true;
      } else {
        in_string_ = false;
      }
      ++i;
      continue;
    }
    if (depth_ > 0) {
      while (i < n && kClass[u[i]] < kOpen) ++i;  // numbers, literals, ':' ',' whitespace
      if (i == n) break;
    }
    bool closed = false;
    switch (kClass[u[i]]) {
      case kQuote:
        if (depth_ == 0) {
          result = InvalidArgument("JSON stream: a top-level value that is not an object");
          break;
        }
        in_string_ = true;
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
          closed = true;
        }
        break;
      case kSpace: break;
      default:
        result = InvalidArgument("JSON stream: unexpected byte '" + std::string(1, b[i]) +
                                 "' between objects");
        break;
    }
    ++i;
    if (!result.ok() || closed) break;
  }
  *pos = i;
  return result;
}

Status JsonStreamSplitter::Feed(std::string_view chunk, const ObjectFn& on_object,
                                const LineFn& try_line) {
  if (chunk.empty()) return Status::Ok();
  Reserve(size_ + chunk.size());
  std::memcpy(buf_.get() + size_, chunk.data(), chunk.size());
  size_ += chunk.size();

  const char* b = buf_.get();
  const auto* u = reinterpret_cast<const unsigned char*>(b);
  const size_t n = size_;
  size_t i = scan_;
  while (i < n) {
    if (depth_ == 0 && try_line) {
      // Fast path: a raw newline is always whitespace between values (JSON escapes
      // it inside strings), and the API server ends every event with one. Offer
      // the line to try_line, which accepts it only if it is exactly one object.
      while (i < n && kClass[u[i]] == kSpace) ++i;
      if (i == n) break;
      if (u[i] == '{' && i >= scan_line_until_) {
        size_t from = std::max(i, newline_from_);
        const void* nl = std::memchr(b + from, '\n', n - from);
        if (nl != nullptr) {
          size_t e = static_cast<size_t>(static_cast<const char*>(nl) - b);
          size_t end = e;
          while (end > i && kClass[u[end - 1]] == kSpace) --end;
          std::optional<Status> r = try_line(std::string_view(b + i, end - i));
          if (r.has_value()) {
            if (!r->ok()) return *r;
            i = e + 1;
            continue;
          }
          // Not exactly one object (several, or one spread over lines): scan it.
          scan_line_until_ = e + 1;
        } else {
          newline_from_ = n;
          // Without a newline, wait unless an object may have just ended
          // (streams that do not separate objects by newlines).
          size_t last = n;
          while (last > i && kClass[u[last - 1]] == kSpace) --last;
          if (u[last - 1] != '}') break;
        }
      }
    }
    Status s = ScanCarefully(&i, on_object);
    if (!s.ok()) return s;
  }
  // Everything before the unfinished object (or all that was scanned) is done.
  size_t consumed = depth_ > 0 ? obj_start_ : i;
  if (n - consumed > max_object_bytes_) {
    return InvalidArgument("JSON stream: an object larger than " +
                           std::to_string(max_object_bytes_) + " bytes");
  }
  // Drop what is done, keep the unfinished object at the front.
  if (consumed > 0) {
    size_t rest = n - consumed;
    if (rest > 0) std::memmove(buf_.get(), buf_.get() + consumed, rest);
    size_ = rest;
    i -= consumed;
    if (depth_ > 0) obj_start_ -= consumed;
    newline_from_ = newline_from_ > consumed ? newline_from_ - consumed : 0;
    scan_line_until_ = scan_line_until_ > consumed ? scan_line_until_ - consumed : 0;
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
  return splitter_.Feed(
      chunk, [&](std::string_view text) { return *Decode(text, on_event, false); },
      [&](std::string_view line) { return Decode(line, on_event, true); });
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

std::optional<Status> WatchDecoder::Decode(std::string_view text, const EventFn& on_event,
                                           bool tentative) {
  // Syntax errors on a tentative line only mean "not exactly one object here".
  auto bad = [tentative](std::string_view what, simdjson::error_code ec) -> std::optional<Status> {
    if (tentative) return std::nullopt;
    return Malformed(what, ec);
  };
  // text is inside the splitter's buffer, which keeps kJsonPadding bytes past its end.
  simdjson::ondemand::document doc;
  if (auto ec =
          impl_->parser.iterate(text.data(), text.size(), text.size() + kJsonPadding).get(doc);
      ec) {
    return bad("an event that is not JSON", ec);
  }
  simdjson::ondemand::object ev;
  if (auto ec = doc.get_object().get(ev); ec) return bad("an event that is not an object", ec);
  std::string_view type;
  bool have_type = false;
  std::string_view object;
  std::string_view rv;
  for (auto field : ev) {
    std::string_view key;
    if (auto ec = field.unescaped_key().get(key); ec) return bad("bad key", ec);
    if (key == "type") {
      if (auto ec = field.value().get_string().get(type); ec) return bad("bad type", ec);
      have_type = true;
    } else if (key == "object") {
      simdjson::ondemand::value v;
      if (auto ec = field.value().get(v); ec) return bad("bad object", ec);
      const char* start = nullptr;
      if (auto ec = v.current_location().get(start); ec) return bad("bad object", ec);
      simdjson::ondemand::object obj;
      if (auto ec = v.get_object().get(obj); ec) return bad("object is not an object", ec);
      rv = {};  // a later "object" key wins, and with it its own resourceVersion
      if (auto ec = FindResourceVersion(obj, &rv); ec) return bad("bad object", ec);
      const char* end = nullptr;
      if (auto ec = doc.current_location().get(end); ec) return bad("bad object", ec);
      while (end > start && end[-1] != '}') --end;
      object = std::string_view(start, static_cast<size_t>(end - start));
    }
  }
  // Past the event's closing brace there must be nothing left.
  if (const char* after = nullptr; doc.current_location().get(after) != simdjson::OUT_OF_BOUNDS) {
    return bad("trailing data after an event", simdjson::TRAILING_CONTENT);
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
