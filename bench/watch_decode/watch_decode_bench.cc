// Decodes a synthetic watch stream of realistic Pods and Deployments (~10 KB
// each, managedFields included), fed in 16 KB chunks through kube::WatchDecoder,
// and extracts with simdjson what the informer cache keeps: metadata (name,
// namespace, uid, resourceVersion, labels, ownerReferences) and, for
// Deployments, the selector and the pod template containers' env, args and ports.
//
// Prints {"events":N,"bytes_per_event":..,"us_per_event":..,"mb_per_s":..,
//         "allocations_per_event":..}; allocations are counted by replacing the
// global operator new. Target: <= 20 us per 10 KB event.
#include <simdjson.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "kube/watch_decoder.h"

namespace {
std::atomic<long long> g_allocations{0};  // NOLINT(google-runtime-int)
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  return operator new(n);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

namespace {

using Json = nlohmann::json;
using KV = std::pair<std::string, std::string>;

// --- The structs the cache keeps ------------------------------------------------
struct OwnerRef {
  std::string api_version, kind, name, uid;
  bool controller = false;
};
struct Meta {
  std::string name, namespace_name, uid, resource_version;
  std::vector<KV> labels;
  std::vector<OwnerRef> owners;
};
struct Port {
  std::string name, protocol;
  int64_t container_port = 0;
};
struct Container {
  std::string name;
  std::vector<KV> env;
  std::vector<std::string> args;
  std::vector<Port> ports;
};
struct Cached {
  Meta meta;
  std::vector<KV> selector;
  std::vector<Container> containers;
};

// --- Synthetic objects ------------------------------------------------------------
Json ManagedFields(int n) {
  Json mf = Json::array();
  for (int i = 0; i < n; ++i) {
    Json fields = Json::object();
    for (int k = 0; k < 20; ++k) {
      fields["f:metadata"]["f:labels"]["f:label-" + std::to_string(k)] = Json::object();
      fields["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"]["f:env"]
            ["k:{\"name\":\"ENV_" + std::to_string(k) + "\"}"] = {
                {".", Json::object()}, {"f:name", Json::object()}, {"f:value", Json::object()}};
    }
    mf.push_back({{"manager", i == 0 ? "kubectl-client-side-apply" : "kube-controller-manager"},
                  {"operation", "Update"},
                  {"apiVersion", "apps/v1"},
                  {"time", "2026-01-01T00:00:00Z"},
                  {"fieldsType", "FieldsV1"},
                  {"fieldsV1", fields}});
  }
  return mf;
}

Json ContainerJson(const std::string& name, int env) {
  Json c = {{"name", name},
            {"image", "registry.example.com/shop/" + name + ":v1.2.3"},
            {"args", {"--port=8080", "--db=postgres://db.data:5432/shop", "--verbose"}},
            {"ports",
             {{{"name", "http"}, {"containerPort", 8080}, {"protocol", "TCP"}},
              {{"name", "metrics"}, {"containerPort", 9090}, {"protocol", "TCP"}}}},
            {"resources",
             {{"limits", {{"cpu", "500m"}, {"memory", "256Mi"}}},
              {"requests", {{"cpu", "100m"}, {"memory", "128Mi"}}}}},
            {"imagePullPolicy", "IfNotPresent"},
            {"terminationMessagePath", "/dev/termination-log"}};
  for (int i = 0; i < env; ++i) {
    c["env"].push_back({{"name", "ENV_" + std::to_string(i)},
                        {"value", "http://service-" + std::to_string(i) + ".shop.svc:80"}});
  }
  return c;
}

Json Labels() {
  return {{"app", "web"},
          {"app.kubernetes.io/name", "web"},
          {"app.kubernetes.io/part-of", "shop"},
          {"pod-template-hash", "5d8f7c9b6"},
          {"tier", "frontend"}};
}

Json Pod(int i) {
  Json p = {{"apiVersion", "v1"}, {"kind", "Pod"}};
  p["metadata"] = {{"name", "web-5d8f7c9b6-" + std::to_string(10000 + i)},
                   {"namespace", "shop"},
                   {"uid", "3f2a1c9e-1111-2222-3333-" + std::to_string(100000000000 + i)},
                   {"resourceVersion", std::to_string(1000 + i)},
                   {"creationTimestamp", "2026-01-01T00:00:00Z"},
                   {"labels", Labels()},
                   {"annotations", {{"kubectl.kubernetes.io/restartedAt", "2026-01-01T00:00:00Z"}}},
                   {"ownerReferences",
                    {{{"apiVersion", "apps/v1"},
                      {"kind", "ReplicaSet"},
                      {"name", "web-5d8f7c9b6"},
                      {"uid", "aaaa-bbbb"},
                      {"controller", true},
                      {"blockOwnerDeletion", true}}}},
                   {"managedFields", ManagedFields(4)}};
  p["spec"] = {{"containers", {ContainerJson("app", 16), ContainerJson("sidecar", 4)}},
               {"serviceAccountName", "web"},
               {"nodeName", "node-1"},
               {"restartPolicy", "Always"}};
  p["status"] = {{"phase", "Running"},
                 {"podIP", "10.244.1." + std::to_string(i % 250)},
                 {"podIPs", {{{"ip", "10.244.1." + std::to_string(i % 250)}}}},
                 {"conditions",
                  {{{"type", "Ready"}, {"status", "True"}},
                   {{"type", "ContainersReady"}, {"status", "True"}}}}};
  return p;
}

Json Deployment(int i) {
  Json d = {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}};
  d["metadata"] = {{"name", "web-" + std::to_string(i)},
                   {"namespace", "shop"},
                   {"uid", "9c0d-4444-5555-" + std::to_string(100000000000 + i)},
                   {"resourceVersion", std::to_string(2000 + i)},
                   {"generation", 4},
                   {"labels", Labels()},
                   {"annotations", {{"deployment.kubernetes.io/revision", "4"}}},
                   {"managedFields", ManagedFields(4)}};
  Json tmpl = {{"metadata", {{"labels", Labels()}}},
               {"spec", {{"containers", {ContainerJson("app", 16), ContainerJson("proxy", 4)}}}}};
  d["spec"] = {{"replicas", 3},
               {"selector", {{"matchLabels", {{"app", "web"}, {"tier", "frontend"}}}}},
               {"template", tmpl},
               {"strategy", {{"type", "RollingUpdate"}}}};
  d["status"] = {{"replicas", 3}, {"readyReplicas", 3}, {"observedGeneration", 4}};
  return d;
}

// --- Extraction ---------------------------------------------------------------
using simdjson::ondemand::array;
using simdjson::ondemand::object;
using simdjson::ondemand::value;

std::string Str(value v) {
  std::string_view s;
  if (v.get_string().get(s)) return {};
  return std::string(s);
}

void StringMap(value v, std::vector<KV>* out) {
  object o;
  if (v.get_object().get(o)) return;
  for (auto f : o) {
    std::string_view k;
    if (f.unescaped_key().get(k)) return;
    out->emplace_back(std::string(k), Str(f.value()));
  }
}

void ExtractMeta(value v, Meta* m) {
  object o;
  if (v.get_object().get(o)) return;
  for (auto f : o) {
    std::string_view k;
    if (f.unescaped_key().get(k)) return;
    if (k == "name") {
      m->name = Str(f.value());
    } else if (k == "namespace") {
      m->namespace_name = Str(f.value());
    } else if (k == "uid") {
      m->uid = Str(f.value());
    } else if (k == "resourceVersion") {
      m->resource_version = Str(f.value());
    } else if (k == "labels") {
      StringMap(f.value(), &m->labels);
    } else if (k == "ownerReferences") {
      array refs;
      if (f.value().get_array().get(refs)) continue;
      for (auto r : refs) {
        object ro;
        if (r.get_object().get(ro)) continue;
        OwnerRef ref;
        for (auto rf : ro) {
          std::string_view rk;
          if (rf.unescaped_key().get(rk)) break;
          if (rk == "apiVersion")
            ref.api_version = Str(rf.value());
          else if (rk == "kind")
            ref.kind = Str(rf.value());
          else if (rk == "name")
            ref.name = Str(rf.value());
          else if (rk == "uid")
            ref.uid = Str(rf.value());
          else if (rk == "controller" && rf.value().get_bool().get(ref.controller))
            ref.controller = false;
        }
        m->owners.push_back(std::move(ref));
      }
    }
  }
}

void ExtractContainers(value v, std::vector<Container>* out) {
  array cs;
  if (v.get_array().get(cs)) return;
  for (auto c : cs) {
    object co;
    if (c.get_object().get(co)) continue;
    Container ct;
    for (auto f : co) {
      std::string_view k;
      if (f.unescaped_key().get(k)) break;
      if (k == "name") {
        ct.name = Str(f.value());
      } else if (k == "args") {
        array a;
        if (f.value().get_array().get(a)) continue;
        for (auto s : a) ct.args.push_back(Str(s.value_unsafe()));
      } else if (k == "env") {
        array a;
        if (f.value().get_array().get(a)) continue;
        for (auto e : a) {
          object eo;
          if (e.get_object().get(eo)) continue;
          KV kv;
          for (auto ef : eo) {
            std::string_view ek;
            if (ef.unescaped_key().get(ek)) break;
            if (ek == "name")
              kv.first = Str(ef.value());
            else if (ek == "value")
              kv.second = Str(ef.value());
          }
          ct.env.push_back(std::move(kv));
        }
      } else if (k == "ports") {
        array a;
        if (f.value().get_array().get(a)) continue;
        for (auto p : a) {
          object po;
          if (p.get_object().get(po)) continue;
          Port port;
          for (auto pf : po) {
            std::string_view pk;
            if (pf.unescaped_key().get(pk)) break;
            if (pk == "name")
              port.name = Str(pf.value());
            else if (pk == "protocol")
              port.protocol = Str(pf.value());
            else if (pk == "containerPort" && pf.value().get_int64().get(port.container_port)) {
              port.container_port = 0;
            }
          }
          ct.ports.push_back(std::move(port));
        }
      }
    }
    out->push_back(std::move(ct));
  }
}

void ExtractDeploymentSpec(value v, Cached* c) {
  object spec;
  if (v.get_object().get(spec)) return;
  for (auto f : spec) {
    std::string_view k;
    if (f.unescaped_key().get(k)) return;
    if (k == "selector") {
      object sel;
      if (f.value().get_object().get(sel)) continue;
      for (auto sf : sel) {
        std::string_view sk;
        if (sf.unescaped_key().get(sk)) break;
        if (sk == "matchLabels") StringMap(sf.value(), &c->selector);
      }
    } else if (k == "template") {
      object t;
      if (f.value().get_object().get(t)) continue;
      for (auto tf : t) {
        std::string_view tk;
        if (tf.unescaped_key().get(tk)) break;
        if (tk != "spec") continue;
        object ps;
        if (tf.value().get_object().get(ps)) break;
        for (auto pf : ps) {
          std::string_view pk;
          if (pf.unescaped_key().get(pk)) break;
          if (pk == "containers") ExtractContainers(pf.value(), &c->containers);
        }
      }
    }
  }
}

bool Extract(simdjson::ondemand::parser& parser, std::string_view json, Cached* out) {
  simdjson::ondemand::document doc;
  // The decoder guarantees kJsonPadding readable bytes after the object.
  if (parser.iterate(json.data(), json.size(), json.size() + npc::kube::kJsonPadding).get(doc)) {
    return false;
  }
  object o;
  if (doc.get_object().get(o)) return false;
  bool deployment = false;
  for (auto f : o) {
    std::string_view k;
    if (f.unescaped_key().get(k)) return false;
    if (k == "kind") {
      deployment = Str(f.value()) == "Deployment";
    } else if (k == "metadata") {
      ExtractMeta(f.value(), &out->meta);
    } else if (k == "spec" && deployment) {
      ExtractDeploymentSpec(f.value(), out);
    }
  }
  return !out->meta.name.empty();
}

}  // namespace

