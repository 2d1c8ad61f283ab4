// Status and StatusOr<T>: errors as values.
//
// Every fallible operation that crosses a module boundary returns a Status (or
// a StatusOr<T> carrying either a value or an error). Exceptions never cross a
// module boundary. Codes follow the kinds of failure a caller acts on
// differently; Kubernetes API errors map onto them (see kube/errors.h).
//
//   StatusOr<Config> c = LoadConfig(path);
//   if (!c.ok()) return c.status();
//   Use(*c);
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace npc {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // bad input: a file, object or field the caller named
  kNotFound,
  kAlreadyExists,
  kConflict,          // optimistic-concurrency failure: re-read and retry
  kPermissionDenied,  // 403
  kUnauthenticated,   // 401
  kExpired,           // 410: resourceVersion too old, list again
  kResourceExhausted, // 429
  kUnavailable,       // transport failure, 5xx: may succeed if retried
  kDeadlineExceeded,
  kCancelled,
  kInternal,
  kUnimplemented,
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NotFound: deployments.apps \"web\" not found"
  std::string ToString() const;

  // Returns a copy whose message is "context: message".
  Status WithContext(std::string_view context) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }

template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  StatusOr(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok() && "StatusOr built from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace npc

#define NPC_CONCAT_INNER(a, b) a##b
#define NPC_CONCAT(a, b) NPC_CONCAT_INNER(a, b)

// Returns from the calling function when `expr` (a Status) is not OK.
#define NPC_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::npc::Status npc_status_ = (expr);        \
    if (!npc_status_.ok()) return npc_status_; \
  } while (0)

// NPC_ASSIGN_OR_RETURN(auto x, Foo()); declares x from a StatusOr or returns its error.
#define NPC_ASSIGN_OR_RETURN(lhs, expr) \
  NPC_ASSIGN_OR_RETURN_IMPL(NPC_CONCAT(npc_statusor_, __LINE__), lhs, expr)
#define NPC_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
