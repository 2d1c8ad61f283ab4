// npc-node-runner: the test dataplane's stand-in for kubelet and the container
// runtime of one node (scripts/with-cluster --dataplane starts it). The API
// server, the scheduler, kube-proxy and the enforcer stay real.
//
//   npc-node-runner --kubeconfig K --node npc-node --cluster-id abc123
//       --pod-cidr 198.18.0.0/20 --node-ip 198.18.128.1 --state-dir DIR
//       --listener PATH [--coredns PATH --ca-file CA --kubernetes-service IP:PORT]
//
// It lists and watches the Pods bound to --node and, for each one:
// - creates network namespace npc-<cluster id>-<uid10> (dataplane/naming.h)
//   and a veth pair: eth0 in the pod, veth<uid10> in the node netns
//   npc-<cluster id>-node; gives the pod the next free address of --pod-cidr
//   (a /32 on eth0, default route via the node's address), and routes that
//   /32 to the veth on the node side;
//   a hostNetwork pod runs in the node netns with the node's address instead;
// - starts npc-pod-listener there on every containerPort of its containers
//   (TCP and UDP), or, for a container whose image is CoreDNS, the CoreDNS
//   binary with the container's args, its configMap volumes written to files
//   and a service-account token at the usual in-cluster path (a private mount
//   namespace with a tmpfs on /run, so nothing lands on the host);
// - patches the pod's status through the status subresource: podIP(s),
//   hostIP(s), phase Running, conditions Ready, container statuses;
// - when the pod is deleted (deletionTimestamp), stops its process, deletes
//   its namespace (which removes the veth and the route) and deletes the Pod
//   object with grace period 0, as kubelet does.
// On SIGTERM/SIGINT it tears every pod down and exits 0. Children get a
// parent-death signal, so a SIGKILL of the runner leaves only namespaces,
// which scripts/lib/dataplane-sweep removes.
#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "dataplane/naming.h"
#include "dataplane/netns.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/transport.h"

