#include "manifest/yaml_json.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace npc::manifest {
namespace {

constexpr int kMaxDepth = 256;
// The API server refuses request bodies above 3 MiB (and etcd objects above
// 1.5 MiB): no object that kubectl can apply is larger. Aliases can expand a
// small document exponentially; refuse early what would only be refused later.
constexpr size_t kMaxJsonBytes = size_t{4} << 20;
constexpr std::string_view kTagPrefix = "tag:yaml.org,2002:";

// A scalar as go-yaml v2 resolves it. `json` is the JSON literal for numbers,
// booleans and null, the raw text for strings, and the problem for kBad.
struct Scalar {
  enum Type { kNull, kBool, kInt, kFloat, kString, kBad } type = kString;
  std::string json;
};

// strconv.ParseInt(s, 0, 64), falling back to ParseUint(s, 0, 64) as go-yaml
// does: optional sign, then 0x/0o/0b prefixes or a leading 0 for octal.
std::optional<std::string> ParseGoInt(std::string_view s) {
  bool neg = false;
  bool sign = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    sign = true;
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  int base = 10;
  if (s[0] == '0') {
    const char p = s.size() >= 3 ? static_cast<char>(s[1] | 0x20) : '\0';
    if (p == 'b' || p == 'o' || p == 'x') {
      base = p == 'b' ? 2 : p == 'o' ? 8 : 16;
      s.remove_prefix(2);
    } else {
      base = 8;
      s.remove_prefix(1);
    }
  }
  uint64_t v = 0;
  for (char c : s) {
    int d = 0;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
      d = (c | 0x20) - 'a' + 10;
    } else {
      return std::nullopt;
    }
    if (d >= base) return std::nullopt;
    if (v > (UINT64_MAX - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) {
      return std::nullopt;
    }
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  // ParseUint takes no sign; with one, the value must fit an int64.
  if (sign && v > (neg ? uint64_t{1} << 63 : uint64_t{INT64_MAX})) return std::nullopt;
  if (v == 0) return "0";
  return (neg ? "-" : "") + std::to_string(v);
}

// go-yaml's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
bool IsYamlFloat(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  } else {
    if (!digits()) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      digits();
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

// A finite double as Go's encoding/json writes it: plain decimals between
// 1e-6 and 1e21, exponents outside; shortest digits that read back the same.
// One exception: whole numbers outside [-2^63, 2^64) get an exponent too,
// because written plainly they read as integers, and JSON readers such as the
// decoder's simdjson refuse integers beyond 64 bits.
std::string FormatJsonNumber(double v) {
  char buf[64];
  const double a = std::fabs(v);
  const bool beyond_64_bits = v >= 0x1p64 || v < -0x1p63;
  const auto fmt = (a != 0 && (a < 1e-6 || a >= 1e21)) || beyond_64_bits
                       ? std::chars_format::scientific
                       : std::chars_format::fixed;
  const auto r = std::to_chars(buf, buf + sizeof buf, v, fmt);
  return std::string(buf, r.ptr);
}

std::optional<double> ParseFloat(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  double v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(v)) {
    return std::nullopt;  // out of range: strconv.ParseFloat fails too
  }
  return v;
}

// go-yaml v2's resolve() for a plain scalar.
Scalar ResolvePlain(const std::string& in) {
  static const std::unordered_map<std::string_view, Scalar::Type> kWords = {
      {"y", Scalar::kBool},     {"Y", Scalar::kBool},     {"yes", Scalar::kBool},
      {"Yes", Scalar::kBool},   {"YES", Scalar::kBool},   {"true", Scalar::kBool},
      {"True", Scalar::kBool},  {"TRUE", Scalar::kBool},  {"on", Scalar::kBool},
      {"On", Scalar::kBool},    {"ON", Scalar::kBool},    {"n", Scalar::kBool},
      {"N", Scalar::kBool},     {"no", Scalar::kBool},    {"No", Scalar::kBool},
      {"NO", Scalar::kBool},    {"false", Scalar::kBool}, {"False", Scalar::kBool},
      {"FALSE", Scalar::kBool}, {"off", Scalar::kBool},   {"Off", Scalar::kBool},
      {"OFF", Scalar::kBool},   {"", Scalar::kNull},      {"~", Scalar::kNull},
      {"null", Scalar::kNull},  {"Null", Scalar::kNull},  {"NULL", Scalar::kNull},
  };
  if (auto it = kWords.find(in); it != kWords.end()) {
    if (it->second == Scalar::kNull) return {Scalar::kNull, "null"};
    const char c = in[0] | 0x20;
    return {Scalar::kBool,
            (c == 'y' || c == 't' || in == "on" || in == "On" || in == "ON") ? "true" : "false"};
  }
  const char first = in.empty() ? '\0' : in[0];
  if (first == '.' || first == '+' || first == '-') {
    for (std::string_view w : {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf",
                               "-.INF", ".nan", ".NaN", ".NAN"}) {
      if (in == w) return {Scalar::kBad, in + " is not a number JSON can hold"};
    }
  }
  if (first == '.') {
    if (IsYamlFloat(in)) {
      if (auto v = ParseFloat(in)) return {Scalar::kFloat, FormatJsonNumber(*v)};
    }
  } else if (first == '+' || first == '-' || (first >= '0' && first <= '9')) {
    std::string plain;
    plain.reserve(in.size());
    for (char c : in) {
      if (c != '_') plain += c;
    }
    if (auto i = ParseGoInt(plain)) return {Scalar::kInt, *i};
    if (IsYamlFloat(plain)) {
      if (auto v = ParseFloat(plain)) return {Scalar::kFloat, FormatJsonNumber(*v)};
    }
  }
  return {Scalar::kString, in};
}

Scalar ResolveTagged(const YAML::Node& n) {
  const std::string& tag = n.Tag();
  if (n.IsNull()) {
    if (tag == std::string(kTagPrefix) + "str") return {Scalar::kString, ""};
    return {Scalar::kNull, "null"};
  }
  if (tag == "!") return {Scalar::kString, n.Scalar()};  // quoted or block scalar
  if (tag == "?" || tag.empty()) return ResolvePlain(n.Scalar());
  if (tag.compare(0, kTagPrefix.size(), kTagPrefix) != 0) {
    return ResolvePlain(n.Scalar());  // a local tag (!foo): go-yaml resolves the text
  }
  const std::string_view type = std::string_view(tag).substr(kTagPrefix.size());
  if (type == "str") return {Scalar::kString, n.Scalar()};
  if (type == "binary") return {Scalar::kBad, "!!binary values are not supported"};
  Scalar s = ResolvePlain(n.Scalar());
  const bool fits = (type == "int" && s.type == Scalar::kInt) ||
                    (type == "float" && (s.type == Scalar::kFloat || s.type == Scalar::kInt)) ||
                    (type == "bool" && s.type == Scalar::kBool) ||
                    (type == "null" && s.type == Scalar::kNull) ||
                    (type != "int" && type != "float" && type != "bool" && type != "null");
  if (!fits) return {Scalar::kBad, "cannot read \"" + n.Scalar() + "\" as !!" + std::string(type)};
  return s;
}

// A scalar as JSON will hold it. JSON text is UTF-8: a string that is not
// (yaml-cpp passes such bytes through) is an error here, at its field, as
// go-yaml refuses it too.
Scalar Resolve(const YAML::Node& n) {
  Scalar s = ResolveTagged(n);
  if (s.type == Scalar::kString && !simdjson::validate_utf8(s.json.data(), s.json.size())) {
    return {Scalar::kBad, "is not valid UTF-8 text"};
  }
  return s;
}

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

// The JSON key a YAML map key becomes (sigs.k8s.io/yaml stringifies go-yaml's
// typed keys), or an error.
StatusOr<std::string> KeyString(const YAML::Node& key) {
  if (!key.IsScalar() && !key.IsNull()) {
    return InvalidArgument("a list or object cannot be a map key in JSON");
  }
  Scalar s = Resolve(key);
  switch (s.type) {
    case Scalar::kNull: return InvalidArgument("null cannot be a map key in JSON");
    case Scalar::kBad: return InvalidArgument(s.json);
    case Scalar::kFloat: {
      // strconv.FormatFloat(k, 'g', -1, 32): shortest digits of the float32.
      char buf[64];
      const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<float>(std::stod(s.json)),
                                   std::chars_format::general);
      return std::string(buf, r.ptr);
    }
    default: return std::move(s.json);
  }
}

bool IsMergeKey(const YAML::Node& key) {
  return key.IsScalar() && key.Tag() == "?" && key.Scalar() == "<<";
}

struct Entry {
  std::string key;
  YAML::Node value;
};

// The entries of a map as go-yaml v2 would build them: keys stringified, a
// later key replacing an earlier one, merge keys applied in order.
class Entries {
 public:
  Status Collect(const YAML::Node& map, YAML::Mark* error_mark, int depth = 0) {
    if (depth > kMaxDepth) return InvalidArgument("merge keys nested too deeply");
    for (const auto& kv : map) {
      if (IsMergeKey(kv.first)) {
        const YAML::Node& v = kv.second;
        if (v.IsMap()) {
          NPC_RETURN_IF_ERROR(Collect(v, error_mark, depth + 1));
        } else if (v.IsSequence()) {
          for (size_t i = v.size(); i-- > 0;) {  // the first map wins
            if (!v[i].IsMap()) return Bad(v[i], error_mark);
            NPC_RETURN_IF_ERROR(Collect(v[i], error_mark, depth + 1));
          }
        } else {
          return Bad(v, error_mark);
        }
        continue;
      }
      StatusOr<std::string> key = KeyString(kv.first);
      if (!key.ok()) {
        if (error_mark) *error_mark = kv.first.Mark();
        return key.status();
      }
      Set(std::move(*key), kv.second);
    }
    return Status::Ok();
  }
  std::vector<Entry>& list() { return list_; }

