// KubeConfigMapFetcher: reads, on a thread of its own, the ConfigMaps the
// controller's cache holds only by name (no workload read them when they
// arrived) once a workload starts reading one (controller::ConfigMapFetcher).
// One LIST per ConfigMap, of its name only (fieldSelector metadata.name: the
// controller may list and watch ConfigMaps, not get them), retried with
// backoff (0.5 s doubling to 30 s) until it answers; an empty answer ends it
// (the ConfigMap's watch reports the deletion).
//
// Thread-safety: Fetch() from any thread; the destructor stops the thread.
#pragma once

#include <deque>
#include <string>
#include <thread>
#include <utility>

#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "controller/controller.h"
#include "controller/interfaces.h"
#include "kube/client.h"

namespace npc::manager {

class KubeConfigMapFetcher final : public controller::ConfigMapFetcher {
 public:
  KubeConfigMapFetcher(kube::Client& client, controller::Controller& controller);
  ~KubeConfigMapFetcher() override;
  KubeConfigMapFetcher(const KubeConfigMapFetcher&) = delete;
  KubeConfigMapFetcher& operator=(const KubeConfigMapFetcher&) = delete;

  void Fetch(const std::string& ns, const std::string& name) override EXCLUDES(mu_);

 private:
  void Run() EXCLUDES(mu_);

  kube::Client& client_;
  controller::Controller& controller_;
  Mutex mu_;
  CondVar cv_;
  std::deque<std::pair<std::string, std::string>> queue_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace npc::manager
