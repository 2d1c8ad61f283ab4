// Tests of the offline commands, run in-process through cli::Run.
//
// The example app's golden output lives in examples/golden/policies.yaml (and
// the graph in examples/graph.svg). After an intended change, regenerate both:
//
//   NPC_UPDATE_GOLDEN=1 ./cli_test --gtest_filter='Examples.*'
//
// and review the diff before committing it.
#include "cli/cli.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/command.h"

namespace npc::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const std::string kSource = NPC_SOURCE_DIR;
const std::string kApp = kSource + "/examples/app";
const std::string kGolden = kSource + "/examples/golden/policies.yaml";
// The platform part (examples/platform): generated with the flags below, as
// examples/README.md shows.
const std::string kPlatform = kSource + "/examples/platform";
const std::string kPlatformGolden = kSource + "/examples/golden/platform.yaml";
const std::vector<std::string> kPlatformFlags = {"--read-secrets", "--api-server-cidrs",
                                                 "192.0.2.10/32"};

std::vector<std::string> PlatformArgs(std::vector<std::string> args) {
  args.insert(args.begin() + 1, {"-f", kPlatform});
  args.insert(args.end(), kPlatformFlags.begin(), kPlatformFlags.end());
  return args;
}

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

Outcome RunCli(std::vector<std::string> args, const std::string& stdin_text = "") {
  args.insert(args.begin(), "netpol-ctrl");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::istringstream in(stdin_text);
  std::ostringstream out, err;
  Outcome o;
  o.code = Run(static_cast<int>(argv.size()), argv.data(), in, out, err);
  o.out = out.str();
  o.err = err.str();
  return o;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool UpdateGolden() {
  const char* v = std::getenv("NPC_UPDATE_GOLDEN");
  return v != nullptr && std::string(v) == "1";
}

// --- the command line itself ---------------------------------------------

TEST(Cli, VersionAndTopLevelHelp) {
  Outcome v = RunCli({"--version"});
  EXPECT_EQ(v.code, 0);
  EXPECT_THAT(v.out, HasSubstr("netpol-ctrl 0.1.0"));

  Outcome h = RunCli({"--help"});
  EXPECT_EQ(h.code, 0);
  for (const char* cmd : {"generate", "explain", "graph"}) EXPECT_THAT(h.out, HasSubstr(cmd));

  Outcome none = RunCli({});
  EXPECT_NE(none.code, 0);
}

TEST(Cli, EveryCommandHelpHasAnExample) {
  for (const char* cmd : {"generate", "explain", "graph"}) {
    Outcome h = RunCli({cmd, "--help"});
    EXPECT_EQ(h.code, 0) << cmd;
    EXPECT_THAT(h.out, HasSubstr("Example:")) << cmd;
    EXPECT_THAT(h.out, HasSubstr(std::string("netpol-ctrl ") + cmd + " -f")) << cmd;
    EXPECT_THAT(h.out, HasSubstr("--filename")) << cmd;
  }
}

TEST(Cli, FilenameIsRequiredAndFlagsAreChecked) {
  EXPECT_NE(RunCli({"generate"}).code, 0);
  EXPECT_NE(RunCli({"generate", "-f", kApp, "-o", "xml"}).code, 0);
  EXPECT_NE(RunCli({"generate", "-f", kApp, "--ingress-controller-mode", "some"}).code, 0);
  Outcome bad_peer = RunCli({"generate", "-f", kApp, "--dns-peer", "kube-dns"});
  EXPECT_EQ(bad_peer.code, kExitUsage);
  EXPECT_THAT(bad_peer.err, HasSubstr("--dns-peer"));
  Outcome missing = RunCli({"generate", "-f", kApp + "/nope.yaml"});
  EXPECT_EQ(missing.code, kExitInvalidInput);
  EXPECT_THAT(missing.err, HasSubstr("nope.yaml: no such file"));
}

TEST(Cli, ParsePeer) {
  StatusOr<PeerSelector> p = ParsePeer("kube-system/k8s-app=kube-dns,tier=dns");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->namespaces.match_labels, (Labels{{"kubernetes.io/metadata.name", "kube-system"}}));
  EXPECT_EQ(p->pods.match_labels, (Labels{{"k8s-app", "kube-dns"}, {"tier", "dns"}}));
  StatusOr<PeerSelector> any = ParsePeer("*/app=probe&x=y");
  ASSERT_TRUE(any.ok());
  EXPECT_TRUE(any->namespaces.empty());
  EXPECT_EQ(any->pods.match_labels.size(), 2u);
  EXPECT_FALSE(ParsePeer("kube-dns").ok());
  EXPECT_FALSE(ParsePeer("ns/").ok());
  EXPECT_FALSE(ParsePeer("ns/=x").ok());
  EXPECT_FALSE(ParsePeer("ns/a=b;color=red").ok());
  // A key alone: the label exists (the OpenShift router's).
  StatusOr<PeerSelector> exists = ParsePeer("openshift-ingress/ingresscontroller.operator.openshift.io/deployment-ingresscontroller");
  ASSERT_TRUE(exists.ok());
  ASSERT_EQ(exists->pods.match_expressions.size(), 1u);
  EXPECT_EQ(exists->pods.match_expressions[0].op, "Exists");
  // Addresses, the nodes, any source; what an ingress controller or Gateway serves.
  StatusOr<PeerSelector> cidrs = ParsePeer("169.254.20.10,fd00::/8");
  ASSERT_TRUE(cidrs.ok());
  EXPECT_EQ(cidrs->cidrs, (std::vector<std::string>{"169.254.20.10/32", "fd00::/8"}));
  EXPECT_TRUE(ParsePeer("nodes")->nodes);
  EXPECT_TRUE(ParsePeer("any;controller=io.cilium/gateway-controller")->any);
  StatusOr<PeerSelector> ic =
      ParsePeer("ingress-nginx/app.kubernetes.io/name=ingress-nginx;controller=k8s.io/ingress-nginx;class=nginx");
  ASSERT_TRUE(ic.ok());
  EXPECT_EQ(ic->controllers, (std::vector<std::string>{"k8s.io/ingress-nginx"}));
  EXPECT_EQ(ic->classes, (std::vector<std::string>{"nginx"}));
  EXPECT_EQ(PeerString(*ic),
            "ingress-nginx/app.kubernetes.io/name=ingress-nginx;controller=k8s.io/ingress-nginx;"
            "class=nginx");
  StatusOr<PeerSelector> gw = ParsePeer("{namespace}/gateway.networking.k8s.io/gateway-name={name};controller=x.io/gw");
  ASSERT_TRUE(gw.ok());
  EXPECT_EQ(gw->pods.match_labels.at("gateway.networking.k8s.io/gateway-name"), "{name}");
}

