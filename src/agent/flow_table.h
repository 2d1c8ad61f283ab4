// FlowTable: the flows one node's agent has seen, aggregated per client
// workload as (server workload | external address, Service, port, protocol)
// with a count and first/last seen, in bounded memory, and what is due to
// be reported.
//
//   FlowTable t({.max_flows = 20000, .max_flows_per_workload = 500});
//   t.Add(client, server, wall_now);                 // one connection
//   for (auto& r : t.TakeDue(now, 60s, wall_now, "node-a")) {
//     Status s = writer.Write(r.client, r.report);
//     if (!s.ok()) t.Failed(r.client_id);          // due again next interval
//   }
//
// Bounds: at most `max_flows` flows in all, and `max_flows_per_workload` per
// client workload. A connection of a flow that does not fit is not kept; it
// is counted in the client's dropped_connections (reported, so the
// controller knows the list is incomplete) and AddResult says why. Flows not
// seen for a while can be forgotten (Forget), which makes room again. Strings
// (workloads, Services) are interned and freed with their last flow.
//
// Reporting: a client is due when something new was counted since its last
// write (a new flow, a count, a dropped connection, a forgotten flow) and
// its last write attempt is at least `interval` old. TakeDue hands out each
// due client's complete node report and marks it clean; Failed() makes it
// due again (after the interval).
//
// Thread-safety: none; the Aggregator owns one under its mutex.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/address_map.h"
#include "agent/ip.h"
#include "agent/wall_clock.h"
#include "common/clock.h"
#include "observedflows/observed_flows.h"

namespace npc::agent {

using observedflows::PeerType;
using observedflows::Protocol;

// The server side of one connection, as attribution found it.
struct ServerView {
  PeerType type = PeerType::kWorkload;
  WorkloadView workload;    // kWorkload
  int64_t pod_created = 0;  // kWorkload: the answering pod's creation (seconds; 0 unknown)
  IpAddr address;           // kExternal
  std::optional<ServiceHit> service;
  uint16_t port = 0;
  Protocol protocol = Protocol::kTCP;
};

class FlowTable {
 public:
  struct Options {
    size_t max_flows = 20000;
    size_t max_flows_per_workload = 500;
  };
  explicit FlowTable(Options options);
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  enum class AddResult {
    kCounted,             // a known flow counted again
    kNew,                 // a new flow
    kDroppedMaxFlows,     // not kept: max_flows reached
    kDroppedPerWorkload,  // not kept: max_flows_per_workload reached for this client
  };
  AddResult Add(const WorkloadView& client, const ServerView& server, WallTime now,
                uint64_t connections = 1);
  bool Contains(const WorkloadView& client, const ServerView& server) const;
  // Epochs tell flows added during a table dump from those known before it:
  // NewEpoch() starts one, and KnownBefore() is true for a flow added in an
  // earlier epoch.
  uint32_t NewEpoch() { return ++epoch_; }
  bool KnownBefore(const WorkloadView& client, const ServerView& server, uint32_t epoch) const;
  // The client's observedUntil as read back after a restart (Load); nullopt
  // when nothing was loaded for it.
  std::optional<WallTime> LoadedUntil(const WorkloadView& client) const;

  // Takes over this node's entry of an object read back after a restart:
  // its flows (counts, first and last seen) are known and clean, its write
  // time counts as the last write attempt. Returns the flows that did not
  // fit the bounds.
  size_t Load(const observedflows::ObservedFlows& object, const observedflows::NodeReport& mine,
              Clock::TimePoint steady_now, WallTime wall_now);

  // Removes flows last seen before `before`; their clients become due. A
  // client without flows whose entry was written since is forgotten too.
  size_t Forget(WallTime before);

  struct Report {
    uint32_t client_id = 0;
    observedflows::WorkloadRef client;  // ns: the object's namespace
    observedflows::NodeReport report;
  };
  // See the file comment. `interval` zero: every client with something new.
  std::vector<Report> TakeDue(Clock::TimePoint now, Clock::Duration interval, WallTime wall_now,
                              std::string_view node);
  void Failed(uint32_t client_id);

  size_t flows() const { return flows_; }
  size_t clients() const { return clients_.size(); }
  // Clients with something not yet reported.
  size_t dirty_clients() const;

 private:
  // Interned strings: a workload (group/kind/ns/name) or a Service (ns/name).
  struct Name {
    std::string api_version, kind, ns, name, uid;
    uint32_t refs = 0;
  };
  struct NameKey {
    std::string_view a, b, c, d;  // (group, kind, ns, name) or ("", "", ns, name)
    bool operator==(const NameKey&) const = default;
  };
  struct NameKeyHash {
    size_t operator()(const NameKey& k) const;
  };
  class Names {
   public:
    // Finds or adds, and takes a reference.
    uint32_t Acquire(const NameKey& key, const Name& value);
    std::optional<uint32_t> Find(const NameKey& key) const;
    void Release(uint32_t id);
    const Name& Get(uint32_t id) const { return entries_[id]; }
    Name& GetMutable(uint32_t id) { return entries_[id]; }
    NameKey KeyOf(uint32_t id) const;
    size_t size() const { return index_.size(); }

   private:
    std::deque<Name> entries_;  // stable addresses: index_ holds views of their strings
    std::vector<uint32_t> free_;
    std::unordered_map<NameKey, uint32_t, NameKeyHash> index_;
  };

  struct ServerKey {
    uint32_t workload = 0;  // Names id (kWorkload)
    uint32_t service = 0;   // Names id + 1; 0: none
    IpAddr address;         // kExternal
    uint16_t port = 0;
    uint16_t service_port = 0;
    PeerType type = PeerType::kWorkload;
    Protocol protocol = Protocol::kTCP;
    bool operator==(const ServerKey&) const = default;
  };
  struct ServerKeyHash {
    size_t operator()(const ServerKey& k) const;
  };
  struct Stats {
    uint64_t count = 0;
    int64_t first = 0;  // seconds since the epoch
    int64_t last = 0;
    uint32_t epoch = 0;  // when it was added (NewEpoch)
  };
  struct Client {
    uint32_t workload = 0;  // Names id
    std::unordered_map<ServerKey, Stats, ServerKeyHash> flows;
    uint64_t dropped = 0;
    bool dirty = false;
    bool attempted = false;
    Clock::TimePoint last_attempt;
    std::optional<WallTime> loaded_until;
  };

  static NameKey WorkloadKey(const WorkloadView& w);
  // The key of a server, or nullopt when one of its names is not interned
  // (so no flow can have it). With `acquire`, interns and takes references.
  std::optional<ServerKey> KeyOf(const ServerView& s, bool acquire);
  void ReleaseKey(const ServerKey& k);
  Client* FindClient(const WorkloadView& client);
  const Client* FindClient(const WorkloadView& client) const;
  Client& ClientFor(const WorkloadView& client);
  observedflows::Flow ToFlow(const ServerKey& k, const Stats& s) const;

  const Options options_;
  Names names_;
  std::unordered_map<uint32_t, Client> clients_;  // by workload Names id
  size_t flows_ = 0;
  uint32_t epoch_ = 0;
};

}  // namespace npc::agent
