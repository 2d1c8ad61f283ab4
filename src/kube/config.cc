#include "kube/config.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace npc::kube {
namespace {

namespace fs = std::filesystem;

std::string Quote(std::string_view s) {
  std::string q = "\"";
  q += s;
  q += '"';
  return q;
}

std::string OpenSslError() {
  unsigned long e = ERR_get_error();  // NOLINT(google-runtime-int): OpenSSL's type
  std::string last = "no details";
  while (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    last = buf;
    e = ERR_get_error();
  }
  return last;
}

// One named entry (cluster, user or context) and the file that defined it.
struct Entry {
  YAML::Node node;  // the inner map ("cluster:", "user:" or "context:")
  std::string file;
};

struct Merged {
  std::map<std::string, Entry> clusters, users, contexts;
  std::string current_context;
  std::vector<std::string> files;

  std::string FileList() const {
    std::string s;
    for (const std::string& f : files) {
      if (!s.empty()) s += ':';
      s += f;
    }
    return s;
  }
};

Status FieldError(const std::string& file, const std::string& field, std::string_view what) {
  return InvalidArgument("kubeconfig " + file + ": " + field + ": " + std::string(what));
}

// Reads a string field; error when present but not a scalar.
StatusOr<std::string> GetString(const YAML::Node& map, const char* key, const std::string& file,
                                const std::string& where) {
  YAML::Node n = map[key];
  if (!n || n.IsNull()) return std::string();
  if (!n.IsScalar()) return FieldError(file, where + "." + key, "must be a string");
  return n.as<std::string>();
}

StatusOr<bool> GetBool(const YAML::Node& map, const char* key, const std::string& file,
                       const std::string& where) {
  YAML::Node n = map[key];
  if (!n || n.IsNull()) return false;
  bool v = false;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
    return FieldError(file, where + "." + key, "must be true or false");
  }
  return v;
}

Status AddNamed(const YAML::Node& root, const char* list_key, const char* inner_key,
                const std::string& file, std::map<std::string, Entry>* out) {
  YAML::Node list = root[list_key];
  if (!list || list.IsNull()) return Status::Ok();
  if (!list.IsSequence()) return FieldError(file, list_key, "must be a list");
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node& item = list[i];
    std::string where = std::string(list_key) + "[" + std::to_string(i) + "]";
    if (!item.IsMap()) return FieldError(file, where, "must be a map");
    NPC_ASSIGN_OR_RETURN(std::string name, GetString(item, "name", file, where));
    if (name.empty()) return FieldError(file, where + ".name", "missing");
    YAML::Node inner = item[inner_key];
    if (inner && !inner.IsNull() && !inner.IsMap()) {
      return FieldError(file, std::string(list_key) + "[" + Quote(name) + "]." + inner_key,
                        "must be a map");
    }
    out->emplace(name, Entry{inner ? inner : YAML::Node(YAML::NodeType::Map), file});
  }
  return Status::Ok();
}

Status MergeFile(const std::string& file, Merged* m) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::BadFile&) {
    return InvalidArgument("kubeconfig " + file + ": cannot be read: " + std::strerror(errno));
  } catch (const YAML::Exception& e) {
    return InvalidArgument("kubeconfig " + file + ": not valid YAML: " + e.what());
  }
  if (root.IsNull()) {  // an empty file sets nothing
    m->files.push_back(file);
    return Status::Ok();
  }
  if (!root.IsMap()) return InvalidArgument("kubeconfig " + file + ": not a YAML map");
  try {
    NPC_RETURN_IF_ERROR(AddNamed(root, "clusters", "cluster", file, &m->clusters));
    NPC_RETURN_IF_ERROR(AddNamed(root, "users", "user", file, &m->users));
    NPC_RETURN_IF_ERROR(AddNamed(root, "contexts", "context", file, &m->contexts));
    NPC_ASSIGN_OR_RETURN(std::string cc, GetString(root, "current-context", file, "(top)"));
    if (m->current_context.empty()) m->current_context = cc;
  } catch (const YAML::Exception& e) {
    return InvalidArgument("kubeconfig " + file + ": " + e.what());
  }
  m->files.push_back(file);
  return Status::Ok();
}

std::string Resolve(const std::string& path, const std::string& kubeconfig_file) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(kubeconfig_file).parent_path() / path).lexically_normal().string();
}

