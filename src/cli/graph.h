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
    enum class Shape { kWorkload, kService, kIngress, kUnresolved };
    std::string id;  // "w:Deployment/ns/name", "s:ns/name", "i:ns/name", "u:host"
    Shape shape = Shape::kWorkload;
    std::string ns;     // "" for nodes outside any namespace (unresolved hosts)
    std::string label;  // may contain '\n'
  };
  struct Edge {
    // kReference: a workload (or Ingress) names a Service; kBackend: a Service
    // selects a workload; kUnresolved: a name that resolved to nothing.
    enum class Style { kReference, kBackend, kUnresolved };
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

// Nodes: every workload (not controller-owned Pods/ReplicaSets/Jobs), Service
// and Ingress of `snapshot`, plus one "?" node per unresolved host. Edges: the
// resolved references of `result`, Ingress -> Service, Service -> backends,
// and dashed ones for unresolved references.
Graph BuildGraph(const Snapshot& snapshot, const synth::Result& result);

// Graphviz: namespaces as `subgraph "cluster_<ns>"`.
std::string ToDot(const Graph& graph);

// Mermaid flowchart: namespaces as subgraphs.
std::string ToMermaid(const Graph& graph);

}  // namespace npc::cli
