#include "observedflows/observed_flows.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "model/model.h"
#include "synth/synth.h"

namespace npc::observedflows {
namespace {

using json = nlohmann::json;

// FNV-1a, for the rare name that must be cut (custom kinds only; built-in
// kinds go through synth::PolicyName).
std::string FitName(std::string s, size_t max) {
  if (s.size() <= max) return s;
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  std::string head = s.substr(0, max - 11);
  while (!head.empty() && (head.back() == '-' || head.back() == '.' || head.back() == '_')) {
    head.pop_back();
  }
  return head + "-" + std::string(buf, 10);
}

// Reads one object, remembering the first error and its path.
class Reader {
 public:
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  void Fail(const std::string& path, std::string_view what) {
    if (ok()) error_ = path + ": " + std::string(what);
  }
  const json* Child(const json& j, const char* key) {
    if (!j.is_object()) return nullptr;
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return nullptr;
    return &*it;
  }
  std::string Str(const json& j, const char* key, const std::string& path, bool required = false) {
    const json* c = Child(j, key);
    if (c == nullptr) {
      if (required) Fail(Join(path, key), "is missing");
      return {};
    }
    if (!c->is_string()) {
      Fail(Join(path, key), "expected a string");
      return {};
    }
    return c->get<std::string>();
  }
  int64_t Int(const json& j, const char* key, const std::string& path, bool required = false) {
    const json* c = Child(j, key);
    if (c == nullptr) {
      if (required) Fail(Join(path, key), "is missing");
      return 0;
    }
    if (!c->is_number_integer()) {
      Fail(Join(path, key), "expected an integer");
      return 0;
    }
    return c->get<int64_t>();
  }
  WallTime Time(const json& j, const char* key, const std::string& path) {
    std::string s = Str(j, key, path);
    if (s.empty()) return {};
    auto t = ParseTime(s);
    if (!t.ok()) {
      Fail(Join(path, key), t.status().message());
      return {};
    }
    return *t;
  }
  static std::string Join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }
  static std::string Index(const std::string& path, size_t i) {
    return path + "[" + std::to_string(i) + "]";
  }

 private:
  std::string error_;
};

json PeerJson(const Peer& p) {
  json j = {{"type", PeerTypeName(p.type)}};
  if (p.type == PeerType::kExternal) {
    j["address"] = p.address;
  } else {
    j["apiVersion"] = p.workload.api_version;
    j["kind"] = p.workload.kind;
    j["namespace"] = p.workload.ns;
    j["name"] = p.workload.name;
  }
  return j;
}

Flow ParseFlow(Reader& r, const json& j, const std::string& path) {
  Flow f;
  const json* server = r.Child(j, "server");
  const std::string sp = Reader::Join(path, "server");
  if (server == nullptr || !server->is_object()) {
    r.Fail(sp, server == nullptr ? "is missing" : "expected an object");
    return f;
  }
  const std::string type = r.Str(*server, "type", sp, true);
  if (type == "Workload") {
    f.server.type = PeerType::kWorkload;
    f.server.workload.api_version = r.Str(*server, "apiVersion", sp, true);
    f.server.workload.kind = r.Str(*server, "kind", sp, true);
    f.server.workload.ns = r.Str(*server, "namespace", sp, true);
    f.server.workload.name = r.Str(*server, "name", sp, true);
  } else if (type == "External") {
    f.server.type = PeerType::kExternal;
    f.server.address = r.Str(*server, "address", sp, true);
  } else if (r.ok()) {
    r.Fail(Reader::Join(sp, "type"), "expected Workload or External, got \"" + type + "\"");
  }
  if (const json* svc = r.Child(j, "service")) {
    const std::string p = Reader::Join(path, "service");
    ServiceRef s;
    s.ns = r.Str(*svc, "namespace", p, true);
    s.name = r.Str(*svc, "name", p, true);
    s.port = static_cast<int>(r.Int(*svc, "port", p));
    f.service = std::move(s);
  }
  const int64_t port = r.Int(j, "port", path, true);
  if (r.ok() && (port < 0 || port > 65535)) r.Fail(Reader::Join(path, "port"), "out of range");
  f.port = static_cast<int>(port);
  const std::string proto = r.Str(j, "protocol", path, true);
  if (auto p = ParseProtocol(proto)) {
    f.protocol = *p;
  } else if (r.ok()) {
    r.Fail(Reader::Join(path, "protocol"), "expected TCP, UDP or SCTP, got \"" + proto + "\"");
  }
  const int64_t count = r.Int(j, "count", path);
  if (r.ok() && count < 0) r.Fail(Reader::Join(path, "count"), "must not be negative");
  f.count = static_cast<uint64_t>(count);
  f.first_seen = r.Time(j, "firstSeen", path);
  f.last_seen = r.Time(j, "lastSeen", path);
  return f;
}

auto FlowKey(const Flow& f) {
  const auto& w = f.server.workload;
  return std::make_tuple(f.server.type, f.server.address, w.ns, w.kind, w.name, w.api_version,
                         f.service.has_value(), f.service ? f.service->ns : std::string(),
                         f.service ? f.service->name : std::string(),
                         f.service ? f.service->port : 0, f.port, f.protocol);
}

}  // namespace

