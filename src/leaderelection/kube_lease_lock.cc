#include "leaderelection/kube_lease_lock.h"

#include <fmt/format.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <utility>

namespace npc::leaderelection {
namespace {

using Json = nlohmann::json;

Json SpecJson(const LeaderElectionRecord& r) {
  Json spec = Json::object();
  if (!r.holder_identity.empty()) spec["holderIdentity"] = r.holder_identity;
  if (r.lease_duration_seconds > 0) spec["leaseDurationSeconds"] = r.lease_duration_seconds;
  if (!r.acquire_time.empty()) spec["acquireTime"] = r.acquire_time;
  if (!r.renew_time.empty()) spec["renewTime"] = r.renew_time;
  if (r.lease_transitions > 0) spec["leaseTransitions"] = r.lease_transitions;
  return spec;
}

}  // namespace

StatusOr<std::string> LeaseJson(std::string_view namespace_name, std::string_view name,
                                const LeaderElectionRecord& record,
                                std::string_view resource_version, std::string_view base) {
  Json j;
  if (!base.empty()) {
    j = Json::parse(base, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      return InvalidArgument("Lease " + std::string(namespace_name) + "/" + std::string(name) +
                             ": not a JSON object");
    }
  } else {
    j = Json::object();
  }
  j["apiVersion"] = "coordination.k8s.io/v1";
  j["kind"] = "Lease";
  if (!j.contains("metadata") || !j["metadata"].is_object()) j["metadata"] = Json::object();
  Json& meta = j["metadata"];
  meta["name"] = name;
  meta["namespace"] = namespace_name;
  meta.erase("managedFields");
  if (resource_version.empty()) {
    meta.erase("resourceVersion");
  } else {
    meta["resourceVersion"] = resource_version;
  }
  j["spec"] = SpecJson(record);
  return j.dump();
}

StatusOr<LeaderElectionRecord> ParseLeaseRecord(std::string_view json) {
  Json j = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("Lease: not a JSON object");
  LeaderElectionRecord r;
  auto spec = j.find("spec");
  if (spec == j.end() || spec->is_null()) return r;
  if (!spec->is_object()) return InvalidArgument("Lease: spec is not an object");
  auto str = [&](const char* key, std::string& out) -> Status {
    auto it = spec->find(key);
    if (it == spec->end() || it->is_null()) return Status::Ok();
    if (!it->is_string())
      return InvalidArgument(fmt::format("Lease: spec.{} is not a string", key));
    out = it->get<std::string>();
    return Status::Ok();
  };
  auto num = [&](const char* key, int& out) -> Status {
    auto it = spec->find(key);
    if (it == spec->end() || it->is_null()) return Status::Ok();
    if (!it->is_number_integer()) {
      return InvalidArgument(fmt::format("Lease: spec.{} is not an integer", key));
    }
    out = it->get<int>();
    return Status::Ok();
  };
  NPC_RETURN_IF_ERROR(str("holderIdentity", r.holder_identity));
  NPC_RETURN_IF_ERROR(num("leaseDurationSeconds", r.lease_duration_seconds));
  NPC_RETURN_IF_ERROR(str("acquireTime", r.acquire_time));
  NPC_RETURN_IF_ERROR(str("renewTime", r.renew_time));
  NPC_RETURN_IF_ERROR(num("leaseTransitions", r.lease_transitions));
  return r;
}

std::string FormatMicroTime(std::chrono::system_clock::time_point t) {
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  using std::chrono::seconds;
  auto us = duration_cast<microseconds>(t.time_since_epoch()).count();
  int64_t secs = us / 1000000;
  int64_t frac = us % 1000000;
  if (frac < 0) {  // before 1970: floor, not truncate
    frac += 1000000;
    --secs;
  }
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

KubeLeaseLock::KubeLeaseLock(kube::Client& client, std::string namespace_name, std::string name)
    : client_(client), namespace_(std::move(namespace_name)), name_(std::move(name)) {}

KubeLeaseLock::KubeLeaseLock(std::unique_ptr<kube::Client> client, std::string namespace_name,
                             std::string name)
    : owned_(std::move(client)),
      client_(*owned_),
      namespace_(std::move(namespace_name)),
      name_(std::move(name)) {}

StatusOr<LeaseState> KubeLeaseLock::Get() {
  auto obj = client_.Get(kube::Resource::kLeases, namespace_, name_);
  if (!obj.ok()) return obj.status();
  NPC_ASSIGN_OR_RETURN(LeaderElectionRecord record, ParseLeaseRecord(obj->json));
  {
    std::lock_guard<std::mutex> l(mu_);
    last_json_ = obj->json;
  }
  return LeaseState{std::move(record), obj->meta.resource_version};
}

StatusOr<std::string> KubeLeaseLock::Create(const LeaderElectionRecord& record) {
  NPC_ASSIGN_OR_RETURN(std::string json, LeaseJson(namespace_, name_, record, ""));
  auto obj = client_.Create(kube::Resource::kLeases, namespace_, json);
  if (!obj.ok()) return obj.status();
  std::lock_guard<std::mutex> l(mu_);
  last_json_ = obj->json;
  return obj->meta.resource_version;
}

StatusOr<std::string> KubeLeaseLock::Update(const LeaderElectionRecord& record,
                                            const std::string& resource_version) {
  std::string base;
  {
    std::lock_guard<std::mutex> l(mu_);
    base = last_json_;
  }
  NPC_ASSIGN_OR_RETURN(std::string json,
                       LeaseJson(namespace_, name_, record, resource_version, base));
  auto obj = client_.Update(kube::Resource::kLeases, namespace_, name_, json);
  if (!obj.ok()) return obj.status();
  std::lock_guard<std::mutex> l(mu_);
  last_json_ = obj->json;
  return obj->meta.resource_version;
}

StatusOr<std::unique_ptr<LeaseLock>> MakeKubeLeaseLock(const kube::RestConfig& config,
                                                       std::string namespace_name, std::string name,
                                                       std::chrono::milliseconds request_timeout) {
  kube::ClientOptions o;
  o.request_timeout = request_timeout;
  o.retry.max_retries = 0;
  NPC_ASSIGN_OR_RETURN(std::unique_ptr<kube::Client> client, kube::MakeClient(config, o));
  return std::unique_ptr<LeaseLock>(
      new KubeLeaseLock(std::move(client), std::move(namespace_name), std::move(name)));
}

}  // namespace npc::leaderelection
