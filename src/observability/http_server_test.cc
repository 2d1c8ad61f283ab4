#include "observability/http_server.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <string>

namespace npc::observability {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// A blocking client socket to 127.0.0.1:port; the receive timeout only keeps
// a broken server from hanging the test (it is not what the tests assert).
int Connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{.tv_sec = 20, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Everything the server sends until it closes.
std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string Exchange(uint16_t port, std::string_view request) {
  int fd = Connect(port);
  if (fd < 0) return "connect failed";
  SendAll(fd, request);
  std::string out = ReadAll(fd);
  close(fd);
  return out;
}

std::string Get(uint16_t port, std::string_view path) {
  return Exchange(port, "GET " + std::string(path) + " HTTP/1.1\r\nHost: x\r\n\r\n");
}

std::string Body(const std::string& response) {
  size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

TEST(ParseBindAddress, AcceptsTheUsualForms) {
  auto parse = [](std::string_view s) { return ParseBindAddress(s); };
  EXPECT_FALSE(parse("0")->has_value());
  auto a = parse(":8080");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)->host, "");
  EXPECT_EQ((*a)->port, 8080);
  a = parse("127.0.0.1:8081");
  EXPECT_EQ((*a)->host, "127.0.0.1");
  EXPECT_EQ((*a)->port, 8081);
  a = parse("[::1]:0");
  EXPECT_EQ((*a)->host, "::1");
  EXPECT_EQ((*a)->port, 0);
  a = parse("localhost:65535");
  EXPECT_EQ((*a)->host, "localhost");
  EXPECT_EQ((*a)->port, 65535);
}

TEST(ParseBindAddress, RejectsMalformed) {
  for (std::string_view bad :
       {"", "8080", ":", ":65536", ":-1", ":80x", "[::1:80", "[::1]", "::1:80", "host:"}) {
    auto r = ParseBindAddress(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
}

TEST(HttpServer, DisabledAddressServesNothing) {
  auto server = HttpServer::Start({.bind_address = "0"}, {});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  EXPECT_FALSE((*server)->enabled());
  EXPECT_EQ((*server)->port(), 0);
  (*server)->Stop();
}

TEST(HttpServer, AddressInUseFails) {
  auto first = HttpServer::Start({.bind_address = "127.0.0.1:0"}, {});
  ASSERT_TRUE(first.ok());
  auto second =
      HttpServer::Start({.bind_address = "127.0.0.1:" + std::to_string((*first)->port())}, {});
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(), HasSubstr("in use"));
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options) {
    registry_.AddCounter("test_requests_total", "Requests.").Inc(3);
    healthz_.Add("alive", [] { return Status::Ok(); });
    readyz_.Add("informers", [this] {
      return synced_.load() ? Status::Ok() : Unavailable("caches not synced");
    });
    Routes routes;
    routes["/metrics"] = MetricsHandler(registry_);
    routes["/healthz"] = HealthHandler(healthz_);
    routes["/readyz"] = HealthHandler(readyz_);
    auto s = HttpServer::Start(std::move(options), std::move(routes));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    ASSERT_TRUE(server_->enabled());
    ASSERT_NE(server_->port(), 0);
  }
  void SetUp() override { StartServer({.bind_address = "127.0.0.1:0"}); }

  Registry registry_;
  HealthChecks healthz_;
  HealthChecks readyz_;
  std::atomic<bool> synced_{false};
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, MetricsServesTheExposition) {
  std::string r = Get(server_->port(), "/metrics");
  EXPECT_THAT(r, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(r, HasSubstr("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
  EXPECT_THAT(r, HasSubstr("\r\nConnection: close\r\n"));
  EXPECT_EQ(Body(r), registry_.Expose());
  EXPECT_THAT(Body(r), HasSubstr("test_requests_total 3\n"));
  EXPECT_THAT(r, HasSubstr("Content-Length: " + std::to_string(Body(r).size()) + "\r\n"));
}

TEST_F(HttpServerTest, QueryStringIsIgnoredForRouting) {
  EXPECT_THAT(Get(server_->port(), "/healthz?verbose=1"), StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST_F(HttpServerTest, HealthzOkAndReadyzFollowsItsCheck) {
  std::string h = Get(server_->port(), "/healthz");
  EXPECT_THAT(h, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(Body(h), "ok");

  std::string not_ready = Get(server_->port(), "/readyz");
  EXPECT_THAT(not_ready, StartsWith("HTTP/1.1 500 Internal Server Error\r\n"));
  EXPECT_EQ(Body(not_ready), "informers: caches not synced\n");

  synced_ = true;
  std::string ready = Get(server_->port(), "/readyz");
  EXPECT_THAT(ready, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(Body(ready), "ok");
}

TEST_F(HttpServerTest, UnknownPathIs404) {
  EXPECT_THAT(Get(server_->port(), "/nope"), StartsWith("HTTP/1.1 404 Not Found\r\n"));
  EXPECT_THAT(Get(server_->port(), "/metrics/"), StartsWith("HTTP/1.1 404 Not Found\r\n"));
}

TEST_F(HttpServerTest, NonGetIs405WithAllow) {
  std::string r =
      Exchange(server_->port(), "POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_THAT(r, StartsWith("HTTP/1.1 405 Method Not Allowed\r\n"));
  EXPECT_THAT(r, HasSubstr("\r\nAllow: GET, HEAD\r\n"));
  EXPECT_THAT(Exchange(server_->port(), "DELETE /healthz HTTP/1.1\r\n\r\n"),
              StartsWith("HTTP/1.1 405 "));
}

TEST_F(HttpServerTest, HeadGetsHeadersWithoutBody) {
  std::string r = Exchange(server_->port(), "HEAD /healthz HTTP/1.1\r\n\r\n");
  EXPECT_THAT(r, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(r, HasSubstr("Content-Length: 2\r\n"));
  EXPECT_THAT(r, EndsWith("\r\n\r\n"));
}

TEST_F(HttpServerTest, MalformedRequestIs400) {
  EXPECT_THAT(Exchange(server_->port(), "hello\r\n\r\n"), StartsWith("HTTP/1.1 400 "));
  EXPECT_THAT(Exchange(server_->port(), "GET metrics HTTP/1.1\r\n\r\n"),
              StartsWith("HTTP/1.1 400 "));
  EXPECT_THAT(Exchange(server_->port(), "GET /metrics SPDY/3\r\n\r\n"),
              StartsWith("HTTP/1.1 400 "));
}

TEST_F(HttpServerTest, LenientLineEndingsAreAccepted) {
  EXPECT_THAT(Exchange(server_->port(), "GET /healthz HTTP/1.0\n\n"),
              StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST_F(HttpServerTest, OversizedRequestHeadIs431) {
  std::string big = "GET /metrics HTTP/1.1\r\nX-Fill: " + std::string(20000, 'a') + "\r\n\r\n";
  EXPECT_THAT(Exchange(server_->port(), big), StartsWith("HTTP/1.1 431 "));
}

TEST_F(HttpServerTest, SlowClientDoesNotBlockAnother) {
  int slow = Connect(server_->port());
  ASSERT_GE(slow, 0);
  SendAll(slow, "GET /metr");  // and then nothing: the request never completes
  std::string r = Get(server_->port(), "/healthz");
  EXPECT_THAT(r, StartsWith("HTTP/1.1 200 OK\r\n"));
  // The slow one is still waiting for its answer, served later if it finishes.
  SendAll(slow, "ics HTTP/1.1\r\n\r\n");
  EXPECT_THAT(ReadAll(slow), StartsWith("HTTP/1.1 200 OK\r\n"));
  close(slow);
}

TEST(HttpServerStop, ReturnsWithAClientConnectedAndClosesTheListener) {
  HealthChecks ok;
  // A client could hold its connection for an hour: Stop must not wait for it
  // (if it did, the test would hang until the ctest TIMEOUT fails it).
  auto s = HttpServer::Start({.bind_address = "127.0.0.1:0", .io_timeout = std::chrono::hours(1)},
                             {{"/healthz", HealthHandler(ok)}});
  ASSERT_TRUE(s.ok());
  HttpServer& server = **s;
  EXPECT_THAT(Get(server.port(), "/healthz"), StartsWith("HTTP/1.1 200 OK\r\n"));
  int slow = Connect(server.port());
  ASSERT_GE(slow, 0);
  SendAll(slow, "GET /");
  uint16_t port = server.port();
  server.Stop();
  EXPECT_EQ(ReadAll(slow), "");  // closed without an answer
  close(slow);
  EXPECT_EQ(Connect(port), -1);  // nothing listens any more
  server.Stop();                 // idempotent
}

TEST(HttpServerTimeouts, StalledRequestGets408AndIsClosed) {
  Registry registry;
  auto s = HttpServer::Start(
      {.bind_address = "127.0.0.1:0", .io_timeout = std::chrono::milliseconds(100)},
      {{"/metrics", MetricsHandler(registry)}});
  ASSERT_TRUE(s.ok());
  int slow = Connect((*s)->port());
  ASSERT_GE(slow, 0);
  SendAll(slow, "GET /metrics HTTP/1.1\r\n");  // no blank line: never complete
  EXPECT_THAT(ReadAll(slow), StartsWith("HTTP/1.1 408 Request Timeout\r\n"));
  close(slow);
}

TEST(HttpServerLimits, ConnectionsBeyondTheLimitGet503) {
  HealthChecks ok;
  auto s = HttpServer::Start({.bind_address = "127.0.0.1:0", .max_connections = 1},
                             {{"/healthz", HealthHandler(ok)}});
  ASSERT_TRUE(s.ok());
  int held = Connect((*s)->port());
  ASSERT_GE(held, 0);
  SendAll(held, "GET /hea");
  // The listen queue is FIFO: `held` is accepted first and takes the only slot.
  std::string r = Get((*s)->port(), "/healthz");
  EXPECT_THAT(r, StartsWith("HTTP/1.1 503 Service Unavailable\r\n"));
  SendAll(held, "lthz HTTP/1.1\r\n\r\n");
  EXPECT_THAT(ReadAll(held), StartsWith("HTTP/1.1 200 OK\r\n"));
  close(held);
}

TEST(HttpServerBind, AllInterfacesWithEphemeralPortIsReachableOnLoopback) {
  HealthChecks ok;
  auto s = HttpServer::Start({.bind_address = ":0"}, {{"/healthz", HealthHandler(ok)}});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_THAT(Get((*s)->port(), "/healthz"), StartsWith("HTTP/1.1 200 OK\r\n"));
}

}  // namespace
}  // namespace npc::observability
