// The Kubernetes API client: typed errors, one generic path for every resource
// in kube/resources.h, raw JSON in and out.
//
// Objects travel as JSON text; the client parses only the metadata callers need
// to act (name, namespace, uid, resourceVersion, generation) and leaves the rest
// to the caller's decoder. Every request goes through the rate limiter, carries
// the current credentials (refreshed and retried once after a 401), and is
// retried on 429/5xx per RetryPolicy when safe to repeat.
//
//   NPC_ASSIGN_OR_RETURN(auto client, MakeClient(config));
//   auto np = client->Apply(Resource::kNetworkPolicies, "shop", "web", json, {});
//   if (!np.ok() && np.error().reason == Reason::kConflict) ...
//
//   // Watch from a list's resourceVersion, stoppable from another thread:
//   std::atomic<bool> stop{false};
//   WatchOptions w;
//   w.resource_version = list->resource_version;
//   w.stop = &stop;
//   auto end = client->Watch(Resource::kPods, "", w, [&](const WatchEvent& e) {...});
//   // end->resource_version: resume point; !end.ok() && end.error().IsExpired(): re-list.
//
//   // A large list, item by item as the pages arrive (no page is ever whole in memory):
//   ListHandler h;
//   h.on_item = [&](std::string_view json) { return Cache(json); };
//   h.on_restart = [&] { ForgetThisListing(); };
//   auto done = client->ListEach(Resource::kPods, "", {}, h);  // done->resource_version
//
// Thread-safety: every method may be called from any thread at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "kube/config.h"
#include "kube/credentials.h"
#include "kube/errors.h"
#include "kube/flow_control.h"
#include "kube/resources.h"
#include "kube/time_source.h"
#include "kube/transport.h"
#include "kube/watch_decoder.h"

namespace npc::kube {

// For metadata-only reads of Pods and others: set RequestOptions/ListOptions::accept.
inline constexpr std::string_view kAcceptPartialObjectMetadata =
    "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
inline constexpr std::string_view kAcceptPartialObjectMetadataList =
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";

struct OwnerRef {
  std::string api_version;
  std::string kind;
  std::string name;
  std::string uid;
};

struct ObjectMeta {
  std::string name;
  std::string namespace_name;
  std::string uid;
  std::string resource_version;
  int64_t generation = 0;
  std::optional<OwnerRef> controller;  // the ownerReference with controller: true
};

struct Object {
  std::string json;
  ObjectMeta meta;
};

struct ObjectList {
  std::string resource_version;  // the list's: watch from here
  std::vector<Object> items;
};

struct RequestOptions {
  bool dry_run = false;  // ?dryRun=All
  std::string accept;    // empty: application/json
  // When set and true, the request (its transfer and any wait before a
  // retry) ends within about a second with kCancelled; a write stopped in
  // flight may or may not have been applied.
  const std::atomic<bool>* stop = nullptr;
};

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  int limit = 500;               // page size; 0: no paging
  std::string resource_version;  // empty: a consistent read
  std::string resource_version_match;
  std::string accept;
  // When set and true, the listing (its transfer and any wait before a retry)
  // ends within about a second with kCancelled.
  const std::atomic<bool>* stop = nullptr;
};

struct ApplyOptions {
  std::string field_manager = "netpol-ctrl";
  bool force = true;
  bool dry_run = false;
  const std::atomic<bool>* stop = nullptr;  // as RequestOptions::stop
};

struct DeleteOptions {
  std::string propagation_policy;  // "Foreground", "Background", "Orphan" or empty
  std::string precondition_uid;
  std::string precondition_resource_version;
  bool dry_run = false;
  const std::atomic<bool>* stop = nullptr;  // as RequestOptions::stop
};

struct WatchOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;  // resume after this version ("" : from now, "0": any)
  bool allow_bookmarks = true;
  int timeout_seconds = 0;  // server-side timeout; 0: random in 300..600
  std::string accept;
  // Abort when no byte arrives for this long (bookmarks arrive about every minute).
  std::chrono::seconds idle_timeout{120};
  const std::atomic<bool>* stop = nullptr;  // set to stop the watch within ~1 s
};

struct WatchEnd {
  std::string resource_version;  // the last one seen: resume from here
  bool stopped = false;          // ended by WatchOptions::stop
  int events = 0;
};

// Receives a LIST's items as they arrive (Client::ListEach).
struct ListHandler {
  // One item, valid only during the call and followed by kJsonPadding readable
  // bytes (simdjson can parse it in place). Returning non-OK ends ListEach with
  // that Status.
  std::function<Status(std::string_view json)> on_item;
  // The listing starts over from the first page (a later page answered 410, or
  // its answer broke off after items had been handed out): forget what this
  // listing delivered so far; the next items are a new, complete listing.
  std::function<void()> on_restart;
};