 private:
  void Set(std::string key, const YAML::Node& value) {
    auto [it, inserted] = index_.try_emplace(key, list_.size());
    if (inserted) {
      list_.push_back({std::move(key), value});
    } else {
      list_[it->second].value.reset(value);  // reset: never assign yaml-cpp nodes
    }
  }
  static Status Bad(const YAML::Node& n, YAML::Mark* error_mark) {
    if (error_mark) *error_mark = n.Mark();
    return InvalidArgument("a merge key (<<) needs an object or a list of objects");
  }

  std::vector<Entry> list_;
  std::unordered_map<std::string, size_t> index_;
};

class Writer {
 public:
  explicit Writer(YAML::Mark* error_mark) : error_mark_(error_mark) {}

  Status Write(const YAML::Node& n, int depth) {
    if (depth > kMaxDepth) return Fail(n, "nested more than 256 levels deep");
    if (out_.size() > kMaxJsonBytes) {
      return Fail(n,
                  "the document expands to more than 4 MiB of JSON, more than the API server "
                  "accepts (through aliases?)");
    }
    switch (n.Type()) {
      case YAML::NodeType::Map: return WriteMap(n, depth);
      case YAML::NodeType::Sequence: {
        out_ += '[';
        for (size_t i = 0; i < n.size(); ++i) {
          if (i > 0) out_ += ',';
          path_.push_back("[" + std::to_string(i) + "]");
          NPC_RETURN_IF_ERROR(Write(n[i], depth + 1));
          path_.pop_back();
        }
        out_ += ']';
        return Status::Ok();
      }
      case YAML::NodeType::Scalar:
      case YAML::NodeType::Null: {
        Scalar s = Resolve(n);
        if (s.type == Scalar::kBad) return Fail(n, s.json);
        if (s.type == Scalar::kString) {
          AppendJsonString(out_, s.json);
        } else {
          out_ += s.json;
        }
        return Status::Ok();
      }
      case YAML::NodeType::Undefined: break;
    }
    out_ += "null";
    return Status::Ok();
  }