// Fills *pem from either `<key>` (a file) or `<key>-data` (base64 PEM), checking it.
Status LoadPem(const YAML::Node& node, const std::string& key, const Entry& entry,
               const std::string& where, bool is_key, std::string* pem, std::string* origin) {
  NPC_ASSIGN_OR_RETURN(std::string data,
                       GetString(node, (key + "-data").c_str(), entry.file, where));
  NPC_ASSIGN_OR_RETURN(std::string path, GetString(node, key.c_str(), entry.file, where));
  std::string field;
  if (!data.empty()) {
    field = where + "." + key + "-data";
    auto decoded = Base64Decode(data);
    if (!decoded.ok()) return FieldError(entry.file, field, decoded.status().message());
    *pem = std::move(*decoded);
    if (origin != nullptr) *origin = "kubeconfig " + entry.file + ": " + field;
  } else if (!path.empty()) {
    field = where + "." + key;
    std::string resolved = Resolve(path, entry.file);
    auto content = ReadFileToString(resolved);
    if (!content.ok()) return FieldError(entry.file, field, content.status().message());
    *pem = std::move(*content);
    field += " (" + resolved + ")";
    if (origin != nullptr) *origin = resolved;
  } else {
    return Status::Ok();
  }
  Status check = is_key ? CheckPemPrivateKey(*pem) : CheckPemCertificates(*pem);
  if (!check.ok()) return FieldError(entry.file, field, check.message());
  return Status::Ok();
}

Status LoadCluster(const Entry& e, const std::string& name, RestConfig* c) {
  std::string where = "clusters[" + Quote(name) + "].cluster";
  const YAML::Node& n = e.node;
  NPC_ASSIGN_OR_RETURN(c->server, GetString(n, "server", e.file, where));
  if (c->server.empty()) return FieldError(e.file, where + ".server", "missing");
  while (!c->server.empty() && c->server.back() == '/') c->server.pop_back();
  if (c->server.rfind("https://", 0) != 0 && c->server.rfind("http://", 0) != 0) {
    return FieldError(e.file, where + ".server",
                      "\"" + c->server + "\" is not an http:// or https:// URL");
  }
  NPC_ASSIGN_OR_RETURN(c->insecure_skip_tls_verify,
                       GetBool(n, "insecure-skip-tls-verify", e.file, where));
  NPC_ASSIGN_OR_RETURN(c->tls_server_name, GetString(n, "tls-server-name", e.file, where));
  NPC_ASSIGN_OR_RETURN(c->proxy_url, GetString(n, "proxy-url", e.file, where));
  NPC_RETURN_IF_ERROR(
      LoadPem(n, "certificate-authority", e, where, false, &c->ca_pem, &c->ca_origin));
  if (c->insecure_skip_tls_verify && !c->ca_pem.empty()) {
    return FieldError(e.file, where,
                      "insecure-skip-tls-verify and a certificate-authority cannot both be set");
  }
  return Status::Ok();
}

Status LoadExec(const YAML::Node& n, const Entry& e, const std::string& where, RestConfig* c) {
  ExecConfig x;
  x.origin = "kubeconfig " + e.file + ": " + where;
  NPC_ASSIGN_OR_RETURN(x.api_version, GetString(n, "apiVersion", e.file, where));
  if (x.api_version != "client.authentication.k8s.io/v1" &&
      x.api_version != "client.authentication.k8s.io/v1beta1") {
    return FieldError(
        e.file, where + ".apiVersion",
        "\"" + x.api_version + "\" is not supported (client.authentication.k8s.io/v1 or v1beta1)");
  }
  NPC_ASSIGN_OR_RETURN(x.command, GetString(n, "command", e.file, where));
  if (x.command.empty()) return FieldError(e.file, where + ".command", "missing");
  if (x.command.find('/') != std::string::npos) x.command = Resolve(x.command, e.file);
  if (YAML::Node args = n["args"]; args && !args.IsNull()) {
    if (!args.IsSequence()) return FieldError(e.file, where + ".args", "must be a list");
    for (const auto& a : args) x.args.push_back(a.as<std::string>());
  }
  if (YAML::Node env = n["env"]; env && !env.IsNull()) {
    if (!env.IsSequence()) return FieldError(e.file, where + ".env", "must be a list");
    for (const auto& kv : env) {
      if (!kv.IsMap() || !kv["name"]) {
        return FieldError(e.file, where + ".env", "entries need a name and a value");
      }
      x.env.emplace_back(kv["name"].as<std::string>(),
                         kv["value"] ? kv["value"].as<std::string>() : std::string());
    }
  }
  NPC_ASSIGN_OR_RETURN(x.provide_cluster_info, GetBool(n, "provideClusterInfo", e.file, where));
  c->exec = std::move(x);
  return Status::Ok();
}

