// Fuzz target: host-name extraction from values (synth/refs.h).
//
// Input: text shaped like an env file, `NAME=value` per line (any bytes work).
// Every `NAME=value` line defines env[NAME] = value; then every line, and the
// whole input, is expanded with ExpandVars and scanned with FindHostRefs.
// Properties:
//   - ExpandVars equals a direct transcription of the kubelet's expansion
//     (k8s.io/kubernetes third_party/forked/golang/expansion), which is simple
//     and quadratic where ExpandVars is linear;
//   - every HostRef is a valid lower-case DNS name (RFC 1123 labels, at most
//     253 characters, not all digits, not an IPv4 address) found in the value;
//     its port, when written, appears in the value and port_valid tells
//     whether it is a port number or an IANA port name; single-label names
//     are only reported in host position; no (host, port) is reported twice.
// Linear time is checked by -timeout on large inputs (run with -max_len=65536).
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_util.h"
#include "synth/refs.h"

namespace npc::synth {
namespace {

// Go's expansion.Expand with MappingFuncFor(env): undefined names stay $(NAME).
std::string ReferenceExpand(std::string_view input, const EnvMap& env) {
  std::string buf;
  size_t checkpoint = 0;
  for (size_t cursor = 0; cursor < input.size(); ++cursor) {
    if (input[cursor] != '$' || cursor + 1 >= input.size()) continue;
    buf.append(input.substr(checkpoint, cursor - checkpoint));
    const std::string_view rest = input.substr(cursor + 1);
    size_t advance = 1;
    if (rest[0] == '$') {
      buf += '$';
    } else if (rest[0] == '(') {
      size_t close = std::string_view::npos;
      for (size_t i = 1; i < rest.size(); ++i) {
        if (rest[i] == ')') {
          close = i;
          break;
        }
      }
      if (close == std::string_view::npos) {
        buf += "$(";
      } else {
        const std::string name(rest.substr(1, close - 1));
        auto it = env.find(name);
        buf += it != env.end() ? it->second : "$(" + name + ")";
        advance = close + 1;
      }
    } else {
      buf += '$';
      buf += rest[0];
    }
    cursor += advance;
    checkpoint = cursor + 1;
  }
  buf.append(input.substr(checkpoint));
  return buf;
}

bool ValidHost(const std::string& h) {
  if (h.empty() || h.size() > 253 || h.back() == '.') return false;
  size_t label = 0;
  bool all_digits = true;
  for (size_t i = 0; i < h.size(); ++i) {
    const char c = h[i];
    if (c == '.') {
      if (label == 0 || h[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    if (c == '-' && label == 0) return false;
    if (++label > 63) return false;
    if (c < '0' || c > '9') all_digits = false;
  }
  return label > 0 && h.back() != '-' && !all_digits && !IsIPv4(h);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

void CheckRefs(std::string_view value) {
  const std::vector<HostRef> refs = FindHostRefs(value);
  const std::string lower = Lower(value);
  std::set<std::pair<std::string, std::string>> seen;
  for (const HostRef& r : refs) {
    const std::string what = "value " + fuzz::Quote(value) + ": host " + fuzz::Quote(r.host) +
                             " port " + fuzz::Quote(r.port);
    FUZZ_CHECK(ValidHost(r.host), "not a DNS name: " << what);
    FUZZ_CHECK(lower.find(r.host) != std::string::npos, "not in the value: " << what);
    FUZZ_CHECK(value.find(r.port) != std::string_view::npos, "port not in the value: " << what);
    const bool port_ok = ParsePortNumber(r.port) != 0 || IsPortName(r.port);
    FUZZ_CHECK(r.port_valid == (r.port.empty() || port_ok), "port_valid wrong: " << what);
    FUZZ_CHECK(r.host.find('.') != std::string::npos || r.host_position,
               "a single-label word outside host position: " << what);
    FUZZ_CHECK(seen.emplace(r.host, r.port).second, "reported twice: " << what);
  }
}

}  // namespace
}  // namespace npc::synth

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace npc::synth;  // NOLINT(google-build-using-namespace)
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  EnvMap env;
  std::vector<std::string_view> lines;
  for (size_t at = 0; at <= in.size();) {
    size_t nl = in.find('\n', at);
    if (nl == std::string_view::npos) nl = in.size();
    const std::string_view line = in.substr(at, nl - at);
    lines.push_back(line);
    if (const size_t eq = line.find('='); eq != std::string_view::npos && eq > 0) {
      env[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
    }
    at = nl + 1;
  }
  lines.push_back(in);

  for (const std::string_view line : lines) {
    const std::string got = ExpandVars(line, env);
    // The reference is quadratic on "$($($(...": compare on short lines only.
    const std::string want = line.size() <= 4096 ? ReferenceExpand(line, env) : got;
    FUZZ_CHECK(got == want, "ExpandVars(" << npc::fuzz::Quote(line)
                                          << ") = " << npc::fuzz::Quote(got)
                                          << ", the kubelet makes " << npc::fuzz::Quote(want));
    CheckRefs(line);
    CheckRefs(got);
  }

  // The helpers on their own, on the first line.
  const std::string_view first = lines.front();
  if (const int port = ParsePortNumber(first); port != 0) {
    FUZZ_CHECK(port <= 65535 && first.find_first_not_of("0123456789") == std::string_view::npos &&
                   std::stoi(std::string(first)) == port,
               "ParsePortNumber(" << npc::fuzz::Quote(first) << ") = " << port);
  }
  if (IsPortName(first)) {
    FUZZ_CHECK(first.size() <= 15 && Lower(first) == first && first.find("--") == std::string::npos,
               "IsPortName(" << npc::fuzz::Quote(first) << ")");
  }
  return 0;
}
