// Leader election against a real API server and a real Lease. Run under
// scripts/with-cluster (KUBECONFIG exported). Each test uses a namespace of its
// own; the electors run with short timings (lease 3 s, renew 2 s, retry 0.5 s).
//
// "The API server unreachable" is simulated with a TCP proxy in this process
// that can black-hole traffic, so other tests sharing the cluster are not
// disturbed.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kube/client.h"
#include "kube/config.h"
#include "leaderelection/kube_lease_lock.h"
#include "leaderelection/leader_elector.h"

namespace npc::leaderelection {
namespace {

using Json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

constexpr char kLeaseName[] = "netpol-ctrl-leader";

// Forwards TCP connections from 127.0.0.1:<port()> to 127.0.0.1:<target>. When
// black-holed, bytes are no longer forwarded in either direction (connections
// hang, as behind a dead network path) until Restore().
class TcpProxy {
 public:
  explicit TcpProxy(int target_port) : target_port_(target_port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
        listen(listen_fd_, 16) != 0) {
      ADD_FAILURE() << "proxy: bind/listen failed";
      return;
    }
    socklen_t len = sizeof(a);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~TcpProxy() {
    done_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    close(listen_fd_);
    if (accept_thread_.joinable()) accept_thread_.join();
    std::lock_guard<std::mutex> l(mu_);
    for (std::thread& t : pumps_) t.join();
  }

  int port() const { return port_; }
  void BlackHole() { black_hole_ = true; }
  void Restore() { black_hole_ = false; }

 private:
  void AcceptLoop() {
    while (!done_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int client = accept(listen_fd_, nullptr, nullptr);
      if (client < 0) continue;
      int server = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(static_cast<uint16_t>(target_port_));
      if (connect(server, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
        close(client);
        close(server);
        continue;
      }
      std::lock_guard<std::mutex> l(mu_);
      pumps_.emplace_back([this, client, server] { Pump(client, server); });
    }
  }

  void Pump(int a, int b) {
    char buf[16384];
    while (!done_) {
      if (black_hole_) {
        std::this_thread::sleep_for(milliseconds(10));
        continue;
      }
      pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
      if (poll(p, 2, 50) <= 0) continue;
      if (black_hole_) continue;
      bool closed = false;
      for (int i = 0; i < 2 && !closed; ++i) {
        if ((p[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        ssize_t n = read(p[i].fd, buf, sizeof(buf));
        if (n <= 0) {
          closed = true;
          break;
        }
        int to = i == 0 ? b : a;
        for (ssize_t off = 0; off < n;) {
          ssize_t w = write(to, buf + off, static_cast<size_t>(n - off));
          if (w <= 0) {
            closed = true;
            break;
          }
          off += w;
        }
      }
      if (closed) break;
    }
    close(a);
    close(b);
  }

  int target_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> done_{false};
  std::atomic<bool> black_hole_{false};
  std::thread accept_thread_;
  std::mutex mu_;
  std::vector<std::thread> pumps_;  // GUARDED_BY(mu_)
};

// One candidate: its own lock (and client) and a thread running the elector.
struct Candidate {
  std::unique_ptr<LeaseLock> lock;
  std::unique_ptr<LeaderElector> elector;
  std::atomic<bool> stop{false};
  std::atomic<bool> done{false};
  std::atomic<int> started{0};
  std::atomic<int> stopped{0};
  Status result;
  std::thread thread;

  void Start() {
    thread = std::thread([this] {
      result = elector->Run(stop);
      done = true;
    });
  }
  void Stop() {
    stop = true;
    if (thread.joinable()) thread.join();
  }
  bool IsLeader() const { return elector->IsLeader(); }
  const std::string& id() const { return elector->identity(); }
  ~Candidate() { Stop(); }
};

// Polls `pred` every 10 ms; the time it took, or nullopt after `timeout`.
std::optional<SteadyClock::duration> WaitFor(const std::function<bool()>& pred,
                                             SteadyClock::duration timeout) {
  auto start = SteadyClock::now();
  while (SteadyClock::now() - start < timeout) {
    if (pred()) return SteadyClock::now() - start;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return std::nullopt;
}

double Secs(SteadyClock::duration d) {
  return std::chrono::duration<double>(d).count();
}

class LeaderElectionIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* kubeconfig = std::getenv("KUBECONFIG");
    ASSERT_TRUE(kubeconfig != nullptr && *kubeconfig != '\0')
        << "integration tests run under scripts/with-cluster (KUBECONFIG)";
    auto config = kube::ResolveConfig({});
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    config_ = *config;
    auto client = kube::MakeClient(config_);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    admin_ = std::move(*client);
    std::random_device rd;
    ns_ = "npc-le-" + std::to_string(rd() % 1000000);
    auto created = admin_->Create(
        kube::Resource::kNamespaces, "",
        Json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns_}}}}.dump());
    ASSERT_TRUE(created.ok()) << created.status().ToString();
  }

