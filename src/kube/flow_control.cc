#include "kube/flow_control.h"

#include <algorithm>

namespace npc::kube {

TokenBucket::TokenBucket(RateLimit limit, const TimeSource& time, WaitHook hook)
    : limit_(limit),
      time_(time),
      hook_(std::move(hook)),
      tokens_(std::max(1, limit.burst)),
      last_(time.Now()) {}

TokenBucket::Duration TokenBucket::Reserve() {
  if (limit_.qps <= 0) return Duration::zero();
  std::lock_guard<std::mutex> l(mu_);
  TimeSource::TimePoint now = time_.Now();
  if (now > last_) {
    double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min<double>(std::max(1, limit_.burst), tokens_ + elapsed * limit_.qps);
    last_ = now;
  }
  tokens_ -= 1;
  if (tokens_ >= 0) return Duration::zero();
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(-tokens_ / limit_.qps));
}

TokenBucket::Duration TokenBucket::Wait() {
  Duration d = Reserve();
  if (d > Duration::zero()) time_.SleepFor(d);
  if (hook_) hook_(d);
  return d;
}

std::optional<std::chrono::milliseconds> RetryPolicy::NextDelay(int retry, const KubeError& e,
                                                                Idempotency idem) const {
  if (retry > max_retries) return std::nullopt;
  bool retriable = false;
  switch (e.reason) {
    case Reason::kTooManyRequests:
      retriable = true;  // rejected before any processing
      break;
    case Reason::kServerTimeout:
    case Reason::kTimeout:
    case Reason::kInternalError:
    case Reason::kServiceUnavailable:
      // Only when the server asked for it: a plain 500 is usually a real bug.
      retriable = idem == Idempotency::kSafe && e.retry_after_seconds.has_value();
      break;
    case Reason::kTransport: retriable = idem == Idempotency::kSafe; break;
    default: break;
  }
  if (!retriable) return std::nullopt;
  std::chrono::milliseconds d;
  if (e.retry_after_seconds.has_value()) {
    d = std::chrono::seconds(std::max(1, *e.retry_after_seconds));
  } else {
    d = initial_backoff * (1LL << std::min(retry - 1, 16));
  }
  return std::min(d, max_delay);
}

}  // namespace npc::kube
