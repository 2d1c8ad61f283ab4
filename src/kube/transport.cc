#include "kube/transport.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <mutex>

namespace npc::kube {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// Per-transfer state shared with the callbacks.
struct Transfer {
  const HttpRequest* req;
  CURL* curl;
  HttpResponse resp;
  bool stopped_by_sink = false;
  bool cancelled = false;
  int probes;
  int user_timeout_ms;
  const std::function<void()>* on_connect;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  auto starts = [&](std::string_view name) {
    if (line.size() < name.size()) return false;
    for (size_t i = 0; i < name.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return false;
    }
    return true;
  };
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after 100 Continue or a redirect)
    t->resp.content_type.clear();
    t->resp.retry_after_seconds.reset();
  } else if (starts("retry-after:")) {
    t->resp.retry_after_seconds = ParseRetryAfter(line.substr(12));
  } else if (starts("content-type:")) {
    std::string_view v = line.substr(13);
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n')) v.remove_suffix(1);
    t->resp.content_type = std::string(v);
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view chunk(data, size * n);
  if (t->req->on_body) {
    long code = 0;  // NOLINT(google-runtime-int): libcurl's type
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 200 && code < 300) {
      if (!t->req->on_body(chunk)) {
        t->stopped_by_sink = true;
        return 0;  // makes curl fail with CURLE_WRITE_ERROR
      }
      return chunk.size();
    }
  }
  t->resp.body.append(chunk);
  return chunk.size();
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->req->cancel != nullptr && t->req->cancel->load(std::memory_order_relaxed)) {
    t->cancelled = true;
    return 1;
  }
  return 0;
}

int OnSocket(void* user, curl_socket_t fd, curlsocktype purpose) {
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKOPT_OK;
  auto* t = static_cast<Transfer*>(user);
  // libcurl 7.88 sets TCP_KEEPIDLE/INTVL itself but not the probe count nor the
  // user timeout, which bound how long unacknowledged data may hang.
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &t->probes, sizeof(t->probes));
  setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &t->user_timeout_ms, sizeof(t->user_timeout_ms));
  if (*t->on_connect) (*t->on_connect)();
  return CURL_SOCKOPT_OK;
}

// Splits "https://host:port/rest" into "host" and "port" (brackets kept for IPv6).
bool SplitAuthority(std::string_view url, std::string_view* scheme_end_host, std::string_view* port,
                    size_t* host_begin, size_t* host_end) {
  size_t s = url.find("://");
  if (s == std::string_view::npos) return false;
  size_t begin = s + 3;
  size_t end = url.find('/', begin);
  if (end == std::string_view::npos) end = url.size();
  std::string_view authority = url.substr(begin, end - begin);
  size_t colon = authority.rfind(':');
  size_t bracket = authority.rfind(']');
  if (colon == std::string_view::npos || (bracket != std::string_view::npos && colon < bracket)) {
    *port = url.substr(0, s) == "https" ? "443" : "80";
    *host_end = end;
  } else {
    *port = authority.substr(colon + 1);
    *host_end = begin + colon;
  }
  *host_begin = begin;
  *scheme_end_host = url.substr(begin, *host_end - begin);
  return true;
}

