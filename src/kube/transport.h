// HTTP to the API server, behind an interface so the client can be tested
// against a fake and used with the real thing (libcurl).
//
// The curl transport reuses connections (a curl share handle for connections,
// DNS and TLS sessions, plus a pool of easy handles), bounds every request
// (connect timeout, total timeout, or for streams a low-speed limit), sets TCP
// keep-alive with short probes so a silently dropped connection is noticed
// within about a minute, and can be cancelled from another thread through an
// atomic flag (checked at least once a second).
//
//   NPC_ASSIGN_OR_RETURN(auto t, MakeCurlTransport(TlsOptionsFrom(config)));
//   HttpRequest req{.method = "GET", .url = config.server + "/version"};
//   KubeResult<HttpResponse> r = t->Do(req);
//
// Thread-safety: Do may be called from any number of threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "kube/config.h"
#include "kube/errors.h"

namespace npc::kube {

struct HttpRequest {
  std::string method = "GET";
  std::string url;                   // absolute: server + path + query
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  std::chrono::milliseconds timeout{30000};  // whole request; zero: none (streams)
  std::chrono::seconds low_speed_time{0};    // abort after this long below 1 byte/s
  // Client certificate for this request, overriding the transport's (exec plugins).
  const std::string* client_cert_pem = nullptr;
  const std::string* client_key_pem = nullptr;
  // When set, a 2xx body is handed here chunk by chunk instead of collected;
  // returning false stops the transfer (Do then fails with kCancelled).
  std::function<bool(std::string_view)> on_body;
  // When set and true, the transfer stops within about a second (kCancelled).
  const std::atomic<bool>* cancel = nullptr;
};

struct HttpResponse {
  int status = 0;
  std::string body;  // the whole body, or for streamed 2xx answers nothing
  std::string content_type;
  std::optional<int> retry_after_seconds;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Sends one request. Any HTTP answer (even 4xx/5xx) is a value; failures to
  // get an answer are KubeErrors with reason kTransport, kTls (with the CA's
  // origin in the message), kDeadline or kCancelled.
  [[nodiscard]] virtual KubeResult<HttpResponse> Do(const HttpRequest& request) = 0;
};

struct TransportOptions {
  std::string ca_pem;  // empty: the system trust store
  std::string ca_origin;
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;
  std::string proxy_url;  // empty: libcurl's environment defaults (HTTPS_PROXY, NO_PROXY)
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string user_agent = "netpol-ctrl/0.1";
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::seconds keepalive_idle{15};
  std::chrono::seconds keepalive_interval{5};
  int keepalive_probes = 3;
  // Called (from the requesting thread) for every new connection opened.
  std::function<void()> on_connect;
};

[[nodiscard]] TransportOptions TransportOptionsFrom(const RestConfig& config);
[[nodiscard]] StatusOr<std::unique_ptr<HttpTransport>> MakeCurlTransport(TransportOptions options);

}  // namespace npc::kube