TEST(Cli, PlatformFlags) {
  EXPECT_EQ(RunCli({"generate", "-f", kApp, "-q", "--gateway-peer", "gw/app=gw"}).code, kExitUsage);
  Outcome bad = RunCli({"generate", "-f", kApp, "-q", "--node-cidrs", "10.0.0.0/33"});
  EXPECT_EQ(bad.code, kExitUsage);
  EXPECT_THAT(bad.err, HasSubstr("--node-cidrs: \"10.0.0.0/33\" is not a CIDR"));
  EXPECT_EQ(RunCli({"generate", "-f", kApp, "-q", "--api-server-cidrs", "10.0.0.1,fd00::/120",
                    "--node-cidrs", "172.18.0.0/24", "--read-secrets"})
                .code,
            kExitOk);
}

TEST(Cli, SelectorString) {
  LabelSelector s;
  EXPECT_EQ(SelectorString(s), "{}");
  s.match_labels = {{"app", "web"}};
  s.match_expressions = {{"tier", "In", {"a", "b"}},
                         {"x", "NotIn", {"c"}},
                         {"canary", "DoesNotExist", {}},
                         {"team", "Exists", {}}};
  EXPECT_EQ(SelectorString(s), "app=web, tier in (a,b), x notin (c), !canary, team");
}

// --- generate --------------------------------------------------------------

