#include "kube/errors.h"

#include <charconv>
#include <nlohmann/json.hpp>

namespace npc::kube {
namespace {

struct ReasonRow {
  Reason reason;
  std::string_view name;
};

constexpr ReasonRow kReasons[] = {
    {Reason::kUnknown, "Unknown"},
    {Reason::kBadRequest, "BadRequest"},
    {Reason::kUnauthorized, "Unauthorized"},
    {Reason::kForbidden, "Forbidden"},
    {Reason::kNotFound, "NotFound"},
    {Reason::kAlreadyExists, "AlreadyExists"},
    {Reason::kConflict, "Conflict"},
    {Reason::kGone, "Gone"},
    {Reason::kExpired, "Expired"},
    {Reason::kInvalid, "Invalid"},
    {Reason::kMethodNotAllowed, "MethodNotAllowed"},
    {Reason::kNotAcceptable, "NotAcceptable"},
    {Reason::kUnsupportedMediaType, "UnsupportedMediaType"},
    {Reason::kRequestEntityTooLarge, "RequestEntityTooLarge"},
    {Reason::kTooManyRequests, "TooManyRequests"},
    {Reason::kServerTimeout, "ServerTimeout"},
    {Reason::kTimeout, "Timeout"},
    {Reason::kInternalError, "InternalError"},
    {Reason::kServiceUnavailable, "ServiceUnavailable"},
    {Reason::kTransport, "TransportError"},
    {Reason::kTls, "TLSError"},
    {Reason::kCancelled, "Cancelled"},
    {Reason::kDeadline, "DeadlineExceeded"},
};

std::optional<Reason> ReasonFromName(std::string_view name) {
  for (const ReasonRow& row : kReasons) {
    if (row.name == name) return row.reason;
  }
  return std::nullopt;
}

std::string Str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

}  // namespace

std::string_view ReasonName(Reason r) {
  for (const ReasonRow& row : kReasons) {
    if (row.reason == r) return row.name;
  }
  return "Unknown";
}

Reason ReasonForHttpCode(int code) {
  switch (code) {
    case 400: return Reason::kBadRequest;
    case 401: return Reason::kUnauthorized;
    case 403: return Reason::kForbidden;
    case 404: return Reason::kNotFound;
    case 405: return Reason::kMethodNotAllowed;
    case 406: return Reason::kNotAcceptable;
    case 409: return Reason::kConflict;
    case 410: return Reason::kGone;
    case 413: return Reason::kRequestEntityTooLarge;
    case 415: return Reason::kUnsupportedMediaType;
    case 422: return Reason::kInvalid;
    case 429: return Reason::kTooManyRequests;
    case 500: return Reason::kInternalError;
    case 503: return Reason::kServiceUnavailable;
    case 504: return Reason::kServerTimeout;
    default: break;
  }
  if (code >= 500) return Reason::kInternalError;
  return Reason::kUnknown;
}

StatusCode StatusCodeForReason(Reason r) {
  switch (r) {
    case Reason::kUnknown: return StatusCode::kInternal;
    case Reason::kBadRequest:
    case Reason::kInvalid:
    case Reason::kMethodNotAllowed:
    case Reason::kNotAcceptable:
    case Reason::kUnsupportedMediaType:
    case Reason::kRequestEntityTooLarge: return StatusCode::kInvalidArgument;
    case Reason::kUnauthorized: return StatusCode::kUnauthenticated;
    case Reason::kForbidden: return StatusCode::kPermissionDenied;
    case Reason::kNotFound: return StatusCode::kNotFound;
    case Reason::kAlreadyExists: return StatusCode::kAlreadyExists;
    case Reason::kConflict: return StatusCode::kConflict;
    case Reason::kGone:
    case Reason::kExpired: return StatusCode::kExpired;
    case Reason::kTooManyRequests: return StatusCode::kResourceExhausted;
    case Reason::kServerTimeout:
    case Reason::kTimeout:
    case Reason::kInternalError:
    case Reason::kServiceUnavailable:
    case Reason::kTransport:
    case Reason::kTls: return StatusCode::kUnavailable;
    case Reason::kCancelled: return StatusCode::kCancelled;
    case Reason::kDeadline: return StatusCode::kDeadlineExceeded;
  }
  return StatusCode::kInternal;
}

std::optional<int> ParseRetryAfter(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() &&
         (v.back() == ' ' || v.back() == '\t' || v.back() == '\r' || v.back() == '\n')) {
    v.remove_suffix(1);
  }
  int n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || n < 0 || v.empty()) return std::nullopt;
  return n;
}

KubeError ParseStatus(int http_code, std::string_view body, std::optional<int> retry_after) {
  KubeError e;
  e.http_code = http_code;
  e.reason = ReasonForHttpCode(http_code);
  e.retry_after_seconds = retry_after;
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && Str(j, "kind") == "Status") {
    if (auto r = ReasonFromName(Str(j, "reason")); r.has_value() && *r != Reason::kUnknown) {
      e.reason = *r;
    }
    e.message = Str(j, "message");
    if (auto c = j.find("code"); c != j.end() && c->is_number_integer() && http_code == 0) {
      e.http_code = c->get<int>();
      if (e.reason == Reason::kUnknown) e.reason = ReasonForHttpCode(e.http_code);
    }
    if (auto d = j.find("details"); d != j.end() && d->is_object()) {
      e.kind = Str(*d, "kind");
      e.name = Str(*d, "name");
      if (auto ra = d->find("retryAfterSeconds");
          ra != d->end() && ra->is_number_integer() && !e.retry_after_seconds.has_value()) {
        e.retry_after_seconds = ra->get<int>();
      }
      if (auto cs = d->find("causes"); cs != d->end() && cs->is_array()) {
        for (const auto& c : *cs) {
          if (!c.is_object()) continue;
          e.causes.push_back({Str(c, "reason"), Str(c, "message"), Str(c, "field")});
        }
      }
    }
  } else {
    constexpr size_t kMaxBody = 200;
    e.message = std::string(body.substr(0, kMaxBody));
  }
  if (e.message.empty()) {
    e.message = "the server answered HTTP " + std::to_string(e.http_code);
  }
  return e;
}

std::string KubeError::Describe() const {
  if (local_code.has_value()) return message;
  std::string s(ReasonName(reason));
  if (http_code != 0) {
    s += " (";
    s += std::to_string(http_code);
    s += ')';
  }
  s += ": ";
  s += message;
  if (!causes.empty()) {
    bool message_has_causes = true;
    for (const StatusCause& c : causes) {
      if (message.find(c.message) == std::string::npos) message_has_causes = false;
    }
    if (!message_has_causes) {
      s += " [";
      for (size_t i = 0; i < causes.size(); ++i) {
        if (i > 0) s += "; ";
        if (!causes[i].field.empty()) s += causes[i].field + ": ";
        s += causes[i].message;
      }
      s += ']';
    }
  }
  if (retry_after_seconds.has_value()) {
    s += " (retry after " + std::to_string(*retry_after_seconds) + "s)";
  }
  return s;
}

Status KubeError::ToStatus() const {
  return Status(local_code.value_or(StatusCodeForReason(reason)), Describe());
}

KubeError LocalError(Reason reason, std::string message) {
  KubeError e;
  e.reason = reason;
  e.message = std::move(message);
  return e;
}

KubeError LocalError(const Status& status) {
  KubeError e;
  e.reason = Reason::kUnknown;
  e.message = status.message();
  e.local_code = status.code();
  return e;
}

}  // namespace npc::kube
