#include "agent/conntrack.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <vector>

namespace npc::agent {
namespace {

std::string Errno(int e) {
  return std::strerror(e);
}

// Fills `e` from a parsed conntrack; false when it is not a connection we
// track (another protocol, loopback, no addresses).
bool ToEvent(const nf_conntrack* ct, ConnEvent& e) {
  if (!nfct_attr_is_set(ct, ATTR_L3PROTO) || !nfct_attr_is_set(ct, ATTR_L4PROTO)) return false;
  e.protocol = nfct_get_attr_u8(ct, ATTR_L4PROTO);
  if (e.protocol != IPPROTO_TCP && e.protocol != IPPROTO_UDP && e.protocol != IPPROTO_SCTP) {
    return false;
  }
  const uint8_t l3 = nfct_get_attr_u8(ct, ATTR_L3PROTO);
  if (l3 == AF_INET) {
    if (!nfct_attr_is_set(ct, ATTR_ORIG_IPV4_SRC) || !nfct_attr_is_set(ct, ATTR_REPL_IPV4_SRC)) {
      return false;
    }
    e.orig.src = IpAddr::V4(nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_SRC));
    e.orig.dst = IpAddr::V4(nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_DST));
    e.reply.src = IpAddr::V4(nfct_get_attr_u32(ct, ATTR_REPL_IPV4_SRC));
    e.reply.dst = IpAddr::V4(nfct_get_attr_u32(ct, ATTR_REPL_IPV4_DST));
  } else if (l3 == AF_INET6) {
    if (!nfct_attr_is_set(ct, ATTR_ORIG_IPV6_SRC) || !nfct_attr_is_set(ct, ATTR_REPL_IPV6_SRC)) {
      return false;
    }
    auto v6 = [&](nf_conntrack_attr a) {
      uint8_t b[16];
      std::memcpy(b, nfct_get_attr(ct, a), 16);
      return IpAddr::V6(b);
    };
    e.orig.src = v6(ATTR_ORIG_IPV6_SRC);
    e.orig.dst = v6(ATTR_ORIG_IPV6_DST);
    e.reply.src = v6(ATTR_REPL_IPV6_SRC);
    e.reply.dst = v6(ATTR_REPL_IPV6_DST);
  } else {
    return false;
  }
  if (e.orig.src.IsLoopback() || e.orig.dst.IsLoopback()) return false;
  auto port = [&](nf_conntrack_attr a) -> uint16_t {
    return nfct_attr_is_set(ct, a) ? ntohs(nfct_get_attr_u16(ct, a)) : 0;
  };
  e.orig.sport = port(ATTR_ORIG_PORT_SRC);
  e.orig.dport = port(ATTR_ORIG_PORT_DST);
  e.reply.sport = port(ATTR_REPL_PORT_SRC);
  e.reply.dport = port(ATTR_REPL_PORT_DST);
  e.id = nfct_attr_is_set(ct, ATTR_ID) ? nfct_get_attr_u32(ct, ATTR_ID) : 0;
  e.start_ns =
      nfct_attr_is_set(ct, ATTR_TIMESTAMP_START) ? nfct_get_attr_u64(ct, ATTR_TIMESTAMP_START) : 0;
  return true;
}

// Parses one message into an event with a reusable conntrack object.
class Parser {
 public:
  Parser() : ct_(nfct_new()), blank_(nfct_new()) {}
  ~Parser() {
    nfct_destroy(ct_);
    nfct_destroy(blank_);
  }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  bool Parse(const nlmsghdr* nlh, ConnEvent& e) {
    // Forget the previous message's attributes.
    nfct_copy(ct_, blank_, NFCT_CP_OVERRIDE);
    if (nfct_nlmsg_parse(nlh, ct_) < 0) return false;
    e = ConnEvent{};
    return ToEvent(ct_, e);
  }

 private:
  nf_conntrack* ct_;
  nf_conntrack* blank_;
};

struct Batch {
  Parser* parser;
  std::vector<ConnEvent>* events;
};

