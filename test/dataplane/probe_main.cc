// npc-probe: real connections in the test dataplane, by hand.
//
//   npc-probe matrix [-n NAMESPACE]...        every pod -> every other pod, on the
//                                             destination's container ports
//   npc-probe connect FROM TO PORT/PROTO      FROM: ns/pod or "node"; TO: ns/pod or
//                                             an address in 198.18.0.0/15 (Service IPs too)
//   npc-probe dns FROM NAME [udp|tcp]         an A query to kube-dns (198.19.0.10)
//
// Run as root inside scripts/with-cluster --dataplane (it reads KUBECONFIG and
// NPC_CLUSTER_DIR). Options before the command: --timeout-ms N (default 2000).
// Exit status: 0 when every probe was answered (matrix: when it ran), 1 when
// one was not, 2 for bad usage.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "dataplane/naming.h"
#include "dataplane/view.h"

namespace {

using npc::dataplane::PodView;

int Usage() {
  std::fprintf(stderr,
               "usage: npc-probe [--timeout-ms N] matrix [-n NAMESPACE]...\n"
               "       npc-probe [--timeout-ms N] connect FROM TO PORT/PROTO\n"
               "       npc-probe [--timeout-ms N] dns FROM NAME [udp|tcp]\n"
               "FROM is ns/pod or node; TO is ns/pod or an IPv4 address in 198.18.0.0/15.\n"
               "Needs KUBECONFIG and NPC_CLUSTER_DIR (scripts/with-cluster --dataplane).\n");
  return 2;
}

const PodView* Find(const std::vector<PodView>& pods, const std::string& id) {
  for (const PodView& p : pods) {
    if (p.id() == id) return &p;
  }
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  npc::dataplane::ProbeOptions options;
  while (!args.empty() && args[0] == "--timeout-ms" && args.size() > 1) {
    options.timeout = std::chrono::milliseconds(std::atoi(args[1].c_str()));
    args.erase(args.begin(), args.begin() + 2);
  }
  if (args.empty() || args[0] == "-h" || args[0] == "--help") return args.empty() ? Usage() : (Usage(), 0);
  const char* kc = std::getenv("KUBECONFIG");
  const char* dir = std::getenv("NPC_CLUSTER_DIR");
  if (kc == nullptr || dir == nullptr) return Usage();
  const std::string cluster_id = npc::dataplane::ClusterId(dir);
  auto client = npc::dataplane::MakeClientFor(kc);
  if (!client.ok()) {
    std::fprintf(stderr, "npc-probe: %s\n", client.status().ToString().c_str());
    return 1;
  }
  const std::string cmd = args[0];
  if (cmd == "matrix") {
    std::vector<std::string> namespaces;
    for (size_t i = 1; i + 1 < args.size(); i += 2) {
      if (args[i] != "-n") return Usage();
      namespaces.push_back(args[i + 1]);
    }
    auto pods = npc::dataplane::ListPods(**client, cluster_id, namespaces);
    if (!pods.ok()) {
      std::fprintf(stderr, "npc-probe: %s\n", pods.status().ToString().c_str());
      return 1;
    }
    std::cout << npc::dataplane::FormatMatrix(*pods, npc::dataplane::ProbeMatrix(*pods, options));
    return 0;
  }
  if ((cmd == "connect" && args.size() != 4) || (cmd == "dns" && args.size() != 3 && args.size() != 4) ||
      (cmd != "connect" && cmd != "dns")) {
    return Usage();
  }
  auto pods = npc::dataplane::ListPods(**client, cluster_id);
  if (!pods.ok()) {
    std::fprintf(stderr, "npc-probe: %s\n", pods.status().ToString().c_str());
    return 1;
  }
  npc::dataplane::ProbeSpec spec;
  if (args[1] == "node") {
    spec.netns = npc::dataplane::NodeNetns(cluster_id);
  } else if (const PodView* from = Find(*pods, args[1]); from != nullptr) {
    spec.netns = from->netns;
  } else {
    std::fprintf(stderr, "npc-probe: no pod %s\n", args[1].c_str());
    return 2;
  }
  if (cmd == "connect") {
    const PodView* to = Find(*pods, args[2]);
    spec.ip = to != nullptr ? to->ip : args[2];
    const std::string& pp = args[3];
    const size_t slash = pp.find('/');
    spec.port = std::atoi(pp.substr(0, slash).c_str());
    spec.protocol = slash == std::string::npos ? "TCP" : pp.substr(slash + 1);
    for (char& c : spec.protocol) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  } else {
    spec.ip = std::string(npc::dataplane::kClusterDnsIp);
    spec.port = 53;
    spec.dns_name = args[2];
    spec.protocol = args.size() == 4 && (args[3] == "tcp" || args[3] == "TCP") ? "TCP" : "UDP";
  }
  const npc::dataplane::ProbeResult r = npc::dataplane::ProbeAll({spec}, options)[0];
  std::cout << args[1] << " -> " << spec.ip << ":" << spec.port << "/" << spec.protocol
            << (spec.dns_name.empty() ? "" : " (A " + spec.dns_name + ")") << ": " << r.ToString() << "\n";
  return r.answered() ? 0 : 1;
}