  void TearDown() override {
    if (admin_ != nullptr && !ns_.empty()) {
      (void)admin_->Delete(kube::Resource::kNamespaces, "", ns_);
    }
  }

  std::unique_ptr<Candidate> NewCandidate(const std::string& name, bool release_on_stop,
                                          const kube::RestConfig* config = nullptr) {
    auto c = std::make_unique<Candidate>();
    auto lock = MakeKubeLeaseLock(config != nullptr ? *config : config_, ns_, kLeaseName,
                                  milliseconds(1000));
    EXPECT_TRUE(lock.ok()) << lock.status().ToString();
    if (!lock.ok()) return nullptr;
    c->lock = std::move(*lock);
    ElectionConfig e;
    e.lock = c->lock.get();
    e.identity = name + "_" + std::to_string(std::random_device()() % 100000);
    e.lease_duration = seconds(3);
    e.renew_deadline = seconds(2);
    e.retry_period = milliseconds(500);
    e.release_on_stop = release_on_stop;
    Candidate* raw = c.get();
    e.on_started_leading = [raw] { ++raw->started; };
    e.on_stopped_leading = [raw] { ++raw->stopped; };
    auto elector = LeaderElector::Create(std::move(e));
    EXPECT_TRUE(elector.ok()) << elector.status().ToString();
    if (!elector.ok()) return nullptr;
    c->elector = std::move(*elector);
    return c;
  }

  LeaderElectionRecord Lease() {
    auto obj = admin_->Get(kube::Resource::kLeases, ns_, kLeaseName);
    EXPECT_TRUE(obj.ok()) << obj.status().ToString();
    if (!obj.ok()) return {};
    auto r = ParseLeaseRecord(obj->json);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : LeaderElectionRecord{};
  }

  // Watches both candidates for `d`; fails on any moment with two leaders.
  void ExpectNeverTwoLeaders(const Candidate& a, const Candidate& b, SteadyClock::duration d) {
    auto end = SteadyClock::now() + d;
    while (SteadyClock::now() < end) {
      ASSERT_FALSE(a.IsLeader() && b.IsLeader()) << "two leaders at once";
      std::this_thread::sleep_for(milliseconds(5));
    }
  }

