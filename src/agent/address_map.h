// AddressMap: which pod has an address, which workload runs that pod, and
// which Service a ClusterIP:port is. Fed by watches of Pods (every node: a
// server may run anywhere), ReplicaSets and Jobs (metadata only: their
// owners), and Services; read by attribution, once per batch of events.
//
//   AddressMap map("node-a");
//   map.UpsertPod(meta, pod_meta);                  // informer threads
//   {
//     AddressMap::View v = map.Read();              // a shared lock
//     if (auto p = v.FindPod(ip)) ... p->workload.kind, p->local
//     if (auto s = v.FindService(ip, 80, IPPROTO_TCP)) ... s->name
//   }
//
// A pod's workload follows DESIGN.md section 1: its controlling owner; for a
// ReplicaSet or Job, that one's controlling owner when it has one (Deployment,
// CronJob, an operator's Rollout); a pod without a controlling owner is its
// own workload (kind Pod). A ReplicaSet or Job not seen yet makes the lookup
// say `owner_pending` (its workload is then named after it).
//
// Kept per pod: its addresses, namespace and name, its uid (bare pods only),
// its creation time (a connection that started earlier was another pod's,
// whose address this one got), whether it runs on this node, and a pointer
// to its owner, which the pods of one owner share. Labels are not kept: attribution does not need
// them (the controller has its own pod cache). hostNetwork pods are not mapped (their address is
// the node's), nor pods that finished (their address is free).
//
// Thread-safety: writers take an exclusive lock, a View a shared one; string
// views handed out by a View are valid while it lives.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/ip.h"
#include "decode/decode.h"
#include "model/model.h"

namespace npc::agent {

// A workload as attribution sees it; views into the map (or the pod).
struct WorkloadView {
  std::string_view api_version;
  std::string_view kind;
  std::string_view ns;
  std::string_view name;
  std::string_view uid;
};

struct PodHit {
  std::string_view ns;
  std::string_view name;
  WorkloadView workload;
  bool local = false;          // runs on this node
  bool owner_pending = false;  // its ReplicaSet/Job is not known (yet)
  int64_t created = 0;         // metadata.creationTimestamp, seconds since the epoch (0: unknown)
};

struct ServiceHit {
  std::string_view ns;
  std::string_view name;
  uint16_t port = 0;
};

class AddressMap {
 public:
  explicit AddressMap(std::string node_name);
  AddressMap(const AddressMap&) = delete;
  AddressMap& operator=(const AddressMap&) = delete;

  // Pods (decoded as PodMeta from whole objects).
  void UpsertPod(const decode::Meta& meta, const decode::PodMeta& pod);
  void DeletePod(std::string_view ns, std::string_view name);
  // ReplicaSets and Jobs: `kind` "ReplicaSet" or "Job"; meta.controller is
  // their owner.
  void UpsertController(std::string_view kind, const decode::Meta& meta);
  void DeleteController(std::string_view kind, std::string_view ns, std::string_view name);
  void UpsertService(const Service& service);
  void DeleteService(std::string_view ns, std::string_view name);

  class View {
   public:
    // The pod with this address (the most recently added when two claim it).
    std::optional<PodHit> FindPod(const IpAddr& ip) const;
    // The Service with this ClusterIP and port (`protocol`: IPPROTO_*).
    std::optional<ServiceHit> FindService(const IpAddr& ip, uint16_t port, uint8_t protocol) const;

   private:
    friend class AddressMap;
    explicit View(const AddressMap& m) : map_(m), lock_(m.mu_) {}
    const AddressMap& map_;
    std::shared_lock<std::shared_mutex> lock_;
  };
  View Read() const { return View(*this); }

  struct Sizes {
    size_t pods = 0;       // mapped pods
    size_t addresses = 0;  // mapped addresses
    size_t owners = 0;     // owner records (shared by pods)
    size_t services = 0;
  };
  Sizes sizes() const;

 private:
  // A controlling owner, shared by the pods (or ReplicaSets/Jobs) it runs.
  struct Owner {
    std::string api_version, kind, ns, name, uid;
    bool is_controller_kind = false;  // ReplicaSet (apps) or Job (batch)
    bool known = false;               // such a ReplicaSet/Job was seen
    std::shared_ptr<Owner> parent;    // its controlling owner, when known
  };
  struct Pod {
    std::string ns;
    std::string name;
    std::string uid;               // bare pods only (the workload's uid)
    std::shared_ptr<Owner> owner;  // null: a bare pod
    std::vector<IpAddr> ips;
    int64_t created = 0;
    bool local = false;
  };
  struct SvcKey {
    IpAddr ip;
    uint16_t port;
    uint8_t protocol;
    bool operator==(const SvcKey&) const = default;
  };
  struct SvcKeyHash {
    size_t operator()(const SvcKey& k) const {
      return IpAddrHash{}(k.ip) ^ (size_t{k.port} << 8 | k.protocol) * 0x9E3779B97F4A7C15ULL;
    }
  };
  struct Svc {
    std::string ns, name;
    std::vector<SvcKey> keys;  // ClusterIP x port x protocol
  };

  static std::string OwnerKey(std::string_view api_version, std::string_view kind,
                              std::string_view ns, std::string_view name);
  std::shared_ptr<Owner> InternOwner(const OwnerReference& ref, std::string_view ns);
  void ReleaseOwner(std::shared_ptr<Owner>& owner);
  void Unindex(Pod& pod);
  PodHit Hit(const Pod& pod) const;

  const std::string node_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, Pod> pods_;  // "ns/name"
  std::unordered_map<IpAddr, std::vector<const Pod*>, IpAddrHash> by_ip_;
  std::unordered_map<std::string, std::shared_ptr<Owner>> owners_;  // OwnerKey
  std::unordered_map<std::string, Svc> services_;                   // "ns/name"
  std::unordered_map<SvcKey, const Svc*, SvcKeyHash> by_cluster_ip_;
};

}  // namespace npc::agent