class CurlTransport final : public HttpTransport {
 public:
  explicit CurlTransport(TransportOptions o) : o_(std::move(o)) {
    GlobalInit();
    share_ = curl_share_init();
    curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &CurlTransport::Lock);
    curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &CurlTransport::Unlock);
    curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }

  ~CurlTransport() override {
    for (CURL* h : pool_) curl_easy_cleanup(h);
    curl_share_cleanup(share_);
  }

  KubeResult<HttpResponse> Do(const HttpRequest& req) override {
    CURL* h = Acquire();
    Transfer t{
        &req,
        h,
        {},
        false,
        false,
        o_.keepalive_probes,
        static_cast<int>((o_.keepalive_idle + o_.keepalive_interval * o_.keepalive_probes).count() *
                         1000),
        &o_.on_connect};
    char errbuf[CURL_ERROR_SIZE] = {0};
    std::string url = req.url;
    std::string connect_to;
    if (!o_.tls_server_name.empty()) {
      // Verify (and send SNI for) tls-server-name while connecting to the real host.
      std::string_view host, port;
      size_t hb = 0, he = 0;
      if (SplitAuthority(req.url, &host, &port, &hb, &he)) {
        connect_to = o_.tls_server_name + ":" + std::string(port) + ":" + std::string(host) + ":" +
                     std::string(port);
        url = req.url.substr(0, hb) + o_.tls_server_name + req.url.substr(he);
      }
    }
    Slist headers;
    for (const std::string& hd : req.headers) {
      headers.reset(curl_slist_append(headers.release(), hd.c_str()));
    }
    if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
      headers.reset(curl_slist_append(headers.release(), "Expect:"));
    }
    Slist connect_list;
    if (!connect_to.empty()) connect_list.reset(curl_slist_append(nullptr, connect_to.c_str()));

    curl_easy_setopt(h, CURLOPT_SHARE, share_);
    // The shared connection cache is pruned to this size whenever a transfer
    // ends, open watches included: at libcurl's default of 5, a controller
    // with a dozen watches closed every other connection after one request
    // and paid a TLS handshake (and a CA parse) for each write.
    curl_easy_setopt(h, CURLOPT_MAXCONNECTS, kMaxConnections);
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(h, CURLOPT_USERAGENT, o_.user_agent.c_str());
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // gzip if the server offers it
    if (req.method == "GET") {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
      if (req.method != "DELETE" || !req.body.empty()) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      }
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    if (connect_list) curl_easy_setopt(h, CURLOPT_CONNECT_TO, connect_list.get());
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &OnProgress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, &OnSocket);
    curl_easy_setopt(h, CURLOPT_SOCKOPTDATA, &t);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o_.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
    if (req.low_speed_time.count() > 0) {
      curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
      curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(req.low_speed_time.count()));
    }
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, static_cast<long>(o_.keepalive_idle.count()));
    curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, static_cast<long>(o_.keepalive_interval.count()));
    if (!o_.proxy_url.empty()) curl_easy_setopt(h, CURLOPT_PROXY, o_.proxy_url.c_str());
    // TLS
    if (o_.insecure_skip_tls_verify) {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    } else {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    }
    if (!o_.ca_pem.empty()) {
      curl_blob ca{const_cast<char*>(o_.ca_pem.data()), o_.ca_pem.size(), CURL_BLOB_NOCOPY};
      curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
    }
    const std::string* cert =
        req.client_cert_pem != nullptr ? req.client_cert_pem : &o_.client_cert_pem;
    const std::string* key =
        req.client_key_pem != nullptr ? req.client_key_pem : &o_.client_key_pem;
    if (!cert->empty() && !key->empty()) {
      curl_blob cb{const_cast<char*>(cert->data()), cert->size(), CURL_BLOB_COPY};
      curl_blob kb{const_cast<char*>(key->data()), key->size(), CURL_BLOB_COPY};
      curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
      curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cb);
      curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
      curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &kb);
    }

    CURLcode rc = curl_easy_perform(h);
    long code = 0;  // NOLINT(google-runtime-int): libcurl's type
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    Release(h);
    if (rc == CURLE_OK) {
      t.resp.status = static_cast<int>(code);
      return std::move(t.resp);
    }
    if (t.cancelled || t.stopped_by_sink) {
      return LocalError(Reason::kCancelled, req.method + " " + req.url + ": stopped");
    }
    std::string detail = errbuf[0] != '\0' ? std::string(errbuf) : curl_easy_strerror(rc);
    switch (rc) {
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_CIPHER:
      case CURLE_SSL_ISSUER_ERROR:
      case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      case CURLE_SSL_INVALIDCERTSTATUS:
      case CURLE_SSL_ENGINE_INITFAILED: {
        std::string ca = o_.ca_pem.empty() ? std::string("the system trust store")
                                           : "the CA from " + o_.ca_origin;
        return LocalError(
            Reason::kTls,
            "TLS with " + req.url + " failed: " + detail + " (server certificate checked against " +
                ca +
                (o_.tls_server_name.empty() ? std::string() : ", for name " + o_.tls_server_name) +
                ")");
      }
      case CURLE_OPERATION_TIMEDOUT:
        return LocalError(Reason::kDeadline, req.method + " " + req.url + ": " + detail);
      default:
        return LocalError(Reason::kTransport,
                          req.method + " " + req.url + ": cannot reach the server: " + detail);
    }
  }

 private:
  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<CurlTransport*>(user)->locks_[static_cast<size_t>(data) % kLocks].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<CurlTransport*>(user)->locks_[static_cast<size_t>(data) % kLocks].unlock();
  }

  CURL* Acquire() {
    {
      std::lock_guard<std::mutex> l(pool_mu_);
      if (!pool_.empty()) {
        CURL* h = pool_.back();
        pool_.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }

  void Release(CURL* h) {
    curl_easy_reset(h);
    std::lock_guard<std::mutex> l(pool_mu_);
    if (pool_.size() < kMaxPooled) {
      pool_.push_back(h);
    } else {
      curl_easy_cleanup(h);
    }
  }

  static constexpr size_t kLocks = CURL_LOCK_DATA_LAST;
  static constexpr size_t kMaxPooled = 16;
  static constexpr long kMaxConnections = 256;  // NOLINT(google-runtime-int): libcurl's type

  const TransportOptions o_;
  CURLSH* share_;
  std::array<std::mutex, kLocks> locks_;
  std::mutex pool_mu_;
  std::vector<CURL*> pool_;
};

}  // namespace

TransportOptions TransportOptionsFrom(const RestConfig& c) {
  TransportOptions o;
  o.ca_pem = c.ca_pem;
  o.ca_origin = c.ca_origin;
  o.insecure_skip_tls_verify = c.insecure_skip_tls_verify;
  o.tls_server_name = c.tls_server_name;
  o.proxy_url = c.proxy_url;
  o.client_cert_pem = c.client_cert_pem;
  o.client_key_pem = c.client_key_pem;
  return o;
}

StatusOr<std::unique_ptr<HttpTransport>> MakeCurlTransport(TransportOptions options) {
  GlobalInit();
  curl_version_info_data* v = curl_version_info(CURLVERSION_NOW);
  if (v == nullptr || (v->features & CURL_VERSION_SSL) == 0) {
    return Internal("libcurl was built without TLS support");
  }
  return std::unique_ptr<HttpTransport>(std::make_unique<CurlTransport>(std::move(options)));
}

}  // namespace npc::kube
