// npc-pod-listener: what runs "inside" a pod of the test dataplane.
//
//   npc-pod-listener --name shop/web-0 --tcp 8080 --udp 53 [--tcp PORT ...]
//
// Listens on 0.0.0.0 on every given port (in whatever network namespace it
// was started in) and answers each TCP connection and each UDP datagram with
// one line naming the pod and the port, e.g. "shop/web-0 8080/TCP\n", so a
// prober can tell which backend answered. A port that cannot be bound (a
// hostNetwork pod whose port is taken) is reported on stderr and skipped.
// Runs until SIGTERM/SIGINT (exit 0). The node runner starts it with a
// parent-death signal, so it never outlives the runner.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

struct Listen {
  int fd;
  bool tcp;
  std::string token;
};

int Bind(int port, bool tcp) {
  const int fd = ::socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || (tcp && ::listen(fd, 4096) != 0)) {
    const int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

int Usage() {
  std::fprintf(stderr, "usage: npc-pod-listener --name NS/POD [--tcp PORT]... [--udp PORT]...\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string name;
  std::vector<std::pair<int, bool>> ports;  // port, tcp
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return Usage();
    const std::string v = argv[++i];
    if (a == "--name") {
      name = v;
    } else if (a == "--tcp" || a == "--udp") {
      const int p = std::atoi(v.c_str());
      if (p <= 0 || p > 65535) return Usage();
      ports.emplace_back(p, a == "--tcp");
    } else {
      return Usage();
    }
  }
  if (name.empty()) return Usage();
  struct sigaction sa{};
  sa.sa_handler = OnSignal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  std::map<int, Listen> by_fd;
  for (const auto& [port, tcp] : ports) {
    const int fd = Bind(port, tcp);
    if (fd < 0) {
      std::fprintf(stderr, "npc-pod-listener %s: cannot listen on %d/%s: %s\n", name.c_str(), port,
                   tcp ? "TCP" : "UDP", std::strerror(errno));
      continue;
    }
    by_fd[fd] = {fd, tcp, name + " " + std::to_string(port) + (tcp ? "/TCP\n" : "/UDP\n")};
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  std::fprintf(stderr, "npc-pod-listener %s: listening on %zu of %zu ports\n", name.c_str(),
               by_fd.size(), ports.size());
  char buf[2048];
  while (!g_stop) {
    epoll_event evs[32];
    const int n = ::epoll_wait(ep, evs, 32, 500);
    for (int i = 0; i < n; ++i) {
      const Listen& l = by_fd[evs[i].data.fd];
      if (l.tcp) {
        // Answer and close; bounded: at most 64 accepts per wakeup.
        for (int k = 0; k < 64; ++k) {
          const int c = ::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC);
          if (c < 0) break;
          (void)!::write(c, l.token.data(), l.token.size());
          ::shutdown(c, SHUT_WR);
          ::close(c);
        }
      } else {
        for (int k = 0; k < 64; ++k) {
          sockaddr_storage from{};
          socklen_t len = sizeof(from);
          const ssize_t r = ::recvfrom(l.fd, buf, sizeof(buf), MSG_DONTWAIT,
                                       reinterpret_cast<sockaddr*>(&from), &len);
          if (r < 0) break;
          ::sendto(l.fd, l.token.data(), l.token.size(), MSG_DONTWAIT,
                   reinterpret_cast<sockaddr*>(&from), len);
        }
      }
    }
  }
  return 0;
}