std::string_view ProtocolName(Protocol p) {
  switch (p) {
    case Protocol::kTCP: return "TCP";
    case Protocol::kUDP: return "UDP";
    case Protocol::kSCTP: return "SCTP";
  }
  return "TCP";
}

std::optional<Protocol> ParseProtocol(std::string_view s) {
  if (s == "TCP") return Protocol::kTCP;
  if (s == "UDP") return Protocol::kUDP;
  if (s == "SCTP") return Protocol::kSCTP;
  return std::nullopt;
}

std::optional<Protocol> ProtocolFromNumber(int ip_protocol) {
  switch (ip_protocol) {
    case 6: return Protocol::kTCP;
    case 17: return Protocol::kUDP;
    case 132: return Protocol::kSCTP;
    default: return std::nullopt;
  }
}

std::string_view PeerTypeName(PeerType t) {
  return t == PeerType::kExternal ? "External" : "Workload";
}

std::string Peer::ToString() const {
  if (type == PeerType::kExternal) return address;
  return workload.kind + "/" + workload.ns + "/" + workload.name;
}

std::string ObjectName(std::string_view kind, std::string_view name) {
  if (auto k = ParseKind(kind)) {
    return synth::PolicyName(WorkloadKey{*k, "", std::string(name)});
  }
  std::string s(kind);
  s += '-';
  s += name;
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return FitName(std::move(s), 253);
}

std::string ApplyJson(const WorkloadRef& client, std::string_view ns, const NodeReport& report) {
  json flows = json::array();
  for (const Flow& f : report.flows) {
    json j = {{"server", PeerJson(f.server)},          {"port", f.port},
              {"protocol", ProtocolName(f.protocol)},  {"count", f.count},
              {"firstSeen", FormatTime(f.first_seen)}, {"lastSeen", FormatTime(f.last_seen)}};
    if (f.service) {
      j["service"] = {{"namespace", f.service->ns}, {"name", f.service->name}};
      if (f.service->port != 0) j["service"]["port"] = f.service->port;
    }
    flows.push_back(std::move(j));
  }
  json metadata = {{"name", ObjectName(client.kind, client.name)},
                   {"namespace", ns},
                   {"labels", {{"app.kubernetes.io/managed-by", "netpol-ctrl"}}}};
  json workload = {
      {"apiVersion", client.api_version}, {"kind", client.kind}, {"name", client.name}};
  if (!client.uid.empty()) {
    workload["uid"] = client.uid;
    // The object goes with its workload (the garbage collector deletes it).
    metadata["ownerReferences"] = {{{"apiVersion", client.api_version},
                                    {"kind", client.kind},
                                    {"name", client.name},
                                    {"uid", client.uid}}};
  }
  json node = {{"node", report.node},
               {"observedUntil", FormatTime(report.observed_until, /*micros=*/true)},
               {"flows", std::move(flows)}};
  if (report.dropped_connections > 0) node["droppedConnections"] = report.dropped_connections;
  json body = {{"apiVersion", kApiVersion},
               {"kind", kKind},
               {"metadata", std::move(metadata)},
               {"spec", {{"workload", std::move(workload)}}},
               {"status", {{"nodes", json::array({std::move(node)})}}}};
  return body.dump();
}