TEST(Generate, InvalidInputFailsUnlessSkipped) {
  const std::string input =
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n"
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: a}\n"
      "spec:\n  selector: {matchLabels: {app: d}}\n  template:\n    metadata: {labels: {app: d}}\n"
      "    spec:\n      containers: [{name: c, ports: \"80\"}]\n---\n"
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ok, namespace: a}\n"
      "spec:\n  selector: {matchLabels: {app: ok}}\n  template:\n    metadata: {labels: {app: "
      "ok}}\n"
      "    spec:\n      containers: [{name: c}]\n";
  Outcome strict = RunCli({"generate", "-f", "-"}, input);
  EXPECT_EQ(strict.code, kExitInvalidInput);
  EXPECT_EQ(strict.out, "");
  EXPECT_THAT(strict.err, HasSubstr("<stdin>:doc 2:line 13: Deployment a/d: "
                                    "spec.template.spec.containers[0].ports: expected a list"));
  EXPECT_THAT(strict.err, HasSubstr("--skip-invalid"));

  Outcome lenient = RunCli({"generate", "-f", "-", "--skip-invalid"}, input);
  EXPECT_EQ(lenient.code, 0) << lenient.err;
  EXPECT_THAT(lenient.out, HasSubstr("name: deployment-ok"));
  EXPECT_THAT(lenient.out, Not(HasSubstr("name: deployment-d\n")));
}

TEST(Generate, JsonListHasTheSamePoliciesAsYaml) {
  Outcome yaml = RunCli({"generate", "-f", kApp, "-q"});
  Outcome json = RunCli({"generate", "-f", kApp, "-q", "-o", "json"});
  ASSERT_EQ(yaml.code, 0) << yaml.err;
  ASSERT_EQ(json.code, 0) << json.err;
  nlohmann::json list = nlohmann::json::parse(json.out);
  EXPECT_EQ(list["kind"], "List");
  std::vector<YAML::Node> docs = YAML::LoadAll(yaml.out);
  ASSERT_EQ(list["items"].size(), docs.size());
  for (size_t i = 0; i < docs.size(); ++i) {
    EXPECT_EQ(list["items"][i]["metadata"]["name"], docs[i]["metadata"]["name"].Scalar());
  }
}

TEST(Generate, DefaultDenyAddsOnePolicyPerManagedNamespace) {
  Outcome plain = RunCli({"generate", "-f", kApp, "-q", "-o", "json"});
  Outcome deny = RunCli({"generate", "-f", kApp, "-q", "-o", "json", "--default-deny"});
  ASSERT_EQ(deny.code, 0) << deny.err;
  nlohmann::json a = nlohmann::json::parse(plain.out);
  nlohmann::json b = nlohmann::json::parse(deny.out);
  EXPECT_EQ(b["items"].size(), a["items"].size() + 3);  // data, monitoring, shop
  int deny_all = 0;
  for (const auto& p : b["items"]) {
    if (p["spec"]["podSelector"].empty() && !p["spec"].contains("ingress") &&
        !p["spec"].contains("egress")) {
      ++deny_all;
    }
  }
  EXPECT_EQ(deny_all, 3);
}