int OnEventMessage(const nlmsghdr* nlh, void* data) {
  auto* b = static_cast<Batch*>(data);
  // NEW events are IPCTNL_MSG_CT_NEW with NLM_F_CREATE (updates lack it).
  if ((nlh->nlmsg_type & 0xff) != IPCTNL_MSG_CT_NEW) return MNL_CB_OK;
  ConnEvent e;
  if (b->parser->Parse(nlh, e)) b->events->push_back(e);
  return MNL_CB_OK;
}

struct DumpCtx {
  Parser* parser;
  const std::function<void(const ConnEvent&)>* fn;
};

int OnDumpMessage(const nlmsghdr* nlh, void* data) {
  auto* d = static_cast<DumpCtx*>(data);
  ConnEvent e;
  if (d->parser->Parse(nlh, e)) (*d->fn)(e);
  return MNL_CB_OK;
}

// A BPF filter in the kernel: TCP, UDP and SCTP only, no IPv4 loopback.
// Best effort: without it the same is filtered here, at some CPU cost.
void AttachFilter(int fd) {
  nfct_filter* f = nfct_filter_create();
  if (f == nullptr) return;
  nfct_filter_add_attr_u32(f, NFCT_FILTER_L4PROTO, IPPROTO_TCP);
  nfct_filter_add_attr_u32(f, NFCT_FILTER_L4PROTO, IPPROTO_UDP);
  nfct_filter_add_attr_u32(f, NFCT_FILTER_L4PROTO, IPPROTO_SCTP);
  nfct_filter_ipv4 lo{};
  lo.addr = 0x7f000000;  // 127.0.0.0/8, host order
  lo.mask = 0xff000000;
  nfct_filter_add_attr(f, NFCT_FILTER_SRC_IPV4, &lo);
  nfct_filter_set_logic(f, NFCT_FILTER_SRC_IPV4, NFCT_FILTER_LOGIC_NEGATIVE);
  (void)nfct_filter_attach(fd, f);
  nfct_filter_destroy(f);
}

class NetlinkConntrack final : public ConntrackSource {
 public:
  explicit NetlinkConntrack(mnl_socket* events) : events_(events) {}
  ~NetlinkConntrack() override { mnl_socket_close(events_); }