StatusOr<ObservedFlows> ParseObservedFlows(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgument("ObservedFlows: not a JSON object");
  }
  Reader r;
  ObservedFlows o;
  if (const json* md = r.Child(j, "metadata")) {
    o.ns = r.Str(*md, "namespace", "metadata");
    o.name = r.Str(*md, "name", "metadata");
  }
  auto fail = [&] {
    return InvalidArgument("ObservedFlows " + o.ns + "/" + o.name + ": " + r.error());
  };
  const json* spec = r.Child(j, "spec");
  const json* workload = spec ? r.Child(*spec, "workload") : nullptr;
  if (workload == nullptr) {
    r.Fail("spec.workload", "is missing");
    return fail();
  }
  o.workload.api_version = r.Str(*workload, "apiVersion", "spec.workload", true);
  o.workload.kind = r.Str(*workload, "kind", "spec.workload", true);
  o.workload.name = r.Str(*workload, "name", "spec.workload", true);
  o.workload.uid = r.Str(*workload, "uid", "spec.workload");
  o.workload.ns = o.ns;
  const json* status = r.Child(j, "status");
  const json* nodes = status ? r.Child(*status, "nodes") : nullptr;
  if (nodes != nullptr && !nodes->is_array()) r.Fail("status.nodes", "expected a list");
  if (nodes != nullptr && nodes->is_array()) {
    for (size_t i = 0; i < nodes->size() && r.ok(); ++i) {
      const json& n = (*nodes)[i];
      const std::string p = Reader::Index("status.nodes", i);
      NodeReport nr;
      nr.node = r.Str(n, "node", p, true);
      nr.observed_until = r.Time(n, "observedUntil", p);
      const int64_t dropped = r.Int(n, "droppedConnections", p);
      nr.dropped_connections = dropped > 0 ? static_cast<uint64_t>(dropped) : 0;
      if (const json* flows = r.Child(n, "flows")) {
        if (!flows->is_array()) r.Fail(Reader::Join(p, "flows"), "expected a list");
        for (size_t k = 0; flows->is_array() && k < flows->size() && r.ok(); ++k) {
          nr.flows.push_back(ParseFlow(r, (*flows)[k], Reader::Index(Reader::Join(p, "flows"), k)));
        }
      }
      o.nodes.push_back(std::move(nr));
    }
  }
  if (!r.ok()) return fail();
  return o;
}

std::vector<MergedFlow> Merge(const ObservedFlows& o) {
  std::map<decltype(FlowKey(std::declval<Flow>())), MergedFlow> merged;
  uint64_t dropped = 0;
  for (const NodeReport& n : o.nodes) dropped += n.dropped_connections;
  for (const NodeReport& n : o.nodes) {
    for (const Flow& f : n.flows) {
      auto [it, added] = merged.try_emplace(FlowKey(f));
      MergedFlow& m = it->second;
      if (added) {
        m.flow = f;
        m.dropped_connections = dropped;
      } else {
        m.flow.count += f.count;
        m.flow.first_seen = std::min(m.flow.first_seen, f.first_seen);
        m.flow.last_seen = std::max(m.flow.last_seen, f.last_seen);
      }
      m.nodes.push_back(n.node);
    }
  }
  std::vector<MergedFlow> out;
  out.reserve(merged.size());
  for (auto& [k, m] : merged) {
    std::sort(m.nodes.begin(), m.nodes.end());
    out.push_back(std::move(m));
  }
  return out;
}