namespace npc::dataplane {
namespace {

using json = nlohmann::json;
std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

void Log(const std::string& msg) {
  char ts[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(ts, sizeof(ts), "%H:%M:%S", std::gmtime(&now));
  std::fprintf(stderr, "%s npc-node-runner: %s\n", ts, msg.c_str());
}

std::string Now() {
  char ts[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return ts;
}

struct Flags {
  std::string kubeconfig, node, cluster_id, pod_cidr, node_ip, state_dir, listener, coredns,
      ca_file, kubernetes_service;
};

struct PodState {
  std::string ns, name, uid, netns, ip, veth;
  bool host_network = false;
  pid_t pid = -1;
  std::string what;  // "listener" or "coredns"
};

// A child process prepared before fork (nothing is allocated after it).
struct ChildSpec {
  std::string netns_path;
  std::string log_path;
  std::vector<std::string> argv;
  std::vector<std::string> env;
  // CoreDNS: a private mount namespace with a tmpfs on /run holding these files.
  bool private_run = false;
  std::vector<std::pair<std::string, std::string>> run_files;  // path under /run, contents
};

pid_t Spawn(const ChildSpec& spec) {
  std::vector<char*> argv, envp;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const int netfd = ::open(spec.netns_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (netfd < 0) return -1;
  const int logfd = ::open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid != 0) {
    ::close(netfd);
    if (logfd >= 0) ::close(logfd);
    return pid;
  }
  // Child: async-signal-safe calls only.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGTERM, SIG_DFL);
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGPIPE, SIG_DFL);
  if (::setns(netfd, CLONE_NEWNET) != 0) ::_exit(126);
  if (logfd >= 0) {
    ::dup2(logfd, 1);
    ::dup2(logfd, 2);
  }
  const int devnull = ::open("/dev/null", O_RDONLY);
  if (devnull >= 0) ::dup2(devnull, 0);
  if (spec.private_run) {
    if (::unshare(CLONE_NEWNS) != 0) ::_exit(125);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ::_exit(124);
    if (::mount("npc-pod-run", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=755") != 0)
      ::_exit(123);
    for (const auto& [path, contents] : spec.run_files) {
      // mkdir -p of the parent, then the file.
      char dir[512];
      const size_t n = path.size() < sizeof(dir) - 1 ? path.size() : sizeof(dir) - 1;
      std::memcpy(dir, path.c_str(), n);
      dir[n] = 0;
      for (size_t i = 1; i < n; ++i) {
        if (dir[i] != '/') continue;
        dir[i] = 0;
        ::mkdir(dir, 0755);
        dir[i] = '/';
      }
      const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0) ::_exit(122);
      (void)!::write(fd, contents.data(), contents.size());
      ::close(fd);
    }
  }
  ::execve(argv[0], argv.data(), envp.data());
  ::_exit(127);
}

void StopProcess(pid_t pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  for (int i = 0; i < 30; ++i) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

class Runner {
 public:
  explicit Runner(Flags f) : f_(std::move(f)) {}

  Status Init() {
    kube::ConfigOptions co;
    co.kubeconfig = f_.kubeconfig;
    NPC_ASSIGN_OR_RETURN(config_, kube::ResolveConfig(co));
    NPC_ASSIGN_OR_RETURN(client_, kube::MakeClient(config_));
    NPC_ASSIGN_OR_RETURN(transport_, kube::MakeCurlTransport(kube::TransportOptionsFrom(config_)));
    const size_t slash = f_.pod_cidr.find('/');
    in_addr base{};
    if (slash == std::string::npos || ::inet_pton(AF_INET, f_.pod_cidr.substr(0, slash).c_str(), &base) != 1)
      return InvalidArgument("--pod-cidr " + f_.pod_cidr + ": not an IPv4 CIDR");
    const int prefix = std::stoi(f_.pod_cidr.substr(slash + 1));
    if (prefix < 8 || prefix > 29) return InvalidArgument("--pod-cidr: prefix must be 8..29");
    cidr_base_ = ntohl(base.s_addr);
    cidr_size_ = 1u << (32 - prefix);
    node_netns_ = NodeNetns(f_.cluster_id);
    if (!NetnsExists(node_netns_)) return NotFound("node network namespace " + node_netns_ + " does not exist");
    std::filesystem::create_directories(f_.state_dir);
    return Status::Ok();
  }

  void Loop() {
    const std::string selector = "spec.nodeName=" + f_.node;
    while (!g_stop) {
      kube::ListOptions lo;
      lo.field_selector = selector;
      auto list = client_->List(kube::Resource::kPods, "", lo);
      if (!list.ok()) {
        Log("list pods: " + list.error().Describe());
        Sleep(1000);
        continue;
      }
      std::set<std::string> seen;
      for (const kube::Object& o : list->items) {
        seen.insert(o.meta.uid);
        Handle(o.json, /*deleted=*/false);
      }
      std::vector<std::string> gone;
      for (const auto& [uid, p] : pods_) {
        if (!seen.contains(uid)) gone.push_back(uid);
      }
      for (const std::string& uid : gone) TearDown(uid);
      std::string rv = list->resource_version;
      while (!g_stop) {
        kube::WatchOptions wo;
        wo.field_selector = selector;
        wo.resource_version = rv;
        wo.stop = &g_stop;
        auto end = client_->Watch(kube::Resource::kPods, "", wo, [&](const kube::WatchEvent& e) {
          if (e.type == kube::EventType::kAdded || e.type == kube::EventType::kModified ||
              e.type == kube::EventType::kDeleted) {
            Handle(e.object, e.type == kube::EventType::kDeleted);
          }
          if (!e.resource_version.empty()) rv = std::string(e.resource_version);
          return Status::Ok();
        });
        Reap();
        if (end.ok()) {
          rv = end->resource_version.empty() ? rv : end->resource_version;
          continue;
        }
        if (end.error().IsExpired()) break;
        Log("watch pods: " + end.error().Describe());
        Sleep(1000);
      }
    }
    Log("stopping: tearing down " + std::to_string(pods_.size()) + " pods");
    std::vector<std::string> uids;
    for (const auto& [uid, p] : pods_) uids.push_back(uid);
    for (const std::string& uid : uids) TearDown(uid);
  }

 private:
  static void Sleep(int ms) {
    for (int i = 0; i < ms / 100 && !g_stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  void Reap() {
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      for (auto& [uid, p] : pods_) {
        if (p.pid == pid) {
          Log("pod " + p.ns + "/" + p.name + ": " + p.what + " exited (status " + std::to_string(status) + ")");
          p.pid = -1;
        }
      }
    }
  }

  void Handle(std::string_view object, bool deleted) {
    json pod = json::parse(object, nullptr, false);
    if (pod.is_discarded()) return;
    const json& md = pod["metadata"];
    const std::string uid = md.value("uid", "");
    if (uid.empty()) return;
    if (deleted) {
      TearDown(uid);
      return;
    }
    if (md.contains("deletionTimestamp") && !md["deletionTimestamp"].is_null()) {
      TearDown(uid);
      FinalDelete(md.value("namespace", ""), md.value("name", ""), uid);
      return;
    }
    if (pod["spec"].value("nodeName", "") != f_.node) return;
    auto it = pods_.find(uid);
    if (it == pods_.end()) {
      Status s = SetUp(pod);
      if (!s.ok()) {
        Log("pod " + md.value("namespace", "") + "/" + md.value("name", "") + ": " + s.ToString());
        TearDown(uid);
        return;
      }
      it = pods_.find(uid);
    }
    // (Re)publish the status when the API's copy lacks it (a new pod, or a
    // status lost to a restart of the API server before it was stored).
    const json& st = pod.contains("status") ? pod["status"] : json::object();
    if (st.value("podIP", "") != it->second.ip || st.value("phase", "") != "Running") {
      Status s = PatchStatus(pod, it->second);
      if (!s.ok()) Log("pod " + it->second.ns + "/" + it->second.name + ": status: " + s.ToString());
    }
  }

  std::optional<std::string> AllocateIp() {
    for (uint32_t off = 2; off + 1 < cidr_size_; ++off) {
      const uint32_t a = cidr_base_ + off;
      if (used_ips_.contains(a)) continue;
      used_ips_.insert(a);
      in_addr ia{htonl(a)};
      char buf[INET_ADDRSTRLEN];
      ::inet_ntop(AF_INET, &ia, buf, sizeof(buf));
      return std::string(buf);
    }
    return std::nullopt;
  }
  void ReleaseIp(const std::string& ip) {
    in_addr ia{};
    if (::inet_pton(AF_INET, ip.c_str(), &ia) == 1) used_ips_.erase(ntohl(ia.s_addr));
  }

  Status SetUp(const json& pod) {
    PodState p;
    const json& md = pod["metadata"];
    p.ns = md.value("namespace", "");
    p.name = md.value("name", "");
    p.uid = md.value("uid", "");
    p.host_network = pod["spec"].value("hostNetwork", false);
    pods_[p.uid] = p;  // from here on TearDown undoes what was done
    PodState& s = pods_[p.uid];
    if (s.host_network) {
      s.netns = node_netns_;
      s.ip = f_.node_ip;
    } else {
      std::optional<std::string> ip = AllocateIp();
      if (!ip) return Internal("the pod CIDR " + f_.pod_cidr + " is full");
      s.ip = *ip;
      s.netns = PodNetns(f_.cluster_id, s.uid);
      s.veth = PodVeth(s.uid);
      NPC_RETURN_IF_ERROR(Run({"ip", "netns", "add", s.netns}));
      NPC_RETURN_IF_ERROR(Run({"ip", "-n", s.netns, "link", "set", "lo", "up"}));
      NPC_RETURN_IF_ERROR(Run({"ip", "-n", node_netns_, "link", "add", s.veth, "type", "veth", "peer",
                               "name", "eth0", "netns", s.netns}));
      NPC_RETURN_IF_ERROR(Run({"ip", "-n", s.netns, "addr", "add", s.ip + "/32", "dev", "eth0"}));
      NPC_RETURN_IF_ERROR(Run({"ip", "-n", s.netns, "link", "set", "eth0", "up"}));
      NPC_RETURN_IF_ERROR(Run({"ip", "-n", s.netns, "route", "add", f_.node_ip, "dev", "eth0", "scope", "link"}));
      NPC_RETURN_IF_ERROR(Run({"ip", "-n", s.netns, "route", "add", "default", "via", f_.node_ip, "dev", "eth0",
                               "src", s.ip}));
      NPC_RETURN_IF_ERROR(Run({"ip", "-n", node_netns_, "link", "set", s.veth, "up"}));
      NPC_RETURN_IF_ERROR(Run({"ip", "-n", node_netns_, "route", "add", s.ip + "/32", "dev", s.veth, "scope",
                               "link", "src", f_.node_ip}));
    }
    NPC_ASSIGN_OR_RETURN(ChildSpec child, Program(pod, s));
    s.pid = Spawn(child);
    if (s.pid < 0) return Internal("cannot start " + s.what + ": " + std::strerror(errno));
    Log("pod " + s.ns + "/" + s.name + ": " + s.ip + " in " + s.netns + ", " + s.what + " pid " +
        std::to_string(s.pid));
    return Status::Ok();
  }

  // What runs in the pod: CoreDNS for a CoreDNS container, else the listener.
  StatusOr<ChildSpec> Program(const json& pod, PodState& s) {
    ChildSpec c;
    c.netns_path = NetnsPath(s.netns);
    c.log_path = f_.state_dir + "/" + s.ns + "_" + s.name + ".log";
    c.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
    const json& containers = pod["spec"].value("containers", json::array());
    for (const json& ct : containers) {
      if (!f_.coredns.empty() && ct.value("image", "").find("coredns") != std::string::npos) {
        return CoreDns(pod, ct, s, std::move(c));
      }
    }
    s.what = "listener";
    c.argv = {f_.listener, "--name", s.ns + "/" + s.name};
    for (const json& ct : containers) {
      for (const json& port : ct.value("ports", json::array())) {
        const std::string proto = port.value("protocol", "TCP");
        if (proto != "TCP" && proto != "UDP") continue;  // SCTP: not served
        c.argv.push_back(proto == "TCP" ? "--tcp" : "--udp");
        c.argv.push_back(std::to_string(port.value("containerPort", 0)));
      }
    }
    return c;
  }

  StatusOr<ChildSpec> CoreDns(const json& pod, const json& ct, PodState& s, ChildSpec c) {
    s.what = "coredns";
    const std::string dir = f_.state_dir + "/" + s.uid;
    std::filesystem::create_directories(dir);
    // configMap volumes mounted into the container: files under dir/<volume>/,
    // and arguments that name a path under the mount point point there.
    std::map<std::string, std::string> mount_to_dir;
    std::map<std::string, std::string> volume_cm;
    for (const json& v : pod["spec"].value("volumes", json::array())) {
      if (v.contains("configMap")) volume_cm[v.value("name", "")] = v["configMap"].value("name", "");
    }
    for (const json& m : ct.value("volumeMounts", json::array())) {
      auto it = volume_cm.find(m.value("name", ""));
      if (it == volume_cm.end()) continue;
      auto cm = client_->Get(kube::Resource::kConfigMaps, s.ns, it->second);
      if (!cm.ok()) return cm.status().WithContext("configMap " + it->second);
      json cmj = json::parse(cm->json, nullptr, false);
      const std::string vdir = dir + "/" + it->first;
      std::filesystem::create_directories(vdir);
      const json data = cmj.value("data", json::object());
      for (const auto& [k, val] : data.items()) {
        std::ofstream(vdir + "/" + k) << val.get<std::string>();
      }
      mount_to_dir[m.value("mountPath", "")] = vdir;
    }
    c.argv = {f_.coredns};
    for (const json& a : ct.value("args", json::array())) {
      std::string arg = a.get<std::string>();
      for (const auto& [mp, vdir] : mount_to_dir) {
        if (arg.rfind(mp + "/", 0) == 0) arg = vdir + arg.substr(mp.size());
      }
      c.argv.push_back(arg);
    }
    // The service account, where client-go's in-cluster config looks for it.
    const std::string sa = pod["spec"].value("serviceAccountName", "default");
    json req = {{"apiVersion", "authentication.k8s.io/v1"},
                {"kind", "TokenRequest"},
                {"spec",
                 {{"expirationSeconds", 86400},
                  {"boundObjectRef", {{"apiVersion", "v1"}, {"kind", "Pod"}, {"name", s.name}, {"uid", s.uid}}}}}};
    NPC_ASSIGN_OR_RETURN(std::string answer,
                         Raw("POST", "/api/v1/namespaces/" + s.ns + "/serviceaccounts/" + sa + "/token",
                             "application/json", req.dump()));
    json tr = json::parse(answer, nullptr, false);
    const std::string token = tr.is_discarded() ? "" : tr["status"].value("token", "");
    if (token.empty()) return Internal("TokenRequest for " + s.ns + "/" + sa + " returned no token");
    std::ifstream caf(f_.ca_file);
    std::string ca((std::istreambuf_iterator<char>(caf)), std::istreambuf_iterator<char>());
    if (ca.empty()) return InvalidArgument("--ca-file " + f_.ca_file + " is empty or unreadable");
    const std::string sa_dir = "/run/secrets/kubernetes.io/serviceaccount/";
    c.private_run = true;
    c.run_files = {{sa_dir + "token", token}, {sa_dir + "ca.crt", ca}, {sa_dir + "namespace", s.ns}};
    const size_t colon = f_.kubernetes_service.rfind(':');
    c.env.push_back("KUBERNETES_SERVICE_HOST=" + f_.kubernetes_service.substr(0, colon));
    c.env.push_back("KUBERNETES_SERVICE_PORT=" + f_.kubernetes_service.substr(colon + 1));
    return c;
  }

  StatusOr<std::string> Raw(const std::string& method, const std::string& path, const std::string& type,
                            const std::string& body) {
    kube::HttpRequest r;
    r.method = method;
    r.url = config_.server + path;
    r.headers = {"Content-Type: " + type, "Accept: application/json"};
    if (!config_.token.empty()) r.headers.push_back("Authorization: Bearer " + config_.token);
    r.body = body;
    auto resp = transport_->Do(r);
    if (!resp.ok()) return resp.status().WithContext(method + " " + path);
    if (resp->status / 100 != 2) {
      return Status(resp->status == 404 ? StatusCode::kNotFound : StatusCode::kInternal,
                    method + " " + path + ": HTTP " + std::to_string(resp->status) + ": " + resp->body);
    }
    return resp->body;
  }

  Status PatchStatus(const json& pod, const PodState& s) {
    const std::string now = Now();
    json conditions = json::array();
    for (const char* t : {"PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready", "PodScheduled"}) {
      conditions.push_back({{"type", t}, {"status", "True"}, {"lastTransitionTime", now}});
    }
    json statuses = json::array(), init_statuses = json::array();
    for (const json& ct : pod["spec"].value("containers", json::array())) {
      statuses.push_back({{"name", ct.value("name", "")},
                          {"image", ct.value("image", "")},
                          {"imageID", ""},
                          {"containerID", "npc://" + s.uid + "/" + ct.value("name", "")},
                          {"ready", true},
                          {"started", true},
                          {"restartCount", 0},
                          {"state", {{"running", {{"startedAt", now}}}}}});
    }
    for (const json& ct : pod["spec"].value("initContainers", json::array())) {
      init_statuses.push_back(
          {{"name", ct.value("name", "")},
           {"image", ct.value("image", "")},
           {"imageID", ""},
           {"ready", true},
           {"restartCount", 0},
           {"state", {{"terminated", {{"exitCode", 0}, {"reason", "Completed"}, {"startedAt", now}, {"finishedAt", now}}}}}});
    }
    json status = {{"phase", "Running"},
                   {"hostIP", f_.node_ip},
                   {"hostIPs", {{{"ip", f_.node_ip}}}},
                   {"podIP", s.ip},
                   {"podIPs", {{{"ip", s.ip}}}},
                   {"startTime", now},
                   {"conditions", conditions},
                   {"containerStatuses", statuses}};
    if (!init_statuses.empty()) status["initContainerStatuses"] = init_statuses;
    json patch = {{"status", status}};
    auto r = Raw("PATCH", "/api/v1/namespaces/" + s.ns + "/pods/" + s.name + "/status",
                 "application/strategic-merge-patch+json", patch.dump());
    return r.ok() ? Status::Ok() : r.status();
  }

  void FinalDelete(const std::string& ns, const std::string& name, const std::string& uid) {
    json opts = {{"apiVersion", "v1"},
                 {"kind", "DeleteOptions"},
                 {"gracePeriodSeconds", 0},
                 {"preconditions", {{"uid", uid}}}};
    auto r = Raw("DELETE", "/api/v1/namespaces/" + ns + "/pods/" + name, "application/json", opts.dump());
    if (!r.ok() && r.status().code() != StatusCode::kNotFound) Log("delete pod " + ns + "/" + name + ": " + r.status().ToString());
  }

  void TearDown(const std::string& uid) {
    auto it = pods_.find(uid);
    if (it == pods_.end()) return;
    PodState s = it->second;
    pods_.erase(it);
    StopProcess(s.pid);
    if (!s.host_network && !s.netns.empty()) {
      // Deleting the namespace deletes eth0, hence its peer and the route.
      if (NetnsExists(s.netns)) RunQuietly({"ip", "netns", "del", s.netns});
      RunQuietly({"ip", "-n", node_netns_, "link", "del", s.veth});
      ReleaseIp(s.ip);
    }
    std::error_code ec;
    std::filesystem::remove_all(f_.state_dir + "/" + uid, ec);
    Log("pod " + s.ns + "/" + s.name + ": torn down");
  }

  Flags f_;
  kube::RestConfig config_;
  std::unique_ptr<kube::Client> client_;
  std::unique_ptr<kube::HttpTransport> transport_;
  uint32_t cidr_base_ = 0, cidr_size_ = 0;
  std::string node_netns_;
  std::set<uint32_t> used_ips_;
  std::map<std::string, PodState> pods_;  // by uid
};

int Usage(const char* why) {
  std::fprintf(stderr,
               "npc-node-runner: %s\nusage: npc-node-runner --kubeconfig K --node NAME --cluster-id ID "
               "--pod-cidr CIDR --node-ip IP --state-dir DIR --listener PATH [--coredns PATH "
               "--ca-file CA --kubernetes-service IP:PORT]\n",
               why);
  return 2;
}

}  // namespace
}  // namespace npc::dataplane

int main(int argc, char** argv) {
  using npc::dataplane::Flags;
  Flags f;
  std::map<std::string, std::string*> flags = {
      {"--kubeconfig", &f.kubeconfig}, {"--node", &f.node},           {"--cluster-id", &f.cluster_id},
      {"--pod-cidr", &f.pod_cidr},     {"--node-ip", &f.node_ip},     {"--state-dir", &f.state_dir},
      {"--listener", &f.listener},     {"--coredns", &f.coredns},     {"--ca-file", &f.ca_file},
      {"--kubernetes-service", &f.kubernetes_service}};
  for (int i = 1; i < argc; i += 2) {
    auto it = flags.find(argv[i]);
    if (it == flags.end() || i + 1 >= argc) return npc::dataplane::Usage("bad arguments");
    *it->second = argv[i + 1];
  }
  if (f.kubeconfig.empty() || f.node.empty() || f.cluster_id.empty() || f.pod_cidr.empty() ||
      f.node_ip.empty() || f.state_dir.empty() || f.listener.empty()) {
    return npc::dataplane::Usage("missing a required flag");
  }
  if (!f.coredns.empty() && (f.ca_file.empty() || f.kubernetes_service.find(':') == std::string::npos)) {
    return npc::dataplane::Usage("--coredns needs --ca-file and --kubernetes-service IP:PORT");
  }
  struct sigaction sa{};
  sa.sa_handler = npc::dataplane::OnSignal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  npc::dataplane::Runner r(f);
  npc::Status s = r.Init();
  if (!s.ok()) {
    npc::dataplane::Log(s.ToString());
    return 1;
  }
  npc::dataplane::Log("running node " + f.node);
  r.Loop();
  return 0;
}
