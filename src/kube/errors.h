// Kubernetes API errors as values.
//
// The API server answers a failed request with a `Status` object
// ({"kind":"Status","status":"Failure","reason":"NotFound","code":404,...}).
// ParseStatus turns it (or whatever body came back) into a KubeError: the
// reason the caller acts on, the HTTP code, the field causes of an Invalid
// object and the server's Retry-After. KubeError::ToStatus maps it onto
// npc::StatusCode so code that only needs the coarse kind can use Status.
//
//   KubeError e = ParseStatus(409, body, std::nullopt);
//   if (e.reason == Reason::kConflict) { /* re-read and retry */ }
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/status.h"

namespace npc::kube {

// metav1.StatusReason, plus the failures that never reach the server.
enum class Reason {
  kUnknown,
  kBadRequest,
  kUnauthorized,
  kForbidden,
  kNotFound,
  kAlreadyExists,
  kConflict,
  kGone,     // 410 "Gone" (older servers)
  kExpired,  // 410 "Expired": resourceVersion too old
  kInvalid,  // 422, see causes
  kMethodNotAllowed,
  kNotAcceptable,
  kUnsupportedMediaType,
  kRequestEntityTooLarge,
  kTooManyRequests,     // 429
  kServerTimeout,       // 500/504 "the server could not finish in time"
  kTimeout,             // 504 "Timeout"
  kInternalError,       // 500
  kServiceUnavailable,  // 503
  kTransport,           // connection refused, reset, DNS, ...: never reached the server
  kTls,                 // TLS handshake or certificate verification failed
  kCancelled,           // the caller stopped the request
  kDeadline,            // the client-side timeout elapsed
};

std::string_view ReasonName(Reason r);

struct StatusCause {
  std::string reason;  // "FieldValueRequired"
  std::string message;
  std::string field;  // "spec.podSelector"
};

struct KubeError {
  Reason reason = Reason::kUnknown;
  int http_code = 0;  // 0 when the request never got an answer
  std::string message;
  std::vector<StatusCause> causes;
  std::optional<int> retry_after_seconds;  // from the header or details.retryAfterSeconds
  std::string kind;                        // details.kind
  std::string name;                        // details.name
  // Set for failures raised on this side (a watch handler's error): ToStatus keeps it.
  std::optional<StatusCode> local_code;

  // True for 410 with reason Expired or Gone: list again, then watch from the new version.
  [[nodiscard]] bool IsExpired() const {
    return reason == Reason::kExpired || reason == Reason::kGone;
  }
  // "Invalid (422): NetworkPolicy.networking.k8s.io \"x\" is invalid: ... [spec.x: Required value]"
  [[nodiscard]] std::string Describe() const;
  // The npc::Status a caller without Kubernetes knowledge acts on.
  [[nodiscard]] Status ToStatus() const;
};

// Either a value or a KubeError; works with NPC_ASSIGN_OR_RETURN like StatusOr.
template <typename T>
class [[nodiscard]] KubeResult {
 public:
  KubeResult(T value) : v_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  KubeResult(KubeError error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  Status status() const { return ok() ? Status() : error().ToStatus(); }
  const KubeError& error() const { return std::get<1>(v_); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, KubeError> v_;
};

// A KubeError for a failure on this side of the wire.
[[nodiscard]] KubeError LocalError(Reason reason, std::string message);
[[nodiscard]] KubeError LocalError(const Status& status);

// Builds a KubeError from an HTTP error answer. A body that is a metav1.Status
// supplies reason, message, causes and details; any other body (an HTML error
// page from a proxy, empty) falls back to the HTTP code, with the body's first
// 200 bytes as message. `retry_after_header` is the Retry-After header in seconds.
[[nodiscard]] KubeError ParseStatus(int http_code, std::string_view body,
                                    std::optional<int> retry_after_header);

// The reason implied by an HTTP code when the body says nothing.
[[nodiscard]] Reason ReasonForHttpCode(int http_code);
[[nodiscard]] StatusCode StatusCodeForReason(Reason r);

// Parses a Retry-After header value: delta seconds only (HTTP dates are ignored,
// the API server never sends them).
[[nodiscard]] std::optional<int> ParseRetryAfter(std::string_view value);

}  // namespace npc::kube
