// Random clusters for the property tests, and the flows each one INTENDS.
//
// Generate(seed) builds, from one seed and reproducibly:
// - an npc::Snapshot (namespaces, workloads of several kinds with overlapping
//   labels and multi-key selectors, Services with named and numbered target
//   ports, references to Services in every form DESIGN.md section 2 lists,
//   ConfigMaps, Ingresses, LoadBalancer/NodePort Services, selector-less
//   Services with EndpointSlices, ExternalName Services, scrape annotations,
//   the annotations allow-egress, allow-ingress-from and allow-api-server,
//   ignored namespaces, pods of unknown controllers, default-deny, DNS pods in
//   kube-system, an ingress controller in ingress-nginx and a managed
//   Prometheus in `monitoring`), fed to synthesis;
// - the pods that run it (one or two per workload, with the template's labels
//   and container ports, and an IP each), fed to the evaluator;
// - the INTENT of DESIGN.md section 6, computed from the generator's own
//   knowledge of who references which Service on which port, never by calling
//   synthesis: per managed workload, what its pods may receive and send.
//
// Intent semantics (DESIGN.md section 3, "one policy per workload, adding
// up"): a workload W governs the pods its selector selects in its namespace,
// Sel(W). A pod governed by several managed workloads may receive (send) what
// any of them may; a pod no managed workload governs is unrestricted. A flow
// is intended iff the source may send it and the destination may receive it.
// So W <-> W means Sel(W) <-> Sel(W), and a client's or backend's peer is
// the pods its selector selects, as the policies themselves say.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "evaluator/evaluator.h"
#include "model/model.h"

namespace npc::property {

// A port an intent allows, resolved against the destination pod.
struct PortSpec {
  std::string protocol = "TCP";
  bool any = false;           // every port of every protocol
  std::optional<int> number;  // a number ...
  std::string name;           // ... or a container port name of the destination
  std::optional<int> end;     // with `number`: the range number..end
  // Both set: the design allows either reading (the scrape port taken from a
  // container port named `metrics` may be written by name or by number). A
  // flow both readings allow is intended; one only, may go either way.
  bool either = false;
};

struct PeerSpec {
  enum class Kind { kSelected, kPeerSelector, kAnyone, kIpBlock };
  Kind kind = Kind::kSelected;
  std::string ns;             // kSelected: pods of `ns` matching `pods`
  eval::Selector namespaces;  // kPeerSelector: pods matching `pods` in matching namespaces
  eval::Selector pods;
  std::string cidr;  // kIpBlock: every address in it, pods' and external ones
};

struct IntentRule {
  PeerSpec peer;
  std::vector<PortSpec> ports;  // empty: every port
  std::string why;
};

// A managed workload's intent, or (id "default-deny/<ns>", empty selector, no
// rules) the isolation of every pod of a namespace by the default-deny policy.
struct WorkloadIntent {
  std::string id;  // "Deployment/ns/name"
  std::string ns;
  eval::Selector selector;
  std::vector<IntentRule> ingress;  // who may reach Sel(W), on which ports
  std::vector<IntentRule> egress;   // what Sel(W) may reach
};

struct GeneratedCase {
  uint64_t seed = 0;
  Snapshot snapshot;
  SynthesisConfig config;
  std::vector<Namespace> namespaces;  // with their labels, for the evaluator
  std::vector<eval::Pod> pods;
  std::vector<WorkloadIntent> intents;  // managed workloads only
  std::vector<std::string> references;  // "Deployment/ns/web env DB=db.data:5432", for people
  std::vector<eval::Probe> probes;
  std::vector<std::string> external_ips;
};

[[nodiscard]] GeneratedCase Generate(uint64_t seed);

// The intended connectivity matrix over the pods (in order) and external IPs.
// Cells are kAllowed, kDenied, or kEither where the design allows both.
[[nodiscard]] eval::Matrix IntendedMatrix(const GeneratedCase& c);

// A readable account of the case: namespaces, workloads, Services, Ingresses,
// references and pods.
[[nodiscard]] std::string Describe(const GeneratedCase& c);

// Selector conversion (field by field; no matching logic is shared).
[[nodiscard]] eval::Selector ToEval(const LabelSelector& s);

}  // namespace npc::property
