// Fuzz target: kubeconfig parsing (kube/config.h, LoadKubeconfig).
//
// Input: kubeconfig YAML. A line "#@file" starts another file of the same
// $KUBECONFIG list (files are merged, the first to set a value wins); a first
// line "#@context NAME" selects a context (else current-context). The files
// are written to a private temporary directory that also holds ca.crt,
// client.crt, client.key and token (copies of src/kube/testdata), so that
// relative file references resolve to real certificates.
//
// Inputs that could make the loader read outside that directory (a scalar
// starting with '/' or '~', or holding "..") are rejected before loading: a
// fuzzer that finds /dev/zero would only measure the disk. Properties of a
// configuration that loads:
//   - the server is an http:// or https:// URL without a trailing '/';
//   - a namespace and the context name are set;
//   - never both insecure-skip-tls-verify and a CA; a client certificate
//     only with its key; an exec plugin has a supported apiVersion and a
//     command;
//   - loading is deterministic (the same files give the same RestConfig).
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "fuzz_util.h"
#include "kube/config.h"

namespace npc::kube {
namespace {

namespace fs = std::filesystem;

const std::string& Dir() {
  static const std::string dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/npc-fuzz-kubeconfig-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    const fs::path testdata = fs::path(NPC_SOURCE_DIR) / "src/kube/testdata";
    std::error_code ec;
    for (const char* f : {"ca.crt", "client.crt", "client.key"}) {
      fs::copy_file(testdata / f, fs::path(tmpl) / f, ec);  // missing fixtures: fewer paths
    }
    std::ofstream(fs::path(tmpl) / "token") << "fuzz-token\n";
    return tmpl;
  }();
  return dir;
}

void Cleanup() {
  std::error_code ec;
  fs::remove_all(Dir(), ec);
}

// False when a scalar of `n` could name a file outside the directory. The
// loader reads file names at depth 5 at most (users[i].user.exec.command), so
// deeper nodes are not looked at, which also ends cycles (`a: &a {b: *a}`);
// aliases that expand exponentially run out of budget and are rejected.
bool Confined(const YAML::Node& n, int* budget, int depth = 0) {
  if (depth > 8) return true;
  if (--*budget < 0) return false;
  switch (n.Type()) {
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      return s.empty() || (s[0] != '/' && s[0] != '~' && s.find("..") == std::string::npos &&
                           s.find('\0') == std::string::npos);
    }
    case YAML::NodeType::Sequence:
      for (const auto& c : n) {
        if (!Confined(c, budget, depth + 1)) return false;
      }
      return true;
    case YAML::NodeType::Map:
      for (const auto& kv : n) {
        if (!Confined(kv.first, budget, depth + 1) || !Confined(kv.second, budget, depth + 1)) {
          return false;
        }
      }
      return true;
    default: return true;
  }
}

bool Confined(const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception&) {
    return true;  // LoadFile fails the same way, before reading any other file
  }
  int budget = 20000;
  return Confined(root, &budget);
}

std::string Print(const StatusOr<RestConfig>& r) {
  if (!r.ok()) return "error: " + r.status().ToString();
  const RestConfig& c = *r;
  std::string s = "server=" + c.server + " origin=" + c.origin + " context=" + c.context +
                  " ns=" + c.namespace_name + " ca=" + std::to_string(c.ca_pem.size()) + "@" +
                  c.ca_origin + " insecure=" + std::to_string(c.insecure_skip_tls_verify) +
                  " sni=" + c.tls_server_name + " proxy=" + c.proxy_url +
                  " cert=" + std::to_string(c.client_cert_pem.size()) +
                  " key=" + std::to_string(c.client_key_pem.size()) + " token=" + c.token +
                  " token_file=" + c.token_file;
  if (c.exec) {
    s += " exec=" + c.exec->api_version + "|" + c.exec->command + "|" + c.exec->origin + "|" +
         std::to_string(c.exec->provide_cluster_info);
    for (const auto& a : c.exec->args) s += " arg=" + a;
    for (const auto& [k, v] : c.exec->env) s += " env=" + k + "=" + v;
  }
  return s;
}

}  // namespace
}  // namespace npc::kube

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)npc::kube::Dir();
  std::atexit(npc::kube::Cleanup);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace npc::kube;  // NOLINT(google-build-using-namespace)
  std::string_view in(reinterpret_cast<const char*>(data), size);

  std::string context;
  if (in.substr(0, 10) == "#@context ") {
    const size_t nl = in.find('\n');
    context = std::string(in.substr(10, nl == std::string_view::npos ? nl : nl - 10));
  }
  std::vector<std::string> texts(1);
  for (size_t at = 0; at < in.size();) {
    size_t nl = in.find('\n', at);
    nl = nl == std::string_view::npos ? in.size() : nl + 1;
    const std::string_view line = in.substr(at, nl - at);
    if (line.substr(0, 6) == "#@file" && texts.size() < 4) {
      texts.emplace_back();
    } else {
      texts.back() += line;
    }
    at = nl;
  }
  std::vector<std::string> files;
  for (size_t i = 0; i < texts.size(); ++i) {
    if (!Confined(texts[i])) return -1;  // not worth keeping in the corpus
    files.push_back(Dir() + "/config" + std::to_string(i));
    std::ofstream(files.back(), std::ios::binary | std::ios::trunc) << texts[i];
  }

  const npc::StatusOr<RestConfig> r = LoadKubeconfig(files, context);
  const std::string printed = Print(r);
  FUZZ_CHECK(Print(LoadKubeconfig(files, context)) == printed, "not deterministic: " << printed);
  if (!r.ok()) {
    FUZZ_CHECK(!r.status().message().empty(), "an error without a message");
    return 0;
  }
  const RestConfig& c = *r;
  FUZZ_CHECK((c.server.rfind("https://", 0) == 0 || c.server.rfind("http://", 0) == 0) &&
                 c.server.back() != '/',
             printed);
  FUZZ_CHECK(!c.namespace_name.empty() && !c.context.empty(), printed);
  FUZZ_CHECK(!(c.insecure_skip_tls_verify && !c.ca_pem.empty()), printed);
  FUZZ_CHECK(c.client_cert_pem.empty() == c.client_key_pem.empty(), printed);
  if (c.exec) {
    FUZZ_CHECK(
        !c.exec->command.empty() && (c.exec->api_version == "client.authentication.k8s.io/v1" ||
                                     c.exec->api_version == "client.authentication.k8s.io/v1beta1"),
        printed);
  }
  return 0;
}
