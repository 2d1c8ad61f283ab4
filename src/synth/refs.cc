#include "synth/refs.h"

#include <unordered_map>

namespace npc::synth {

std::string ExpandVars(std::string_view input, const EnvMap& env) {
  if (input.find('$') == std::string_view::npos) return std::string(input);
  std::string out;
  out.reserve(input.size());
  size_t checkpoint = 0;
  // The next ')' at or after a position, cached: positions only grow, so
  // "$($($(..." without a ')' costs one scan, not one per "$(".
  size_t close_at = input.find(')');
  for (size_t cursor = 0; cursor < input.size(); ++cursor) {
    if (input[cursor] != '$' || cursor + 1 >= input.size()) continue;
    out.append(input.substr(checkpoint, cursor - checkpoint));
    const std::string_view rest = input.substr(cursor + 1);
    size_t advance = 1;
    if (rest[0] == '$') {
      out += '$';  // escaped operator
    } else if (rest[0] == '(') {
      const size_t from = cursor + 2;
      if (close_at != std::string_view::npos && close_at < from) {
        close_at = input.find(')', from);
      }
      const size_t close =
          close_at == std::string_view::npos ? std::string_view::npos : close_at - (cursor + 1);
      if (close == std::string_view::npos) {
        out += "$(";  // incomplete reference: kept, scanning resumes after '('
      } else {
        const std::string name(rest.substr(1, close - 1));
        auto it = env.find(name);
        if (it != env.end()) {
          out += it->second;
        } else {
          out += "$(";
          out += name;
          out += ')';
        }
        advance = close + 1;
      }
    } else {
      out += '$';
      out += rest[0];
    }
    cursor += advance;
    checkpoint = cursor + 1;
  }
  if (checkpoint < input.size()) out.append(input.substr(checkpoint));
  return out;
}

bool IsPortName(std::string_view p) {
  if (p.empty() || p.size() > 15 || p.front() == '-' || p.back() == '-') return false;
  bool letter = false;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c >= 'a' && c <= 'z') {
      letter = true;
    } else if (c == '-') {
      if (p[i - 1] == '-') return false;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return letter;
}

int ParsePortNumber(std::string_view s) {
  if (s.empty() || s.size() > 5) return 0;
  int n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + (c - '0');
  }
  return n >= 1 && n <= 65535 ? n : 0;
}

bool IsIPv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (true) {
    size_t j = i;
    int v = 0;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9' && j - i < 3) v = v * 10 + (s[j++] - '0');
    if (j == i || v > 255) return false;
    ++parts;
    if (j == s.size()) return parts == 4;
    if (s[j] != '.' || parts == 4) return false;
    i = j + 1;
  }
}

namespace {

bool IsSeparator(unsigned char c) {
  switch (c) {
    case ' ': case '\t': case '\n': case '\r': case '\v': case '\f':
    case ',': case ';': case '"': case '\'': case '`': case '(': case ')':
    case '[': case ']': case '{': case '}': case '<': case '>': case '|':
    case '\\': case '=': case '!': case '*': case '^':
      return true;
    default:
      return false;
  }
}

// Lower-cases `raw` into `out` and checks it is a DNS name (RFC 1123 labels
// of at most 63 characters, at most 253 in all), dropping one trailing dot.
// IP addresses and all-digit names are rejected: they never name a Service.
bool NormalizeHost(std::string_view raw, std::string* out) {
  if (!raw.empty() && raw.back() == '.') raw.remove_suffix(1);
  if (raw.empty() || raw.size() > 253) return false;
  out->assign(raw.size(), '\0');
  size_t label_len = 0;
  bool all_digits = true;
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == '.') {
      if (label_len == 0 || (*out)[i - 1] == '-') return false;
      label_len = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
      if (c == '-' && label_len == 0) return false;
      if (++label_len > 63) return false;
      if (c < '0' || c > '9') all_digits = false;
    } else {
      return false;  // '_', '%', non-ASCII bytes, ...
    }
    (*out)[i] = c;
  }
  if (label_len == 0 || out->back() == '-') return false;
  if (all_digits) return false;
  if (IsIPv4(*out)) return false;
  return true;
}

class Scanner {
 public:
  explicit Scanner(std::vector<HostRef>* out) : out_(out) {}

  void Value(std::string_view value) {
    std::string_view trimmed = value;
    while (!trimmed.empty() && IsSpace(trimmed.front())) trimmed.remove_prefix(1);
    while (!trimmed.empty() && IsSpace(trimmed.back())) trimmed.remove_suffix(1);
    size_t i = 0;
    while (i < value.size()) {
      while (i < value.size() && IsSeparator(static_cast<unsigned char>(value[i]))) ++i;
      size_t j = i;
      while (j < value.size() && !IsSeparator(static_cast<unsigned char>(value[j]))) ++j;
      if (j > i) {
        const std::string_view word = value.substr(i, j - i);
        Word(word, word.size() == trimmed.size());
      }
      i = j;
    }
  }

