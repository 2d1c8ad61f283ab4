// A property-test case (test/property/generator.h) as real Kubernetes objects,
// to be applied to an API server whose pods run (the test dataplane).
//
//   Materialized m = Materialize(Generate(seed));
//   kubectl apply -f - <<< m.ToYamlStream();   // then create m.jobs (they need UIDs)
//
// What cannot run here is adapted or left out, and said in `notes`:
// - the generator's kube-system DNS Deployment: the dataplane's real CoreDNS
//   (k8s-app: kube-dns, 53/UDP+TCP, 9153) stands in for it;
// - pods of an unknown controller (Workload::has_controller): left out (an
//   ownerReference to a kind the API server does not serve would be
//   garbage-collected or refused);
// - the EndpointSlice of default/kubernetes: the real one is there;
// - a CronJob's pods: the CronJob is created as generated, and a Job owned by
//   it (controller: true) runs its pods now instead of at its schedule;
// - nodePort numbers: allocated by the API server (the generated 30000 + port
//   may be outside the node-port range);
// - replica counts are the generator's pod counts per workload.
// Selector-less Services keep their EndpointSlices (addresses outside the
// dataplane: only policies see them, no probe goes there).
//
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "property/generator.h"

namespace npc::dataplane {

struct JobToCreate {
  std::string ns;
  std::string cronjob;        // owner
  nlohmann::json job;         // without the ownerReference (it needs the CronJob's UID)
};

struct Materialized {
  std::vector<nlohmann::json> objects;  // namespaces first, then the rest
  std::vector<JobToCreate> jobs;
  std::vector<std::string> namespaces;  // created for the case (to delete afterwards)
  std::vector<std::string> notes;       // what was adapted or left out
  size_t expected_pods = 0;             // pods the case runs (without CoreDNS)
  std::string ToJsonList() const;       // {"kind":"List","items":[...]} of `objects`
};

[[nodiscard]] Materialized Materialize(const property::GeneratedCase& c);

}  // namespace npc::dataplane
