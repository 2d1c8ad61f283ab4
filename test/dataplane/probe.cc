#include "dataplane/probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "dataplane/netns.h"

namespace npc::dataplane {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kUdpResend = std::chrono::milliseconds(300);
constexpr int kUdpSends = 3;
// How long an established TCP connection waits for the token (or DNS answer).
constexpr auto kTokenWait = std::chrono::milliseconds(700);

struct Flight {
  size_t index = 0;
  int fd = -1;
  bool tcp = true;
  bool dns = false;
  bool connected = false;
  uint16_t dns_id = 0;
  std::string payload;  // what to send (UDP datagram, or TCP DNS query)
  std::string in;
  int sends = 0;
  Clock::time_point start, next_send, deadline;
};

void RaiseFdLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// 198.18.0.0/15: the only addresses a probe may go to.
bool InDataplane(uint32_t host_order) { return (host_order & 0xfffe0000u) == 0xc6120000u; }

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kAnswered: return "answered";
    case Outcome::kRefused: return "refused";
    case Outcome::kTimeout: return "timeout";
    case Outcome::kError: return "error";
  }
  return "?";
}

std::string ProbeResult::ToString() const {
  std::string s = OutcomeName(outcome);
  if (!answer.empty()) s += " \"" + answer + "\"";
  if (!detail.empty()) s += " (" + detail + ")";
  s += " in " + std::to_string(elapsed.count()) + " ms";
  return s;
}

std::string DnsQuery(const std::string& name, uint16_t id) {
  std::string q;
  q += static_cast<char>(id >> 8);
  q += static_cast<char>(id & 0xff);
  q += std::string("\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 10);  // RD, 1 question
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    const std::string label = name.substr(start, dot - start);
    if (!label.empty()) {
      q += static_cast<char>(std::min<size_t>(label.size(), 63));
      q += label.substr(0, 63);
    }
    start = dot + 1;
  }
  q += std::string("\x00\x00\x01\x00\x01", 5);  // root, type A, class IN
  return q;
}

