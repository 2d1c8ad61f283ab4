// ClusterCache (controller/cache.h): what a managed NetworkPolicy's watch
// event asks to reconcile.
#include "controller/cache.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace npc::controller {
namespace {

NetworkPolicy Managed(int32_t port) {
  NetworkPolicy p;
  p.ns = "shop";
  p.name = "deployment-api";
  p.labels = {{std::string(kManagedByLabel), std::string(kManagedByValue)}};
  p.owner = OwnerReference{"apps/v1", "Deployment", "api", "uid-api"};
  p.policy_types = {"Ingress"};
  PolicyRule r;
  PolicyPort pp;
  pp.port.num = port;
  r.ports.push_back(pp);
  p.ingress.push_back(r);
  return p;
}

decode::Object Event(const NetworkPolicy& p, int64_t generation) {
  decode::Object o;
  o.meta.kind = "NetworkPolicy";
  o.meta.ns = p.ns;
  o.meta.name = p.name;
  o.meta.generation = generation;
  o.value = decode::StoredPolicy{p};
  return o;
}

bool Queues(const ClusterCache::Effect& e, const ReconcileKey& key) {
  return std::find(e.reconcile.begin(), e.reconcile.end(), key) != e.reconcile.end();
}

// The controller's own write comes back through the watch: nothing changed
// since the reconcile that wrote it, so it is not queued again (at start-up
// that was one more pass through the queue for each of 10,000 policies,
// ahead of the changes that came meanwhile). Anything else about the stored
// policy is compared again.
TEST(ClusterCacheTest, TheWatchEventOfItsOwnWriteQueuesNothing) {
  ClusterCache cache(SynthesisConfig{});
  (void)cache.Recompute();
  (void)cache.SetReady();
  const NetworkPolicy written = Managed(8080);
  const ReconcileKey key = ReconcileKey::Policy(written.ns, written.name);
  PolicySummary applied = Summarize(written);
  applied.generation = 2;
  cache.RecordApplied(key, applied);

  EXPECT_FALSE(Queues(cache.Upsert(Event(written, 2)), key)) << "its own write, echoed";

  // Edited by someone since: a new generation, or labels (which keep it).
  EXPECT_TRUE(Queues(cache.Upsert(Event(Managed(9090), 3)), key)) << "spec edited";
  NetworkPolicy relabelled = Managed(9090);
  relabelled.labels = {};
  EXPECT_TRUE(Queues(cache.Upsert(Event(relabelled, 3)), key)) << "its label removed";
  // The same event twice (a re-list): the first already queued it.
  EXPECT_FALSE(Queues(cache.Upsert(Event(relabelled, 3)), key)) << "the same again";
}

}  // namespace
}  // namespace npc::controller
