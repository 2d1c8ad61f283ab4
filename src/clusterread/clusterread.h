// Reading a live cluster once into the snapshot that `generate -f` builds
// from manifests: one paged LIST per kind (limit/continue), no watch, no
// write, each item read by decode::Decoder, the decoder the controller and
// the manifest loader use. `netpol-ctrl diff` and `generate --from-cluster`
// feed the result to the same synthesis as `run`.
//
//   NPC_ASSIGN_OR_RETURN(auto client, kube::MakeClient(config));
//   NPC_ASSIGN_OR_RETURN(clusterread::Cluster c, clusterread::Read(*client, {}));
//   synth::Result r = synth::Synthesize(c.snapshot, synthesis_config);
//   Compare(r, c.managed);
//
// Needs the controller's read-only RBAC (list on every kind it reads). An
// optional API group that the server does not serve (OpenShift Routes, the
// Gateway API, the Prometheus operator) is skipped and named in
// Cluster::not_served. Any other failure ends the read with an error naming
// the resource; a 403 also names the permission that is missing. Nothing is
// ever taken as "gone" because a read failed: the read fails as a whole.
//
// Thread-safety: Read may run on several threads at once with distinct
// clients or one shared client (kube::Client is thread-safe).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "kube/client.h"
#include "model/model.h"

namespace npc::clusterread {

struct Options {
  bool read_config_maps = true;  // run's --read-configmaps
  bool read_secrets = false;     // run's --read-secrets (values are never kept)
  int page_size = 500;           // LIST limit; continue follows
};

struct Cluster {
  Snapshot snapshot;
  // The NetworkPolicies labelled app.kubernetes.io/managed-by=netpol-ctrl, as
  // stored (the fields netpol-ctrl writes), sorted by namespace and name.
  std::vector<NetworkPolicy> managed;
  // "routes.route.openshift.io": groups/versions the server does not serve.
  std::vector<std::string> not_served;
  // Objects that did not decode ("Deployment shop/web: spec...: expected ...").
  std::vector<std::string> invalid;
};

[[nodiscard]] StatusOr<Cluster> Read(kube::Client& client, const Options& options);

}  // namespace npc::clusterread
