#include "kube/client.h"

#include <simdjson.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <random>

#include "kube/list_decoder.h"

namespace npc::kube {
namespace {

constexpr int kMaxListRestarts = 3;

class Query {
 public:
  void Add(std::string_view key, std::string_view value) {
    if (value.empty()) return;
    s_ += s_.empty() ? '?' : '&';
    s_ += key;
    s_ += '=';
    s_ += QueryEscape(value);
  }
  const std::string& str() const { return s_; }

 private:
  std::string s_;
};

// Parses `metadata` out of `json`, which is followed by SIMDJSON_PADDING readable bytes.
StatusOr<ObjectMeta> ParseMetaPadded(const char* json, size_t size) {
  thread_local simdjson::ondemand::parser parser;
  ObjectMeta m;
  simdjson::ondemand::document doc;
  if (auto ec = parser.iterate(json, size, size + simdjson::SIMDJSON_PADDING).get(doc); ec) {
    return Internal(std::string("object is not JSON: ") + simdjson::error_message(ec));
  }
  simdjson::ondemand::object obj;
  if (auto ec = doc.get_object().get(obj); ec) return Internal("object JSON is not an object");
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return Internal("bad object JSON");
    if (key != "metadata") continue;
    simdjson::ondemand::object meta;
    if (field.value().get_object().get(meta)) return Internal("metadata is not an object");
    for (auto mf : meta) {
      std::string_view k;
      if (mf.unescaped_key().get(k)) return Internal("bad metadata JSON");
      std::string_view v;
      if (k == "name") {
        if (!mf.value().get_string().get(v)) m.name = std::string(v);
      } else if (k == "namespace") {
        if (!mf.value().get_string().get(v)) m.namespace_name = std::string(v);
      } else if (k == "uid") {
        if (!mf.value().get_string().get(v)) m.uid = std::string(v);
      } else if (k == "resourceVersion") {
        if (!mf.value().get_string().get(v)) m.resource_version = std::string(v);
      } else if (k == "generation") {
        int64_t g = 0;
        if (!mf.value().get_int64().get(g)) m.generation = g;
      } else if (k == "ownerReferences") {
        simdjson::ondemand::array refs;
        if (mf.value().get_array().get(refs)) continue;
        for (auto ref : refs) {
          simdjson::ondemand::object o;
          if (ref.get_object().get(o)) break;
          OwnerRef r;
          bool controller = false;
          for (auto rf : o) {
            std::string_view rk;
            if (rf.unescaped_key().get(rk)) break;
            if (rk == "controller") {
              if (rf.value().get_bool().get(controller)) controller = false;
            } else if (rk == "apiVersion" || rk == "kind" || rk == "name" || rk == "uid") {
              if (rf.value().get_string().get(v)) continue;
              (rk == "apiVersion" ? r.api_version
               : rk == "kind"     ? r.kind
               : rk == "name"     ? r.name
                                  : r.uid) = std::string(v);
            }
          }
          if (controller) m.controller = std::move(r);
        }
      }
    }
    break;
  }
  return m;
}

class RestClient final : public Client {
 public:
  RestClient(std::string server, std::string ns, std::unique_ptr<HttpTransport> transport,
             std::unique_ptr<CredentialProvider> credentials, ClientOptions options,
             const TimeSource& time)
      : server_(std::move(server)),
        namespace_(std::move(ns)),
        transport_(std::move(transport)),
        credentials_(std::move(credentials)),
        options_(std::move(options)),
        time_(time),
        limiter_(options_.rate_limit, time, options_.on_rate_limit_wait),
        rng_(std::random_device{}()) {}

  const std::string& default_namespace() const override { return namespace_; }

  KubeResult<Object> Get(Resource r, std::string_view ns, std::string_view name,
                         const RequestOptions& o) override {
    HttpRequest req = Request("GET", ResourcePath(Info(r), ns, name), o.accept);
    req.cancel = o.stop;
    return ToObject(Send(std::move(req), Idempotency::kSafe));
  }

  KubeResult<ObjectList> List(Resource r, std::string_view ns, const ListOptions& o) override {
    ObjectList out;
    ListHandler h;
    h.on_item = [&](std::string_view json) -> Status {
      Object obj;
      obj.json = std::string(json);
      // `json` is followed by kJsonPadding >= SIMDJSON_PADDING bytes: parse it in place.
      NPC_ASSIGN_OR_RETURN(obj.meta, ParseMetaPadded(json.data(), json.size()));
      out.items.push_back(std::move(obj));
      return Status::Ok();
    };
    h.on_restart = [&] { out.items.clear(); };
    auto end = ListEach(r, ns, o, h);
    if (!end.ok()) return end.error();
    out.resource_version = std::move(end->resource_version);
    return out;
  }

