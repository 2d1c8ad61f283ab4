#include "observability/http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <vector>

namespace npc::observability {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::string ErrnoText(int err) {
  return std::strerror(err);
}

std::string_view Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

std::string Serialize(const HttpResponse& r, bool head_only) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + std::string(Reason(r.status)) +
                    "\r\nContent-Type: " + r.content_type +
                    "\r\nContent-Length: " + std::to_string(r.body.size()) +
                    "\r\nConnection: close\r\n";
  if (r.status == 405) out += "Allow: GET, HEAD\r\n";
  out += "\r\n";
  if (!head_only) out += r.body;
  return out;
}

HttpResponse Plain(int status, std::string body) {
  return HttpResponse{.status = status, .body = std::move(body)};
}

// Best effort, for connections we refuse or give up on: one non-blocking send.
void SendAndForget(int fd, const HttpResponse& r) {
  std::string bytes = Serialize(r, false);
  (void)!send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// Binds a listening socket to one resolved address; -1 and errno on failure.
int ListenOn(const sockaddr* addr, socklen_t len, bool dual_stack) {
  int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (addr->sa_family == AF_INET6) {
    int v6only = dual_stack ? 0 : 1;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
  }
  if (bind(fd, addr, len) != 0 || listen(fd, 128) != 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

StatusOr<int> Listen(const BindAddress& a, std::string_view original) {
  if (a.host.empty()) {
    sockaddr_in6 v6{};
    v6.sin6_family = AF_INET6;
    v6.sin6_addr = in6addr_any;
    v6.sin6_port = htons(a.port);
    int fd = ListenOn(reinterpret_cast<const sockaddr*>(&v6), sizeof(v6), /*dual_stack=*/true);
    if (fd >= 0) return fd;
    if (errno != EAFNOSUPPORT && errno != EADDRNOTAVAIL) {
      return Unavailable("listen on " + std::string(original) + ": " + ErrnoText(errno));
    }
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    v4.sin_addr.s_addr = htonl(INADDR_ANY);
    v4.sin_port = htons(a.port);
    fd = ListenOn(reinterpret_cast<const sockaddr*>(&v4), sizeof(v4), false);
    if (fd >= 0) return fd;
    return Unavailable("listen on " + std::string(original) + ": " + ErrnoText(errno));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string port = std::to_string(a.port);
  int rc = getaddrinfo(a.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    return InvalidArgument("bind address " + std::string(original) + ": " + gai_strerror(rc));
  }
  int err = EADDRNOTAVAIL;
  int fd = -1;
  for (addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ListenOn(ai->ai_addr, ai->ai_addrlen, false);
    if (fd < 0) err = errno;
  }
  freeaddrinfo(found);
  if (fd < 0) return Unavailable("listen on " + std::string(original) + ": " + ErrnoText(err));
  return fd;
}

uint16_t BoundPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
}

// The end of the request head ("\r\n\r\n", or "\n\n" from lenient clients), or npos.
size_t HeadEnd(std::string_view in) {
  size_t crlf = in.find("\r\n\r\n");
  size_t lf = in.find("\n\n");
  if (crlf != std::string_view::npos && (lf == std::string_view::npos || crlf < lf)) {
    return crlf + 4;
  }
  return lf == std::string_view::npos ? lf : lf + 2;
}

}  // namespace

HttpHandler MetricsHandler(const Registry& registry) {
  return [&registry](const HttpRequest&) {
    return HttpResponse{.status = 200,
                        .content_type = std::string(kExpositionContentType),
                        .body = registry.Expose()};
  };
}

HttpHandler HealthHandler(const HealthChecks& checks) {
  return [&checks](const HttpRequest&) {
    Status s = checks.Run();
    if (s.ok()) return Plain(200, "ok");
    return Plain(500, s.message() + "\n");
  };
}

StatusOr<std::optional<BindAddress>> ParseBindAddress(std::string_view address) {
  if (address == "0") return std::optional<BindAddress>();
  auto bad = [&](std::string_view why) {
    return InvalidArgument("bind address \"" + std::string(address) + "\": " + std::string(why) +
                           " (want host:port, :port, [ipv6]:port, or 0 to disable)");
  };
  BindAddress out;
  std::string_view port;
  if (address.starts_with('[')) {
    size_t close = address.find(']');
    if (close == std::string_view::npos) return bad("unbalanced '['");
    out.host = std::string(address.substr(1, close - 1));
    std::string_view rest = address.substr(close + 1);
    if (!rest.starts_with(':')) return bad("no port");
    port = rest.substr(1);
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) return bad("no port");
    out.host = std::string(address.substr(0, colon));
    if (out.host.find(':') != std::string::npos) return bad("an IPv6 host needs brackets");
    port = address.substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return bad("port must be a number from 0 to 65535");
  }
  out.port = static_cast<uint16_t>(value);
  return std::optional<BindAddress>(std::move(out));
}

struct HttpServer::Connection {
  enum class State { kReading, kWriting, kDraining };
  int fd = -1;
  State state = State::kReading;
  std::string in;
  std::string out;
  size_t sent = 0;
  SteadyClock::time_point deadline;
  bool refused = false;  // over max_connections: gets 503, does not count
};

HttpServer::HttpServer(HttpServerOptions options, Routes routes)
    : options_(std::move(options)), routes_(std::move(routes)) {}

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options, Routes routes) {
  NPC_ASSIGN_OR_RETURN(std::optional<BindAddress> address, ParseBindAddress(options.bind_address));
  std::string original = options.bind_address;
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(options), std::move(routes)));
  if (!address) return server;
  NPC_ASSIGN_OR_RETURN(server->listen_fd_, Listen(*address, original));
  server->port_ = BoundPort(server->listen_fd_);
  server->enabled_ = true;
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    return Internal("http server: pipe: " + ErrnoText(errno));  // ~HttpServer closes listen_fd_
  }
  server->wake_read_fd_ = pipe_fds[0];
  server->wake_write_fd_ = pipe_fds[1];
  server->thread_ = std::thread([s = server.get()] { s->Loop(); });
  return server;
}

