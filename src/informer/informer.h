// Informer: list, then watch, one resource forever, and tell a Sink what
// changed (client-go's Reflector + DeltaFIFO, in the shape the controller
// needs).
//
//   Informer pods(client, {.resource = kube::Resource::kPods, .pod_meta_only = true}, sink);
//   std::thread t([&] { pods.Run(stop); });
//   while (!pods.synced()) ...;
//
// Behaviour (../shared/KUBE-CLIENT.md):
// - LIST with paging (a consistent read), decoded item by item as the pages
//   arrive (kube::Client::ListEach: a list is never whole in memory), then
//   WATCH from the list's resourceVersion with bookmarks and a random server
//   timeout. Optionally split by namespace over concurrent requests
//   (InformerOptions::list_streams).
// - A clean close: watch again from the last resourceVersion, no re-list.
// - 410 Expired/Gone (ERROR event or answer): list again. Objects that
//   vanished between two lists are reported to the sink as deletions. Items of
//   a listing that failed or started over reach the sink too (they are real
//   states, newer than the cache's); deletions are only judged against a
//   complete listing.
// - Any other failure: back off (0.8 s doubling to 30 s, with jitter), then
//   watch again (or list again if the list failed), until stopped.
// - Objects are decoded once, into model structs, and handed to the sink
//   (never the raw JSON, never managedFields).
// - An object that fails to decode is never taken as absent: the sink hears
//   that it exists with unknown content (Sink::OnUnknown, with the error),
//   keeps what it knew, and a listing does not report it deleted. Decoding is
//   tried again with every event for it and every listing; a DELETED event
//   needs only the object's name, so it always goes through.
//
// Thread-safety: Run() on one thread; synced() and Stats() from any thread.
// The sink is called one call at a time: on Run()'s thread, or (a listing
// split by namespace) on the threads that list, one after another.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "common/mutex.h"
#include "common/status.h"
#include "common/thread_annotations.h"
#include "decode/decode.h"
#include "informer/key_store.h"
#include "kube/client.h"
#include "kube/resources.h"

namespace npc::informer {

// Receives what changed. Called on the informer's thread.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void OnUpsert(decode::Object object) = 0;
  virtual void OnDelete(const decode::Meta& meta) = 0;
  // The object exists, but its content could not be read or decoded (`why`
  // says what failed). `meta` holds what its metadata says (kind, namespace,
  // name, uid, controlling owner). Not a deletion.
  virtual void OnUnknown(const decode::Meta& meta, const std::string& why) = 0;
};

struct InformerOptions {
  kube::Resource resource = kube::Resource::kPods;
  std::string label_selector;
  // What name() says (logs, metrics labels, readiness); empty: the
  // resource's group-resource. Two informers over one resource need two.
  std::string name;
  bool pod_meta_only = false;  // Pods as PartialObjectMetadata (labels, owners)
  // What to ask the server for: kAuto is PartialObjectMetadata with
  // pod_meta_only, else whole objects. kFull with pod_meta_only: whole Pods,
  // decoded as PodMeta with their IPs and node (the node agent). kMetadata:
  // PartialObjectMetadata for any resource (owners and labels only).
  enum class Payload { kAuto, kFull, kMetadata };
  Payload payload = Payload::kAuto;
  int page_size = 500;
  // LIST split by namespace, over this many requests at a time (1: one
  // listing of the whole resource). For a namespaced resource with many
  // objects: the API server encodes one request on one thread, and 100,000
  // Pods take seconds that way. The namespaces come from a listing of their
  // own first (metadata only), and the watch starts from that listing's
  // resourceVersion: whatever changed while the namespaces were listed one by
  // one (a namespace made meanwhile included) comes again through the watch.
  // A namespace's listing that fails or starts over (410) fails the whole
  // listing: deletions are judged only against a complete one.
  int list_streams = 1;
  std::chrono::milliseconds backoff_initial{800};
  std::chrono::milliseconds backoff_max{30000};
  // Metrics hooks, called on the informer's thread with name(): a watch that
  // ended in an error, and a list made again after the first one.
  std::function<void(const std::string&)> on_watch_failure;
  std::function<void(const std::string&)> on_relist;
  // An object that could not be decoded (called with name()).
  std::function<void(const std::string&)> on_decode_error;
};

struct InformerStats {
  uint64_t lists = 0;            // successful lists
  uint64_t relists_expired = 0;  // lists caused by 410
  uint64_t watches = 0;          // watch requests made
  uint64_t watch_failures = 0;   // watches that ended in an error (not a clean close)
  uint64_t events = 0;
  uint64_t decode_errors = 0;
  size_t objects = 0;
};

class Informer {
 public:
  Informer(kube::Client& client, InformerOptions options, Sink& sink);

  // Runs until `stop` is set; returns within about a second of that. Run
  // again after a stop, it resumes watching from the last resourceVersion
  // (and lists again if that is gone: 410).
  void Run(const std::atomic<bool>& stop);

  // The kind is no longer served (its CRD went): reports every object this
  // informer delivered as deleted, and forgets them. Only while Run() is not
  // running (after it returned).
  void ForgetAll();

  bool synced() const { return synced_.load(); }
  InformerStats Stats() const EXCLUDES(mu_);
  // InformerOptions::name, else the group-resource
  // ("networkpolicies.networking.k8s.io").
  std::string name() const;
  // The last error, for logs and readiness ("" when healthy).
  std::string last_error() const EXCLUDES(mu_);

 private:
  bool MetadataPayload() const;
  Status List(bool after_expiry, const std::atomic<bool>& stop);
  // InformerOptions::list_streams > 1: every namespace's objects, listed
  // `list_streams` at a time; the namespaces listing's resourceVersion.
  StatusOr<std::string> ListByNamespace(const kube::ListOptions& lo,
                                        const std::atomic<bool>& stop);
  Status WatchOnce(const std::atomic<bool>& stop, bool* expired);
  void Handle(kube::EventType type, std::string_view json, bool listing);
  void HandleUndecodable(kube::EventType type, std::string_view json, bool listing,
                         const Status& error);
  void Backoff(const std::atomic<bool>& stop, int* failures);
  void SetError(const Status& s);

  kube::Client& client_;
  const InformerOptions options_;
  Sink& sink_;
  decode::Decoder decoder_;
  std::string resource_version_;
  // Known objects (namespace and name), to report deletions after a re-list.
  // Only the key: this is the one per-object cost of watching Pods as metadata.
  KeyStore known_;
  std::atomic<bool> synced_{false};

  mutable Mutex mu_;
  InformerStats stats_ GUARDED_BY(mu_);
  std::string last_error_ GUARDED_BY(mu_);
};

}  // namespace npc::informer
