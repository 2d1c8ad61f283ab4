// Where the API server is and how to talk to it: kubeconfig and in-cluster
// resolution into a RestConfig.
//
// Resolution order (ResolveConfig), as client-go:
//   1. ConfigOptions::kubeconfig (the --kubeconfig flag);
//   2. $KUBECONFIG, a colon-separated list of files merged so that the first file
//      to set a value wins (missing files in the list are skipped);
//   3. in-cluster, when $KUBERNETES_SERVICE_HOST and $KUBERNETES_SERVICE_PORT are set:
//      https://host:port (IPv6 bracketed), token and ca.crt from the service-account
//      directory (ConfigOptions::serviceaccount_dir, else $NPC_SERVICEACCOUNT_DIR,
//      else /var/run/secrets/kubernetes.io/serviceaccount);
//   4. ~/.kube/config.
// The context is ConfigOptions::context, else current-context; the namespace comes
// from the context ("default" when unset).
//
// All file contents (CA, client certificate and key) are read and checked here,
// once; every error names the file and the field:
//   kubeconfig /home/u/.kube/config: users["admin"].client-certificate: file
//   /home/u/.kube/admin.crt cannot be read: No such file or directory
//
// Thread-safety: pure functions over the file system; RestConfig is a value.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace npc::kube {

// users[].user.exec of a kubeconfig (client.authentication.k8s.io/v1).
struct ExecConfig {
  std::string api_version;
  std::string command;  // resolved against the kubeconfig's directory when relative with a '/'
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  bool provide_cluster_info = false;
  std::string origin;  // "kubeconfig /path: users[\"x\"].exec", for messages
};

struct RestConfig {
  std::string server;  // "https://10.0.0.1:6443", no trailing slash
  std::string origin;  // "kubeconfig /path (context \"ctx\")" or "in-cluster (/var/run/...)"
  std::string context;
  std::string namespace_name = "default";

  // TLS
  std::string ca_pem;     // empty: the system trust store
  std::string ca_origin;  // the file or field the CA came from, for TLS error messages
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;
  std::string proxy_url;
  std::string client_cert_pem;
  std::string client_key_pem;

  // Credentials (see kube/credentials.h): at most one of these is normally set.
  std::string token;
  std::string token_file;  // re-read while running (bound service-account tokens rotate)
  std::optional<ExecConfig> exec;
};

struct ConfigOptions {
  std::string kubeconfig;          // --kubeconfig
  std::string context;             // --context
  std::string serviceaccount_dir;  // overrides $NPC_SERVICEACCOUNT_DIR
  // Environment lookup, replaceable in tests; nullptr result means unset.
  std::function<const char*(const char*)> getenv;
};

inline constexpr std::string_view kDefaultServiceAccountDir =
    "/var/run/secrets/kubernetes.io/serviceaccount";

[[nodiscard]] StatusOr<RestConfig> ResolveConfig(const ConfigOptions& options);

// Loads and merges kubeconfig files (the first to set a value wins) and resolves
// `context` (empty: current-context).
[[nodiscard]] StatusOr<RestConfig> LoadKubeconfig(const std::vector<std::string>& files,
                                                  std::string_view context);

// In-cluster configuration from a service-account directory holding token,
// ca.crt and (optionally) namespace.
[[nodiscard]] StatusOr<RestConfig> LoadInCluster(std::string_view serviceaccount_dir,
                                                 std::string_view host, std::string_view port);

// Helpers shared with credentials.cc.
[[nodiscard]] StatusOr<std::string> Base64Decode(std::string_view in);
// Checks that `pem` holds at least one certificate (or a private key); the error
// carries OpenSSL's reason.
[[nodiscard]] Status CheckPemCertificates(std::string_view pem);
[[nodiscard]] Status CheckPemPrivateKey(std::string_view pem);
[[nodiscard]] StatusOr<std::string> ReadFileToString(const std::string& path);

}  // namespace npc::kube
