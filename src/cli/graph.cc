// `netpol-ctrl graph`: the dependency graph as Graphviz DOT or Mermaid.
#include "cli/graph.h"

#include <algorithm>
#include <map>
#include <ostream>
#include <set>

#include "cli/command.h"
#include "synth/index.h"
#include "synth/synth.h"

namespace npc::cli {

namespace {

std::string PortsLabel(const std::vector<ServicePort>& ports) {
  std::string s;
  for (const ServicePort& p : ports) {
    if (!s.empty()) s += ", ";
    s += std::to_string(p.port);
    if (p.protocol != "TCP") s += "/" + p.protocol;
  }
  return s;
}

std::string DotQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string MermaidText(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') {
      out += "#quot;";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

Graph BuildGraph(const Snapshot& snapshot, const SynthesisConfig& config,
                 const synth::Result& result) {
  Graph g;
  std::map<std::string, size_t> index;
  auto add = [&](Graph::Node n) {
    auto [it, inserted] = index.emplace(n.id, g.nodes.size());
    if (inserted) g.nodes.push_back(std::move(n));
    return it->first;
  };
  auto workload_id = [](const WorkloadKey& k) { return "w:" + k.ToString(); };
  auto service_id = [](const std::string& ns, const std::string& name) {
    return "s:" + ns + "/" + name;
  };
  const synth::ClusterIndex cluster(snapshot, config);

  for (const Workload& w : snapshot.workloads) {
    if (w.has_controller) continue;
    add({workload_id(w.key()), Graph::Node::Shape::kWorkload, w.ns,
         w.name + "\n" + std::string(KindName(w.kind))});
  }
  for (const Workload* w : cluster.workloads()) {  // custom workloads, formed from pods
    add({workload_id(w->key()), Graph::Node::Shape::kWorkload, w->ns,
         w->name + "\n" + w->key().Kind()});
  }
  for (const Service& s : snapshot.services) {
    std::string label = s.name + "\nService";
    if (s.type != "ClusterIP") label += " (" + s.type + ")";
    if (s.headless) label += " (headless)";
    add({service_id(s.ns, s.name), Graph::Node::Shape::kService, s.ns, label});
    // Service -> backends: workloads whose template or pods it selects.
    std::string ports;
    for (const ServicePort& p : s.ports) {
      if (!ports.empty()) ports += ", ";
      ports += p.target_port.empty() ? std::to_string(p.port) : p.target_port.ToString();
    }
    for (const WorkloadKey& b : cluster.Backends(s.ns, s.name)) {
      g.edges.push_back(
          {service_id(s.ns, s.name), workload_id(b), ports, Graph::Edge::Style::kBackend});
    }
  }
  for (const Route& r : snapshot.routes) {
    const std::string id =
        add({"r:" + r.ns + "/" + r.name, Graph::Node::Shape::kIngress, r.ns, r.name + "\nRoute"});
    for (const std::string& svc : r.services) {
      g.edges.push_back(
          {id, service_id(r.ns, svc), r.target_port.ToString(), Graph::Edge::Style::kReference});
    }
  }
  for (const Gateway& gw : snapshot.gateways) {
    add({"g:" + gw.ns + "/" + gw.name, Graph::Node::Shape::kIngress, gw.ns, gw.name + "\nGateway"});
  }
  for (const GatewayRoute& r : snapshot.gateway_routes) {
    const std::string id = add({"h:" + r.kind + "/" + r.ns + "/" + r.name,
                                Graph::Node::Shape::kIngress, r.ns, r.name + "\n" + r.kind});
    for (const GatewayRoute::Parent& p : r.parents) {
      if (p.kind != "Gateway") continue;
      const std::string gid = "g:" + p.ns + "/" + p.name;
      if (!index.count(gid)) {
        add({gid, Graph::Node::Shape::kUnresolved, "", "?\nGateway " + p.ns + "/" + p.name});
      }
      g.edges.push_back({gid, id, "", Graph::Edge::Style::kReference});
    }
    for (const GatewayRoute::Backend& b : r.backends) {
      if (b.kind != "Service" || !b.group.empty()) continue;
      g.edges.push_back({id, service_id(b.ns, b.name), b.port ? std::to_string(*b.port) : "",
                         Graph::Edge::Style::kReference});
    }
  }
  for (const synth::ClusterIndex::PlatformEdge& e : cluster.PlatformEdges()) {
    std::string id;
    if (e.from == "API server") {
      id = add({"p:api-server", Graph::Node::Shape::kPlatform, "", "API server"});
    } else {
      // "Prometheus ns/name", or "monitoring" (the configured peers)
      const size_t space = e.from.find(' ');
      const std::string what = space == std::string::npos ? e.from : e.from.substr(space + 1);
      const size_t slash = what.find('/');
      const std::string ns = slash == std::string::npos ? "" : what.substr(0, slash);
      const std::string name = slash == std::string::npos ? what : what.substr(slash + 1);
      id = add({"p:" + e.from, Graph::Node::Shape::kPlatform, ns,
                name + "\n" + (space == std::string::npos ? "monitoring peers" : "Prometheus")});
    }
    g.edges.push_back({id, workload_id(e.to), e.label,
                       e.pods ? Graph::Edge::Style::kBackend : Graph::Edge::Style::kPlatform});
  }
  for (const Ingress& ing : snapshot.ingresses) {
    const std::string id = add({"i:" + ing.ns + "/" + ing.name, Graph::Node::Shape::kIngress,
                                ing.ns, ing.name + "\nIngress"});
    std::set<std::pair<std::string, std::string>> seen;
    for (const IngressBackend& b : ing.backends) {
      if (!seen.insert({b.service_name, b.service_port.ToString()}).second) continue;
      g.edges.push_back({id, service_id(ing.ns, b.service_name), b.service_port.ToString(),
                         Graph::Edge::Style::kReference});
    }
  }
  for (const synth::Edge& e : result.edges) {
    // A pod DNS name leads straight to a workload, not to a Service.
    const std::string to =
        e.target ? workload_id(*e.target) : service_id(e.service_ns, e.service_name);
    g.edges.push_back({workload_id(e.client), to,
                       (e.observed ? "observed " : "") + PortsLabel(e.ports),
                       Graph::Edge::Style::kReference});
  }
  for (const synth::Unresolved& u : result.unresolved) {
    const std::string id =
        add({"u:" + u.host, Graph::Node::Shape::kUnresolved, "", "?\n" + u.host});
    g.edges.push_back({workload_id(u.client), id, u.port, Graph::Edge::Style::kUnresolved});
  }
  // Edges to nodes that no object declared (an Ingress to a missing Service).
  for (const Graph::Edge& e : std::vector<Graph::Edge>(g.edges)) {
    if (!index.count(e.to) && e.to.rfind("s:", 0) == 0) {
      add({e.to, Graph::Node::Shape::kUnresolved, "", "?\n" + e.to.substr(2)});
    }
  }
  // One edge per (from, to, label, style): several references may say the same.
  std::sort(g.edges.begin(), g.edges.end());
  g.edges.erase(std::unique(g.edges.begin(), g.edges.end()), g.edges.end());
  return g;
}

std::string ToDot(const Graph& g) {
  std::string out =
      "digraph netpol {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n"
      "  edge [fontname=\"Helvetica\", fontsize=10];\n";
  std::map<std::string, std::vector<const Graph::Node*>> by_ns;
  for (const Graph::Node& n : g.nodes) by_ns[n.ns].push_back(&n);
  auto node_line = [](const Graph::Node& n) {
    const char* attrs = "";
    switch (n.shape) {
      case Graph::Node::Shape::kWorkload: attrs = "shape=box, style=rounded"; break;
      case Graph::Node::Shape::kService: attrs = "shape=ellipse"; break;
      case Graph::Node::Shape::kIngress: attrs = "shape=hexagon"; break;
      case Graph::Node::Shape::kUnresolved:
        attrs = "shape=octagon, color=red, fontcolor=red";
        break;
      case Graph::Node::Shape::kPlatform: attrs = "shape=component, color=blue"; break;
    }
    return DotQuote(n.id) + " [label=" + DotQuote(n.label) + ", " + attrs + "];\n";
  };
  for (const auto& [ns, nodes] : by_ns) {
    std::string indent = "  ";
    if (!ns.empty()) {
      out += "  subgraph " + DotQuote("cluster_" + ns) + " {\n    label=" + DotQuote(ns) +
             ";\n    style=dashed;\n";
      indent = "    ";
    }
    for (const Graph::Node* n : nodes) out += indent + node_line(*n);
    if (!ns.empty()) out += "  }\n";
  }
  for (const Graph::Edge& e : g.edges) {
    out += "  " + DotQuote(e.from) + " -> " + DotQuote(e.to);
    std::string attrs;
    if (!e.label.empty()) attrs += "label=" + DotQuote(e.label);
    if (e.style == Graph::Edge::Style::kUnresolved) {
      attrs += std::string(attrs.empty() ? "" : ", ") + "style=dashed, color=red";
    } else if (e.style == Graph::Edge::Style::kBackend) {
      attrs += std::string(attrs.empty() ? "" : ", ") + "style=dotted, arrowhead=empty";
    } else if (e.style == Graph::Edge::Style::kPlatform) {
      attrs += std::string(attrs.empty() ? "" : ", ") + "color=blue";
    }
    if (!attrs.empty()) out += " [" + attrs + "]";
    out += ";\n";
  }
  out += "}\n";
  return out;
}

std::string ToMermaid(const Graph& g) {
  std::map<std::string, std::string> ids;  // node id -> n<number>
  for (const Graph::Node& n : g.nodes) ids[n.id] = "n" + std::to_string(ids.size() + 1);
  std::string out = "flowchart LR\n";
  std::map<std::string, std::vector<const Graph::Node*>> by_ns;
  for (const Graph::Node& n : g.nodes) by_ns[n.ns].push_back(&n);
  int cluster = 0;
  for (const auto& [ns, nodes] : by_ns) {
    std::string indent = "  ";
    if (!ns.empty()) {
      out += "  subgraph ns" + std::to_string(++cluster) + " [" + MermaidText(ns) + "]\n";
      indent = "    ";
    }
    for (const Graph::Node* n : nodes) {
      std::string label = n->label;
      for (size_t p = label.find('\n'); p != std::string::npos; p = label.find('\n')) {
        label.replace(p, 1, "<br/>");
      }
      const std::string text = MermaidText(label);
      out += indent + ids[n->id];
      switch (n->shape) {
        case Graph::Node::Shape::kWorkload: out += "(" + text + ")"; break;
        case Graph::Node::Shape::kService: out += "([" + text + "])"; break;
        case Graph::Node::Shape::kIngress: out += "{{" + text + "}}"; break;
        case Graph::Node::Shape::kUnresolved: out += "[/" + text + "/]"; break;
        case Graph::Node::Shape::kPlatform: out += "[[" + text + "]]"; break;
      }
      out += "\n";
    }
    if (!ns.empty()) out += "  end\n";
  }
  for (const Graph::Edge& e : g.edges) {
    const char* arrow = e.style == Graph::Edge::Style::kUnresolved ? "-.->"
                        : e.style == Graph::Edge::Style::kBackend  ? "==>"
                        : e.style == Graph::Edge::Style::kPlatform ? "--o"
                                                                   : "-->";
    out += "  " + ids[e.from] + " " + arrow;
    if (!e.label.empty()) out += "|" + MermaidText(e.label) + "|";
    out += " " + ids[e.to] + "\n";
  }
  return out;
}

namespace {

class GraphCommand : public Command {
 public:
  CLI::App* Register(CLI::App& app) override {
    CLI::App* cmd = app.add_subcommand(
        "graph", "Print who talks to whom (workloads, Services, Ingresses) as DOT or Mermaid");
    input_.Register(*cmd);
    config_.Register(*cmd);
    cmd->add_option("-o,--output", format_, "Graph language")
        ->check(CLI::IsMember({"dot", "mermaid"}))
        ->capture_default_str();
    cmd->footer(
        "Workloads are boxes, Services ellipses, Ingresses, Routes, Gateways and their\n"
        "routes hexagons, the API server and Prometheus components; namespaces are\n"
        "clusters. Solid arrows are references (labelled with the Service ports),\n"
        "dotted ones go from a Service to its backends (labelled with target ports),\n"
        "blue ones are the API server's and Prometheus' calls, dashed red ones are\n"
        "references that did not resolve, to a \"?\" node.\n"
        "\n"
        "Example:\n"
        "  netpol-ctrl graph -f examples/app | dot -Tsvg > graph.svg\n"
        "  netpol-ctrl graph -f examples/app -o mermaid > graph.mmd");
    return cmd;
  }

  int Run(Io& io) override {
    int exit_code = kExitOk;
    std::optional<Offline> offline = LoadAndSynthesize(input_, config_, io, &exit_code);
    if (!offline) return exit_code;
    const Graph g = BuildGraph(offline->snapshot, offline->config, offline->result);
    io.out << (format_ == "mermaid" ? ToMermaid(g) : ToDot(g));
    return kExitOk;
  }

 private:
  InputFlags input_;
  ConfigFlags config_;
  std::string format_ = "dot";
};

}  // namespace

std::unique_ptr<Command> NewGraphCommand() {
  return std::make_unique<GraphCommand>();
}

}  // namespace npc::cli
