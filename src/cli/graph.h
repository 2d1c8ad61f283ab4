// The dependency graph behind `netpol-ctrl graph`, and its DOT and Mermaid
// forms. Pure functions; thread-safe.
#pragma once

#include <string>
#include <tuple>
#include <vector>

#include "model/model.h"
#include "synth/synth.h"

namespace npc::cli {

struct Graph {
  struct Node {
    // kIngress: what routes traffic in (Ingress, Route, Gateway, HTTPRoute...);
    // kPlatform: the API server, a Prometheus.
    enum class Shape { kWorkload, kService, kIngress, kUnresolved, kPlatform };
    // "w:Deployment/ns/name", "s:ns/name", "i:ns/name", "r:ns/name" (Route),
    // "g:ns/name" (Gateway), "h:Kind/ns/name" (HTTPRoute...), "p:..." (platform),
    // "u:host"
    std::string id;
    Shape shape = Shape::kWorkload;
    std::string ns;     // "" for nodes outside any namespace (unresolved hosts)
    std::string label;  // may contain '\n'
  };
  struct Edge {
    // kReference: a workload (or Ingress, Route, route) names a Service;
    // kBackend: a Service selects a workload; kUnresolved: a name that
    // resolved to nothing; kPlatform: the API server or a Prometheus calls a
    // workload (rules 1 and 2).
    enum class Style { kReference, kBackend, kUnresolved, kPlatform };
    std::string from;
    std::string to;
    std::string label;  // ports
    Style style = Style::kReference;
    bool operator<(const Edge& o) const {
      return std::tie(from, to, label, style) < std::tie(o.from, o.to, o.label, o.style);
    }
    bool operator==(const Edge& o) const {
      return std::tie(from, to, label, style) == std::tie(o.from, o.to, o.label, o.style);
    }
  };
  std::vector<Node> nodes;  // in snapshot order; ids unique
  std::vector<Edge> edges;  // sorted, unique
};

// Nodes: every workload (not controller-owned Pods/ReplicaSets/Jobs; custom
// workloads formed from pods included), Service, Ingress, Route, Gateway and
// Gateway route of `snapshot`, the API server and each Prometheus when they
// call something, plus one "?" node per unresolved host. Edges: the resolved
// references of `result`, Ingress/Route/route -> Service, Gateway -> route,
// Service -> backends (template or live pods), API server and Prometheus ->
// the workloads they call, and dashed ones for unresolved references.
Graph BuildGraph(const Snapshot& snapshot, const SynthesisConfig& config,
                 const synth::Result& result);

// Graphviz: namespaces as `subgraph "cluster_<ns>"`.
std::string ToDot(const Graph& graph);

// Mermaid flowchart: namespaces as subgraphs.
std::string ToMermaid(const Graph& graph);

}  // namespace npc::cli