StatusOr<std::vector<std::string>> DnsAnswerAddresses(const std::string& p, uint16_t id) {
  auto u8 = [&](size_t i) { return static_cast<uint8_t>(p[i]); };
  auto u16 = [&](size_t i) { return static_cast<uint16_t>(u8(i) << 8 | u8(i + 1)); };
  if (p.size() < 12) return InvalidArgument("DNS answer shorter than a header");
  if (u16(0) != id) return InvalidArgument("DNS answer to another query");
  if (!(u8(2) & 0x80)) return InvalidArgument("DNS packet is not a response");
  const int rcode = u8(3) & 0x0f;
  if (rcode != 0) {
    static const char* kNames[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"};
    return NotFound(std::string("DNS rcode ") + (rcode < 6 ? kNames[rcode] : std::to_string(rcode).c_str()));
  }
  const int qd = u16(4), an = u16(6);
  size_t i = 12;
  auto skip_name = [&]() -> bool {
    while (i < p.size()) {
      const uint8_t len = u8(i);
      if ((len & 0xc0) == 0xc0) {
        i += 2;
        return i <= p.size();
      }
      ++i;
      if (len == 0) return true;
      i += len;
    }
    return false;
  };
  for (int k = 0; k < qd; ++k) {
    if (!skip_name() || i + 4 > p.size()) return InvalidArgument("truncated DNS question");
    i += 4;
  }
  std::vector<std::string> out;
  for (int k = 0; k < an; ++k) {
    if (!skip_name() || i + 10 > p.size()) return InvalidArgument("truncated DNS answer");
    const uint16_t type = u16(i), klass = u16(i + 2), rdlen = u16(i + 8);
    i += 10;
    if (i + rdlen > p.size()) return InvalidArgument("truncated DNS record");
    if (type == 1 && klass == 1 && rdlen == 4) {
      char buf[INET_ADDRSTRLEN];
      ::inet_ntop(AF_INET, p.data() + i, buf, sizeof(buf));
      out.emplace_back(buf);
    }
    i += rdlen;
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<ProbeResult> ProbeAll(const std::vector<ProbeSpec>& specs, const ProbeOptions& options) {
  RaiseFdLimit();
  std::vector<ProbeResult> results(specs.size());
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) {
    for (ProbeResult& r : results) r.detail = std::string("epoll: ") + std::strerror(errno);
    return results;
  }
  uint16_t next_id = static_cast<uint16_t>(::getpid() * 7919);
  for (size_t begin = 0; begin < specs.size(); begin += options.max_in_flight) {
    const size_t end = std::min(specs.size(), begin + options.max_in_flight);
    std::vector<Flight> flights;
    flights.reserve(end - begin);
    {
      std::optional<NetnsGuard> guard;
      std::string current;
      for (size_t k = begin; k < end; ++k) {
        const ProbeSpec& s = specs[k];
        ProbeResult& r = results[k];
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(static_cast<uint16_t>(s.port));
        if (::inet_pton(AF_INET, s.ip.c_str(), &to.sin_addr) != 1 || s.port <= 0 || s.port > 65535 ||
            (s.protocol != "TCP" && s.protocol != "UDP")) {
          r.detail = "bad probe " + s.ip + ":" + std::to_string(s.port) + "/" + s.protocol;
          continue;
        }
        if (!InDataplane(ntohl(to.sin_addr.s_addr))) {
          r.detail = "not probed: " + s.ip + " is outside 198.18.0.0/15, the dataplane's range";
          continue;
        }
        if (s.netns != current || !guard) {
          guard.reset();
          current = s.netns;
          StatusOr<NetnsGuard> g = NetnsGuard::Enter(s.netns);
          if (!g.ok()) {
            r.detail = g.status().message();
            current.clear();
            continue;
          }
          guard.emplace(std::move(*g));
        }
        Flight f;
        f.index = k;
        f.tcp = s.protocol == "TCP";
        f.dns = !s.dns_name.empty();
        f.start = Clock::now();
        f.deadline = f.start + options.timeout;
        f.fd = ::socket(AF_INET, (f.tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (f.fd < 0) {
          r.detail = std::string("socket: ") + std::strerror(errno);
          continue;
        }
        if (f.dns) {
          f.dns_id = next_id++;
          const std::string q = DnsQuery(s.dns_name, f.dns_id);
          f.payload = f.tcp ? std::string{static_cast<char>(q.size() >> 8), static_cast<char>(q.size() & 0xff)} + q : q;
        } else {
          f.payload = "probe\n";
        }
        const int rc = ::connect(f.fd, reinterpret_cast<sockaddr*>(&to), sizeof(to));
        if (rc != 0 && errno != EINPROGRESS) {
          r.outcome = errno == ECONNREFUSED ? Outcome::kRefused : Outcome::kError;
          r.detail = std::string("connect: ") + std::strerror(errno);
          ::close(f.fd);
          continue;
        }
        epoll_event ev{};
        ev.data.u64 = flights.size();
        if (f.tcp) {
          ev.events = EPOLLOUT | EPOLLIN;
        } else {
          ev.events = EPOLLIN;
          (void)!::send(f.fd, f.payload.data(), f.payload.size(), MSG_DONTWAIT);
          f.sends = 1;
          f.next_send = f.start + kUdpResend;
        }
        ::epoll_ctl(ep, EPOLL_CTL_ADD, f.fd, &ev);
        flights.push_back(std::move(f));
      }
    }  // back in the caller's namespace
    size_t open = flights.size();
    auto finish = [&](Flight& f, Outcome o, std::string answer, std::string detail) {
      if (f.fd < 0) return;
      ProbeResult& r = results[f.index];
      r.outcome = o;
      r.answer = std::move(answer);
      r.detail = std::move(detail);
      r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - f.start);
      ::epoll_ctl(ep, EPOLL_CTL_DEL, f.fd, nullptr);
      ::close(f.fd);
      f.fd = -1;
      --open;
    };
    auto dns_result = [&](Flight& f, const std::string& packet) {
      StatusOr<std::vector<std::string>> a = DnsAnswerAddresses(packet, f.dns_id);
      if (!a.ok()) {
        // An answer came back through the dataplane: the flow is allowed,
        // whatever DNS said; the detail tells.
        finish(f, Outcome::kAnswered, "", a.status().message());
        return;
      }
      std::string joined;
      for (const std::string& ip : *a) joined += (joined.empty() ? "" : ",") + ip;
      finish(f, Outcome::kAnswered, joined, "");
    };
    while (open > 0) {
      const auto now = Clock::now();
      auto wake = now + std::chrono::seconds(1);
      for (Flight& f : flights) {
        if (f.fd < 0) continue;
        if (now >= f.deadline) {
          // A TCP connection that was established is an allowed flow, even
          // when the server said nothing (no token, no DNS answer).
          if (f.tcp && f.connected) {
            finish(f, Outcome::kAnswered, Trim(f.in), f.dns ? "connected; no DNS answer" : "connected; no token");
          } else {
            finish(f, Outcome::kTimeout, "", "");
          }
          continue;
        }
        if (!f.tcp && f.sends < kUdpSends && now >= f.next_send) {
          (void)!::send(f.fd, f.payload.data(), f.payload.size(), MSG_DONTWAIT);
          ++f.sends;
          f.next_send = now + kUdpResend;
        }
        wake = std::min(wake, f.deadline);
        if (!f.tcp && f.sends < kUdpSends) wake = std::min(wake, f.next_send);
      }
      if (open == 0) break;
      const int ms = static_cast<int>(
          std::max<long>(1, std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count()));
      epoll_event evs[64];
      const int n = ::epoll_wait(ep, evs, 64, ms);
      for (int e = 0; e < n; ++e) {
        Flight& f = flights[evs[e].data.u64];
        if (f.fd < 0) continue;
        if (f.tcp && !f.connected) {
          int err = 0;
          socklen_t len = sizeof(err);
          ::getsockopt(f.fd, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err != 0) {
            finish(f, err == ETIMEDOUT ? Outcome::kTimeout : Outcome::kRefused, "", std::strerror(err));
            continue;
          }
          if (!(evs[e].events & (EPOLLOUT | EPOLLIN))) continue;
          f.connected = true;
          f.deadline = std::min(f.deadline, Clock::now() + kTokenWait);
          if (f.dns) (void)!::send(f.fd, f.payload.data(), f.payload.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
          epoll_event ev{};
          ev.data.u64 = evs[e].data.u64;
          ev.events = EPOLLIN;
          ::epoll_ctl(ep, EPOLL_CTL_MOD, f.fd, &ev);
          if (!(evs[e].events & EPOLLIN)) continue;
        }
        char buf[4096];
        const ssize_t r = ::recv(f.fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (r < 0) {
          if (errno == EAGAIN || errno == EINTR) continue;
          // UDP: ICMP port/host unreachable surfaces here.
          finish(f, Outcome::kRefused, "", std::strerror(errno));
          continue;
        }
        if (!f.tcp) {
          if (f.dns) {
            dns_result(f, std::string(buf, static_cast<size_t>(r)));
          } else {
            finish(f, Outcome::kAnswered, Trim(std::string(buf, static_cast<size_t>(r))), "");
          }
          continue;
        }
        f.in.append(buf, static_cast<size_t>(r));
        if (f.dns) {
          if (f.in.size() >= 2) {
            const size_t len = static_cast<uint8_t>(f.in[0]) << 8 | static_cast<uint8_t>(f.in[1]);
            if (f.in.size() >= 2 + len) {
              dns_result(f, f.in.substr(2, len));
              continue;
            }
          }
          if (r == 0) finish(f, Outcome::kAnswered, "", "DNS server closed the connection without an answer");
          continue;
        }
        if (r == 0 || f.in.find('\n') != std::string::npos) {
          if (f.in.empty()) {
            finish(f, Outcome::kRefused, "", "closed without a token");
          } else {
            finish(f, Outcome::kAnswered, Trim(f.in), "");
          }
        }
      }
    }
  }
  ::close(ep);
  return results;
}

}  // namespace npc::dataplane