TEST(Generate, ExcludedNamespacesGetNoPolicy) {
  Outcome o = RunCli({"generate", "-f", kApp, "-q", "--exclude-namespaces", "monitoring,data"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_THAT(o.out, Not(HasSubstr("namespace: monitoring")));
  EXPECT_THAT(o.out, Not(HasSubstr("namespace: data")));
  EXPECT_THAT(o.out, HasSubstr("namespace: shop"));
}

TEST(Generate, OutputDoesNotDependOnInputOrder) {
  Outcome a = RunCli({"generate", "-f", kApp, "-q"});
  Outcome b = RunCli({"generate", "-q", "-f", kApp + "/shop.yaml", "-f", kApp + "/monitoring.yaml",
                      "-f", kApp + "/data.yaml"});
  ASSERT_EQ(a.code, 0);
  ASSERT_EQ(b.code, 0);
  EXPECT_EQ(a.out, b.out);
}

// --- the example app --------------------------------------------------------

TEST(Examples, LoadWithoutDiagnostics) {
  Outcome o = RunCli({"generate", "-f", kApp, "-q"});
  EXPECT_EQ(o.code, 0);
  EXPECT_EQ(o.err, "");
}

TEST(Examples, GeneratedPoliciesMatchTheGoldenFile) {
  Outcome o = RunCli({"generate", "-f", kApp, "-q"});
  ASSERT_EQ(o.code, 0) << o.err;
  if (UpdateGolden()) {
    std::ofstream(kGolden, std::ios::binary) << o.out;
    GTEST_SKIP() << "rewrote " << kGolden;
  }
  EXPECT_EQ(o.out, ReadFile(kGolden))
      << "regenerate with NPC_UPDATE_GOLDEN=1 (see the top of cli_test.cc) and review the diff";
}

TEST(Examples, GeneratedPoliciesAreWhatTheReadmePromises) {
  Outcome o = RunCli({"generate", "-f", kApp, "-q", "-o", "json"});
  ASSERT_EQ(o.code, 0);
  nlohmann::json list = nlohmann::json::parse(o.out);
  std::vector<std::string> names;
  for (const auto& p : list["items"]) {
    names.push_back(p["metadata"]["namespace"].get<std::string>() + "/" +
                    p["metadata"]["name"].get<std::string>());
    EXPECT_EQ(p["metadata"]["labels"]["app.kubernetes.io/managed-by"], "netpol-ctrl");
    EXPECT_EQ(p["spec"]["policyTypes"], nlohmann::json({"Ingress", "Egress"}));
  }
  // Ten workloads get a policy; the host-network node exporter does not.
  EXPECT_THAT(names,
              ::testing::UnorderedElementsAre(
                  "data/statefulset-postgres", "data/deployment-redis", "data/statefulset-rabbitmq",
                  "monitoring/deployment-prometheus", "monitoring/deployment-grafana",
                  "shop/deployment-web", "shop/deployment-api", "shop/deployment-webhooks",
                  "shop/deployment-worker", "shop/cronjob-nightly-report"));
}

TEST(Examples, StderrReportsTheUnresolvedReference) {
  Outcome o = RunCli({"generate", "-f", kApp});
  ASSERT_EQ(o.code, 0);
  EXPECT_THAT(o.err, HasSubstr("unresolved: Deployment/shop/worker: "
                               "legacy-billing.finance.svc.cluster.local:8443"));
}

// --- the platform part of the examples --------------------------------------

TEST(Examples, PlatformPoliciesMatchTheGoldenFile) {
  Outcome o = RunCli(PlatformArgs({"generate", "-q"}));
  ASSERT_EQ(o.code, 0) << o.err;
  if (UpdateGolden()) {
    std::ofstream(kPlatformGolden, std::ios::binary) << o.out;
    GTEST_SKIP() << "rewrote " << kPlatformGolden;
  }
  EXPECT_EQ(o.out, ReadFile(kPlatformGolden))
      << "regenerate with NPC_UPDATE_GOLDEN=1 (see the top of cli_test.cc) and review the diff";
}

TEST(Examples, PlatformPoliciesAreWhatTheReadmePromises) {
  Outcome o = RunCli(PlatformArgs({"generate", "-o", "json"}));
  ASSERT_EQ(o.code, 0) << o.err;
  // Offline there is no EndpointSlice for default/kubernetes: Prometheus'
  // own path to the API server is the one thing generate cannot write.
  EXPECT_THAT(o.err, HasSubstr("Prometheus observability/main discovers its targets through the "
                               "API server: the API server's address is unknown"));
  nlohmann::json list = nlohmann::json::parse(o.out);
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& p : list["items"]) {
    by_name[p["metadata"]["namespace"].get<std::string>() + "/" +
            p["metadata"]["name"].get<std::string>()] = p;
  }
  std::vector<std::string> names;
  for (const auto& [name, p] : by_name) names.push_back(name);
  EXPECT_THAT(names, ::testing::ElementsAre(
                         "custom-metrics/deployment-metrics-adapter",
                         "observability/statefulset-alertmanager-main",
                         "observability/statefulset-prometheus-main",
                         "payments/deployment-fraud-scoring", "payments/deployment-sessions",
                         "payments/deployment-sessions-replica", "payments/deployment-storefront",
                         "payments/postgrescluster-ledger-db", "payments/rollout-checkout-api",
                         "policy-system/deployment-policy-webhook"));
  // Operator-made pods: the policy is owned by the operator's resource.
  const nlohmann::json& rollout = by_name["payments/rollout-checkout-api"];
  EXPECT_EQ(rollout["metadata"]["ownerReferences"][0]["kind"], "Rollout");
  EXPECT_EQ(rollout["metadata"]["ownerReferences"][0]["uid"],
            "0b6a4c2e-2f5d-4f3e-9c1a-5d7e8f9a0b1c");
  // Overlapping selectors: each selects its own pods by role.
  EXPECT_EQ(by_name["payments/deployment-sessions"]["spec"]["podSelector"]["matchLabels"]["role"],
            "primary");
  EXPECT_EQ(
      by_name["payments/deployment-sessions-replica"]["spec"]["podSelector"]["matchLabels"]["role"],
      "replica");
  // The API server reaches the webhook on the target port.
  EXPECT_THAT(by_name["policy-system/deployment-policy-webhook"]["spec"]["ingress"].dump(),
              HasSubstr(R"({"from":[{"ipBlock":{"cidr":"192.0.2.10/32"}}],"ports":[{"port":"https","protocol":"TCP"}]})"));
}

// explain names the rule behind each platform flow.
TEST(Examples, PlatformExplainNamesTheRules) {
  struct Case {
    const char* workload;
    const char* says;
  };
  for (const Case& c : std::vector<Case>{
           {"policy-system/deployment/policy-webhook",
            "because: API server: ValidatingWebhookConfiguration policy-webhook, webhook "
            "deployments.policy.example.com calls Service policy-system/policy-webhook:443 -> "
            "targetPort https (--api-server-cidrs)"},
           {"custom-metrics/deployment/metrics-adapter",
            "because: API server: APIService v1beta1.custom.metrics.k8s.io calls Service "
            "custom-metrics/metrics-adapter:443 -> targetPort https"},
           {"payments/rollout/checkout-api",
            "template from: ReplicaSet payments/checkout-api-7c6d9f (the newest of 2)"},
           {"payments/rollout/checkout-api",
            "because: Prometheus observability/main via ServiceMonitor payments/checkout-api "
            "endpoint port metrics -> Service payments/checkout-api"},
           {"payments/rollout/checkout-api",
            "because: OpenShift router: Route payments/partner-api -> Service "
            "payments/checkout-api"},
           {"payments/rollout/checkout-api",
            "because: Gateway gateway-system/public (class eg, controller "
            "gateway.envoyproxy.io/gatewayclass-controller): HTTPRoute payments/checkout -> "
            "Service payments/checkout-api"},
           {"payments/rollout/checkout-api",
            "envFrom secret checkout-secrets key FRAUD_API_URL=\"fraud-scoring.payments.svc:8443\""},
           {"payments/postgrescluster/ledger-db", "template from: Pod payments/ledger-db-1"},
           {"payments/postgrescluster/ledger-db",
            "because: Prometheus observability/main via PodMonitor payments/ledger-db endpoint "
            "port metrics"},
           {"payments/deployment/storefront",
            "because: ingress controller: Ingress payments/storefront, class nginx (controller "
            "k8s.io/ingress-nginx), routes to Service payments/storefront"},
           {"payments/deployment/sessions",
            "(its selector {app.kubernetes.io/name=sessions} also matches the pod template of "
            "Deployment/payments/sessions-replica: selected by its template labels instead)"},
           {"observability/statefulset/prometheus-main",
            "because: Prometheus observability/main via alerting: Alertmanager Service "
            "observability/alertmanager-main port web"},
       }) {
    Outcome o = RunCli(PlatformArgs({"explain", c.workload}));
    ASSERT_EQ(o.code, 0) << c.workload << o.err;
    EXPECT_THAT(o.out, HasSubstr(c.says)) << c.workload;
  }
}

// Secrets are read only when asked, and their values never show.
TEST(Examples, PlatformSecretsOnlyWhenAsked) {
  Outcome with = RunCli(PlatformArgs({"explain", "payments/rollout/checkout-api"}));
  ASSERT_EQ(with.code, 0) << with.err;
  EXPECT_THAT(with.out, HasSubstr("pods {app.kubernetes.io/name=fraud-scoring}"));
  Outcome without = RunCli({"explain", "-f", kPlatform, "payments/rollout/checkout-api"});
  ASSERT_EQ(without.code, 0) << without.err;
  EXPECT_THAT(without.out, Not(HasSubstr("fraud-scoring")));
  for (const Outcome* o : {&with, &without}) {
    for (const char* secret : {"s3cr3t", "svc-token", "4f2a9c1e7b"}) {
      EXPECT_THAT(o->out, Not(HasSubstr(secret)));
      EXPECT_THAT(o->err, Not(HasSubstr(secret)));
    }
  }
}

// --- explain ---------------------------------------------------------------

TEST(Explain, OneWorkloadWithReasons) {
  for (const char* which : {"shop/deployment/api", "Deployment/api", "api"}) {
    Outcome o = RunCli({"explain", "-f", kApp, which});
    ASSERT_EQ(o.code, 0) << which << o.err;
    EXPECT_THAT(o.out, StartsWith("Deployment/shop/api -> NetworkPolicy shop/deployment-api\n"));
    EXPECT_THAT(o.out, HasSubstr("  ingress:\n    [1] from: "));
    EXPECT_THAT(o.out, HasSubstr("because: "));
    EXPECT_THAT(o.out, HasSubstr("postgres"));
    EXPECT_THAT(o.out, Not(HasSubstr("Deployment/shop/web ->"))) << which;
  }
}

TEST(Explain, ListFlagsDoNotSwallowTheWorkload) {
  Outcome o = RunCli({"explain", "-f", kApp, "--dns-peer", "kube-system/k8s-app=coredns",
                      "--exclude-namespaces", "kube-system,data", "api"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_THAT(o.out, StartsWith("Deployment/shop/api -> "));
  EXPECT_THAT(o.out, HasSubstr("pods {k8s-app=coredns}"));
}

TEST(Explain, UnresolvedSkippedAndUnknown) {
  Outcome worker = RunCli({"explain", "-f", kApp, "worker"});
  ASSERT_EQ(worker.code, 0);
  EXPECT_THAT(worker.out, HasSubstr("unresolved references (no rule):\n"
                                    "    legacy-billing.finance.svc.cluster.local:8443 "
                                    "(container worker "));

  Outcome all = RunCli({"explain", "-f", kApp});
  ASSERT_EQ(all.code, 0);
  EXPECT_THAT(all.out, HasSubstr("skipped DaemonSet/monitoring/node-exporter: "));

  Outcome unknown = RunCli({"explain", "-f", kApp, "shop/deployment/nope"});
  EXPECT_EQ(unknown.code, kExitInvalidInput);
  EXPECT_THAT(unknown.err, HasSubstr("no workload matches"));
  // Any kind may name a workload (pods of a custom resource): an unknown one
  // matches nothing.
  EXPECT_EQ(RunCli({"explain", "-f", kApp, "gadget/nope"}).code, kExitInvalidInput);
  EXPECT_EQ(RunCli({"explain", "-f", kApp, "a/b/c/d"}).code, kExitUsage);
}

// --- graph -----------------------------------------------------------------

TEST(Graph, DotHasClustersShapesAndUnresolvedEdges) {
  Outcome o = RunCli({"graph", "-f", kApp});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_THAT(o.out, StartsWith("digraph netpol {"));
  for (const char* ns : {"shop", "data", "monitoring"}) {
    EXPECT_THAT(o.out, HasSubstr(std::string("subgraph \"cluster_") + ns + "\""));
  }
  EXPECT_THAT(o.out, HasSubstr("\"w:Deployment/shop/api\" [label=\"api\\nDeployment\", shape=box"));
  EXPECT_THAT(o.out, HasSubstr("\"s:data/postgres\" [label=\"postgres\\nService (headless)\", "
                               "shape=ellipse"));
  EXPECT_THAT(o.out, HasSubstr("\"w:Deployment/shop/api\" -> \"s:data/redis\" [label=\"6379\"]"));
  EXPECT_THAT(o.out, HasSubstr("\"w:Deployment/shop/worker\" -> "
                               "\"u:legacy-billing.finance.svc.cluster.local\" "
                               "[label=\"8443\", style=dashed"));
}

// Checks the DOT with Graphviz itself, and keeps examples/graph.svg current.
TEST(Graph, GraphvizAcceptsTheDot) {
  if (std::system("command -v dot >/dev/null 2>&1") != 0) GTEST_SKIP() << "graphviz missing";
  Outcome o = RunCli({"graph", "-f", kApp});
  ASSERT_EQ(o.code, 0);
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("npc_graph_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string dot_file = (dir / "g.dot").string();
  const std::string svg_file = (dir / "g.svg").string();
  std::ofstream(dot_file) << o.out;
  const std::string cmd =
      "dot -Tsvg " + dot_file + " -o " + svg_file + " 2>" + (dir / "err").string();
  EXPECT_EQ(std::system(cmd.c_str()), 0) << ReadFile((dir / "err").string());
  const std::string svg = ReadFile(svg_file);
  EXPECT_THAT(svg, HasSubstr("<svg"));
  EXPECT_THAT(ReadFile((dir / "err").string()), Not(HasSubstr("Warning")));
  if (UpdateGolden())
    std::filesystem::copy_file(svg_file, kSource + "/examples/graph.svg",
                               std::filesystem::copy_options::overwrite_existing);
  std::filesystem::remove_all(dir);
}

// The platform's graph: the API server, Prometheus and the routes' nodes.
TEST(Graph, PlatformGraphvizAcceptsTheDot) {
  Outcome o = RunCli(PlatformArgs({"graph"}));
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_THAT(o.out, HasSubstr("\"p:api-server\" -> \"w:Deployment/policy-system/policy-webhook\" "
                               "[label=\"https\", color=blue]"));
  EXPECT_THAT(o.out, HasSubstr("\"p:Prometheus observability/main\" -> "
                               "\"w:Rollout/payments/checkout-api\" [label=\"metrics\", color=blue]"));
  EXPECT_THAT(o.out, HasSubstr("\"r:payments/partner-api\" -> \"s:payments/checkout-api\""));
  EXPECT_THAT(o.out, HasSubstr("\"g:gateway-system/public\" -> \"h:HTTPRoute/payments/checkout\""));
  if (std::system("command -v dot >/dev/null 2>&1") != 0) GTEST_SKIP() << "graphviz missing";
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("npc_pgraph_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string dot_file = (dir / "g.dot").string();
  const std::string svg_file = (dir / "g.svg").string();
  std::ofstream(dot_file) << o.out;
  const std::string cmd =
      "dot -Tsvg " + dot_file + " -o " + svg_file + " 2>" + (dir / "err").string();
  EXPECT_EQ(std::system(cmd.c_str()), 0) << ReadFile((dir / "err").string());
  EXPECT_THAT(ReadFile((dir / "err").string()), Not(HasSubstr("Warning")));
  if (UpdateGolden())
    std::filesystem::copy_file(svg_file, kSource + "/examples/platform-graph.svg",
                               std::filesystem::copy_options::overwrite_existing);
  std::filesystem::remove_all(dir);
}

TEST(Graph, Mermaid) {
  Outcome o = RunCli({"graph", "-f", kApp, "-o", "mermaid"});
  ASSERT_EQ(o.code, 0);
  EXPECT_THAT(o.out, StartsWith("flowchart LR\n"));
  EXPECT_THAT(o.out, HasSubstr("subgraph ns1 [\"data\"]"));
  EXPECT_THAT(o.out, HasSubstr("([\"postgres<br/>Service (headless)\"])"));
  EXPECT_THAT(o.out, HasSubstr(" -.->|\"8443\"| "));
  EXPECT_THAT(o.out, HasSubstr("[/\"?<br/>legacy-billing.finance.svc.cluster.local\"/]"));
}

// --- Observed flows (examples/observed): report, allow, explain.
const std::string kObserved = kSource + "/examples/observed";

TEST(ObservedFlowsCliTest, ReportListsWhatThePoliciesWouldDenyPerNamespace) {
  Outcome o = RunCli({"report", "-f", kObserved});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_THAT(o.out, HasSubstr("2 observed flows, 2 would be denied by the policies "
                               "(--observed-flows=report)"));
  EXPECT_THAT(o.out, HasSubstr("NAMESPACE shop"));
  // Counts merged over the nodes (12 + 3), the latest lastSeen.
  EXPECT_THAT(o.out, HasSubstr("Deployment/web   Deployment/api   8080/TCP   15      "
                               "2026-12-01T09:59:30Z   egress shop/deployment-web, ingress "
                               "shop/deployment-api"));
  EXPECT_THAT(o.out, HasSubstr("203.0.113.5"));
  Outcome j = RunCli({"report", "-f", kObserved, "-o", "json", "-n", "shop"});
  ASSERT_EQ(j.code, 0) << j.err;
  const auto doc = nlohmann::json::parse(j.out);
  ASSERT_EQ(doc["wouldDeny"].size(), 2u);
  EXPECT_EQ(doc["wouldDeny"][1]["client"]["name"], "web");
  EXPECT_EQ(doc["wouldDeny"][1]["count"], 15);
  EXPECT_EQ(doc["wouldDeny"][1]["missing"],
            "egress of shop/deployment-web to Deployment/shop/api on 8080/TCP; ingress of "
            "shop/deployment-api from Deployment/shop/web on 8080/TCP");
}

TEST(ObservedFlowsCliTest, AllowLeavesOnlyTheExternalFlowAndExplainSaysObserved) {
  Outcome o = RunCli({"report", "-f", kObserved, "--observed-flows=allow", "-o", "json"});
  ASSERT_EQ(o.code, 0) << o.err;
  const auto doc = nlohmann::json::parse(o.out);
  ASSERT_EQ(doc["wouldDeny"].size(), 1u) << o.out;
  EXPECT_EQ(doc["wouldDeny"][0]["server"]["address"], "203.0.113.5");
  Outcome ext = RunCli({"report", "-f", kObserved, "--observed-flows=allow",
                        "--allow-observed-external", "-o", "json"});
  ASSERT_EQ(ext.code, 0) << ext.err;
  EXPECT_EQ(nlohmann::json::parse(ext.out)["wouldDeny"].size(), 0u) << ext.out;

  Outcome e = RunCli({"explain", "-f", kObserved, "--observed-flows=allow", "shop/Deployment/web"});
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_THAT(e.out, HasSubstr("observed 15 times since 2026-12-01T09:00:00Z, last "
                               "2026-12-01T09:59:30Z on 8080/TCP"));
  // The TTL counts back from the newest observation in the input, so the
  // same manifests always give the same policies; a short one drops the
  // edge last seen 28 s before the newest observation (web -> api).
  Outcome g1 = RunCli({"generate", "-f", kObserved, "--observed-flows=allow", "-q"});
  Outcome g2 = RunCli(
      {"generate", "-f", kObserved, "--observed-flows=allow", "-q", "--observed-flows-ttl=20s"});
  ASSERT_EQ(g1.code, 0) << g1.err;
  ASSERT_EQ(g2.code, 0) << g2.err;
  EXPECT_THAT(g1.out, HasSubstr("8080"));
  EXPECT_THAT(g2.out, Not(HasSubstr("8080")));
  // Off: no observed edge at all.
  Outcome off = RunCli({"generate", "-f", kObserved, "--observed-flows=off", "-q"});
  EXPECT_THAT(off.out, Not(HasSubstr("8080")));
}

TEST(ObservedFlowsCliTest, BadFlagsAreUsageErrors) {
  EXPECT_EQ(RunCli({"report", "-f", kObserved, "--observed-flows=maybe"}).code, 2);
  EXPECT_EQ(RunCli({"report", "-f", kObserved, "--observed-flows-ttl=7d"}).code, 2);
  EXPECT_EQ(RunCli({"report", "-f", kObserved, "--observed-flows=off"}).code, 2);
  EXPECT_EQ(RunCli({"report", "-f", kObserved, "-o", "yaml"}).code, 2);
}

}  // namespace
}  // namespace npc::cli

namespace npc::cli {
namespace {

// A bad --resync-period is a usage error, reported before anything starts.
// (Flag errors exit with CLI11's codes today, 105 here, not 2: see cli.cc.)
TEST(RunFlags, ABadResyncPeriodIsAUsageError) {
  for (const char* bad : {"banana", "10", "5x", "m"}) {
    Outcome o = RunCli({"run", std::string("--resync-period=") + bad, "--kubeconfig=/nonexistent"});
    EXPECT_NE(o.code, 0) << bad << "\n" << o.err;
    EXPECT_NE(o.code, 1) << bad << "\n" << o.err;  // not a runtime error: nothing started
    EXPECT_THAT(o.err, HasSubstr("--resync-period")) << bad;
  }
  Outcome help = RunCli({"run", "--help"});
  EXPECT_THAT(help.out + help.err, HasSubstr("--resync-period"));
}

}  // namespace
}  // namespace npc::cli
