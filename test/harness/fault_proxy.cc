#include "test/harness/fault_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace npc::harness {
namespace {

constexpr size_t kMaxConnections = 256;

sockaddr_in Loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// Closes with a RST rather than a FIN: what a crashed peer or a middlebox does.
void Reset(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  shutdown(fd, SHUT_RDWR);
}

bool WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd pfd{fd, POLLOUT, 0};
        poll(&pfd, 1, 100);
        continue;
      }
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

struct FaultProxy::Conn {
  int client = -1;
  int server = -1;
  uint64_t cut_seen = 0;  // the cut generation when it opened
  std::atomic<bool> reset{false};
  std::atomic<bool> done{false};
  std::thread thread;
};

StatusOr<std::unique_ptr<FaultProxy>> FaultProxy::Start(int target_port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Internal(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a = Loopback(0);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(fd, 64) != 0) {
    std::string e = std::strerror(errno);
    close(fd);
    return Internal("bind/listen on 127.0.0.1: " + e);
  }
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  std::unique_ptr<FaultProxy> p(new FaultProxy(fd, ntohs(a.sin_port), target_port));
  p->accept_thread_ = std::thread([q = p.get()] { q->AcceptLoop(); });
  return p;
}

FaultProxy::FaultProxy(int listen_fd, int port, int target_port)
    : listen_fd_(listen_fd), port_(port), target_port_(target_port) {}

FaultProxy::~FaultProxy() {
  stopping_ = true;
  if (accept_thread_.joinable()) accept_thread_.join();
  std::vector<std::unique_ptr<Conn>> conns;
  {
    MutexLock lock(mu_);
    conns.swap(conns_);
  }
  for (auto& c : conns) {
    if (c->thread.joinable()) c->thread.join();
  }
  close(listen_fd_);
}

void FaultProxy::AcceptLoop() {
  while (!stopping_) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    if (poll(&pfd, 1, 100) <= 0) continue;
    int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    MutexLock lock(mu_);
    // Reap finished connections; refuse beyond the bound.
    for (auto it = conns_.begin(); it != conns_.end();) {
      if ((*it)->done) {
        (*it)->thread.join();
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
    if (conns_.size() >= kMaxConnections) {
      Reset(client);
      close(client);
      continue;
    }
    int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in to = Loopback(target_port_);
    if (server < 0 || connect(server, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
      if (server >= 0) close(server);
      Reset(client);  // the server is down: so is the proxy's side
      close(client);
      continue;
    }
    auto c = std::make_unique<Conn>();
    c->client = client;
    c->server = server;
    c->cut_seen = cut_generation_.load();
    accepted_++;
    Conn* raw = c.get();
    c->thread = std::thread([this, raw] { Relay(raw); });
    conns_.push_back(std::move(c));
  }
}

void FaultProxy::Relay(Conn* c) {
  char buf[16384];
  bool open = true;
  while (open && !stopping_ && !c->reset) {
    if (stalled_) {
      usleep(20000);
      continue;
    }
    pollfd pfd[2] = {{c->client, POLLIN, 0}, {c->server, POLLIN, 0}};
    int n = poll(pfd, 2, 100);
    if (n <= 0 || stalled_) continue;
    for (int i = 0; i < 2 && open; ++i) {
      if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const int from = i == 0 ? c->client : c->server;
      const int to = i == 0 ? c->server : c->client;
      ssize_t r = recv(from, buf, sizeof(buf), 0);
      if (r <= 0) {
        open = false;
        break;
      }
      size_t len = static_cast<size_t>(r);
      const bool cut = i == 1 && cut_generation_.load() != c->cut_seen && len >= 2;
      if (cut) len /= 2;
      if (!WriteAll(to, buf, len)) open = false;
      (i == 0 ? bytes_to_server_ : bytes_to_client_) += len;
      if (cut) {
        cuts_++;
        Reset(c->client);
        Reset(c->server);
        open = false;
      }
    }
  }
  if (c->reset) {
    Reset(c->client);
    Reset(c->server);
  }
  close(c->client);
  close(c->server);
  c->done = true;
}

int FaultProxy::ResetAll() {
  MutexLock lock(mu_);
  int n = 0;
  for (auto& c : conns_) {
    if (!c->done && !c->reset.exchange(true)) ++n;
  }
  resets_ += static_cast<uint64_t>(n);
  return n;
}

FaultProxyStats FaultProxy::Stats() const {
  MutexLock lock(mu_);
  FaultProxyStats s;
  s.connections = accepted_;
  for (const auto& c : conns_) s.open += c->done ? 0 : 1;
  s.bytes_to_server = bytes_to_server_;
  s.bytes_to_client = bytes_to_client_;
  s.resets = resets_;
  s.cuts = cuts_;
  return s;
}

}  // namespace npc::harness
