#include "kube/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

namespace npc::kube {
namespace {

using ::testing::HasSubstr;

std::string Data(const std::string& name) {
  return std::string(NPC_SOURCE_DIR) + "/src/kube/testdata/" + name;
}

TEST(KubeconfigTest, RelativeFilesAndContextNamespace) {
  auto c = LoadKubeconfig({Data("good.yaml")}, "");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server, "https://127.0.0.1:6443");  // trailing slash dropped
  EXPECT_EQ(c->context, "dev");
  EXPECT_EQ(c->namespace_name, "team-a");
  EXPECT_EQ(c->tls_server_name, "kubernetes.default");
  EXPECT_THAT(c->ca_pem, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_EQ(c->ca_origin, Data("ca.crt"));
  EXPECT_THAT(c->client_cert_pem, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(c->client_key_pem, HasSubstr("PRIVATE KEY"));
  EXPECT_FALSE(c->insecure_skip_tls_verify);
  EXPECT_TRUE(c->token.empty());
}

TEST(KubeconfigTest, ExplicitContextWithToken) {
  auto c = LoadKubeconfig({Data("good.yaml")}, "tokctx");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->token, "abc123");
  EXPECT_EQ(c->namespace_name, "default");
  EXPECT_TRUE(c->client_cert_pem.empty());
}

TEST(KubeconfigTest, EmbeddedDataAndProxy) {
  auto c = LoadKubeconfig({Data("good-data.yaml")}, "");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server, "https://[::1]:6443");
  EXPECT_EQ(c->proxy_url, "http://proxy.example:3128");
  EXPECT_THAT(c->ca_pem, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(c->ca_origin, HasSubstr("certificate-authority-data"));
  EXPECT_THAT(c->client_key_pem, HasSubstr("PRIVATE KEY"));
}

TEST(KubeconfigTest, ExecPlugin) {
  auto c = LoadKubeconfig({Data("good-data.yaml")}, "exec");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->exec.has_value());
  EXPECT_EQ(c->exec->command, Data("bin/get-token.sh"));
  EXPECT_EQ(c->exec->args, (std::vector<std::string>{"--flag", "v"}));
  ASSERT_EQ(c->exec->env.size(), 1u);
  EXPECT_EQ(c->exec->env[0].first, "FOO");
  EXPECT_EQ(c->exec->env[0].second, "bar");
  EXPECT_TRUE(c->exec->provide_cluster_info);
}

TEST(KubeconfigTest, MergeFirstFileWins) {
  auto c = LoadKubeconfig({Data("merge-a.yaml"), Data("merge-b.yaml")}, "");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->context, "a");                      // current-context from a
  EXPECT_EQ(c->server, "https://a.example:6443");  // context "a" and cluster "shared" from a
  EXPECT_TRUE(c->insecure_skip_tls_verify);

  auto b = LoadKubeconfig({Data("merge-a.yaml"), Data("merge-b.yaml")}, "b");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->server, "https://only-b.example:6443");
  EXPECT_EQ(b->namespace_name, "from-b");

  auto reversed = LoadKubeconfig({Data("merge-b.yaml"), Data("merge-a.yaml")}, "");
  ASSERT_TRUE(reversed.ok()) << reversed.status().ToString();
  EXPECT_EQ(reversed->context, "b");
}

struct BrokenCase {
  const char* file;
  std::vector<const char*> fragments;  // each must appear in the message
};

class BrokenKubeconfigTest : public ::testing::TestWithParam<BrokenCase> {};

TEST_P(BrokenKubeconfigTest, NamesFileAndField) {
  const BrokenCase& bc = GetParam();
  auto c = LoadKubeconfig({Data(bc.file)}, "");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr(Data(bc.file)));
  for (const char* f : bc.fragments) EXPECT_THAT(c.status().message(), HasSubstr(f));
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, BrokenKubeconfigTest,
    ::testing::Values(
        BrokenCase{"broken-not-yaml.yaml", {"not valid YAML"}},
        BrokenCase{"broken-missing-context.yaml",
                   {"context \"nope\" not found", "contexts: \"real\""}},
        BrokenCase{"broken-missing-ca.yaml",
                   {"clusters[\"c\"].cluster.certificate-authority", "does-not-exist.crt",
                    "No such file"}},
        BrokenCase{"broken-bad-cert.yaml",
                   {"users[\"u\"].user.client-certificate-data", "does not hold a PEM certificate",
                    "OpenSSL"}},
        BrokenCase{"broken-bad-base64.yaml",
                   {"clusters[\"c\"].cluster.certificate-authority-data", "not valid base64"}},
        BrokenCase{"broken-missing-cluster.yaml",
                   {"contexts[\"x\"].context.cluster", "cluster \"ghost\" not found"}},
        BrokenCase{"broken-no-server.yaml", {"clusters[\"c\"].cluster.server", "missing"}},
        BrokenCase{"broken-exec-version.yaml", {"users[\"u\"].user.exec.apiVersion", "v1alpha1"}},
        BrokenCase{"broken-key-without-cert.yaml", {"users[\"u\"].user", "must be set together"}}),
    [](const ::testing::TestParamInfo<BrokenCase>& param_info) {
      std::string name = param_info.param.file;
      name = name.substr(0, name.find('.'));
      for (char& ch : name) {
        if (ch == '-') ch = '_';
      }
      return name;
    });