  KubeResult<ListEnd> ListEach(Resource r, std::string_view ns, const ListOptions& o,
                               const ListHandler& h) override {
    KubeError last;
    ListPageDecoder decoder;  // freed with the listing: it grows to the largest item
    for (int restart = 0; restart <= kMaxListRestarts; ++restart) {
      if (restart > 0 && h.on_restart) h.on_restart();
      ListEnd end;
      ListPageMeta page;
      bool restart_needed = false;
      do {
        Query q;
        q.Add("labelSelector", o.label_selector);
        q.Add("fieldSelector", o.field_selector);
        if (o.limit > 0) q.Add("limit", std::to_string(o.limit));
        q.Add("continue", page.continue_token);
        if (page.continue_token.empty()) {
          q.Add("resourceVersion", o.resource_version);
          q.Add("resourceVersionMatch", o.resource_version_match);
        }
        HttpRequest req = Request("GET", ResourcePath(Info(r), ns) + q.str(), o.accept);
        req.timeout = options_.list_page_timeout;
        req.cancel = o.stop;
        decoder.Reset();
        size_t page_items = 0;
        bool streamed = false;
        Status failure;
        req.on_body = [&](std::string_view chunk) {
          streamed = true;
          failure = decoder.Feed(chunk, [&](std::string_view item) -> Status {
            ++page_items;
            return h.on_item(item);
          });
          return failure.ok();
        };
        auto resp = Send(std::move(req), Idempotency::kSafe);
        if (!failure.ok()) return LocalError(failure);
        if (!resp.ok()) {
          last = resp.error();
          if (last.IsExpired() && !page.continue_token.empty()) {
            // The continue token outlived the compaction window: list again.
            restart_needed = true;
            break;
          }
          // An answer that broke off cannot be repeated in place (Send never
          // repeats a request once bytes flowed; items may have been handed
          // out): list again, after the delay a retry would have waited.
          if (streamed) {
            auto delay = options_.retry.NextDelay(restart + 1, last, Idempotency::kSafe);
            if (delay.has_value()) {
              if (!SleepUnlessCancelled(*delay, o.stop)) {
                return LocalError(Reason::kCancelled, "list stopped: " + last.message);
              }
              restart_needed = true;
              break;
            }
          }
          return last;
        }
        if (Status s = decoder.Finish(&page); !s.ok()) return LocalError(s);
        end.items += page_items;
        end.resource_version = page.resource_version;
      } while (!page.continue_token.empty());
      if (!restart_needed) return end;
    }
    return last;
  }

  KubeResult<Object> Create(Resource r, std::string_view ns, std::string_view json,
                            const RequestOptions& o) override {
    Query q;
    if (o.dry_run) q.Add("dryRun", "All");
    HttpRequest req = Request("POST", ResourcePath(Info(r), ns) + q.str(), o.accept);
    SetBody(&req, json, "application/json");
    req.cancel = o.stop;
    return ToObject(Send(std::move(req), Idempotency::kUnsafe));
  }

  KubeResult<Object> Update(Resource r, std::string_view ns, std::string_view name,
                            std::string_view json, const RequestOptions& o) override {
    Query q;
    if (o.dry_run) q.Add("dryRun", "All");
    HttpRequest req = Request("PUT", ResourcePath(Info(r), ns, name) + q.str(), o.accept);
    SetBody(&req, json, "application/json");
    req.cancel = o.stop;
    // Safe: the resourceVersion precondition turns a repeat into a Conflict.
    return ToObject(Send(std::move(req), Idempotency::kSafe));
  }

  KubeResult<Object> Apply(Resource r, std::string_view ns, std::string_view name,
                           std::string_view json, const ApplyOptions& o) override {
    Query q;
    q.Add("fieldManager", o.field_manager);
    if (o.force) q.Add("force", "true");
    if (o.dry_run) q.Add("dryRun", "All");
    HttpRequest req = Request("PATCH", ResourcePath(Info(r), ns, name) + q.str(), "");
    SetBody(&req, json, "application/apply-patch+yaml");
    req.cancel = o.stop;
    return ToObject(Send(std::move(req), Idempotency::kSafe));
  }

  KubeResult<Object> MergePatch(Resource r, std::string_view ns, std::string_view name,
                                std::string_view patch, const RequestOptions& o) override {
    Query q;
    if (o.dry_run) q.Add("dryRun", "All");
    HttpRequest req = Request("PATCH", ResourcePath(Info(r), ns, name) + q.str(), o.accept);
    SetBody(&req, patch, "application/merge-patch+json");
    req.cancel = o.stop;
    return ToObject(Send(std::move(req), Idempotency::kSafe));
  }

