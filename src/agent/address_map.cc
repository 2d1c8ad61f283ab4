#include "agent/address_map.h"

#include <netinet/in.h>

#include <algorithm>
#include <mutex>

#include "observedflows/observed_flows.h"

namespace npc::agent {
namespace {

std::string_view Group(std::string_view api_version) {
  const size_t slash = api_version.find('/');
  return slash == std::string_view::npos ? std::string_view() : api_version.substr(0, slash);
}

std::string PodKey(std::string_view ns, std::string_view name) {
  std::string k;
  k.reserve(ns.size() + name.size() + 1);
  k.append(ns).append("/").append(name);
  return k;
}

uint8_t ProtocolNumber(std::string_view p) {
  if (p == "UDP") return IPPROTO_UDP;
  if (p == "SCTP") return IPPROTO_SCTP;
  return IPPROTO_TCP;
}

constexpr std::string_view kApiVersionOf[] = {"apps/v1", "batch/v1"};

}  // namespace

AddressMap::AddressMap(std::string node_name) : node_(std::move(node_name)) {}

std::string AddressMap::OwnerKey(std::string_view api_version, std::string_view kind,
                                 std::string_view ns, std::string_view name) {
  std::string k;
  const std::string_view group = Group(api_version);
  k.reserve(group.size() + kind.size() + ns.size() + name.size() + 3);
  k.append(group).append("/").append(kind).append("/").append(ns).append("/").append(name);
  return k;
}

std::shared_ptr<AddressMap::Owner> AddressMap::InternOwner(const OwnerReference& ref,
                                                           std::string_view ns) {
  const std::string key = OwnerKey(ref.api_version, ref.kind, ns, ref.name);
  auto [it, added] = owners_.try_emplace(key);
  if (added) {
    auto o = std::make_shared<Owner>();
    o->api_version = ref.api_version;
    o->kind = ref.kind;
    o->ns = std::string(ns);
    o->name = ref.name;
    o->uid = ref.uid;
    const std::string_view g = Group(ref.api_version);
    o->is_controller_kind =
        (g == "apps" && ref.kind == "ReplicaSet") || (g == "batch" && ref.kind == "Job");
    it->second = std::move(o);
  } else if (!ref.uid.empty() && it->second->uid != ref.uid) {
    it->second->uid = ref.uid;  // recreated under the same name
  }
  return it->second;
}

void AddressMap::ReleaseOwner(std::shared_ptr<Owner>& owner) {
  if (!owner) return;
  const std::string key = OwnerKey(owner->api_version, owner->kind, owner->ns, owner->name);
  owner.reset();
  auto it = owners_.find(key);
  // Only the table holds it, and no watch says it exists: forget it.
  if (it == owners_.end() || it->second.use_count() != 1 || it->second->known) return;
  std::shared_ptr<Owner> parent = std::move(it->second->parent);
  owners_.erase(it);
  ReleaseOwner(parent);
}

void AddressMap::Unindex(Pod& pod) {
  for (const IpAddr& ip : pod.ips) {
    auto it = by_ip_.find(ip);
    if (it == by_ip_.end()) continue;
    std::erase(it->second, &pod);
    if (it->second.empty()) by_ip_.erase(it);
  }
}

void AddressMap::UpsertPod(const decode::Meta& meta, const decode::PodMeta& pod) {
  std::unique_lock lock(mu_);
  const std::string key = PodKey(meta.ns, meta.name);
  const bool mapped = !pod.host_network && !pod.terminated && !pod.ips.empty();
  auto it = pods_.find(key);
  if (!mapped) {
    if (it == pods_.end()) return;
    Unindex(it->second);
    ReleaseOwner(it->second.owner);
    pods_.erase(it);
    return;
  }
  if (it == pods_.end()) {
    it = pods_.emplace(key, Pod{}).first;
    it->second.ns = meta.ns;
    it->second.name = meta.name;
  }
  Pod& p = it->second;
  // The owner: shared with the pod's siblings.
  std::shared_ptr<Owner> owner;
  if (meta.controller) owner = InternOwner(*meta.controller, meta.ns);
  if (owner != p.owner) {
    std::swap(owner, p.owner);
    ReleaseOwner(owner);  // the previous one
  }
  p.uid = p.owner ? std::string() : meta.uid;
  p.local = pod.node_name == node_;
  if (auto t = observedflows::ParseTime(meta.creation_timestamp); t.ok()) {
    p.created = std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count();
  }
  std::vector<IpAddr> ips;
  for (const std::string& s : pod.ips) {
    if (auto ip = IpAddr::Parse(s)) ips.push_back(*ip);
  }
  if (ips != p.ips) {
    Unindex(p);
    p.ips = std::move(ips);
    for (const IpAddr& ip : p.ips) by_ip_[ip].push_back(&p);
  }
}

void AddressMap::DeletePod(std::string_view ns, std::string_view name) {
  std::unique_lock lock(mu_);
  auto it = pods_.find(PodKey(ns, name));
  if (it == pods_.end()) return;
  Unindex(it->second);
  ReleaseOwner(it->second.owner);
  pods_.erase(it);
}

void AddressMap::UpsertController(std::string_view kind, const decode::Meta& meta) {
  std::unique_lock lock(mu_);
  OwnerReference self{std::string(kApiVersionOf[kind == "Job" ? 1 : 0]), std::string(kind),
                      meta.name, meta.uid};
  std::shared_ptr<Owner> node = InternOwner(self, meta.ns);
  node->known = true;
  std::shared_ptr<Owner> parent;
  if (meta.controller) parent = InternOwner(*meta.controller, meta.ns);
  if (parent != node->parent) {
    std::swap(parent, node->parent);
    ReleaseOwner(parent);
  }
}

void AddressMap::DeleteController(std::string_view kind, std::string_view ns,
                                  std::string_view name) {
  std::unique_lock lock(mu_);
  auto it = owners_.find(OwnerKey(kApiVersionOf[kind == "Job" ? 1 : 0], kind, ns, name));
  if (it == owners_.end()) return;
  std::shared_ptr<Owner> node = it->second;
  node->known = false;
  std::shared_ptr<Owner> parent = std::move(node->parent);
  ReleaseOwner(parent);
  ReleaseOwner(node);
}

void AddressMap::UpsertService(const Service& service) {
  std::unique_lock lock(mu_);
  const std::string key = PodKey(service.ns, service.name);
  auto it = services_.find(key);
  if (it != services_.end()) {
    for (const SvcKey& k : it->second.keys) {
      auto i = by_cluster_ip_.find(k);
      if (i != by_cluster_ip_.end() && i->second == &it->second) by_cluster_ip_.erase(i);
    }
  } else {
    it = services_.emplace(key, Svc{service.ns, service.name, {}}).first;
  }
  Svc& s = it->second;
  s.keys.clear();
  for (const std::string& text : service.cluster_ips) {
    auto ip = IpAddr::Parse(text);
    if (!ip) continue;
    for (const ServicePort& p : service.ports) {
      if (p.port <= 0 || p.port > 65535) continue;
      s.keys.push_back({*ip, static_cast<uint16_t>(p.port), ProtocolNumber(p.protocol)});
    }
  }
  if (s.keys.empty()) {
    services_.erase(it);
    return;
  }
  for (const SvcKey& k : s.keys) by_cluster_ip_[k] = &s;
}

void AddressMap::DeleteService(std::string_view ns, std::string_view name) {
  std::unique_lock lock(mu_);
  auto it = services_.find(PodKey(ns, name));
  if (it == services_.end()) return;
  for (const SvcKey& k : it->second.keys) {
    auto i = by_cluster_ip_.find(k);
    if (i != by_cluster_ip_.end() && i->second == &it->second) by_cluster_ip_.erase(i);
  }
  services_.erase(it);
}

PodHit AddressMap::Hit(const Pod& pod) const {
  PodHit h;
  h.ns = pod.ns;
  h.name = pod.name;
  h.local = pod.local;
  h.created = pod.created;
  const Owner* w = pod.owner.get();
  if (w == nullptr) {
    h.workload = {"v1", "Pod", pod.ns, pod.name, pod.uid};
    return h;
  }
  if (w->is_controller_kind) {
    if (!w->known) {
      h.owner_pending = true;
    } else if (w->parent) {
      w = w->parent.get();
    }
  }
  h.workload = {w->api_version, w->kind, w->ns, w->name, w->uid};
  return h;
}

std::optional<PodHit> AddressMap::View::FindPod(const IpAddr& ip) const {
  auto it = map_.by_ip_.find(ip);
  if (it == map_.by_ip_.end() || it->second.empty()) return std::nullopt;
  return map_.Hit(*it->second.back());
}

std::optional<ServiceHit> AddressMap::View::FindService(const IpAddr& ip, uint16_t port,
                                                        uint8_t protocol) const {
  auto it = map_.by_cluster_ip_.find(SvcKey{ip, port, protocol});
  if (it == map_.by_cluster_ip_.end()) return std::nullopt;
  return ServiceHit{it->second->ns, it->second->name, port};
}

AddressMap::Sizes AddressMap::sizes() const {
  std::shared_lock lock(mu_);
  return {pods_.size(), by_ip_.size(), owners_.size(), services_.size()};
}

}  // namespace npc::agent