 private:
  static bool IsSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  }

  void Word(std::string_view word, bool whole) {
    const size_t scheme = word.find("://");
    bool url = false;
    std::string_view rest = word;
    if (scheme != std::string_view::npos) {
      url = true;
      rest = word.substr(scheme + 3);
    }
    const size_t auth_end = rest.find_first_of("/?#");
    std::string_view auth = rest.substr(0, auth_end);
    const size_t at = auth.rfind('@');
    if (at != std::string_view::npos) auth = auth.substr(at + 1);
    const bool alone = whole && !url && at == std::string_view::npos &&
                       auth_end == std::string_view::npos;
    HostPort(auth, url, alone);
    if (auth_end == std::string_view::npos) return;
    // The path and query may name hosts too (?next=http://x is split at '=').
    std::string_view tail = rest.substr(auth_end);
    size_t i = 0;
    while (i < tail.size()) {
      size_t j = tail.find_first_of("/?#&", i);
      if (j == std::string_view::npos) j = tail.size();
      if (j > i) HostPort(tail.substr(i, j - i), false, false);
      i = j + 1;
    }
  }

  // `auth` is "host", "host:port" or something else; `url` when it is the
  // authority of a URL, `alone` when it is the whole value.
  void HostPort(std::string_view auth, bool url, bool alone) {
    if (auth.empty() || auth.front() == '[') return;  // IPv6 literal
    const size_t colon = auth.find(':');
    std::string_view host = auth;
    std::string_view port;
    bool has_port = false;
    if (colon != std::string_view::npos) {
      if (auth.find(':', colon + 1) != std::string_view::npos) return;  // IPv6 or noise
      host = auth.substr(0, colon);
      port = auth.substr(colon + 1);
      has_port = !port.empty();
    }
    HostRef ref;
    if (!NormalizeHost(host, &ref.host)) return;
    ref.url = url;
    if (has_port) {
      if (ParsePortNumber(port) != 0 || IsPortName(port)) {
        ref.host_position = true;
      } else {
        // "api:70000" is not host:port. Keep it only as a URL host or a
        // qualified name, marked so it never narrows to a port.
        ref.port_valid = false;
        ref.host_position = url;
      }
      ref.port = std::string(port);
    } else {
      ref.host_position = url || (alone && colon == std::string_view::npos);  // not "api:"
    }
    const bool single_label = ref.host.find('.') == std::string::npos;
    if (single_label && !ref.host_position) return;  // an ordinary word
    std::string key = ref.host;
    key += ':';
    key += ref.port;
    auto [it, inserted] = seen_.try_emplace(std::move(key), out_->size());
    if (!inserted) {
      // Seen before: upgrade to host position if this occurrence is one.
      if (ref.host_position) (*out_)[it->second].host_position = true;
      if (ref.url) (*out_)[it->second].url = true;
      return;
    }
    out_->push_back(std::move(ref));
  }

  std::vector<HostRef>* out_;
  std::unordered_map<std::string, size_t> seen_;  // host:port -> index in out_
};

}  // namespace

std::vector<HostRef> FindHostRefs(std::string_view value) {
  std::vector<HostRef> out;
  Scanner(&out).Value(value);
  return out;
}

std::string ReduceToHosts(std::string_view value, bool* exact) {
  std::vector<HostRef> refs = FindHostRefs(value);
  std::erase_if(refs, [](const HostRef& r) {
    return r.host.find('.') == std::string::npos && !r.url;  // could be any word
  });
  std::string out;
  for (const HostRef& r : refs) {
    const bool single = r.host.find('.') == std::string::npos;
    std::string item;
    if (r.port.empty()) {
      item = single ? "tcp://" + r.host : r.host;  // a single label needs host position
    } else if (r.port_valid || !r.host_position) {
      item = r.host + ":" + r.port;
    } else {
      item = "tcp://" + r.host + ":" + r.port;  // keeps host position with a bad port
    }
    if (!out.empty()) out += ' ';
    out += item;
  }
  bool is_exact = false;
  if (refs.size() == 1) {
    const HostRef& r = refs[0];
    const std::string written = r.port.empty() ? r.host : r.host + ":" + r.port;
    is_exact = value == written && r.port_valid && r.host.find('.') != std::string::npos;
  }
  if (exact) *exact = is_exact;
  return is_exact ? std::string(value) : out;
}

}  // namespace npc::synth
