#include "manager/manager.h"

#include <spdlog/spdlog.h>

#include <thread>
#include <vector>

#include "manager/parts.h"
#include "observability/http_server.h"

namespace npc::manager {
namespace {

// Runs built parts until `stop`, or until leadership is lost.
class Runner {
 public:
  Runner(Parts& parts, const ManagerOptions& options) : p_(parts), options_(options) {}

  Status Run(const std::atomic<bool>& stop) {
    NPC_RETURN_IF_ERROR(StartServers());
    for (auto& inf : p_.informers) {
      informer_threads_.emplace_back([this, i = inf.get()] { i->Run(stop_informers_); });
    }
    // Which optional kinds are served (on its thread); their informers start then.
    p_.optional->Start();
    if (p_.would_deny) {
      observed_thread_ = std::thread([this] { RunObservedFlows(p_, stop_informers_); });
      p_.would_deny->Start();
    }
    if (p_.elector) {
      election_thread_ = std::thread([this] {
        election_status_ = p_.elector->Run(stop_election_);
        if (!election_status_.ok()) lost_ = true;  // on_stopped_leading stopped the writes
      });
    }

    // Wait for every cache, then (as the leader) compute and reconcile everything once.
    const auto start = std::chrono::steady_clock::now();
    auto last_report = start;
    while (!stop && !lost_ && !p_.Synced()) {
      auto now = std::chrono::steady_clock::now();
      if (now - last_report > std::chrono::seconds(10)) {
        last_report = now;
        spdlog::warn("waiting for caches to sync: {}", p_.NotSynced());
      }
      if (options_.sync_timeout.count() > 0 && now - start > options_.sync_timeout) {
        std::string missing = p_.NotSynced();
        Shutdown();
        return Status(StatusCode::kDeadlineExceeded, "caches did not sync: " + missing);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!stop && !lost_) {
      spdlog::info("caches synced in {} ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 std::chrono::steady_clock::now() - start)
                                                 .count());
      if (!p_.leading) spdlog::info("waiting to become the leader ({})", p_.identity);
    }
    bool started = false;
    while (!stop && !lost_) {
      if (!started && p_.leading) {
        started = true;
        p_.controller->Start();
        p_.controller->MarkSynced();
        // Observed flows are judged by the leader once the desired state exists.
        if (p_.would_deny) p_.would_deny->SetReady();
        if (options_.on_started) options_.on_started(*p_.controller);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (lost_) {
      spdlog::error("lost leadership: {}; stopping at once", election_status_.ToString());
      Shutdown();
      return Status(StatusCode::kUnavailable, "lost leadership: " + election_status_.ToString());
    }
    spdlog::info("shutting down");
    Shutdown();
    return Status::Ok();
  }

 private:
  Status StartServers() {
    NPC_ASSIGN_OR_RETURN(metrics_server_,
                         observability::HttpServer::Start(
                             {.bind_address = options_.metrics_bind_address},
                             {{"/metrics", observability::MetricsHandler(p_.registry)}}));
    NPC_ASSIGN_OR_RETURN(
        probe_server_,
        observability::HttpServer::Start({.bind_address = options_.health_probe_bind_address},
                                         {{"/healthz", observability::HealthHandler(p_.healthz)},
                                          {"/readyz", observability::HealthHandler(p_.readyz)}}));
    if (metrics_server_->enabled()) spdlog::info("metrics on :{}/metrics", metrics_server_->port());
    if (probe_server_->enabled()) {
      spdlog::info("probes on :{}/healthz and /readyz", probe_server_->port());
    }
    return Status::Ok();
  }

  // In-flight reconciles finish first; then the lease is released, so the
  // next leader starts at once; then the watches and the pod reader stop.
  void Shutdown() {
    p_.controller->Stop();
    stop_election_ = true;
    if (election_thread_.joinable()) election_thread_.join();
    stop_informers_ = true;
    for (auto& t : informer_threads_) t.join();
    if (observed_thread_.joinable()) observed_thread_.join();
    if (p_.would_deny) p_.would_deny->Stop();
    p_.optional->Stop();
    if (probe_server_) probe_server_->Stop();
    if (metrics_server_) metrics_server_->Stop();
    p_.metrics->UnbindQueueDepth();
    p_.metrics->unknown_objects.Clear();
  }

  Parts& p_;
  const ManagerOptions& options_;
  std::unique_ptr<observability::HttpServer> metrics_server_;
  std::unique_ptr<observability::HttpServer> probe_server_;
  std::atomic<bool> stop_informers_{false};
  std::atomic<bool> stop_election_{false};
  std::atomic<bool> lost_{false};
  Status election_status_;  // written by the election thread before it sets lost_ or ends
  std::thread election_thread_;
  std::vector<std::thread> informer_threads_;
  std::thread observed_thread_;  // RunObservedFlows
};

}  // namespace

Status RunManager(const ManagerOptions& options, const std::atomic<bool>& stop) {
  NPC_ASSIGN_OR_RETURN(std::unique_ptr<Parts> parts, BuildParts(options));
  Runner runner(*parts, options);
  return runner.Run(stop);
}

}  // namespace npc::manager
