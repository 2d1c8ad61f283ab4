// Client-side flow control: a token-bucket rate limiter and the retry policy
// for 429 and 5xx answers.
//
// The server's API Priority and Fairness protects it; the limiter is a safety
// net against a runaway loop, so the default is generous (100 qps, burst 200).
// The retry policy follows the server: a 429 (never processed) is retried for
// any request, a 5xx with Retry-After or a transport failure only for requests
// that are safe to repeat; the delay is the server's Retry-After (at least 1 s),
// else a doubling backoff; attempts are bounded.
//
//   TokenBucket limiter({.qps = 100, .burst = 200}, RealTimeSource::Get());
//   limiter.Wait();  // blocks until a token is free
//
// Thread-safety: TokenBucket is safe from any thread; RetryPolicy is a value.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>

#include "kube/errors.h"
#include "kube/time_source.h"

namespace npc::kube {

struct RateLimit {
  double qps = 100;  // <= 0 disables limiting
  int burst = 200;
};

class TokenBucket {
 public:
  using Duration = TimeSource::Duration;
  // Called with the time each Wait spent blocked (zero when a token was free).
  using WaitHook = std::function<void(Duration)>;

  TokenBucket(RateLimit limit, const TimeSource& time, WaitHook hook = nullptr);

  // Takes a token, returning how long the caller must wait before using it
  // (tokens are handed out in order: later callers wait behind earlier ones).
  [[nodiscard]] Duration Reserve();
  // Reserve, then sleep for that long through the TimeSource; reports to the hook.
  Duration Wait();

 private:
  const RateLimit limit_;
  const TimeSource& time_;
  WaitHook hook_;
  std::mutex mu_;
  double tokens_;               // may go negative: tokens promised to waiting callers
  TimeSource::TimePoint last_;  // when tokens_ was last brought up to date
};

// Whether a request may be sent twice without harm.
enum class Idempotency { kSafe, kUnsafe };

struct RetryPolicy {
  int max_retries = 5;
  std::chrono::milliseconds initial_backoff{500};  // without Retry-After
  std::chrono::milliseconds max_delay{30000};      // caps the server's Retry-After too

  // The delay before retry number `retry` (1-based) after `error`, or nullopt
  // when the request must not be retried.
  [[nodiscard]] std::optional<std::chrono::milliseconds> NextDelay(int retry,
                                                                   const KubeError& error,
                                                                   Idempotency idem) const;
};

}  // namespace npc::kube