int main(int argc, char** argv) {
  int objects = argc > 1 ? std::atoi(argv[1]) : 2000;
  int rounds = argc > 2 ? std::atoi(argv[2]) : 10;
  constexpr size_t kChunk = 16384;

  std::string stream;
  for (int i = 0; i < objects; ++i) {
    Json obj = i % 2 == 0 ? Pod(i) : Deployment(i);
    stream += Json{{"type", i % 7 == 0 ? "ADDED" : "MODIFIED"}, {"object", obj}}.dump();
    stream += '\n';
  }

  npc::kube::WatchDecoder decoder;
  simdjson::ondemand::parser parser;
  long long events = 0;    // NOLINT(google-runtime-int)
  long long failures = 0;  // NOLINT(google-runtime-int)
  size_t kept = 0;
  auto run = [&] {
    for (size_t pos = 0; pos < stream.size(); pos += kChunk) {
      std::string_view chunk = std::string_view(stream).substr(pos, kChunk);
      npc::Status s = decoder.Feed(chunk, [&](const npc::kube::WatchEvent& e) {
        Cached c;
        if (!Extract(parser, e.object, &c)) ++failures;
        kept += c.meta.labels.size() + c.containers.size();
        ++events;
        return npc::Status::Ok();
      });
      if (!s.ok()) {
        std::fprintf(stderr, "decode failed: %s\n", s.ToString().c_str());
        std::exit(1);
      }
    }
  };
  run();  // warm up: buffers and parsers reach their steady size
  events = 0;
  long long alloc_before = g_allocations.load();  // NOLINT(google-runtime-int)
  auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < rounds; ++r) run();
  auto t1 = std::chrono::steady_clock::now();
  long long allocs = g_allocations.load() - alloc_before;  // NOLINT(google-runtime-int)
  if (failures != 0 || events != static_cast<long long>(objects) * rounds) {  // NOLINT
    std::fprintf(stderr, "extraction failed for %lld events\n", failures);
    return 1;
  }
  double secs = std::chrono::duration<double>(t1 - t0).count();
  double bytes = static_cast<double>(stream.size()) * rounds;
  std::printf(
      "{\"events\":%lld,\"bytes_per_event\":%.0f,\"us_per_event\":%.2f,\"mb_per_s\":%.1f,"
      "\"allocations_per_event\":%.1f,\"target_us_per_event\":20,\"simdjson\":\"%s\","
      "\"checksum\":%zu}\n",
      events, bytes / static_cast<double>(events), secs * 1e6 / static_cast<double>(events),
      bytes / secs / 1e6, static_cast<double>(allocs) / static_cast<double>(events),
      simdjson::get_active_implementation()->name().c_str(), kept);
  return 0;
}
