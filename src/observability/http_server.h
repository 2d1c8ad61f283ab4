// HttpServer: a tiny HTTP/1.1 server for /metrics, /healthz and /readyz.
//
//   Routes routes;
//   routes["/metrics"] = MetricsHandler(registry);
//   routes["/healthz"] = HealthHandler(healthz);
//   NPC_ASSIGN_OR_RETURN(std::unique_ptr<HttpServer> server,
//                        HttpServer::Start({.bind_address = ":8080"}, std::move(routes)));
//   if (server->enabled()) Log("serving on port", server->port());
//   ...
//   server->Stop();   // or let the destructor do it
//
// One thread polls the listening socket and every open connection (non-
// blocking I/O), so a slow client never holds up another: each connection has
// one deadline (`io_timeout`) for reading its request and writing the answer,
// after which it gets 408 (if nothing was answered yet) and is closed. One
// request per connection, answered with "Connection: close". GET and HEAD are
// served; other methods get 405, unknown paths 404, a request head over
// `max_request_bytes` 431, a malformed one 400, and connections beyond
// `max_connections` 503.
//
// Handlers run on the server thread, one at a time: they must be quick (a
// registry exposition, a health check) and must not call Stop().
//
// Thread-safety: port(), enabled() and Stop() are safe from any thread but a
// handler. Stop() returns promptly (it wakes the poll loop; it does not wait
// for clients), closes the listening socket and every connection, and is
// idempotent. port() keeps reporting the port it had.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "common/status.h"
#include "observability/health.h"
#include "observability/metrics.h"

namespace npc::observability {

struct HttpRequest {
  std::string method;  // "GET", "HEAD"
  std::string path;    // "/metrics", without the query
  std::string query;   // after '?', undecoded; empty when none
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;
// Exact path -> handler.
using Routes = std::map<std::string, HttpHandler, std::less<>>;

// GET /metrics: the registry's exposition, Content-Type text/plain; version=0.0.4.
// `registry` must outlive the server.
HttpHandler MetricsHandler(const Registry& registry);
// 200 "ok" when checks.Run() is OK; else 500 with the reason ("informers: caches
// not synced"). `checks` must outlive the server.
HttpHandler HealthHandler(const HealthChecks& checks);

// A parsed bind address. `host` empty means every interface (IPv6 and IPv4
// when the system has IPv6, else IPv4); port 0 asks for an ephemeral port.
struct BindAddress {
  std::string host;
  uint16_t port = 0;
};

// "0" (disabled) -> nullopt; ":8080", "127.0.0.1:8081", "localhost:9000",
// "[::1]:8080", ":0". InvalidArgument for anything else (no port, port out of
// range, unbalanced brackets).
[[nodiscard]] StatusOr<std::optional<BindAddress>> ParseBindAddress(std::string_view address);

struct HttpServerOptions {
  std::string bind_address;                    // see ParseBindAddress; "0" disables the server
  size_t max_request_bytes = 8192;             // request line + headers
  std::chrono::milliseconds io_timeout{5000};  // per connection, start to finish
  size_t max_connections = 64;                 // open at once
};

class HttpServer {
 public:
  // Binds and starts serving. A disabled address ("0") gives a server that is
  // not enabled() and runs no thread. Fails (InvalidArgument, Unavailable) when
  // the address does not parse, resolve or bind (in use, no permission).
  [[nodiscard]] static StatusOr<std::unique_ptr<HttpServer>> Start(HttpServerOptions options,
                                                                   Routes routes);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  bool enabled() const { return enabled_; }
  // The bound port (the real one when 0 was asked for); 0 when disabled.
  uint16_t port() const { return port_; }

  void Stop();

 private:
  struct Connection;
  HttpServer(HttpServerOptions options, Routes routes);
  void Loop();
  // Accepts every pending connection; returns true when accepting should
  // pause (out of descriptors or memory) rather than spin.
  bool Accept(std::map<int, Connection>& conns);
  // Returns false when the connection is finished and must be closed.
  bool OnReadable(Connection& c);
  bool OnWritable(Connection& c);
  void Respond(Connection& c, const HttpResponse& r, bool head_only);
  HttpResponse Dispatch(std::string_view head, bool& head_only);

  const HttpServerOptions options_;
  const Routes routes_;
  int listen_fd_ = -1;
  int wake_read_fd_ = -1;
  int wake_write_fd_ = -1;
  bool enabled_ = false;  // set before the thread starts, then constant
  uint16_t port_ = 0;     // likewise
  std::atomic<bool> stopping_{false};
  std::mutex stop_mu_;  // serializes Stop()
  std::thread thread_;
};

}  // namespace npc::observability
