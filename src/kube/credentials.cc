#include "kube/credentials.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

extern char** environ;

namespace npc::kube {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() &&
         (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
    s.pop_back();
  }
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) ++i;
  return s.substr(i);
}

class StaticCredentials final : public CredentialProvider {
 public:
  explicit StaticCredentials(Credentials c) : c_(std::move(c)) {}
  StatusOr<Credentials> Get() override { return c_; }
  void OnUnauthorized(const Credentials&) override {}

 private:
  const Credentials c_;
};

class TokenFileCredentials final : public CredentialProvider {
 public:
  TokenFileCredentials(std::string path, const TimeSource& time, std::chrono::seconds refresh)
      : path_(std::move(path)), time_(time), refresh_(refresh) {}

  StatusOr<Credentials> Get() override {
    std::lock_guard<std::mutex> l(mu_);
    auto now = time_.Now();
    if (!read_at_.has_value() || stale_ || now - *read_at_ >= refresh_) {
      auto content = ReadFileToString(path_);
      std::string token = content.ok() ? Trim(*content) : std::string();
      if (!token.empty()) {
        token_ = std::move(token);
        read_at_ = now;
        stale_ = false;
      } else if (token_.empty()) {
        return Status(StatusCode::kUnauthenticated,
                      "token file " + path_ + ": " +
                          (content.ok() ? std::string("is empty") : content.status().message()));
      }
      // else: keep the last good token and try again on the next Get.
    }
    return Credentials{token_, {}, {}};
  }

  void OnUnauthorized(const Credentials& rejected) override {
    std::lock_guard<std::mutex> l(mu_);
    if (rejected.token == token_) stale_ = true;
  }

 private:
  const std::string path_;
  const TimeSource& time_;
  const std::chrono::seconds refresh_;
  std::mutex mu_;
  std::string token_;
  std::optional<TimeSource::TimePoint> read_at_;
  bool stale_ = false;
};

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv with extra environment, stdin from /dev/null; kills it after `timeout`.
StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                   const std::vector<std::string>& extra_env,
                                   std::chrono::milliseconds timeout) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Internal(std::string("pipe: ") + strerror(errno));
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return Internal(std::string("pipe: ") + strerror(errno));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);

  std::vector<std::string> env_strings;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    bool overridden = false;
    for (const std::string& x : extra_env) {
      size_t eq = x.find('=');
      if (kv.substr(0, kv.find('=')) == std::string_view(x).substr(0, eq)) overridden = true;
    }
    if (!overridden) env_strings.emplace_back(kv);
  }
  for (const std::string& x : extra_env) env_strings.push_back(x);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (std::string& s : args) argp.push_back(s.data());
  argp.push_back(nullptr);

  pid_t pid = -1;
  int rc = posix_spawnp(&pid, argp[0], &fa, nullptr, argp.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    return InvalidArgument("cannot run " + argv[0] + ": " + strerror(rc));
  }
  ProcessResult r;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    int n = poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t got = read(fds[i].fd, buf, sizeof(buf));
      if (got > 0) {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(got));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (pollfd& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  if (timed_out) kill(pid, SIGKILL);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return Status(StatusCode::kDeadlineExceeded,
                  argv[0] + " did not finish within " + std::to_string(timeout.count()) + " ms");
  }
  r.exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  return r;
}