HttpServer::~HttpServer() {
  Stop();
  CloseFd(listen_fd_);
  CloseFd(wake_read_fd_);
  CloseFd(wake_write_fd_);
}

void HttpServer::Stop() {
  std::lock_guard lock(stop_mu_);
  if (!thread_.joinable()) return;
  stopping_.store(true);
  char byte = 1;
  (void)!write(wake_write_fd_, &byte, 1);
  thread_.join();
  CloseFd(listen_fd_);
}

void HttpServer::Loop() {
  std::map<int, Connection> conns;
  SteadyClock::time_point accept_paused_until{};
  std::vector<pollfd> fds;
  while (!stopping_.load()) {
    SteadyClock::time_point now = SteadyClock::now();
    fds.clear();
    fds.push_back({wake_read_fd_, POLLIN, 0});
    bool accepting = now >= accept_paused_until;
    if (accepting) fds.push_back({listen_fd_, POLLIN, 0});
    SteadyClock::time_point wake_at =
        accepting ? SteadyClock::time_point::max() : accept_paused_until;
    for (const auto& [fd, c] : conns) {
      short events = c.state == Connection::State::kWriting ? POLLOUT : POLLIN;
      fds.push_back({fd, events, 0});
      wake_at = std::min(wake_at, c.deadline);
    }
    int timeout_ms = -1;
    if (wake_at != SteadyClock::time_point::max()) {
      auto ms = std::chrono::ceil<std::chrono::milliseconds>(wake_at - now).count();
      timeout_ms = static_cast<int>(std::clamp<int64_t>(ms, 0, 60'000));
    }
    int n = poll(fds.data(), fds.size(), timeout_ms);
    if (n < 0 && errno != EINTR) break;  // cannot happen with valid descriptors
    if (stopping_.load()) break;

    size_t first_conn = accepting ? 2 : 1;
    for (size_t i = first_conn; i < fds.size() && n > 0; ++i) {
      if (fds[i].revents == 0) continue;
      auto it = conns.find(fds[i].fd);
      Connection& c = it->second;
      bool keep = c.state == Connection::State::kWriting ? OnWritable(c) : OnReadable(c);
      if (!keep) {
        close(c.fd);
        conns.erase(it);
      }
    }
    now = SteadyClock::now();
    for (auto it = conns.begin(); it != conns.end();) {
      Connection& c = it->second;
      if (now < c.deadline) {
        ++it;
        continue;
      }
      if (c.state == Connection::State::kReading) {
        SendAndForget(c.fd, Plain(408, "request timed out\n"));
      }
      close(c.fd);
      it = conns.erase(it);
    }
    if (accepting && fds[1].revents != 0) {
      if (Accept(conns)) {
        accept_paused_until = SteadyClock::now() + std::chrono::milliseconds(100);
      }
    }
  }
  for (auto& [fd, c] : conns) close(fd);
}

bool HttpServer::Accept(std::map<int, Connection>& conns) {
  for (;;) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM;
    }
    size_t serving = static_cast<size_t>(
        std::count_if(conns.begin(), conns.end(), [](const auto& e) { return !e.second.refused; }));
    bool refuse = serving >= options_.max_connections;
    if (refuse && conns.size() >= 2 * options_.max_connections) {
      close(fd);  // even the refusals are at their limit
      continue;
    }
    Connection& c = conns[fd];
    c.fd = fd;
    c.deadline = SteadyClock::now() + options_.io_timeout;
    if (refuse) {
      // Answered through the normal write-then-drain path, so the request
      // bytes we never read do not turn the close into a reset.
      c.refused = true;
      c.deadline = std::min(c.deadline, SteadyClock::now() + std::chrono::seconds(1));
      Respond(c, Plain(503, "too many connections\n"), false);
    }
  }
}

