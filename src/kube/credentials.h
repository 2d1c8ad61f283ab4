// Who we are to the API server: bearer tokens and client certificates, and how
// they are refreshed.
//
// A CredentialProvider hands out the credentials for the next request; after a
// 401 the client tells it (OnUnauthorized) so the next Get fetches fresh ones:
//  - static: a token and/or client certificate from the kubeconfig;
//  - token file: re-read at least every `refresh` (1 min) and after a 401; when a
//    read fails or finds an empty file the last good token stays;
//  - exec plugin (client.authentication.k8s.io/v1): runs the command with
//    KUBERNETES_EXEC_INFO, accepts a token or a certificate and key, caches them
//    until status.expirationTimestamp, runs again after a 401.
//
//   NPC_ASSIGN_OR_RETURN(auto creds, MakeCredentialProvider(config, time));
//   NPC_ASSIGN_OR_RETURN(Credentials c, creds->Get());
//
// Thread-safety: every provider is safe to call from any thread; Get serializes
// refreshes (one plugin run at a time).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/status.h"
#include "kube/config.h"
#include "kube/time_source.h"

namespace npc::kube {

struct Credentials {
  std::string token;            // "Authorization: Bearer <token>" when not empty
  std::string client_cert_pem;  // both empty: the transport's configured certificate
  std::string client_key_pem;

  bool operator==(const Credentials&) const = default;
};

class CredentialProvider {
 public:
  virtual ~CredentialProvider() = default;
  // Credentials for the next request. Errors name the file or plugin that failed.
  [[nodiscard]] virtual StatusOr<Credentials> Get() = 0;
  // The server answered 401 to a request sent with `rejected`: refresh on the next Get.
  virtual void OnUnauthorized(const Credentials& rejected) = 0;
};

[[nodiscard]] std::unique_ptr<CredentialProvider> MakeStaticCredentials(Credentials c);
[[nodiscard]] std::unique_ptr<CredentialProvider> MakeTokenFileCredentials(
    std::string path, const TimeSource& time,
    std::chrono::seconds refresh = std::chrono::seconds(60));
// `cluster` supplies server and CA for provideClusterInfo.
[[nodiscard]] std::unique_ptr<CredentialProvider> MakeExecCredentials(ExecConfig exec,
                                                                      const RestConfig& cluster,
                                                                      const TimeSource& time);
// The provider a RestConfig asks for: exec, else tokenFile (unless a token is
// set), else static token / client certificate (possibly empty: anonymous).
[[nodiscard]] StatusOr<std::unique_ptr<CredentialProvider>> MakeCredentialProvider(
    const RestConfig& config, const TimeSource& time);

// Parses an RFC 3339 timestamp ("2026-01-02T03:04:05Z", fractional seconds and
// offsets allowed) as used in expirationTimestamp.
[[nodiscard]] StatusOr<TimeSource::WallTime> ParseRfc3339(std::string_view s);

}  // namespace npc::kube