std::string FormatTime(WallTime t, bool micros) {
  using namespace std::chrono;
  auto us = time_point_cast<microseconds>(t);
  if (us < t) us += microseconds(1);  // round up: "everything before it" stays true
  const auto secs = micros ? floor<seconds>(us) : floor<seconds>(t);
  const std::time_t tt = system_clock::to_time_t(time_point_cast<system_clock::duration>(secs));
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string s(buf);
  if (micros) {
    char frac[32];
    std::snprintf(frac, sizeof(frac), ".%06lld", static_cast<long long>((us - secs).count()));
    s += frac;
  }
  s += 'Z';
  return s;
}

StatusOr<WallTime> ParseTime(std::string_view s) {
  auto bad = [&] { return InvalidArgument("\"" + std::string(s) + "\" is not an RFC 3339 time"); };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (s.size() < 20) return bad();
  if (std::sscanf(std::string(s.substr(0, 19)).c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h,
                  &mi, &sec) != 6 ||
      s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
      s[16] != ':') {
    return bad();
  }
  size_t i = 19;
  int64_t nanos = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (digits < 9) nanos = nanos * 10 + (s[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0) return bad();
    for (int k = digits; k < 9; ++k) nanos *= 10;
  }
  int offset_min = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    int oh = 0, om = 0;
    if (std::sscanf(std::string(s.substr(i + 1)).c_str(), "%2d:%2d", &oh, &om) != 2) return bad();
    offset_min = (s[i] == '-' ? -1 : 1) * (oh * 60 + om);
    i += 6;
  } else {
    return bad();
  }
  if (i != s.size() || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) {
    return bad();
  }
  using namespace std::chrono;
  const sys_days days =
      year_month_day{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  auto t = time_point_cast<nanoseconds>(days) + hours(h) + minutes(mi) + seconds(sec) -
           minutes(offset_min) + nanoseconds(nanos);
  return time_point_cast<system_clock::duration>(t);
}

WorkloadKey ToWorkloadKey(const WorkloadRef& ref, std::string_view ns) {
  WorkloadKey k;
  k.ns = std::string(ns);
  k.name = ref.name;
  if (auto kind = ParseKind(ref.kind); kind && KindApiVersion(*kind) == ref.api_version) {
    k.kind = *kind;
    return k;
  }
  k.kind = WorkloadKind::kCustom;
  k.custom_kind = ref.kind;
  if (ParseKind(ref.kind)) {
    const size_t slash = ref.api_version.find('/');
    k.custom_kind +=
        "." + (slash == std::string::npos ? std::string() : ref.api_version.substr(0, slash));
  }
  return k;
}

std::vector<ObservedFlow> ToModel(const ObservedFlows& o) {
  std::vector<ObservedFlow> out;
  const WorkloadKey client = ToWorkloadKey(o.workload, o.ns);
  auto seconds = [](WallTime t) {
    return static_cast<int64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
  };
  for (const MergedFlow& m : Merge(o)) {
    const Flow& f = m.flow;
    ObservedFlow x;
    x.client = client;
    if (f.server.type == PeerType::kWorkload) {
      x.server = ToWorkloadKey(f.server.workload, f.server.workload.ns);
    } else {
      x.address = f.server.address;
    }
    if (f.service) {
      x.service_ns = f.service->ns;
      x.service_name = f.service->name;
    }
    x.port = f.port;
    x.protocol = std::string(ProtocolName(f.protocol));
    x.count = f.count;
    x.first_seen = seconds(f.first_seen);
    x.last_seen = seconds(f.last_seen);
    out.push_back(std::move(x));
  }
  return out;
}

}  // namespace npc::observedflows