TEST(KubeconfigTest, MissingFile) {
  auto c = LoadKubeconfig({Data("no-such.yaml")}, "");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr(Data("no-such.yaml")));
  EXPECT_THAT(c.status().message(), HasSubstr("cannot be read"));
}

ConfigOptions Opts(std::function<const char*(const char*)> env, std::string kubeconfig = "",
                   std::string context = "", std::string sa_dir = "") {
  ConfigOptions o;
  o.kubeconfig = std::move(kubeconfig);
  o.context = std::move(context);
  o.serviceaccount_dir = std::move(sa_dir);
  o.getenv = std::move(env);
  return o;
}

// Environment for ResolveConfig, without touching the process environment.
class FakeEnv {
 public:
  std::map<std::string, std::string> vars;
  std::function<const char*(const char*)> Fn() {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

TEST(ResolveConfigTest, ExplicitKubeconfigBeatsEnvironment) {
  FakeEnv env;
  env.vars["KUBECONFIG"] = Data("merge-a.yaml");
  env.vars["KUBERNETES_SERVICE_HOST"] = "10.0.0.1";
  env.vars["KUBERNETES_SERVICE_PORT"] = "443";
  auto c = ResolveConfig(Opts(env.Fn(), Data("good.yaml")));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server, "https://127.0.0.1:6443");
}

TEST(ResolveConfigTest, KubeconfigListMergesAndSkipsMissing) {
  FakeEnv env;
  env.vars["KUBECONFIG"] =
      Data("missing.yaml") + ":" + Data("merge-b.yaml") + ":" + Data("merge-a.yaml");
  auto c = ResolveConfig(Opts(env.Fn(), "", "a"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server, "https://only-b.example:6443");  // context "a" from merge-b
}

TEST(ResolveConfigTest, InClusterWithOverriddenDirAndIpv6) {
  FakeEnv env;
  env.vars["KUBERNETES_SERVICE_HOST"] = "fd00::1";
  env.vars["KUBERNETES_SERVICE_PORT"] = "6443";
  env.vars["NPC_SERVICEACCOUNT_DIR"] = Data("sa");
  env.vars["HOME"] = "/nonexistent";
  auto c = ResolveConfig(Opts(env.Fn()));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server, "https://[fd00::1]:6443");
  EXPECT_EQ(c->token_file, Data("sa") + "/token");
  EXPECT_EQ(c->namespace_name, "kube-system");
  EXPECT_THAT(c->ca_pem, HasSubstr("BEGIN CERTIFICATE"));
}

TEST(ResolveConfigTest, InClusterOptionBeatsEnvDir) {
  FakeEnv env;
  env.vars["KUBERNETES_SERVICE_HOST"] = "10.0.0.1";
  env.vars["KUBERNETES_SERVICE_PORT"] = "443";
  env.vars["NPC_SERVICEACCOUNT_DIR"] = "/nonexistent";
  auto c = ResolveConfig(Opts(env.Fn(), "", "", Data("sa")));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server, "https://10.0.0.1:443");
}

TEST(ResolveConfigTest, InClusterMissingTokenNamesFile) {
  FakeEnv env;
  env.vars["KUBERNETES_SERVICE_HOST"] = "10.0.0.1";
  env.vars["KUBERNETES_SERVICE_PORT"] = "443";
  auto c = ResolveConfig(Opts(env.Fn(), "", "", "/nonexistent-sa"));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("/nonexistent-sa/token"));
}

TEST(ResolveConfigTest, HomeFallbackAndNothingAtAll) {
  FakeEnv env;
  env.vars["HOME"] = "/nonexistent-home";
  auto c = ResolveConfig(Opts(env.Fn()));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("/nonexistent-home/.kube/config"));
}

TEST(Base64Test, DecodesWithWhitespaceAndPadding) {
  auto d = Base64Decode("aGVs\nbG8=");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, "hello");
  EXPECT_FALSE(Base64Decode("a$b").ok());
}

}  // namespace
}  // namespace npc::kube