  kube::RestConfig config_;
  std::unique_ptr<kube::Client> admin_;
  std::string ns_;
};

TEST_F(LeaderElectionIntegrationTest, ExactlyOneLeadsAndTheOtherTakesOverAfterACrash) {
  auto a = NewCandidate("a", /*release_on_stop=*/false);
  auto b = NewCandidate("b", /*release_on_stop=*/false);
  ASSERT_TRUE(a && b);
  a->Start();
  b->Start();
  ASSERT_TRUE(WaitFor([&] { return a->IsLeader() || b->IsLeader(); }, seconds(10)))
      << "nobody became leader";
  // Through several lease durations, exactly one leads, and always the same one.
  Candidate* leader = a->IsLeader() ? a.get() : b.get();
  Candidate* other = leader == a.get() ? b.get() : a.get();
  auto end = SteadyClock::now() + seconds(7);
  while (SteadyClock::now() < end) {
    ASSERT_TRUE(leader->IsLeader());
    ASSERT_FALSE(other->IsLeader());
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(Lease().holder_identity, leader->id());
  EXPECT_EQ(Lease().lease_duration_seconds, 3);
  EXPECT_EQ(leader->started, 1);
  EXPECT_EQ(other->started, 0);

  // Crash: the leader stops renewing and does not release.
  leader->Stop();
  EXPECT_TRUE(leader->result.ok()) << leader->result.ToString();
  EXPECT_EQ(Lease().holder_identity, leader->id());
  auto took = WaitFor([&] { return other->IsLeader(); }, seconds(10));
  ASSERT_TRUE(took.has_value()) << "no takeover";
  // The other waits a lease duration (3 s) after it last saw the record change
  // (up to one retry, 0.5 s, before the stop), then acquires at its next retry.
  EXPECT_GE(*took, milliseconds(2000)) << Secs(*took);
  EXPECT_LE(*took, milliseconds(4500)) << Secs(*took);
  LeaderElectionRecord rec = Lease();
  EXPECT_EQ(rec.holder_identity, other->id());
  EXPECT_EQ(rec.lease_transitions, 1);
  EXPECT_EQ(other->started, 1);
  other->Stop();
  EXPECT_TRUE(other->result.ok()) << other->result.ToString();
}

TEST_F(LeaderElectionIntegrationTest, ReleaseHandsOverWithinASecond) {
  auto a = NewCandidate("a", /*release_on_stop=*/true);
  auto b = NewCandidate("b", /*release_on_stop=*/true);
  ASSERT_TRUE(a && b);
  a->Start();
  ASSERT_TRUE(WaitFor([&] { return a->IsLeader(); }, seconds(10)));
  b->Start();
  ExpectNeverTwoLeaders(*a, *b, seconds(1));
  EXPECT_FALSE(b->IsLeader());

  auto t0 = SteadyClock::now();
  a->Stop();  // clean shutdown: releases
  EXPECT_TRUE(a->result.ok()) << a->result.ToString();
  EXPECT_EQ(a->stopped, 1);
  auto took = WaitFor([&] { return b->IsLeader(); }, seconds(10));
  ASSERT_TRUE(took.has_value()) << "no takeover";
  auto since_stop = SteadyClock::now() - t0;
  EXPECT_LE(since_stop, milliseconds(1500)) << Secs(since_stop);
  LeaderElectionRecord rec = Lease();
  EXPECT_EQ(rec.holder_identity, b->id());
  EXPECT_EQ(rec.lease_duration_seconds, 3);
  EXPECT_EQ(rec.lease_transitions, 1);

  b->Stop();
  rec = Lease();
  EXPECT_EQ(rec.holder_identity, "");
  EXPECT_EQ(rec.lease_duration_seconds, 1);
}

TEST_F(LeaderElectionIntegrationTest, LeaderStepsDownWhenTheApiServerIsUnreachable) {
  // a reaches the API server through a proxy that will black-hole its traffic.
  std::string server = config_.server;  // https://127.0.0.1:PORT
  auto colon = server.rfind(':');
  ASSERT_NE(colon, std::string::npos);
  TcpProxy proxy(std::stoi(server.substr(colon + 1)));
  ASSERT_NE(proxy.port(), 0);
  kube::RestConfig via_proxy = config_;
  via_proxy.server = server.substr(0, colon + 1) + std::to_string(proxy.port());

  auto a = NewCandidate("a", /*release_on_stop=*/true, &via_proxy);
  auto b = NewCandidate("b", /*release_on_stop=*/true);
  ASSERT_TRUE(a && b);
  a->Start();
  ASSERT_TRUE(WaitFor([&] { return a->IsLeader(); }, seconds(10)));
  b->Start();
  ExpectNeverTwoLeaders(*a, *b, seconds(1));

  auto t0 = SteadyClock::now();
  proxy.BlackHole();
  // a's requests hang; IsLeader turns false within the renew deadline (2 s)
  // of its last renewal, and Run ends once the hung request times out (1 s).
  std::atomic<bool> watching{true};
  std::thread never_two([&] {
    while (watching) {
      if (a->IsLeader() && b->IsLeader()) ADD_FAILURE() << "two leaders at once";
      std::this_thread::sleep_for(milliseconds(2));
    }
  });
  ASSERT_TRUE(WaitFor([&] { return !a->IsLeader(); }, seconds(10)).has_value());
  auto stepped_down = SteadyClock::now() - t0;
  ASSERT_TRUE(WaitFor([&] { return a->done.load(); }, seconds(10)).has_value());
  auto run_ended = SteadyClock::now() - t0;
  ASSERT_TRUE(WaitFor([&] { return b->IsLeader(); }, seconds(10)).has_value())
      << "b did not take over";
  auto took = SteadyClock::now() - t0;
  watching = false;
  never_two.join();
  // The last renewal started before t0: no longer leader 2 s (renew deadline) later.
  EXPECT_LE(stepped_down, milliseconds(2100)) << Secs(stepped_down);
  // Run notices when the hung request gives up (1 s), at most one retry later.
  EXPECT_LE(run_ended, milliseconds(3600)) << Secs(run_ended);
  EXPECT_EQ(a->result.code(), StatusCode::kDeadlineExceeded) << a->result.ToString();
  EXPECT_EQ(a->stopped, 1);
  // b waited a lease duration after the last record it saw change.
  EXPECT_GE(took, milliseconds(2500)) << Secs(took);
  EXPECT_LE(took, milliseconds(5000)) << Secs(took);
  EXPECT_EQ(Lease().holder_identity, b->id());

  proxy.Restore();
  a->Stop();
  b->Stop();
}

}  // namespace
}  // namespace npc::leaderelection
