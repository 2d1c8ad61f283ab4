// The conntrack reader against the kernel: NEW events and a dump of real
// connections, and the count of events lost when the socket buffer is full.
// Runs in a network namespace of its own (made here, deleted at the end), so
// it needs root; elsewhere it skips, saying why.
#include "agent/conntrack.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace npc::agent {
namespace {

using namespace std::chrono_literals;

class Collect final : public EventSink {
 public:
  void OnEvents(std::span<const ConnEvent> e) override {
    std::lock_guard<std::mutex> l(mu);
    events.insert(events.end(), e.begin(), e.end());
  }
  void OnOverflow(uint64_t lost_total) override {
    std::lock_guard<std::mutex> l(mu);
    lost = lost_total;
  }
  void OnIdle() override { ++idles; }
  std::vector<ConnEvent> Events() {
    std::lock_guard<std::mutex> l(mu);
    return events;
  }
  uint64_t Lost() {
    std::lock_guard<std::mutex> l(mu);
    return lost;
  }
  std::mutex mu;
  std::vector<ConnEvent> events;
  uint64_t lost = 0;
  std::atomic<int> idles{0};
};

int Sh(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str());
}

// 198.18.250.1 on lo of a fresh namespace (not a loopback address: the
// reader keeps it), and a rule that makes the kernel track connections there.
class ConntrackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (a network namespace of its own)";
    ns_ = "npc-agent-ct-" + std::to_string(getpid());
    if (Sh("ip netns add " + ns_) != 0) GTEST_SKIP() << "cannot create a network namespace";
    made_ = true;
    const std::string in = "ip netns exec " + ns_ + " ";
    ASSERT_EQ(Sh(in + "ip link set lo up"), 0);
    ASSERT_EQ(Sh(in + "ip addr add 198.18.250.1/32 dev lo"), 0);
    if (Sh(in + "iptables -A OUTPUT -m conntrack --ctstate NEW -j ACCEPT") != 0) {
      GTEST_SKIP() << "iptables with the conntrack match is not available";
    }
  }
  void TearDown() override {
    if (made_) Sh("ip netns del " + ns_);
  }

  // Runs fn on a thread inside the namespace.
  void InNetns(const std::function<void()>& fn) {
    std::thread t([&] {
      const int fd = ::open(("/run/netns/" + ns_).c_str(), O_RDONLY | O_CLOEXEC);
      ASSERT_GE(fd, 0);
      ASSERT_EQ(::setns(fd, CLONE_NEWNET), 0);
      ::close(fd);
      fn();
    });
    t.join();
  }

  std::string ns_;
  bool made_ = false;
};

int Listen(int type, uint16_t port) {
  const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = inet_addr("198.18.250.1");
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return -1;
  if (type == SOCK_STREAM) ::listen(fd, 1024);
  return fd;
}

// From a random source port, or from `from_port` when given.
void Connect(int type, uint16_t port, uint16_t from_port = 0) {
  const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (from_port != 0) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_port = htons(from_port);
    src.sin_addr.s_addr = inet_addr("198.18.250.1");
    (void)::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof(src));
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = inet_addr("198.18.250.1");
  if (type == SOCK_DGRAM) {
    ::sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  } else {
    (void)::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  }
  ::close(fd);
}

TEST_F(ConntrackTest, NewEventsAndTheTable) {
  InNetns([&] {
    auto ct = OpenConntrack({});
    ASSERT_TRUE(ct.ok()) << ct.status().ToString();
    const int tcp = Listen(SOCK_STREAM, 7777);
    const int udp = Listen(SOCK_DGRAM, 7778);
    ASSERT_GE(tcp, 0);
    ASSERT_GE(udp, 0);
    Collect sink;
    std::atomic<bool> stop{false};
    Status run;
    std::thread reader([&] { run = (*ct)->Run(stop, sink); });
    for (int i = 0; i < 5; ++i) Connect(SOCK_STREAM, 7777);
    Connect(SOCK_DGRAM, 7778);
    Connect(SOCK_STREAM, 7779);  // nobody listens: still a NEW connection (refused by the host)
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (sink.Events().size() < 7 && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(20ms);
    }
    stop = true;
    reader.join();
    EXPECT_TRUE(run.ok()) << run.ToString();
    EXPECT_GT(sink.idles.load(), 0);
    std::vector<ConnEvent> events = sink.Events();
    int tcp_events = 0, udp_events = 0;
    for (const ConnEvent& e : events) {
      EXPECT_EQ(e.orig.src.ToString(), "198.18.250.1");
      EXPECT_EQ(e.orig.dst.ToString(), "198.18.250.1");
      EXPECT_EQ(e.reply.src.ToString(), "198.18.250.1");
      EXPECT_EQ(e.reply.sport, e.orig.dport);
      EXPECT_NE(e.id, 0u);
      EXPECT_EQ(e.start_ns, 0u) << "events never carry start times";
      if (e.protocol == IPPROTO_TCP && e.orig.dport == 7777) ++tcp_events;
      if (e.protocol == IPPROTO_UDP && e.orig.dport == 7778) ++udp_events;
    }
    EXPECT_EQ(tcp_events, 5);
    EXPECT_EQ(udp_events, 1);
    EXPECT_EQ(events.size(), 7u);

    // The table holds them too.
    int dumped = 0;
    Status d = (*ct)->Dump([&](const ConnEvent& e) {
      if (e.orig.dport == 7777 || e.orig.dport == 7778) ++dumped;
    });
    EXPECT_TRUE(d.ok()) << d.ToString();
    EXPECT_EQ(dumped, 6);
    ::close(tcp);
    ::close(udp);
  });
}

TEST_F(ConntrackTest, LostEventsAreCounted) {
  InNetns([&] {
    auto ct = OpenConntrack({.receive_buffer_bytes = 1});  // the kernel's minimum
    ASSERT_TRUE(ct.ok()) << ct.status().ToString();
    const int udp = Listen(SOCK_DGRAM, 7778);
    ASSERT_GE(udp, 0);
    // Nobody reads while 2000 connections are made (each from a port of its
    // own: random ports would repeat a tuple that conntrack still tracks):
    // most events cannot be kept.
    for (int i = 0; i < 2000; ++i) Connect(SOCK_DGRAM, 7778, static_cast<uint16_t>(20000 + i));
    Collect sink;
    std::atomic<bool> stop{false};
    std::thread reader([&] { (void)(*ct)->Run(stop, sink); });
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (sink.Lost() == 0 && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(20ms);
    }
    std::this_thread::sleep_for(300ms);
    stop = true;
    reader.join();
    const uint64_t lost = sink.Lost();
    EXPECT_GT(lost, 0u);
    EXPECT_EQ(lost + sink.Events().size(), 2000u)
        << "every event is either read or counted as lost";
    ::close(udp);
  });
}

}  // namespace
}  // namespace npc::agent
