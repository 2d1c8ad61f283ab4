#include "manager/events.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <ctime>
#include <nlohmann/json.hpp>

namespace npc::manager {
namespace {

// MicroTime, as the API wants eventTime: 2006-01-02T15:04:05.000000Z.
std::string MicroTimeNow() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()) %
                std::chrono::seconds(1);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[64];
  std::snprintf(out, sizeof(out), "%s.%06lldZ", buf, static_cast<long long>(micros.count()));
  return out;
}

// An Event's name, as client-go makes it: "<object>.<unix nanoseconds, hex>"
// (events.k8s.io validates generateName as a name, so a trailing '.' fails).
std::string EventName(const OwnerReference& r) {
  std::string s;
  for (char c : r.name) {
    s += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.')
             ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
             : '-';
  }
  if (s.size() > 200) s.resize(200);
  while (!s.empty() && !std::isalnum(static_cast<unsigned char>(s.back()))) s.pop_back();
  static std::atomic<uint64_t> seq{0};
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count() +
               static_cast<int64_t>(seq.fetch_add(1));  // unique within a nanosecond too
  char hex[24];
  std::snprintf(hex, sizeof(hex), "%llx", static_cast<unsigned long long>(nanos));
  return (s.empty() ? std::string("object") : s) + "." + hex;
}

}  // namespace

EventRecorder::EventRecorder(kube::Client& client, EventRecorderOptions options, const Clock& clock)
    : client_(client),
      options_(std::move(options)),
      clock_(clock),
      tokens_(options_.burst),
      last_refill_(clock.Now()) {
  thread_ = std::thread([this] { Loop(); });
}

EventRecorder::~EventRecorder() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
    cv_.SignalAll();
  }
  thread_.join();
}

bool EventRecorder::TakeToken() {
  auto now = clock_.Now();
  std::chrono::duration<double> elapsed = now - last_refill_;
  last_refill_ = now;
  tokens_ = std::min<double>(options_.burst, tokens_ + elapsed.count() * options_.qps);
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

void EventRecorder::Record(const std::string& ns, const OwnerReference& regarding,
                           const std::string& type, const std::string& reason,
                           const std::string& action, const std::string& note) {
  MutexLock lock(mu_);
  const auto now = clock_.Now();
  std::string key = ns + "/" + regarding.kind + "/" + regarding.name + "|" + reason + "|" + note;
  auto it = recent_.find(key);
  if (it != recent_.end() && now - it->second < options_.dedupe_window) return;
  if (pending_.size() >= options_.max_pending || !TakeToken()) {
    dropped_++;
    return;
  }
  recent_[key] = now;
  if (recent_.size() > 10000) {  // forget the oldest half of the window's memory
    for (auto r = recent_.begin(); r != recent_.end();) {
      r = now - r->second >= options_.dedupe_window / 2 ? recent_.erase(r) : std::next(r);
    }
  }
  pending_.push_back({ns, regarding, type, reason, action, note});
  cv_.Signal();
}

void EventRecorder::Loop() {
  while (true) {
    Pending e;
    {
      MutexLock lock(mu_);
      while (!stopping_ && pending_.empty()) cv_.Wait(mu_);
      if (stopping_) return;
      e = std::move(pending_.front());
      pending_.pop_front();
    }
    Post(e);
  }
}

void EventRecorder::Post(const Pending& e) {
  std::string note = e.note.size() > 1000 ? e.note.substr(0, 1000) : e.note;
  nlohmann::json ev = {{"apiVersion", "events.k8s.io/v1"},
                       {"kind", "Event"},
                       {"metadata", {{"name", EventName(e.regarding)}, {"namespace", e.ns}}},
                       {"eventTime", MicroTimeNow()},
                       {"reportingController", options_.reporting_controller},
                       {"reportingInstance", options_.reporting_instance},
                       {"action", e.action},
                       {"reason", e.reason},
                       {"type", e.type},
                       {"note", note},
                       {"regarding",
                        {{"apiVersion", e.regarding.api_version},
                         {"kind", e.regarding.kind},
                         {"name", e.regarding.name},
                         {"namespace", e.ns},
                         {"uid", e.regarding.uid}}}};
  auto r = client_.Create(kube::Resource::kEventsV1, e.ns, ev.dump());
  if (!r.ok()) {
    spdlog::warn("{} {}/{}: cannot post Event {}: {}", e.regarding.kind, e.ns, e.regarding.name,
                 e.reason, r.status().ToString());
  }
  MutexLock lock(mu_);
  if (r.ok()) {
    posted_++;
  } else {
    dropped_++;
  }
}

uint64_t EventRecorder::dropped() const {
  MutexLock lock(mu_);
  return dropped_;
}

uint64_t EventRecorder::posted() const {
  MutexLock lock(mu_);
  return posted_;
}

}  // namespace npc::manager