class ExecCredentials final : public CredentialProvider {
 public:
  ExecCredentials(ExecConfig exec, const RestConfig& cluster, const TimeSource& time)
      : exec_(std::move(exec)), time_(time) {
    nlohmann::json info = {{"apiVersion", exec_.api_version},
                           {"kind", "ExecCredential"},
                           {"spec", {{"interactive", false}}}};
    if (exec_.provide_cluster_info) {
      nlohmann::json c = {{"server", cluster.server}};
      if (!cluster.tls_server_name.empty()) c["tls-server-name"] = cluster.tls_server_name;
      if (cluster.insecure_skip_tls_verify) c["insecure-skip-tls-verify"] = true;
      if (!cluster.ca_pem.empty()) {
        static constexpr char kB64[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        std::string b64;
        const std::string& in = cluster.ca_pem;
        for (size_t i = 0; i < in.size(); i += 3) {
          unsigned v = static_cast<unsigned char>(in[i]) << 16;
          if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
          if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
          b64 += kB64[(v >> 18) & 63];
          b64 += kB64[(v >> 12) & 63];
          b64 += i + 1 < in.size() ? kB64[(v >> 6) & 63] : '=';
          b64 += i + 2 < in.size() ? kB64[v & 63] : '=';
        }
        c["certificate-authority-data"] = b64;
      }
      info["spec"]["cluster"] = c;
    }
    exec_info_ = info.dump();
  }

  StatusOr<Credentials> Get() override {
    std::lock_guard<std::mutex> l(mu_);
    if (cached_.has_value() && (!expiry_.has_value() || time_.WallNow() < *expiry_)) {
      return *cached_;
    }
    cached_.reset();
    NPC_ASSIGN_OR_RETURN(Credentials c, Run());
    cached_ = c;
    return c;
  }

  void OnUnauthorized(const Credentials& rejected) override {
    std::lock_guard<std::mutex> l(mu_);
    if (cached_.has_value() && *cached_ == rejected) cached_.reset();
  }

  int runs() const { return runs_; }

 private:
  Status Fail(std::string what) const {
    return Status(StatusCode::kUnauthenticated,
                  exec_.origin + ": plugin " + exec_.command + ": " + std::move(what));
  }

  // Runs the plugin; sets expiry_. Called with mu_ held.
  StatusOr<Credentials> Run() {
    std::vector<std::string> argv = {exec_.command};
    argv.insert(argv.end(), exec_.args.begin(), exec_.args.end());
    std::vector<std::string> env = {"KUBERNETES_EXEC_INFO=" + exec_info_};
    for (const auto& [k, v] : exec_.env) env.push_back(k + "=" + v);
    ++runs_;
    auto r = RunProcess(argv, env, std::chrono::seconds(60));
    if (!r.ok()) return Fail(r.status().message());
    if (r->exit_code != 0) {
      return Fail("exited with code " + std::to_string(r->exit_code) + ": " + Trim(r->err));
    }
    nlohmann::json j = nlohmann::json::parse(r->out, nullptr, false);
    if (!j.is_object()) return Fail("printed something that is not JSON: " + r->out.substr(0, 200));
    if (j.value("kind", "") != "ExecCredential") return Fail("printed a non-ExecCredential");
    if (std::string av = j.value("apiVersion", ""); av != exec_.api_version) {
      return Fail("printed apiVersion \"" + av + "\", expected \"" + exec_.api_version + "\"");
    }
    auto st = j.find("status");
    if (st == j.end() || !st->is_object()) return Fail("printed an ExecCredential without status");
    Credentials c;
    c.token = st->value("token", "");
    c.client_cert_pem = st->value("clientCertificateData", "");
    c.client_key_pem = st->value("clientKeyData", "");
    if (c.client_cert_pem.empty() != c.client_key_pem.empty()) {
      return Fail("status needs both clientCertificateData and clientKeyData");
    }
    if (c.token.empty() && c.client_cert_pem.empty()) {
      return Fail("status has neither a token nor a client certificate");
    }
    if (!c.client_cert_pem.empty()) {
      if (Status s = CheckPemCertificates(c.client_cert_pem); !s.ok()) {
        return Fail("status.clientCertificateData " + s.message());
      }
      if (Status s = CheckPemPrivateKey(c.client_key_pem); !s.ok()) {
        return Fail("status.clientKeyData " + s.message());
      }
    }
    expiry_.reset();
    if (std::string ts = st->value("expirationTimestamp", ""); !ts.empty()) {
      auto t = ParseRfc3339(ts);
      if (!t.ok()) return Fail("status.expirationTimestamp: " + t.status().message());
      expiry_ = *t;
    }
    return c;
  }

  const ExecConfig exec_;
  const TimeSource& time_;
  std::string exec_info_;
  std::mutex mu_;
  std::optional<Credentials> cached_;
  std::optional<TimeSource::WallTime> expiry_;
  int runs_ = 0;
};

}  // namespace

StatusOr<TimeSource::WallTime> ParseRfc3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)
  auto num = [&](size_t pos, size_t len, int* out) {
    if (pos + len > s.size()) return false;
    auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + len, *out);
    return ec == std::errc() && p == s.data() + pos + len;
  };
  int y, mo, d, h, mi, sec;
  if (s.size() < 20 || !num(0, 4, &y) || s[4] != '-' || !num(5, 2, &mo) || s[7] != '-' ||
      !num(8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !num(11, 2, &h) ||
      s[13] != ':' || !num(14, 2, &mi) || s[16] != ':' || !num(17, 2, &sec)) {
    return InvalidArgument("\"" + std::string(s) + "\" is not an RFC 3339 timestamp");
  }
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
  }
  int offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) {
  } else if (pos + 6 == s.size() && (s[pos] == '+' || s[pos] == '-') && s[pos + 3] == ':') {
    int oh, om;
    if (!num(pos + 1, 2, &oh) || !num(pos + 4, 2, &om)) {
      return InvalidArgument("\"" + std::string(s) + "\" has a bad UTC offset");
    }
    offset_min = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
  } else {
    return InvalidArgument("\"" + std::string(s) + "\" is not an RFC 3339 timestamp");
  }
  std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(mo),
                                  std::chrono::day(d)};
  if (!ymd.ok()) return InvalidArgument("\"" + std::string(s) + "\" is not a valid date");
  return TimeSource::WallTime(std::chrono::sys_days(ymd) + std::chrono::hours(h) +
                              std::chrono::minutes(mi) + std::chrono::seconds(sec) -
                              std::chrono::minutes(offset_min));
}

std::unique_ptr<CredentialProvider> MakeStaticCredentials(Credentials c) {
  return std::make_unique<StaticCredentials>(std::move(c));
}

std::unique_ptr<CredentialProvider> MakeTokenFileCredentials(std::string path,
                                                             const TimeSource& time,
                                                             std::chrono::seconds refresh) {
  return std::make_unique<TokenFileCredentials>(std::move(path), time, refresh);
}

std::unique_ptr<CredentialProvider> MakeExecCredentials(ExecConfig exec, const RestConfig& cluster,
                                                        const TimeSource& time) {
  return std::make_unique<ExecCredentials>(std::move(exec), cluster, time);
}

StatusOr<std::unique_ptr<CredentialProvider>> MakeCredentialProvider(const RestConfig& config,
                                                                     const TimeSource& time) {
  if (config.exec.has_value()) return MakeExecCredentials(*config.exec, config, time);
  if (config.token.empty() && !config.token_file.empty()) {
    return MakeTokenFileCredentials(config.token_file, time);
  }
  // The configured client certificate is the transport's default; only the token here.
  return MakeStaticCredentials(Credentials{config.token, {}, {}});
}

}  // namespace npc::kube