Status LoadUser(const Entry& e, const std::string& name, RestConfig* c) {
  std::string where = "users[" + Quote(name) + "].user";
  const YAML::Node& n = e.node;
  NPC_RETURN_IF_ERROR(
      LoadPem(n, "client-certificate", e, where, false, &c->client_cert_pem, nullptr));
  NPC_RETURN_IF_ERROR(LoadPem(n, "client-key", e, where, true, &c->client_key_pem, nullptr));
  if (c->client_cert_pem.empty() != c->client_key_pem.empty()) {
    return FieldError(e.file, where, "client-certificate and client-key must be set together");
  }
  NPC_ASSIGN_OR_RETURN(c->token, GetString(n, "token", e.file, where));
  NPC_ASSIGN_OR_RETURN(std::string token_file, GetString(n, "tokenFile", e.file, where));
  if (!token_file.empty()) {
    c->token_file = Resolve(token_file, e.file);
    if (c->token.empty()) {
      auto t = ReadFileToString(c->token_file);
      if (!t.ok()) return FieldError(e.file, where + ".tokenFile", t.status().message());
    }
  }
  if (YAML::Node x = n["exec"]; x && !x.IsNull()) {
    if (!x.IsMap()) return FieldError(e.file, where + ".exec", "must be a map");
    NPC_RETURN_IF_ERROR(LoadExec(x, e, where + ".exec", c));
  }
  if (n["auth-provider"]) {
    return FieldError(e.file, where + ".auth-provider",
                      "auth-provider plugins are not supported; use an exec plugin");
  }
  if (n["username"] || n["password"]) {
    return FieldError(e.file, where + ".username", "basic authentication is not supported");
  }
  return Status::Ok();
}

std::string Keys(const std::map<std::string, Entry>& m) {
  std::string s;
  for (const auto& [k, v] : m) {
    if (!s.empty()) s += ", ";
    s += Quote(k);
  }
  return s.empty() ? "none" : s;
}

const char* RealGetenv(const char* name) {
  return std::getenv(name);
}

}  // namespace

StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return InvalidArgument("file " + path + " cannot be read: " + std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return InvalidArgument("file " + path + " cannot be read");
  return ss.str();
}

StatusOr<std::string> Base64Decode(std::string_view in) {
  auto val = [](char ch) -> int {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+') return 62;
    if (ch == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() * 3 / 4);
  unsigned acc = 0;
  int bits = 0;
  bool padding = false;
  for (char ch : in) {
    if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') continue;
    if (ch == '=') {
      padding = true;
      continue;
    }
    int v = val(ch);
    if (v < 0 || padding) return InvalidArgument("not valid base64");
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (bits >= 6) return InvalidArgument("not valid base64 (truncated)");
  return out;
}

Status CheckPemCertificates(std::string_view pem) {
  ERR_clear_error();
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return Internal("out of memory");
  int count = 0;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    X509_free(cert);
    ++count;
  }
  BIO_free(bio);
  if (count == 0) {
    return InvalidArgument("does not hold a PEM certificate (OpenSSL: " + OpenSslError() + ")");
  }
  ERR_clear_error();  // the end-of-input "no start line"
  return Status::Ok();
}

Status CheckPemPrivateKey(std::string_view pem) {
  ERR_clear_error();
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return Internal("out of memory");
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) {
    return InvalidArgument("does not hold a PEM private key (OpenSSL: " + OpenSslError() + ")");
  }
  EVP_PKEY_free(key);
  return Status::Ok();
}

