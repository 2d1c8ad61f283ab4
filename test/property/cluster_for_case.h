// Test support shared by the property tests: the evaluator's model cluster
// (namespaces and pods, no policies yet) for a generated case. Every pod must
// be accepted; a rejected one fails the calling test.
#pragma once

#include <gtest/gtest.h>

#include "evaluator/evaluator.h"
#include "property/generator.h"

namespace npc::property {

inline eval::Cluster MakeCluster(const GeneratedCase& c) {
  eval::Cluster cluster;
  for (const Namespace& n : c.namespaces) cluster.AddNamespace(n.name, n.labels);
  for (const eval::Pod& p : c.pods) {
    Status s = cluster.AddPod(p);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  return cluster;
}

}  // namespace npc::property