struct ListEnd {
  std::string resource_version;  // the list's: watch from here
  size_t items = 0;              // in the complete listing
};

// Receives each event (never ERROR: an ERROR event ends Watch with its error).
// Returning non-OK ends Watch with that Status.
using WatchHandler = std::function<Status(const WatchEvent&)>;

class Client {
 public:
  virtual ~Client() = default;

  // The namespace of the configuration's context (or in-cluster namespace file).
  [[nodiscard]] virtual const std::string& default_namespace() const = 0;

  [[nodiscard]] virtual KubeResult<Object> Get(Resource r, std::string_view ns,
                                               std::string_view name,
                                               const RequestOptions& o = {}) = 0;
  // Follows `continue` to the end; a 410 on a later page restarts from the first
  // page (at most 3 times).
  [[nodiscard]] virtual KubeResult<ObjectList> List(Resource r, std::string_view ns,
                                                    const ListOptions& o = {}) = 0;
  // The same listing (paging, restarts) without collecting it: each item goes to
  // `h` as soon as it has arrived, so memory is bounded by the largest item, not
  // by the list. Items delivered before an on_restart belong to an abandoned
  // listing; when ListEach fails, items of an incomplete listing may have been
  // delivered.
  // The default implementation calls List (for fakes); the REST client streams.
  [[nodiscard]] virtual KubeResult<ListEnd> ListEach(Resource r, std::string_view ns,
                                                     const ListOptions& o, const ListHandler& h);
  [[nodiscard]] virtual KubeResult<Object> Create(Resource r, std::string_view ns,
                                                  std::string_view json,
                                                  const RequestOptions& o = {}) = 0;
  // PUT; `json` must carry metadata.resourceVersion (a stale one gives kConflict).
  [[nodiscard]] virtual KubeResult<Object> Update(Resource r, std::string_view ns,
                                                  std::string_view name, std::string_view json,
                                                  const RequestOptions& o = {}) = 0;
  // Server-side apply: creates or updates; fields not sent are removed from this
  // field manager's set. `json`: apiVersion, kind, metadata.name/namespace, no managedFields.
  [[nodiscard]] virtual KubeResult<Object> Apply(Resource r, std::string_view ns,
                                                 std::string_view name, std::string_view json,
                                                 const ApplyOptions& o = {}) = 0;
  [[nodiscard]] virtual KubeResult<Object> MergePatch(Resource r, std::string_view ns,
                                                      std::string_view name, std::string_view patch,
                                                      const RequestOptions& o = {}) = 0;
  // Returns the server's answer body (the object being deleted, or a Status).
  [[nodiscard]] virtual KubeResult<std::string> Delete(Resource r, std::string_view ns,
                                                       std::string_view name,
                                                       const DeleteOptions& o = {}) = 0;
  // One watch request, until the server closes it (OK: resume from the returned
  // version), `stop` is set (OK, stopped), an ERROR event (its error; 410 gives
  // IsExpired()), or a failure. Not retried: the caller decides (re-list on 410,
  // back off otherwise).
  [[nodiscard]] virtual KubeResult<WatchEnd> Watch(Resource r, std::string_view ns,
                                                   const WatchOptions& o,
                                                   const WatchHandler& handler) = 0;
};

struct ClientOptions {
  RateLimit rate_limit;
  RetryPolicy retry;
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds list_page_timeout{60000};
  TokenBucket::WaitHook on_rate_limit_wait;  // metrics: time spent waiting for a token
  // Metrics: every HTTP exchange (retries included), with its verb ("GET",
  // "POST", "PUT", "PATCH", "DELETE", or "WATCH" for a watch) and status code
  // (0 when no answer came: a transport failure). Called from the calling thread.
  std::function<void(std::string_view verb, int code)> on_request;
  // Every new connection to the server (TCP, then TLS); requests reuse idle
  // connections, so this grows only with concurrency.
  std::function<void()> on_connect;
};

// The production client for a resolved configuration.
[[nodiscard]] StatusOr<std::unique_ptr<Client>> MakeClient(const RestConfig& config,
                                                           ClientOptions options = {});
// Assembles a client from parts (tests use a fake transport and time).
[[nodiscard]] std::unique_ptr<Client> MakeClient(std::string server, std::string default_namespace,
                                                 std::unique_ptr<HttpTransport> transport,
                                                 std::unique_ptr<CredentialProvider> credentials,
                                                 ClientOptions options, const TimeSource& time);

// Parses metadata from object JSON; fields that are absent stay empty.
[[nodiscard]] StatusOr<ObjectMeta> ParseObjectMeta(std::string_view json);

// Percent-encodes a query value.
[[nodiscard]] std::string QueryEscape(std::string_view s);

}  // namespace npc::kube