  KubeResult<std::string> Delete(Resource r, std::string_view ns, std::string_view name,
                                 const DeleteOptions& o) override {
    nlohmann::json body = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
    if (!o.propagation_policy.empty()) body["propagationPolicy"] = o.propagation_policy;
    if (!o.precondition_uid.empty()) body["preconditions"]["uid"] = o.precondition_uid;
    if (!o.precondition_resource_version.empty()) {
      body["preconditions"]["resourceVersion"] = o.precondition_resource_version;
    }
    if (o.dry_run) body["dryRun"] = {"All"};
    HttpRequest req = Request("DELETE", ResourcePath(Info(r), ns, name), "");
    SetBody(&req, body.dump(), "application/json");
    req.cancel = o.stop;
    auto resp = Send(std::move(req), Idempotency::kSafe);
    if (!resp.ok()) return resp.error();
    return std::move(resp->body);
  }

  KubeResult<WatchEnd> Watch(Resource r, std::string_view ns, const WatchOptions& o,
                             const WatchHandler& handler) override {
    int timeout = o.timeout_seconds;
    if (timeout <= 0) {
      std::lock_guard<std::mutex> l(rng_mu_);
      timeout = std::uniform_int_distribution<int>(300, 600)(rng_);
    }
    Query q;
    q.Add("watch", "1");
    q.Add("labelSelector", o.label_selector);
    q.Add("fieldSelector", o.field_selector);
    q.Add("resourceVersion", o.resource_version);
    if (o.allow_bookmarks) q.Add("allowWatchBookmarks", "true");
    q.Add("timeoutSeconds", std::to_string(timeout));
    HttpRequest req = Request("GET", ResourcePath(Info(r), ns) + q.str(), o.accept);
    // The server ends the watch after `timeout`; the client bound is a safety net.
    req.timeout = std::chrono::seconds(timeout + 60);
    req.low_speed_time = o.idle_timeout;
    req.cancel = o.stop;

    WatchDecoder decoder;
    WatchEnd end;
    end.resource_version = o.resource_version;
    std::optional<KubeError> event_error;
    Status failure;
    req.on_body = [&](std::string_view chunk) {
      Status s = decoder.Feed(chunk, [&](const WatchEvent& e) -> Status {
        if (e.type == EventType::kError) {
          event_error = *e.error;
          return Status(StatusCode::kCancelled, "ERROR event");
        }
        if (!e.resource_version.empty()) end.resource_version = std::string(e.resource_version);
        ++end.events;
        return handler(e);
      });
      if (!s.ok()) {
        if (!event_error.has_value()) failure = s;
        return false;
      }
      return true;
    };
    // Never repeated once bytes flowed: a retry would replay events.
    auto resp = Send(std::move(req), Idempotency::kUnsafe);
    if (event_error.has_value()) return *event_error;
    if (!failure.ok()) return LocalError(failure);
    if (!resp.ok()) {
      if (resp.error().reason == Reason::kCancelled && o.stop != nullptr && o.stop->load()) {
        end.stopped = true;
        return end;
      }
      return resp.error();
    }
    if (decoder.HasPartialEvent()) {
      return LocalError(Reason::kTransport, "watch stream ended in the middle of an event");
    }
    return end;
  }

 private:
  HttpRequest Request(std::string method, std::string path, std::string_view accept) const {
    HttpRequest req;
    req.method = std::move(method);
    req.url = server_ + path;
    req.timeout = options_.request_timeout;
    req.headers.push_back("Accept: " +
                          (accept.empty() ? std::string("application/json") : std::string(accept)));
    return req;
  }

  static void SetBody(HttpRequest* req, std::string_view body, std::string_view content_type) {
    req->body = std::string(body);
    req->headers.push_back("Content-Type: " + std::string(content_type));
  }