  std::string& out() { return out_; }

 private:
  Status WriteMap(const YAML::Node& n, int depth) {
    Entries entries;
    if (Status s = entries.Collect(n, error_mark_); !s.ok()) {
      return InvalidArgument(Path() + s.message());
    }
    out_ += '{';
    bool first = true;
    for (Entry& e : entries.list()) {
      if (!first) out_ += ',';
      first = false;
      AppendJsonString(out_, e.key);
      out_ += ':';
      path_.push_back(path_.empty() ? e.key : "." + e.key);
      NPC_RETURN_IF_ERROR(Write(e.value, depth + 1));
      path_.pop_back();
    }
    out_ += '}';
    return Status::Ok();
  }

  std::string Path() const {
    std::string p;
    for (const std::string& s : path_) p += s;
    return p.empty() ? p : p + ": ";
  }
  Status Fail(const YAML::Node& n, const std::string& problem) {
    if (error_mark_) *error_mark_ = n.Mark();
    return InvalidArgument(Path() + problem);
  }

  YAML::Mark* error_mark_;
  std::string out_;
  std::vector<std::string> path_;
};

}  // namespace

StatusOr<std::string> YamlToJson(const YAML::Node& node, YAML::Mark* error_mark) {
  Writer w(error_mark);
  NPC_RETURN_IF_ERROR(w.Write(node, 0));
  return std::move(w.out());
}

YAML::Node FindPath(const YAML::Node& root, std::string_view path, bool* complete) {
  YAML::Node cur(root);
  while (!path.empty()) {
    if (path[0] == '[') {
      const size_t close = path.find(']');
      size_t i = 0;
      if (close == std::string_view::npos || !cur.IsSequence() ||
          std::from_chars(path.data() + 1, path.data() + close, i).ptr != path.data() + close ||
          i >= cur.size()) {
        break;
      }
      cur.reset(cur[i]);
      path.remove_prefix(close + 1);
    } else {
      if (!cur.IsMap()) break;
      Entries entries;
      (void)entries.Collect(cur, nullptr);  // keys up to a bad one still count
      const Entry* best = nullptr;
      for (const Entry& e : entries.list()) {
        const std::string& k = e.key;
        if (path.substr(0, k.size()) == k &&
            (path.size() == k.size() || path[k.size()] == '.' || path[k.size()] == '[') &&
            (!best || k.size() > best->key.size())) {
          best = &e;
        }
      }
      if (!best) break;
      cur.reset(best->value);
      path.remove_prefix(best->key.size());
    }
    if (!path.empty() && path[0] == '.') path.remove_prefix(1);
  }
  *complete = path.empty();
  return cur;
}

std::string DescribeJson(const YAML::Node& node) {
  if (node.IsMap()) return "an object";
  if (node.IsSequence()) return "a list";
  Scalar s = Resolve(node);
  if (s.type == Scalar::kString) {
    std::string out;
    AppendJsonString(out, s.json.size() > 40 ? s.json.substr(0, 40) + "..." : s.json);
    return out;
  }
  if (s.type == Scalar::kBad) return "\"" + node.Scalar() + "\"";
  return s.json;
}

}  // namespace npc::manifest
