// npc-netns-forward: lets processes inside a network namespace reach a TCP
// server on the host's loopback, without any address outside the namespace.
//
//   npc-netns-forward --netns npc-abc123-node --listen 198.18.128.10:24123 --to 127.0.0.1:24123
//
// The listening socket is created inside --netns (a socket keeps the
// namespace it was created in), then the thread returns to the namespace the
// program started in (the host's) and every accepted connection is relayed to
// --to from there, byte for byte (TLS passes through untouched). This is how
// kube-proxy, the enforcer and CoreDNS of the test dataplane reach the API
// server (scripts/with-cluster --dataplane). Runs until SIGTERM/SIGINT.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "dataplane/netns.h"

namespace {

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

bool ParseAddr(const std::string& s, sockaddr_in* out) {
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  *out = {};
  out->sin_family = AF_INET;
  out->sin_port = htons(static_cast<uint16_t>(std::atoi(s.c_str() + colon + 1)));
  return ::inet_pton(AF_INET, s.substr(0, colon).c_str(), &out->sin_addr) == 1 && out->sin_port != 0;
}

// Copies both ways until either side closes (half-closes are passed on).
void Relay(int a, sockaddr_in to) {
  const int b = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (b < 0 || ::connect(b, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    std::fprintf(stderr, "npc-netns-forward: connect: %s\n", std::strerror(errno));
    if (b >= 0) ::close(b);
    ::close(a);
    return;
  }
  const int one = 1;
  ::setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  ::setsockopt(b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  bool open_ab = true, open_ba = true;
  char buf[65536];
  while ((open_ab || open_ba) && !g_stop) {
    pollfd p[2] = {{a, static_cast<short>(open_ab ? POLLIN : 0), 0},
                   {b, static_cast<short>(open_ba ? POLLIN : 0), 0}};
    if (::poll(p, 2, 1000) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const int from = i == 0 ? a : b, to_fd = i == 0 ? b : a;
      const ssize_t n = ::read(from, buf, sizeof(buf));
      if (n <= 0) {
        ::shutdown(to_fd, SHUT_WR);
        (i == 0 ? open_ab : open_ba) = false;
        if (n < 0) open_ab = open_ba = false;
        continue;
      }
      for (ssize_t off = 0; off < n;) {
        const ssize_t w = ::write(to_fd, buf + off, static_cast<size_t>(n - off));
        if (w <= 0) {
          open_ab = open_ba = false;
          break;
        }
        off += w;
      }
    }
  }
  ::close(a);
  ::close(b);
}

int Usage() {
  std::fprintf(stderr, "usage: npc-netns-forward --netns NAME --listen IP:PORT --to IP:PORT\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string netns, listen_s, to_s;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--netns") netns = v;
    else if (a == "--listen") listen_s = v;
    else if (a == "--to") to_s = v;
    else return Usage();
  }
  sockaddr_in listen_addr{}, to{};
  if (netns.empty() || !ParseAddr(listen_s, &listen_addr) || !ParseAddr(to_s, &to)) return Usage();
  struct sigaction sa{};
  sa.sa_handler = OnSignal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  int lfd = -1;
  {
    auto guard = npc::dataplane::NetnsGuard::Enter(netns);
    if (!guard.ok()) {
      std::fprintf(stderr, "npc-netns-forward: %s\n", guard.status().ToString().c_str());
      return 1;
    }
    lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (lfd < 0 || ::bind(lfd, reinterpret_cast<sockaddr*>(&listen_addr), sizeof(listen_addr)) != 0 ||
        ::listen(lfd, 512) != 0) {
      std::fprintf(stderr, "npc-netns-forward: listen on %s in %s: %s\n", listen_s.c_str(),
                   netns.c_str(), std::strerror(errno));
      return 1;
    }
  }  // back in the host's namespace: connections to --to start from here
  std::fprintf(stderr, "npc-netns-forward: %s (netns %s) -> %s\n", listen_s.c_str(), netns.c_str(),
               to_s.c_str());
  while (!g_stop) {
    pollfd p{lfd, POLLIN, 0};
    if (::poll(&p, 1, 500) <= 0) continue;
    const int c = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    std::thread(Relay, c, to).detach();
  }
  return 0;
}
