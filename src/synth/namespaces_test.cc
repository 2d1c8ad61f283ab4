#include "synth/namespaces.h"

#include <gtest/gtest.h>

#include "synth/synth.h"

namespace npc::synth {
namespace {

Namespace Ns(const std::string& name, Labels labels = {}) {
  Namespace n;
  n.name = name;
  n.labels = std::move(labels);
  n.labels[std::string(kNamespaceNameLabel)] = name;
  return n;
}

TEST(ParseLabelSelector, KubectlSyntax) {
  auto s = ParseLabelSelector("team=shop, env!=dev,tier in (web, api),!legacy,managed,x==y");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->match_labels, (Labels{{"team", "shop"}, {"x", "y"}}));
  ASSERT_EQ(s->match_expressions.size(), 4u);
  EXPECT_TRUE(Matches(*s, {{"team", "shop"}, {"x", "y"}, {"tier", "web"}, {"managed", ""}}));
  EXPECT_FALSE(Matches(*s, {{"team", "shop"}, {"x", "y"}, {"tier", "db"}, {"managed", ""}}));
  EXPECT_FALSE(Matches(*s, {{"team", "shop"}, {"x", "y"}, {"tier", "web"}}));
  EXPECT_FALSE(Matches(*s, {{"team", "shop"}, {"x", "y"}, {"tier", "web"}, {"managed", ""},
                            {"legacy", "1"}}));
  EXPECT_FALSE(
      Matches(*s, {{"team", "shop"}, {"x", "y"}, {"tier", "web"}, {"managed", ""}, {"env", "dev"}}));
  EXPECT_TRUE(ParseLabelSelector("")->empty());
}

TEST(ParseLabelSelector, ErrorsNameTheRequirement) {
  for (const char* bad : {"a=b,", "tier in (a", "tier on (a)", "a=b c", "=x", "a=1,a=2"}) {
    auto s = ParseLabelSelector(bad);
    EXPECT_FALSE(s.ok()) << bad;
    if (!s.ok()) {
      EXPECT_NE(s.status().message().find("label selector"), std::string::npos)
          << s.status().message();
    }
  }
}

TEST(DecideNamespace, ExclusionIgnoreOffAndSelector) {
  SynthesisConfig c = SynthesisConfig::Defaults();
  EXPECT_FALSE(DecideNamespace("kube-system", nullptr, c).managed);
  EXPECT_TRUE(DecideNamespace("shop", nullptr, c).managed);

  Namespace ignored = Ns("shop");
  ignored.annotations[std::string(kIgnoreAnnotation)] = "True";
  EXPECT_FALSE(DecideNamespace("shop", &ignored, c).managed);

  Namespace off = Ns("shop", {{std::string(kModeLabel), "off"}});
  NamespaceDecision d = DecideNamespace("shop", &off, c);
  EXPECT_FALSE(d.managed);
  EXPECT_NE(d.why_not.find("mode=off"), std::string::npos);

  Namespace audit = Ns("shop", {{std::string(kModeLabel), "audit"}});
  d = DecideNamespace("shop", &audit, c);
  EXPECT_TRUE(d.managed);
  EXPECT_EQ(d.mode, Mode::kAudit);
  EXPECT_TRUE(d.warning.empty());

  Namespace enforce = Ns("shop", {{std::string(kModeLabel), "enforce"}});
  EXPECT_EQ(DecideNamespace("shop", &enforce, c).mode, Mode::kEnforce);

  Namespace typo = Ns("shop", {{std::string(kModeLabel), "enforced"}});
  d = DecideNamespace("shop", &typo, c);
  EXPECT_TRUE(d.managed);
  EXPECT_EQ(d.mode, Mode::kAudit);  // a typo never enforces
  // The warning names the namespace, the value, the allowed values and the
  // mode that applies.
  EXPECT_EQ(d.warning,
            "namespace shop: label netpol-ctrl.io/mode=enforced is none of audit, enforce, off; "
            "the namespace is treated as audit");

  c.namespace_selector = *ParseLabelSelector("netpol-ctrl.io/managed=true");
  d = DecideNamespace("shop", &audit, c);
  EXPECT_FALSE(d.managed);
  EXPECT_NE(d.why_not.find("--namespace-selector"), std::string::npos);
  Namespace selected = Ns("shop", {{"netpol-ctrl.io/managed", "true"}});
  EXPECT_TRUE(DecideNamespace("shop", &selected, c).managed);
  // Without an object, only the name label is known.
  EXPECT_FALSE(DecideNamespace("shop", nullptr, c).managed);
  c.namespace_selector = *ParseLabelSelector("kubernetes.io/metadata.name in (shop,data)");
  EXPECT_TRUE(DecideNamespace("shop", nullptr, c).managed);
  EXPECT_FALSE(DecideNamespace("web", nullptr, c).managed);
}

TEST(DecideNamespace, SynthesisSkipsUnmanagedNamespaces) {
  Snapshot s;
  s.namespaces = {Ns("shop", {{"team", "a"}}), Ns("data", {{std::string(kModeLabel), "off"}}),
                  Ns("web")};
  for (const char* ns : {"shop", "data", "web"}) {
    Workload w;
    w.ns = ns;
    w.name = "app";
    w.uid = std::string("uid-") + ns;
    w.pod_selector.match_labels = {{"app", "app"}};
    w.template_labels = {{"app", "app"}};
    s.workloads.push_back(w);
  }
  SynthesisConfig c = SynthesisConfig::Defaults();
  c.default_deny = true;
  c.namespace_selector = *ParseLabelSelector("team");
  Result r = Synthesize(s, c);
  ASSERT_EQ(r.policies.size(), 1u);
  EXPECT_EQ(r.policies[0].policy.ns, "shop");
  ASSERT_EQ(r.default_deny.size(), 1u);
  EXPECT_EQ(r.default_deny[0].ns, "shop");
  ASSERT_EQ(r.skipped.size(), 2u);

  c.namespace_selector.reset();
  r = Synthesize(s, c);
  ASSERT_EQ(r.policies.size(), 2u);  // data is off
  EXPECT_EQ(r.policies[0].policy.ns, "shop");
  EXPECT_EQ(r.policies[1].policy.ns, "web");
}

}  // namespace
}  // namespace npc::synth
