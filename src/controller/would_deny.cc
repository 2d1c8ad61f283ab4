#include "controller/would_deny.h"

#include <utility>

namespace npc::controller {

namespace {

int64_t SystemNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FlowKey(const ObservedFlow& f) {
  return f.client.ToString() + "|" + (f.server ? f.server->ToString() : f.address) + "|" +
         std::to_string(f.port) + "/" + f.protocol;
}

}  // namespace

WouldDenyReporter::WouldDenyReporter(WouldDenyOptions options, Judge judge, Model model, Post post)
    : options_([&] {
        if (!options.unix_now) options.unix_now = SystemNow;
        return std::move(options);
      }()),
      judge_(std::move(judge)),
      model_(std::move(model)),
      post_(std::move(post)) {}

WouldDenyReporter::~WouldDenyReporter() {
  Stop();
}

std::string WouldDenyReporter::Note(const synth::WouldDeny& d) {
  const ObservedFlow& f = d.flow;
  std::string note =
      f.client.ToString() + " -> " + d.Server() + " " + std::to_string(f.port) + "/" + f.protocol;
  if (!f.service_name.empty()) note += " (Service " + f.service_ns + "/" + f.service_name + ")";
  note += ": " + synth::DescribeObserved(f) + "; the policies would deny it, missing " + d.missing;
  if (note.size() > 1000) note.resize(1000);  // an Event's note holds 1 kB
  return note;
}

std::vector<ObservedFlow> WouldDenyReporter::Live(const Entry& e, int64_t now) const {
  std::vector<ObservedFlow> live;
  for (const ObservedFlow& f : e.flows) {
    if (f.last_seen >= now - options_.ttl.count()) live.push_back(f);
  }
  return live;
}

void WouldDenyReporter::ToModel(const Entry& e, std::vector<ObservedFlow> live) {
  if (live.empty()) {
    if (model_.remove) model_.remove(e.meta);
    return;
  }
  decode::Object o;
  o.meta = e.meta;
  o.value = decode::ObservedFlowsValue{e.client, std::move(live)};
  if (model_.upsert) model_.upsert(std::move(o));
}

void WouldDenyReporter::Upsert(decode::Object object) {
  const auto* v = std::get_if<decode::ObservedFlowsValue>(&object.value);
  if (!v || options_.mode == ObservedFlowsMode::kOff) return;
  const std::string key = object.meta.ns + "/" + object.meta.name;
  MutexLock lock(mu_);
  Entry& e = objects_[key];
  e.meta = object.meta;
  e.client = v->client;
  e.flows = v->flows;
  dirty_.insert(key);
  if (options_.mode == ObservedFlowsMode::kAllow) {
    // Under the lock, so that the model hears of an object's states in order
    // (the model never calls back).
    std::vector<ObservedFlow> live = Live(e, options_.unix_now());
    e.in_model = live.size();
    ToModel(e, std::move(live));
  }
  cv_.Signal();
}

void WouldDenyReporter::Remove(const decode::Meta& meta) {
  if (meta.kind != "ObservedFlows") return;
  MutexLock lock(mu_);
  auto it = objects_.find(meta.ns + "/" + meta.name);
  if (it == objects_.end()) return;
  if (options_.mode == ObservedFlowsMode::kAllow && model_.remove) model_.remove(meta);
  dirty_.erase(it->first);
  objects_.erase(it);
}

void WouldDenyReporter::SetReady() {
  MutexLock lock(mu_);
  ready_ = true;
  cv_.Signal();
}

size_t WouldDenyReporter::Step(bool all) {
  const int64_t now = options_.unix_now();
  std::vector<std::pair<std::string, std::vector<ObservedFlow>>> todo;
  {
    MutexLock lock(mu_);
    if (!ready_) return 0;
    const bool everything = all || now - last_all_ >= options_.rejudge_period.count();
    if (everything) last_all_ = now;
    for (auto& [key, e] : objects_) {
      if (options_.mode == ObservedFlowsMode::kAllow && everything) {
        // Flows that outlived the TTL since: their edges go.
        std::vector<ObservedFlow> live = Live(e, now);
        if (live.size() != e.in_model) {
          e.in_model = live.size();
          ToModel(e, std::move(live));
        }
      }
      if (everything || dirty_.contains(key)) todo.emplace_back(key, e.flows);
    }
    dirty_.clear();
  }
  // Judged outside the lock: the cache's lock is taken there.
  std::vector<std::pair<std::string, std::vector<synth::WouldDeny>>> judged;
  for (auto& [key, flows] : todo)
    judged.emplace_back(key, judge_ ? judge_(flows) : std::vector<synth::WouldDeny>{});

  std::vector<WouldDenyEvent> events;
  {
    MutexLock lock(mu_);
    for (auto& [key, denied] : judged) {
      auto it = objects_.find(key);
      if (it == objects_.end()) continue;  // gone meanwhile
      for (const synth::WouldDeny& d : denied) {
        const std::string fk = FlowKey(d.flow);
        auto p = posted_.find(fk);
        if (p != posted_.end() && now - p->second < options_.event_period.count()) continue;
        if (p != posted_.end()) {
          p->second = now;
        } else if (posted_.size() < options_.max_events_tracked) {
          posted_.emplace(fk, now);
        } else {
          ++stats_.events_not_tracked;
        }
        events.push_back({it->second.meta.ns, it->second.client, Note(d)});
      }
      it->second.denied = std::move(denied);
    }
    // Forget what is no longer remembered for a reason.
    for (auto p = posted_.begin(); p != posted_.end();) {
      p = now - p->second >= options_.event_period.count() ? posted_.erase(p) : std::next(p);
    }
    stats_.judgements += judged.size();
    stats_.events += events.size();
  }
  for (const WouldDenyEvent& e : events) {
    if (post_) post_(e);
  }
  return events.size();
}

std::vector<synth::WouldDeny> WouldDenyReporter::Denied() const {
  MutexLock lock(mu_);
  std::vector<synth::WouldDeny> out;
  for (const auto& [key, e] : objects_) out.insert(out.end(), e.denied.begin(), e.denied.end());
  return out;
}

WouldDenyStats WouldDenyReporter::Stats() const {
  MutexLock lock(mu_);
  WouldDenyStats s = stats_;
  s.objects = objects_.size();
  for (const auto& [key, e] : objects_) {
    s.flows += e.flows.size();
    s.would_deny += e.denied.size();
  }
  return s;
}

void WouldDenyReporter::Start() {
  MutexLock lock(mu_);
  if (thread_.joinable() || options_.mode == ObservedFlowsMode::kOff) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void WouldDenyReporter::Stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
    cv_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
}

void WouldDenyReporter::Loop() {
  for (;;) {
    {
      MutexLock lock(mu_);
      // Wake for a change (then wait `debounce` for more) or for the rejudge.
      if (!stopping_ && (dirty_.empty() || !ready_)) cv_.WaitFor(mu_, std::chrono::seconds(5));
      if (stopping_) return;
    }
    std::this_thread::sleep_for(options_.debounce);
    Step();
  }
}

}  // namespace npc::controller
