#include "agent/flow_table.h"

#include <algorithm>
#include <functional>

namespace npc::agent {
namespace {

std::string_view Group(std::string_view api_version) {
  const size_t slash = api_version.find('/');
  return slash == std::string_view::npos ? std::string_view() : api_version.substr(0, slash);
}

size_t Mix(size_t h, size_t v) {
  return h ^ (v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2));
}

int64_t Seconds(WallTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
WallTime FromSeconds(int64_t s) {
  return WallTime(std::chrono::seconds(s));
}

constexpr std::string_view kServiceKind = "Service";

}  // namespace

size_t FlowTable::NameKeyHash::operator()(const NameKey& k) const {
  std::hash<std::string_view> h;
  return Mix(Mix(Mix(h(k.a), h(k.b)), h(k.c)), h(k.d));
}

size_t FlowTable::ServerKeyHash::operator()(const ServerKey& k) const {
  size_t h = IpAddrHash{}(k.address);
  h = Mix(h, (size_t{k.workload} << 32) | k.service);
  h = Mix(h, (size_t{k.port} << 24) | (size_t{k.service_port} << 8) |
                 (static_cast<size_t>(k.type) << 4) | static_cast<size_t>(k.protocol));
  return h;
}

uint32_t FlowTable::Names::Acquire(const NameKey& key, const Name& value) {
  if (auto it = index_.find(key); it != index_.end()) {
    entries_[it->second].refs++;
    return it->second;
  }
  uint32_t id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
    entries_[id] = value;
  } else {
    id = static_cast<uint32_t>(entries_.size());
    entries_.push_back(value);
  }
  entries_[id].refs = 1;
  index_.emplace(KeyOf(id), id);
  return id;
}

