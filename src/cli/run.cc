// `netpol-ctrl run`: the controller.
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <thread>

#include "cli/command.h"
#include "manager/manager.h"

namespace npc::cli {
namespace {

class RunCommand final : public Command {
 public:
  CLI::App* Register(CLI::App& app) override {
    CLI::App* cmd = app.add_subcommand(
        "run",
        "Run the controller: watch the cluster and keep one least-privilege NetworkPolicy "
        "per workload");
    cmd->add_option("--kubeconfig", kubeconfig_,
                    "Path to a kubeconfig (default: $KUBECONFIG, then in-cluster, then "
                    "~/.kube/config)");
    cmd->add_option("--context", context_, "The kubeconfig context to use");
    cmd->add_option("--mode", mode_,
                    "enforce: write policies; audit: compute and log what would be written, "
                    "write nothing")
        ->check(CLI::IsMember({"enforce", "audit"}))
        ->capture_default_str();
    cmd->add_option("--workers", workers_, "Reconcile workers")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    cmd->add_option("--read-configmaps", read_config_maps_,
                    "Read ConfigMaps that workloads use (needs list/watch on configmaps)")
        ->capture_default_str();
    cmd->add_option("--sync-timeout", sync_timeout_s_,
                    "Exit with an error if the caches have not synced in this many seconds "
                    "(0: wait forever)")
        ->capture_default_str();
    cmd->add_option("-v,--v", verbosity_, "Log verbosity: 0 info, 1 debug, 2 trace")
        ->capture_default_str();
    config_.Register(*cmd);
    cmd->footer(
        "Examples:\n"
        "  netpol-ctrl run --kubeconfig ~/.kube/config\n"
        "  netpol-ctrl run --mode=audit -v 1        # show what it would do, write nothing\n"
        "In a cluster it reads the service account's token and CA; when POD_NAMESPACE is set,\n"
        "the controller's own namespace is excluded. SIGTERM/SIGINT shut it down cleanly.");
    return cmd;
  }

  int Run(Io& io) override {
    spdlog::set_level(verbosity_ >= 2   ? spdlog::level::trace
                      : verbosity_ == 1 ? spdlog::level::debug
                                        : spdlog::level::info);
    auto config = config_.ToConfig();
    if (!config.ok()) {
      io.err << "error: " << config.status().message() << "\n";
      return kExitUsage;
    }
    manager::ManagerOptions o;
    o.kube.kubeconfig = kubeconfig_;
    o.kube.context = context_;
    o.controller.synthesis = *config;
    o.controller.synthesis.read_config_maps = read_config_maps_;
    o.controller.mode = mode_ == "audit" ? Mode::kAudit : Mode::kEnforce;
    o.controller.workers = workers_;
    o.sync_timeout = std::chrono::seconds(sync_timeout_s_);
    if (const char* ns = std::getenv("POD_NAMESPACE"); ns && *ns) {
      o.controller.synthesis.excluded_namespaces.emplace_back(ns);
    }

    // Signals are taken by one thread with sigwait, so no other thread is
    // interrupted and the handler needs no async-signal-safety tricks.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::atomic<bool> stop{false};
    std::thread signals([&] {
      int sig = 0;
      while (sigwait(&set, &sig) == 0) {
        if (sig == SIGINT || sig == SIGTERM) {
          if (stop.exchange(true)) continue;
          spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
          return;
        }
      }
    });
    Status s = manager::RunManager(o, stop);
    if (!stop.exchange(true)) {
      // RunManager returned by itself (an error): wake the signal thread.
      pthread_kill(signals.native_handle(), SIGTERM);
    }
    signals.join();
    if (!s.ok()) {
      spdlog::error("{}", s.ToString());
      return 1;
    }
    return kExitOk;
  }

 private:
  std::string kubeconfig_;
  std::string context_;
  std::string mode_ = "enforce";
  int workers_ = 2;
  bool read_config_maps_ = true;
  int sync_timeout_s_ = 0;
  int verbosity_ = 0;
  ConfigFlags config_;
};

}  // namespace

std::unique_ptr<Command> NewRunCommand() { return std::make_unique<RunCommand>(); }

}  // namespace npc::cli