  Status Run(const std::atomic<bool>& stop, EventSink& sink) override {
    const int fd = mnl_socket_get_fd(events_);
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    std::vector<ConnEvent> events;
    events.reserve(kBatch);
    Batch batch{&parser_, &events};
    auto last_idle = std::chrono::steady_clock::now();
    auto flush = [&] {
      if (!events.empty()) sink.OnEvents(events);
      events.clear();
    };
    while (!stop.load(std::memory_order_relaxed)) {
      pollfd p{fd, POLLIN, 0};
      const int r = ::poll(&p, 1, 200);
      if (r < 0 && errno != EINTR) return Unavailable("conntrack events: poll: " + Errno(errno));
      // Drain what is there without blocking, in batches.
      for (int i = 0; r > 0 && i < kMaxPerWake; ++i) {
        const ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK) break;
          if (errno == EINTR) continue;
          if (errno == ENOBUFS) {
            flush();
            sink.OnOverflow(Drops(fd));
            continue;
          }
          return Unavailable("conntrack events: recv: " + Errno(errno));
        }
        (void)mnl_cb_run(buf.data(), static_cast<size_t>(n), 0, 0, OnEventMessage, &batch);
        if (events.size() >= kBatch) flush();
      }
      flush();
      const auto now = std::chrono::steady_clock::now();
      if (now - last_idle >= std::chrono::milliseconds(200)) {
        last_idle = now;
        sink.OnIdle();
      }
    }
    // Stopping: what the kernel queued before now is still counted (bounded).
    for (int i = 0; i < kMaxPerWake; ++i) {
      const ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n < 0 && errno == ENOBUFS) {
        sink.OnOverflow(Drops(fd));
        continue;
      }
      if (n <= 0) break;
      (void)mnl_cb_run(buf.data(), static_cast<size_t>(n), 0, 0, OnEventMessage, &batch);
      if (events.size() >= kBatch) flush();
    }
    flush();
    return Status::Ok();
  }

  Status Dump(const std::function<void(const ConnEvent&)>& fn) override {
    mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
    if (nl == nullptr) return Unavailable("conntrack dump: socket: " + Errno(errno));
    struct Closer {
      mnl_socket* s;
      ~Closer() { mnl_socket_close(s); }
    } closer{nl};
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
      return Unavailable("conntrack dump: bind: " + Errno(errno));
    }
    std::vector<char> buf(1 << 16);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    const uint32_t seq = static_cast<uint32_t>(time(nullptr));
    nlh->nlmsg_seq = seq;
    auto* nfh = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
    nfh->nfgen_family = AF_UNSPEC;
    nfh->version = NFNETLINK_V0;
    nfh->res_id = 0;
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
      const int e = errno;
      if (e == EPERM) return PermissionDeniedError("conntrack dump");
      return Unavailable("conntrack dump: send: " + Errno(e));
    }
    const uint32_t portid = mnl_socket_get_portid(nl);
    DumpCtx ctx{&parser_dump_, &fn};
    while (true) {
      const ssize_t n = mnl_socket_recvfrom(nl, buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return Unavailable("conntrack dump: recv: " + Errno(errno));
      }
      const int r =
          mnl_cb_run(buf.data(), static_cast<size_t>(n), seq, portid, OnDumpMessage, &ctx);
      if (r == MNL_CB_STOP) return Status::Ok();
      if (r < 0) {
        if (errno == EPERM) return PermissionDeniedError("conntrack dump");
        return Unavailable("conntrack dump: " + Errno(errno));
      }
    }
  }

  static Status PermissionDeniedError(const std::string& what) {
    return Status(StatusCode::kPermissionDenied,
                  what +
                      ": operation not permitted: reading conntrack needs CAP_NET_ADMIN in the "
                      "node's network namespace (run as root, or grant NET_ADMIN)");
  }

 private:
  static constexpr size_t kBatch = 256;
  static constexpr int kMaxPerWake = 4096;

  // Events the kernel dropped for this socket since it was opened.
  static uint64_t Drops(int fd) {
    uint32_t mem[SK_MEMINFO_VARS] = {};
    socklen_t len = sizeof(mem);
    if (::getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) != 0) return 0;
    return mem[SK_MEMINFO_DROPS];
  }

  mnl_socket* events_;
  Parser parser_;       // Run's thread
  Parser parser_dump_;  // Dump's thread
};

}  // namespace

StatusOr<std::unique_ptr<ConntrackSource>> OpenConntrack(const ConntrackOptions& o) {
  mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (nl == nullptr) {
    return Unavailable("conntrack: cannot open a netfilter netlink socket: " + Errno(errno) +
                       " (is the nf_conntrack_netlink module available?)");
  }
  if (mnl_socket_bind(nl, NF_NETLINK_CONNTRACK_NEW, MNL_SOCKET_AUTOPID) < 0) {
    const int e = errno;
    mnl_socket_close(nl);
    if (e == EPERM || e == EACCES) {
      return NetlinkConntrack::PermissionDeniedError("conntrack: subscribing to NEW events");
    }
    return Unavailable("conntrack: subscribing to NEW events: " + Errno(e));
  }
  const int fd = mnl_socket_get_fd(nl);
  int size = o.receive_buffer_bytes;
  if (size > 0 && ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0) {
    // Without CAP_NET_ADMIN only up to net.core.rmem_max.
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  AttachFilter(fd);
  return std::unique_ptr<ConntrackSource>(std::make_unique<NetlinkConntrack>(nl));
}

bool ConntrackTimestampsEnabled() {
  std::ifstream in("/proc/sys/net/netfilter/nf_conntrack_timestamp");
  int v = 0;
  return (in >> v) && v == 1;
}

}  // namespace npc::agent