bool HttpServer::OnReadable(Connection& c) {
  char buf[4096];
  for (;;) {
    ssize_t got = recv(c.fd, buf, sizeof(buf), 0);
    if (got == 0) {
      // The client is done: an answered connection ends here; an unanswered
      // one was abandoned mid-request.
      return false;
    }
    if (got < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    if (c.state == Connection::State::kDraining) continue;  // discard what follows the head
    c.in.append(buf, static_cast<size_t>(got));
    size_t end = HeadEnd(c.in);
    if (end != std::string::npos && end <= options_.max_request_bytes) {
      bool head_only = false;
      HttpResponse r = Dispatch(std::string_view(c.in).substr(0, end), head_only);
      Respond(c, r, head_only);
      return OnWritable(c);
    }
    if (c.in.size() > options_.max_request_bytes) {
      Respond(c, Plain(431, "request head too large\n"), false);
      return OnWritable(c);
    }
  }
}

bool HttpServer::OnWritable(Connection& c) {
  while (c.sent < c.out.size()) {
    ssize_t n = send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    c.sent += static_cast<size_t>(n);
  }
  // All sent: half-close and read until the client closes (or the deadline),
  // so unread request bytes do not turn our close into a reset that could
  // destroy the answer in flight.
  shutdown(c.fd, SHUT_WR);
  c.state = Connection::State::kDraining;
  c.in.clear();
  c.out.clear();
  return true;
}

void HttpServer::Respond(Connection& c, const HttpResponse& r, bool head_only) {
  c.out = Serialize(r, head_only);
  c.sent = 0;
  c.state = Connection::State::kWriting;
}

HttpResponse HttpServer::Dispatch(std::string_view head, bool& head_only) {
  std::string_view line = head.substr(0, head.find('\n'));
  if (line.ends_with('\r')) line.remove_suffix(1);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return Plain(400, "malformed request line\n");
  HttpRequest req;
  req.method = std::string(line.substr(0, sp1));
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!version.starts_with("HTTP/1.") || !target.starts_with('/')) {
    return Plain(400, "malformed request line\n");
  }
  size_t q = target.find('?');
  req.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
  if (req.method != "GET" && req.method != "HEAD") return Plain(405, "method not allowed\n");
  head_only = req.method == "HEAD";
  auto it = routes_.find(req.path);
  if (it == routes_.end() || !it->second) return Plain(404, "not found\n");
  return it->second(req);
}

}  // namespace npc::observability