std::optional<uint32_t> FlowTable::Names::Find(const NameKey& key) const {
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

FlowTable::NameKey FlowTable::Names::KeyOf(uint32_t id) const {
  const Name& n = entries_[id];
  return {Group(n.api_version), n.kind, n.ns, n.name};
}

void FlowTable::Names::Release(uint32_t id) {
  Name& n = entries_[id];
  if (n.refs == 0 || --n.refs > 0) return;
  index_.erase(KeyOf(id));
  n = Name{};
  free_.push_back(id);
}

FlowTable::FlowTable(Options options) : options_(options) {}

FlowTable::NameKey FlowTable::WorkloadKey(const WorkloadView& w) {
  return {Group(w.api_version), w.kind, w.ns, w.name};
}

std::optional<FlowTable::ServerKey> FlowTable::KeyOf(const ServerView& s, bool acquire) {
  ServerKey k;
  k.type = s.type;
  k.protocol = s.protocol;
  k.port = s.port;
  if (s.type == PeerType::kExternal) {
    k.address = s.address;
  } else {
    const NameKey nk = WorkloadKey(s.workload);
    if (acquire) {
      k.workload = names_.Acquire(nk, Name{std::string(s.workload.api_version),
                                           std::string(s.workload.kind),
                                           std::string(s.workload.ns),
                                           std::string(s.workload.name),
                                           {},
                                           0});
    } else if (auto id = names_.Find(nk)) {
      k.workload = *id;
    } else {
      return std::nullopt;
    }
  }
  if (s.service) {
    const NameKey sk{"", kServiceKind, s.service->ns, s.service->name};
    std::optional<uint32_t> id;
    if (acquire) {
      id = names_.Acquire(sk, Name{"v1",
                                   std::string(kServiceKind),
                                   std::string(s.service->ns),
                                   std::string(s.service->name),
                                   {},
                                   0});
    } else {
      id = names_.Find(sk);
    }
    if (!id) {
      if (acquire) ReleaseKey(k);
      return std::nullopt;
    }
    k.service = *id + 1;
    k.service_port = s.service->port;
  }
  return k;
}

void FlowTable::ReleaseKey(const ServerKey& k) {
  if (k.type == PeerType::kWorkload) names_.Release(k.workload);
  if (k.service != 0) names_.Release(k.service - 1);
}

FlowTable::Client* FlowTable::FindClient(const WorkloadView& client) {
  auto id = names_.Find(WorkloadKey(client));
  if (!id) return nullptr;
  auto it = clients_.find(*id);
  return it == clients_.end() ? nullptr : &it->second;
}

const FlowTable::Client* FlowTable::FindClient(const WorkloadView& client) const {
  return const_cast<FlowTable*>(this)->FindClient(client);
}

FlowTable::Client& FlowTable::ClientFor(const WorkloadView& client) {
  if (Client* c = FindClient(client)) {
    // The uid of a workload recreated under the same name.
    if (!client.uid.empty() && names_.Get(c->workload).uid != client.uid) {
      names_.GetMutable(c->workload).uid = std::string(client.uid);
    }
    return *c;
  }
  const uint32_t id = names_.Acquire(WorkloadKey(client), Name{std::string(client.api_version),
                                                               std::string(client.kind),
                                                               std::string(client.ns),
                                                               std::string(client.name),
                                                               {},
                                                               0});
  names_.GetMutable(id).uid = std::string(client.uid);
  Client& c = clients_[id];
  c.workload = id;
  return c;
}

FlowTable::AddResult FlowTable::Add(const WorkloadView& client, const ServerView& server,
                                    WallTime now, uint64_t connections) {
  Client& c = ClientFor(client);
  const int64_t t = Seconds(now);
  if (auto key = KeyOf(server, /*acquire=*/false)) {
    if (auto it = c.flows.find(*key); it != c.flows.end()) {
      it->second.count += connections;
      it->second.last = std::max(it->second.last, t);
      c.dirty = true;
      return AddResult::kCounted;
    }
  }
  if (flows_ >= options_.max_flows || c.flows.size() >= options_.max_flows_per_workload) {
    c.dropped += connections;
    c.dirty = true;
    return flows_ >= options_.max_flows ? AddResult::kDroppedMaxFlows
                                        : AddResult::kDroppedPerWorkload;
  }
  std::optional<ServerKey> key = KeyOf(server, /*acquire=*/true);
  if (!key) return AddResult::kDroppedMaxFlows;  // cannot happen: acquire always interns
  c.flows.emplace(*key, Stats{connections, t, t, epoch_});
  ++flows_;
  c.dirty = true;
  return AddResult::kNew;
}

bool FlowTable::Contains(const WorkloadView& client, const ServerView& server) const {
  const Client* c = FindClient(client);
  if (c == nullptr) return false;
  auto key = const_cast<FlowTable*>(this)->KeyOf(server, /*acquire=*/false);
  return key && c->flows.contains(*key);
}

bool FlowTable::KnownBefore(const WorkloadView& client, const ServerView& server,
                            uint32_t epoch) const {
  const Client* c = FindClient(client);
  if (c == nullptr) return false;
  auto key = const_cast<FlowTable*>(this)->KeyOf(server, /*acquire=*/false);
  if (!key) return false;
  auto it = c->flows.find(*key);
  return it != c->flows.end() && it->second.epoch < epoch;
}

std::optional<WallTime> FlowTable::LoadedUntil(const WorkloadView& client) const {
  const Client* c = FindClient(client);
  return c == nullptr ? std::nullopt : c->loaded_until;
}

size_t FlowTable::Load(const observedflows::ObservedFlows& object,
                       const observedflows::NodeReport& mine, Clock::TimePoint steady_now,
                       WallTime wall_now) {
  const auto& w = object.workload;
  Client& c = ClientFor({w.api_version, w.kind, object.ns, w.name, w.uid});
  c.loaded_until = mine.observed_until;
  c.dropped = mine.dropped_connections;
  // The last write was at observedUntil: the interval runs from there.
  c.attempted = true;
  c.last_attempt = steady_now - std::max(wall_now - mine.observed_until, WallTime::duration(0));
  size_t over = 0;
  for (const observedflows::Flow& f : mine.flows) {
    ServerView s;
    s.type = f.server.type;
    s.protocol = f.protocol;
    s.port = static_cast<uint16_t>(f.port);
    if (f.server.type == PeerType::kExternal) {
      auto ip = IpAddr::Parse(f.server.address);
      if (!ip) {
        ++over;
        continue;
      }
      s.address = *ip;
    } else {
      const auto& sw = f.server.workload;
      s.workload = {sw.api_version, sw.kind, sw.ns, sw.name, {}};
    }
    if (f.service)
      s.service =
          ServiceHit{f.service->ns, f.service->name, static_cast<uint16_t>(f.service->port)};
    if (auto key = KeyOf(s, false); key && c.flows.contains(*key)) {
      Stats& st = c.flows[*key];  // a duplicate entry: merge
      st.count += f.count;
      continue;
    }
    if (flows_ >= options_.max_flows || c.flows.size() >= options_.max_flows_per_workload) {
      ++over;
      c.dropped += f.count;
      continue;
    }
    std::optional<ServerKey> key = KeyOf(s, true);
    c.flows.emplace(*key, Stats{f.count, Seconds(f.first_seen), Seconds(f.last_seen), epoch_});
    ++flows_;
  }
  if (over > 0) c.dirty = true;
  return over;
}

size_t FlowTable::Forget(WallTime before) {
  const int64_t cut = Seconds(before);
  size_t removed = 0;
  // Clients whose last flow went and whose empty entry was written: gone too.
  std::erase_if(clients_, [&](const auto& item) {
    const Client& c = item.second;
    if (!c.flows.empty() || c.dirty) return false;
    names_.Release(c.workload);
    return true;
  });
  for (auto& [id, c] : clients_) {
    for (auto it = c.flows.begin(); it != c.flows.end();) {
      if (it->second.last < cut) {
        ReleaseKey(it->first);
        it = c.flows.erase(it);
        --flows_;
        ++removed;
        c.dirty = true;
      } else {
        ++it;
      }
    }
  }
  return removed;
}

observedflows::Flow FlowTable::ToFlow(const ServerKey& k, const Stats& s) const {
  observedflows::Flow f;
  f.server.type = k.type;
  if (k.type == PeerType::kExternal) {
    f.server.address = k.address.ToString();
  } else {
    const Name& n = names_.Get(k.workload);
    f.server.workload = {n.api_version, n.kind, n.ns, n.name, {}};
  }
  if (k.service != 0) {
    const Name& n = names_.Get(k.service - 1);
    f.service = observedflows::ServiceRef{n.ns, n.name, k.service_port};
  }
  f.port = k.port;
  f.protocol = k.protocol;
  f.count = s.count;
  f.first_seen = FromSeconds(s.first);
  f.last_seen = FromSeconds(s.last);
  return f;
}

std::vector<FlowTable::Report> FlowTable::TakeDue(Clock::TimePoint now, Clock::Duration interval,
                                                  WallTime wall_now, std::string_view node) {
  std::vector<Report> out;
  for (auto& [id, c] : clients_) {
    if (!c.dirty) continue;
    if (interval.count() > 0 && c.attempted && now - c.last_attempt < interval) continue;
    Report r;
    r.client_id = id;
    const Name& n = names_.Get(c.workload);
    r.client = {n.api_version, n.kind, n.ns, n.name, n.uid};
    r.report.node = std::string(node);
    r.report.observed_until = wall_now;
    r.report.dropped_connections = c.dropped;
    r.report.flows.reserve(c.flows.size());
    for (const auto& [k, s] : c.flows) r.report.flows.push_back(ToFlow(k, s));
    // A stable order: the same flows give the same object.
    std::sort(r.report.flows.begin(), r.report.flows.end(),
              [](const observedflows::Flow& a, const observedflows::Flow& b) {
                auto key = [](const observedflows::Flow& f) {
                  return std::make_tuple(
                      f.server.type, std::cref(f.server.workload.ns),
                      std::cref(f.server.workload.kind), std::cref(f.server.workload.name),
                      std::cref(f.server.address), f.port, f.protocol,
                      f.service ? f.service->ns : std::string(),
                      f.service ? f.service->name : std::string(), f.service ? f.service->port : 0);
                };
                return key(a) < key(b);
              });
    c.dirty = false;
    c.attempted = true;
    c.last_attempt = now;
    out.push_back(std::move(r));
  }
  return out;
}

void FlowTable::Failed(uint32_t client_id) {
  auto it = clients_.find(client_id);
  if (it != clients_.end()) it->second.dirty = true;
}

size_t FlowTable::dirty_clients() const {
  size_t n = 0;
  for (const auto& [id, c] : clients_) n += c.dirty;
  return n;
}

}  // namespace npc::agent
