// FaultProxy in front of a loopback echo server: relays, stalls, cuts, resets.
#include "test/harness/fault_proxy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

namespace npc::harness {
namespace {

using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace)

// Echoes whatever each connection sends, until stopped.
class EchoServer {
 public:
  EchoServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    listen(fd_, 8);
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) continue;
        workers_.emplace_back([this, c] {
          char buf[4096];
          while (!stop_) {
            pollfd q{c, POLLIN, 0};
            if (poll(&q, 1, 50) <= 0) continue;
            ssize_t r = recv(c, buf, sizeof(buf), 0);
            if (r <= 0) break;
            send(c, buf, static_cast<size_t>(r), MSG_NOSIGNAL);
          }
          close(c);
        });
      }
    });
  }
  ~EchoServer() {
    stop_ = true;
    thread_.join();
    for (auto& w : workers_) w.join();
    close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> workers_;
};

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Reads until `n` bytes, EOF/error, or `timeout`; returns what came.
std::string Read(int fd, size_t n, std::chrono::milliseconds timeout, bool* failed = nullptr) {
  std::string out;
  auto until = std::chrono::steady_clock::now() + timeout;
  while (out.size() < n && std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    char buf[4096];
    ssize_t r = recv(fd, buf, sizeof(buf), 0);
    if (r <= 0) {
      if (failed) *failed = true;
      break;
    }
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

TEST(FaultProxyTest, RelaysStallsCutsAndResets) {
  EchoServer echo;
  auto proxy = FaultProxy::Start(echo.port());
  ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
  FaultProxy& p = **proxy;

  int fd = Connect(p.port());
  ASSERT_GE(fd, 0);
  send(fd, "hello", 5, 0);
  EXPECT_EQ(Read(fd, 5, 2s), "hello");

  p.Stall();
  send(fd, "stuck", 5, 0);
  EXPECT_EQ(Read(fd, 5, 300ms), "");  // nothing moves
  p.Resume();
  EXPECT_EQ(Read(fd, 5, 2s), "stuck");

  p.CutStreams();
  send(fd, "0123456789", 10, 0);
  bool failed = false;
  std::string got = Read(fd, 10, 2s, &failed);
  EXPECT_EQ(got, "01234");  // half of it, then a reset
  EXPECT_TRUE(failed);
  close(fd);
  EXPECT_EQ(p.Stats().cuts, 1u);

  int fd2 = Connect(p.port());  // opened after the cut: untouched
  ASSERT_GE(fd2, 0);
  send(fd2, "again", 5, 0);
  EXPECT_EQ(Read(fd2, 5, 2s), "again");
  // The cut connection's relay ends when it sees the close; until then
  // ResetAll would count it too (it did, on a loaded CI machine).
  for (int i = 0; i < 300 && p.Stats().open != 1; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(p.Stats().open, 1u);
  EXPECT_EQ(p.ResetAll(), 1);
  failed = false;
  EXPECT_EQ(Read(fd2, 1, 2s, &failed), "");
  EXPECT_TRUE(failed);
  close(fd2);
  EXPECT_EQ(p.Stats().connections, 2u);
}

}  // namespace
}  // namespace npc::harness
