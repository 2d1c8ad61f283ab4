// Synthesis benchmark: builds a synthetic snapshot (10,000 workloads, 10,000
// Services, 20,000 references in env values, args and a ConfigMap) and prints
// the median wall time of Synthesize over a few runs as one JSON object:
//   {"workloads":10000,"services":10000,"references":20000,"pods":0,
//    "synthesis_seconds":0.12,"policies":10000,"edges":...,"runs":5}
// With --pods P, P pods join the snapshot as the controller keeps them
// (labels and controlling owner): the Deployments' through a ReplicaSet each,
// and every 20th workload's pods owned directly by an operator's resource
// (a custom workload, formed from its pods, one of which carries the spec).
// It checks that every workload gets its policy before reporting.
// Usage: synthesis [--workloads N] [--runs R] [--pods P]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "model/model.h"
#include "synth/synth.h"

namespace {

npc::Snapshot Build(int workloads, int* references) {
  npc::Snapshot s;
  const int namespaces = std::max(1, workloads / 100);
  for (int n = 0; n < namespaces; ++n) s.namespaces.push_back({"ns" + std::to_string(n), {}, {}});
  *references = 0;
  uint32_t rng = 12345;
  auto next = [&rng]() {
    rng = rng * 1664525u + 1013904223u;
    return rng >> 8;
  };
  for (int i = 0; i < workloads; ++i) {
    const int ns = i % namespaces;
    npc::Workload w;
    w.kind = i % 10 == 0 ? npc::WorkloadKind::kStatefulSet : npc::WorkloadKind::kDeployment;
    w.ns = "ns" + std::to_string(ns);
    w.name = "app-" + std::to_string(i);
    w.uid = "uid-" + std::to_string(i);
    w.pod_selector.match_labels = {{"app", w.name}};
    w.template_labels = {{"app", w.name}, {"team", "t" + std::to_string(i % 7)}};
    if (i % 5 == 0) {
      w.template_annotations = {{"prometheus.io/scrape", "true"}, {"prometheus.io/port", "9090"}};
    }
    npc::Container c;
    c.name = "main";
    c.ports.push_back({"http", 8080, "TCP"});
    // Two references per workload: one cross-namespace URL, one short host:port.
    const int t1 = static_cast<int>(next() % workloads);
    int t2 = static_cast<int>(next() % 100) * namespaces + ns;  // a Service in the same namespace
    if (t2 >= workloads) t2 = ns;
    npc::EnvVar e1;
    e1.name = "UPSTREAM_URL";
    e1.value = "http://svc-" + std::to_string(t1) + ".ns" + std::to_string(t1 % namespaces) +
               ".svc.cluster.local:80/api?timeout=5s";
    npc::EnvVar e2;
    e2.name = "PEER";
    e2.value = "svc-" + std::to_string(t2) + ":80";
    c.env = {e1, e2};
    c.args = {"--log-level=info", "--listen=:8080"};
    w.containers.push_back(c);
    *references += 2;
    s.workloads.push_back(std::move(w));
  }
  for (int i = 0; i < workloads; ++i) {
    npc::Service svc;
    svc.ns = "ns" + std::to_string(i % namespaces);
    svc.name = "svc-" + std::to_string(i);
    svc.selector = npc::Labels{{"app", "app-" + std::to_string(i)}};
    npc::ServicePort p;
    p.name = "http";
    p.port = 80;
    p.target_port.str = "http";
    svc.ports.push_back(p);
    if (i % 50 == 0) svc.type = "LoadBalancer";
    s.services.push_back(std::move(svc));
  }
  return s;
}

// P pods spread over the workloads; every 20th workload is replaced by an
// operator's resource owning its pods (same labels, spec on its first pod).
void AddPods(npc::Snapshot& s, int pods) {
  if (pods <= 0) return;
  const size_t n = s.workloads.size();
  std::vector<npc::Workload> kept;
  std::vector<npc::Workload> replicasets;
  std::vector<int> per(n, pods / static_cast<int>(n));
  for (int i = 0; i < pods % static_cast<int>(n); ++i) ++per[i];
  for (size_t i = 0; i < n; ++i) {
    npc::Workload& w = s.workloads[i];
    const bool custom = i % 20 == 7 && per[i] > 0;
    npc::OwnerReference owner;
    if (custom) {
      owner = {"widgets.example.com/v1", "Widget", w.name, "cr-" + w.uid};
    } else if (w.kind == npc::WorkloadKind::kDeployment) {
      npc::Workload rs = w;
      rs.kind = npc::WorkloadKind::kReplicaSet;
      rs.name = w.name + "-5d8f7";
      rs.uid = "rs-" + w.uid;
      rs.has_controller = true;
      rs.controller = npc::OwnerReference{"apps/v1", "Deployment", w.name, w.uid};
      rs.template_labels["pod-template-hash"] = "5d8f7";
      owner = {"apps/v1", "ReplicaSet", rs.name, rs.uid};
      replicasets.push_back(std::move(rs));
    } else {
      owner = {"apps/v1", "StatefulSet", w.name, w.uid};
    }
    for (int k = 0; k < per[i]; ++k) {
      npc::Pod p;
      p.ns = w.ns;
      p.name = w.name + "-" + std::to_string(k);
      p.labels = w.template_labels;
      p.labels.Edit()[owner.kind == "StatefulSet" ? "controller-revision-hash" : "pod-template-hash"] =
          "5d8f7";
      p.controller = owner;
      if (custom && k == 0) {
        npc::Pod::Spec spec;
        spec.annotations = w.template_annotations;
        spec.containers = w.containers;
        p.spec = std::move(spec);
      }
      s.pods.push_back(std::move(p));
    }
    if (!custom) kept.push_back(std::move(w));
  }
  s.workloads = std::move(kept);
  for (npc::Workload& rs : replicasets) s.workloads.push_back(std::move(rs));
}

}  // namespace

int main(int argc, char** argv) {
  int workloads = 10000;
  int runs = 5;
  int pods = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--workloads") == 0) workloads = std::max(1, std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--runs") == 0) runs = std::max(1, std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--pods") == 0) pods = std::max(0, std::atoi(argv[i + 1]));
  }
  int references = 0;
  npc::Snapshot built = Build(workloads, &references);
  AddPods(built, pods);
  const npc::Snapshot snapshot = std::move(built);
  const npc::SynthesisConfig config = npc::SynthesisConfig::Defaults();
  std::vector<double> seconds;
  size_t policies = 0;
  size_t edges = 0;
  for (int r = 0; r < runs; ++r) {
    const auto start = std::chrono::steady_clock::now();
    const npc::synth::Result result = npc::synth::Synthesize(snapshot, config);
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    policies = result.policies.size();
    edges = result.edges.size();
  }
  // Right before fast: one policy per workload (the operator's included),
  // an edge per reference.
  if (policies != static_cast<size_t>(workloads) || edges == 0) {
    std::fprintf(stderr, "synthesis: %zu policies for %d workloads, %zu edges: wrong result\n",
                 policies, workloads, edges);
    return 1;
  }
  std::sort(seconds.begin(), seconds.end());
  std::printf(
      "{\"workloads\":%d,\"services\":%zu,\"references\":%d,\"pods\":%zu,"
      "\"synthesis_seconds\":%.4f,\"policies\":%zu,\"edges\":%zu,\"runs\":%d}\n",
      workloads, snapshot.services.size(), references, snapshot.pods.size(),
      seconds[seconds.size() / 2], policies, edges, runs);
  return 0;
}
