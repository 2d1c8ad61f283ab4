// Reference extraction: finding host names in pod-template values
// (DESIGN.md section 2). Internal to synth/, exposed for tests.
//
//   std::string v = ExpandVars("$(DB_HOST):$(DB_PORT)", env);  // "db.data:5432"
//   for (const HostRef& r : FindHostRefs(v)) ...                 // {"db.data", "5432"}
//
// Everything here is a pure function over strings, linear in the length of
// its input (hand-written scanners, no regular expressions), so a 1 MB value
// costs about a millisecond. Thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace npc::synth {

using EnvMap = std::unordered_map<std::string, std::string>;

// Expands $(VAR) the way the kubelet does (k8s third_party/forked/golang/
// expansion): "$(NAME)" becomes env[NAME] when NAME is defined and stays
// literal otherwise; "$$" is an escaped "$"; a "$" before anything else, or an
// unterminated "$(", stays literal. Substituted values are not expanded again.
[[nodiscard]] std::string ExpandVars(std::string_view input, const EnvMap& env);

// A host name found in a value.
struct HostRef {
  std::string host;  // lower case, one trailing '.' removed, a valid DNS name
  std::string port;  // as written after ':' ("" when none)
  // False when `port` was written but is not a port (out of range, not a
  // port name): such a reference can never narrow to a Service port.
  bool port_valid = true;
  // The name stands where only a host can stand: the whole value, the host of
  // a URL, or the host of host:port. Only such names may be short Service
  // names (DESIGN.md section 2).
  bool host_position = false;
  // The name is the host of a URL (scheme://host...), somewhere in the value.
  bool url = false;

  auto operator<=>(const HostRef&) const = default;
};

// Finds the host names in `value`: the whole value, host:port, URLs
// (scheme://user:pw@host:port/path?query), items of lists separated by
// commas, semicolons or white space, and values after '=' (flags such as
// --db=db:5432). IP literals are not host names and are skipped; so are
// single-label names outside host position (ordinary words) and anything
// with non-ASCII bytes. Each (host, port) appears once, in order of first
// appearance.
[[nodiscard]] std::vector<HostRef> FindHostRefs(std::string_view value);

// Reduces a value to the host references in it, for values that must not be
// kept (Secrets, DESIGN.md section 4): the items are written so that
// FindHostRefs over the result finds the same host, port and validity, and
// host position wherever it matters (single-label names). Because a secret
// value that merely looks like a name ("s3cr3t", "admin:hunter2") must not
// survive, only qualified names (with a dot) and URL hosts
// (scheme://host[:port]) are kept; a short Service name in a Secret must
// stand in a URL. `*exact`, when given, is set when the whole value is one
// qualified name as written (then the result is the value itself).
[[nodiscard]] std::string ReduceToHosts(std::string_view value, bool* exact = nullptr);

// True when `port` is a valid IANA service name as Kubernetes port names are
// (1-15 characters of [a-z0-9-], at least one letter, no leading, trailing or
// double '-').
[[nodiscard]] bool IsPortName(std::string_view port);

// Parses a port number "1".."65535"; returns 0 for anything else.
[[nodiscard]] int ParsePortNumber(std::string_view s);

// Parses a dotted IPv4 address "a.b.c.d" (no leading '+', each part 0-255).
[[nodiscard]] bool IsIPv4(std::string_view s);

}  // namespace npc::synth