  KubeResult<HttpResponse> Send(HttpRequest req, Idempotency idem) {
    // A streamed answer is never repeated once bytes flowed: the receiver has
    // acted on them (a watch's events, a list's items); the caller decides.
    bool streamed = false;
    if (req.on_body) {
      req.on_body = [&streamed, inner = std::move(req.on_body)](std::string_view chunk) {
        streamed = true;
        return inner(chunk);
      };
    }
    bool reauthenticated = false;
    const size_t base_headers = req.headers.size();
    for (int retry = 1;; ++retry) {
      limiter_.Wait();
      if (req.cancel != nullptr && req.cancel->load()) {
        return LocalError(Reason::kCancelled, req.method + " " + req.url + ": stopped before sending");
      }
      auto creds = credentials_->Get();
      if (!creds.ok()) {
        KubeError e = LocalError(creds.status());
        e.reason = Reason::kUnauthorized;
        return e;
      }
      req.headers.resize(base_headers);
      if (!creds->token.empty()) req.headers.push_back("Authorization: Bearer " + creds->token);
      req.client_cert_pem = creds->client_cert_pem.empty() ? nullptr : &creds->client_cert_pem;
      req.client_key_pem = creds->client_key_pem.empty() ? nullptr : &creds->client_key_pem;
      auto resp = transport_->Do(req);
      if (options_.on_request) {
        options_.on_request(req.on_body ? std::string_view("WATCH") : std::string_view(req.method),
                            resp.ok() ? resp->status : 0);
      }
      KubeError err;
      if (resp.ok()) {
        if (resp->status < 400) return resp;
        err = ParseStatus(resp->status, resp->body, resp->retry_after_seconds);
      } else {
        err = resp.error();
      }
      if (err.reason == Reason::kUnauthorized) {
        credentials_->OnUnauthorized(*creds);
        if (!reauthenticated) {
          reauthenticated = true;  // refreshed credentials get one more try
          continue;
        }
        err.message += " (the server at " + server_ + " rejected " + Describe(*creds) + ")";
        return err;
      }
      if (streamed) return err;
      std::optional<std::chrono::milliseconds> delay = options_.retry.NextDelay(retry, err, idem);
      if (!delay.has_value()) return err;
      if (!SleepUnlessCancelled(*delay, req.cancel)) return Stopped(req, err);
    }
  }

  // Waits before a retry; false when `cancel` ended the wait (or was set already).
  bool SleepUnlessCancelled(std::chrono::milliseconds delay, const std::atomic<bool>* cancel) const {
    if (cancel == nullptr) {
      time_.SleepFor(delay);
      return true;
    }
    return time_.SleepUnlessCancelled(delay, *cancel);
  }

  static KubeError Stopped(const HttpRequest& req, const KubeError& last) {
    return LocalError(Reason::kCancelled,
                      req.method + " " + req.url + ": stopped before retrying (" + last.message + ")");
  }

  static std::string Describe(const Credentials& c) {
    if (!c.token.empty()) return "the bearer token";
    if (!c.client_cert_pem.empty()) return "the exec plugin's client certificate";
    return "the request (no token; the configured client certificate, if any)";
  }

  static KubeResult<Object> ToObject(KubeResult<HttpResponse> resp) {
    if (!resp.ok()) return resp.error();
    Object o;
    o.json = std::move(resp->body);
    auto meta = ParseObjectMeta(o.json);
    if (!meta.ok()) return LocalError(meta.status());
    o.meta = std::move(*meta);
    return o;
  }

  const std::string server_;
  const std::string namespace_;
  const std::unique_ptr<HttpTransport> transport_;
  const std::unique_ptr<CredentialProvider> credentials_;
  const ClientOptions options_;
  const TimeSource& time_;
  TokenBucket limiter_;
  std::mutex rng_mu_;
  std::mt19937 rng_;
};

}  // namespace

KubeResult<ListEnd> Client::ListEach(Resource r, std::string_view ns, const ListOptions& o,
                                     const ListHandler& h) {
  auto list = List(r, ns, o);
  if (!list.ok()) return list.error();
  for (const Object& item : list->items) {
    simdjson::padded_string buf(item.json);
    if (Status s = h.on_item(std::string_view(buf.data(), buf.size())); !s.ok()) {
      return LocalError(s);
    }
  }
  return ListEnd{std::move(list->resource_version), list->items.size()};
}

StatusOr<ObjectMeta> ParseObjectMeta(std::string_view json) {
  simdjson::padded_string buf(json);
  return ParseMetaPadded(buf.data(), buf.size());
}

std::string QueryEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::unique_ptr<Client> MakeClient(std::string server, std::string default_namespace,
                                   std::unique_ptr<HttpTransport> transport,
                                   std::unique_ptr<CredentialProvider> credentials,
                                   ClientOptions options, const TimeSource& time) {
  return std::make_unique<RestClient>(std::move(server), std::move(default_namespace),
                                      std::move(transport), std::move(credentials),
                                      std::move(options), time);
}

StatusOr<std::unique_ptr<Client>> MakeClient(const RestConfig& config, ClientOptions options) {
  const TimeSource& time = RealTimeSource::Get();
  TransportOptions transport_options = TransportOptionsFrom(config);
  transport_options.on_connect = options.on_connect;
  NPC_ASSIGN_OR_RETURN(auto transport, MakeCurlTransport(std::move(transport_options)));
  NPC_ASSIGN_OR_RETURN(auto credentials, MakeCredentialProvider(config, time));
  return MakeClient(config.server, config.namespace_name, std::move(transport),
                    std::move(credentials), std::move(options), time);
}

}  // namespace npc::kube
