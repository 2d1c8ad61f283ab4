// FaultProxy: a TCP relay on loopback that misbehaves on request, put between
// a client (the controller) and a server (the API server) by fault tests.
//
//   auto proxy = FaultProxy::Start(api_port);          // 127.0.0.1:<random> -> 127.0.0.1:api_port
//   ... point the client at 127.0.0.1:proxy->port() ...
//   proxy->Stall();   ...   proxy->Resume();         // bytes stop moving, connections stay open
//   proxy->CutStreams();                              // the next bytes from the server are cut
//                                                     // half-way and the connection is reset
//   proxy->ResetAll();                                // every connection is reset (RST)
//
// It relays bytes only, so TLS passes through untouched; a cut lands inside
// whatever the server was sending (a TLS record, so for a watch stream the
// middle of an event). Bounded and loopback only: it listens on 127.0.0.1,
// connects to 127.0.0.1 only, holds at most 256 connections (more are
// refused), and the destructor stops every thread and closes every socket.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "common/thread_annotations.h"

namespace npc::harness {

struct FaultProxyStats {
  uint64_t connections = 0;  // accepted
  uint64_t open = 0;         // open now
  uint64_t bytes_to_server = 0;
  uint64_t bytes_to_client = 0;
  uint64_t resets = 0;  // connections reset by ResetAll
  uint64_t cuts = 0;    // connections cut by CutStreams
};

class FaultProxy {
 public:
  [[nodiscard]] static StatusOr<std::unique_ptr<FaultProxy>> Start(int target_port);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const { return port_; }

  // No byte moves either way until Resume(); new connections are accepted
  // (and stall too).
  void Stall() { stalled_ = true; }
  void Resume() { stalled_ = false; }
  // Every connection open now is cut the next time the server sends it
  // something: half of that read is forwarded, then both sides are reset.
  void CutStreams() { cut_generation_++; }
  // Resets every open connection now. Returns how many.
  int ResetAll() EXCLUDES(mu_);

  FaultProxyStats Stats() const EXCLUDES(mu_);

 private:
  struct Conn;
  explicit FaultProxy(int listen_fd, int port, int target_port);
  void AcceptLoop();
  void Relay(Conn* c);

  const int listen_fd_;
  const int port_;
  const int target_port_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stalled_{false};
  std::atomic<uint64_t> cut_generation_{0};
  std::atomic<uint64_t> bytes_to_server_{0};
  std::atomic<uint64_t> bytes_to_client_{0};
  std::atomic<uint64_t> cuts_{0};

  mutable Mutex mu_;
  std::vector<std::unique_ptr<Conn>> conns_ GUARDED_BY(mu_);
  uint64_t accepted_ GUARDED_BY(mu_) = 0;
  uint64_t resets_ GUARDED_BY(mu_) = 0;
  std::thread accept_thread_;
};

}  // namespace npc::harness