StatusOr<RestConfig> LoadKubeconfig(const std::vector<std::string>& files,
                                    std::string_view context) {
  Merged m;
  for (const std::string& f : files) NPC_RETURN_IF_ERROR(MergeFile(f, &m));
  if (m.files.empty()) return InvalidArgument("no kubeconfig file given");
  std::string ctx_name = context.empty() ? m.current_context : std::string(context);
  if (ctx_name.empty()) {
    return InvalidArgument("kubeconfig " + m.FileList() +
                           ": current-context is not set and no --context was given");
  }
  auto ctx = m.contexts.find(ctx_name);
  if (ctx == m.contexts.end()) {
    return InvalidArgument("kubeconfig " + m.FileList() + ": context " + Quote(ctx_name) +
                           " not found (contexts: " + Keys(m.contexts) + ")");
  }
  const Entry& ce = ctx->second;
  std::string where = "contexts[" + Quote(ctx_name) + "].context";
  RestConfig c;
  c.context = ctx_name;
  c.origin = "kubeconfig " + m.FileList() + " (context " + Quote(ctx_name) + ")";
  try {
    NPC_ASSIGN_OR_RETURN(std::string cluster, GetString(ce.node, "cluster", ce.file, where));
    NPC_ASSIGN_OR_RETURN(std::string user, GetString(ce.node, "user", ce.file, where));
    NPC_ASSIGN_OR_RETURN(std::string ns, GetString(ce.node, "namespace", ce.file, where));
    if (!ns.empty()) c.namespace_name = ns;
    if (cluster.empty()) return FieldError(ce.file, where + ".cluster", "missing");
    auto cl = m.clusters.find(cluster);
    if (cl == m.clusters.end()) {
      return FieldError(
          ce.file, where + ".cluster",
          "cluster " + Quote(cluster) + " not found (clusters: " + Keys(m.clusters) + ")");
    }
    NPC_RETURN_IF_ERROR(LoadCluster(cl->second, cluster, &c));
    if (!user.empty()) {
      auto us = m.users.find(user);
      if (us == m.users.end()) {
        return FieldError(ce.file, where + ".user",
                          "user " + Quote(user) + " not found (users: " + Keys(m.users) + ")");
      }
      NPC_RETURN_IF_ERROR(LoadUser(us->second, user, &c));
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgument("kubeconfig " + m.FileList() + ": " + e.what());
  }
  return c;
}

StatusOr<RestConfig> LoadInCluster(std::string_view sa_dir, std::string_view host,
                                   std::string_view port) {
  RestConfig c;
  std::string dir(sa_dir);
  c.origin = "in-cluster (service account directory " + dir + ")";
  std::string h(host);
  if (h.find(':') != std::string::npos && h.front() != '[') h = "[" + h + "]";
  c.server = "https://" + h + ":" + std::string(port);
  c.token_file = (fs::path(dir) / "token").string();
  auto token = ReadFileToString(c.token_file);
  if (!token.ok()) return InvalidArgument("in-cluster: token: " + token.status().message());
  std::string ca_file = (fs::path(dir) / "ca.crt").string();
  auto ca = ReadFileToString(ca_file);
  if (!ca.ok()) return InvalidArgument("in-cluster: ca.crt: " + ca.status().message());
  if (Status s = CheckPemCertificates(*ca); !s.ok()) {
    return InvalidArgument("in-cluster: " + ca_file + ": " + s.message());
  }
  c.ca_pem = std::move(*ca);
  c.ca_origin = ca_file;
  if (auto ns = ReadFileToString((fs::path(dir) / "namespace").string()); ns.ok()) {
    std::string n = *ns;
    while (!n.empty() && (n.back() == '\n' || n.back() == ' ')) n.pop_back();
    if (!n.empty()) c.namespace_name = n;
  }
  return c;
}

StatusOr<RestConfig> ResolveConfig(const ConfigOptions& options) {
  auto env = [&](const char* name) -> std::string {
    const char* v = options.getenv ? options.getenv(name) : RealGetenv(name);
    return v == nullptr ? std::string() : std::string(v);
  };
  if (!options.kubeconfig.empty()) return LoadKubeconfig({options.kubeconfig}, options.context);
  if (std::string list = env("KUBECONFIG"); !list.empty()) {
    std::vector<std::string> files;
    std::string missing;
    size_t start = 0;
    while (start <= list.size()) {
      size_t end = list.find(':', start);
      if (end == std::string::npos) end = list.size();
      std::string f = list.substr(start, end - start);
      if (!f.empty()) {
        std::error_code ec;
        if (fs::exists(f, ec)) {
          files.push_back(f);
        } else {
          missing += (missing.empty() ? "" : ", ") + f;
        }
      }
      start = end + 1;
    }
    if (files.empty()) {
      return InvalidArgument("$KUBECONFIG names no existing file (missing: " + missing + ")");
    }
    return LoadKubeconfig(files, options.context);
  }
  std::string host = env("KUBERNETES_SERVICE_HOST");
  std::string port = env("KUBERNETES_SERVICE_PORT");
  if (!host.empty() && !port.empty()) {
    std::string dir = options.serviceaccount_dir;
    if (dir.empty()) dir = env("NPC_SERVICEACCOUNT_DIR");
    if (dir.empty()) dir = std::string(kDefaultServiceAccountDir);
    return LoadInCluster(dir, host, port);
  }
  std::string home = env("HOME");
  std::string path = (fs::path(home) / ".kube" / "config").string();
  std::error_code ec;
  if (home.empty() || !fs::exists(path, ec)) {
    return InvalidArgument(
        "no Kubernetes configuration: no --kubeconfig, no $KUBECONFIG, not in a cluster "
        "($KUBERNETES_SERVICE_HOST unset) and no " +
        path);
  }
  return LoadKubeconfig({path}, options.context);
}

}  // namespace npc::kube
