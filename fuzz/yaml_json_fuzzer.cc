// Fuzz target: YAML -> JSON (manifest/yaml_json.h) and the manifest loader
// around it (manifest/manifest.h).
//
// Input: manifest text, one or more YAML documents. Properties, for every
// document yaml-cpp parses:
//   - YamlToJson either fails with a message or gives valid JSON (simdjson's
//     DOM parser is the judge);
//   - converting is idempotent: that JSON, read back as YAML and converted
//     again, is the same JSON value;
//   - FindPath agrees with YamlToJson: for paths into the JSON value (keys
//     without '.', '[' or ']'), FindPath finds a node, that node converts to
//     the same JSON value as the one at the path, and DescribeJson tells a
//     string, a list and an object apart as JSON does.
// Then the whole text goes through manifest::LoadText (YAML, JSON, the object
// decoder, the error paths back to YAML lines): no crash, every diagnostic
// has a message, a document number and a line that exist in the input.
#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_util.h"
#include "manifest/manifest.h"
#include "manifest/yaml_json.h"

namespace npc::manifest {
namespace {

namespace dom = simdjson::dom;

constexpr size_t kMaxRecheckBytes = 16 << 10;  // re-read only small outputs (speed)
constexpr int kMaxPaths = 64;

std::string Minified(const dom::element& e) {
  return simdjson::minify(e);
}

// The same JSON value: numbers compared as numbers (-0 is 0, 1e2 is 100).
bool SameValue(const dom::element& a, const dom::element& b) {
  const bool an = a.is_number();
  if (an || b.is_number()) {
    return an && b.is_number() && a.get_double().value() == b.get_double().value();
  }
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case dom::element_type::ARRAY: {
      dom::array x = a.get_array().value();
      dom::array y = b.get_array().value();
      if (x.size() != y.size()) return false;
      for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j) {
        if (!SameValue(*i, *j)) return false;
      }
      return true;
    }
    case dom::element_type::OBJECT: {
      dom::object x = a.get_object().value();
      dom::object y = b.get_object().value();
      if (x.size() != y.size()) return false;
      for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j) {
        if (i.key() != j.key() || !SameValue(i.value(), j.value())) return false;
      }
      return true;
    }
    default: return Minified(a) == Minified(b);
  }
}

// Decode-style paths ("spec.ports[0].port") to values inside `e`, with the
// element at each path.
void Paths(const dom::element& e, const std::string& path,
           std::vector<std::pair<std::string, dom::element>>* out) {
  if (out->size() >= kMaxPaths) return;
  if (!path.empty()) out->emplace_back(path, e);
  if (e.is_array()) {
    const dom::array a = e.get_array().value();
    size_t i = 0;
    for (dom::element c : a) {
      Paths(c, path + "[" + std::to_string(i++) + "]", out);
    }
  } else if (e.is_object()) {
    const dom::object o = e.get_object().value();
    // A key with a dot or bracket makes the paths through its siblings
    // ambiguous ({"spec.ports": 1, "spec": {"ports": 2}}: FindPath takes the
    // longest key, as label keys like app.kubernetes.io/name need), so no
    // path goes through such an object.
    for (auto [k, v] : o) {
      if (k.empty() || k.find_first_of(".[]") != std::string_view::npos) return;
    }
    for (auto [k, v] : o) {
      Paths(v, path.empty() ? std::string(k) : path + "." + std::string(k), out);
    }
  }
}

bool Ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x7f; });
}

void CheckDocument(const YAML::Node& doc) {
  YAML::Mark mark;
  const StatusOr<std::string> json = YamlToJson(doc, &mark);
  (void)DescribeJson(doc);
  if (!json.ok()) {
    FUZZ_CHECK(!json.status().message().empty(), "an error without a message");
    return;
  }
  dom::parser parser;
  dom::element value;
  const auto ec = parser.parse(*json).get(value);
  FUZZ_CHECK(!ec, "not valid JSON (" << simdjson::error_message(ec) << "): " << fuzz::Quote(*json));
  if (json->size() > kMaxRecheckBytes) return;

  // JSON is YAML: converting it again changes nothing. (Non-ASCII text is
  // left out: YAML 1.1 reads some code points, such as U+0085, as line
  // breaks, which JSON strings may hold raw.)
  if (Ascii(*json)) {
    YAML::Node again;
    bool parsed = true;
    try {
      again = YAML::Load(*json);
    } catch (const YAML::Exception&) {
      parsed = false;  // yaml-cpp limits (e.g. 1024-character implicit keys)
    }
    if (parsed) {
      const StatusOr<std::string> json2 = YamlToJson(again);
      FUZZ_CHECK(json2.ok(), "the JSON " << fuzz::Quote(*json) << " does not convert again: "
                                         << json2.status().ToString());
      dom::parser parser2;
      dom::element value2;
      FUZZ_CHECK(!parser2.parse(*json2).get(value2), "not valid JSON: " << fuzz::Quote(*json2));
      FUZZ_CHECK(SameValue(value, value2),
                 "converted twice: " << fuzz::Quote(*json) << " then " << fuzz::Quote(*json2));
    }
  }

  // FindPath and DescribeJson agree with the conversion.
  std::vector<std::pair<std::string, dom::element>> paths;
  Paths(value, "", &paths);
  for (const auto& [path, want] : paths) {
    bool complete = false;
    const YAML::Node at = FindPath(doc, path, &complete);
    FUZZ_CHECK(complete,
               "FindPath(" << fuzz::Quote(path) << ") incomplete in " << fuzz::Quote(*json));
    const StatusOr<std::string> sub = YamlToJson(at);
    FUZZ_CHECK(sub.ok(),
               "the node at " << path << " does not convert: " << sub.status().ToString());
    dom::parser p;
    dom::element got;
    FUZZ_CHECK(!p.parse(*sub).get(got), "not JSON at " << path << ": " << fuzz::Quote(*sub));
    FUZZ_CHECK(SameValue(got, want),
               "at " << fuzz::Quote(path) << ": " << fuzz::Quote(*sub) << " but the document has "
                     << fuzz::Quote(Minified(want)) << " in " << fuzz::Quote(*json));
    const std::string described = DescribeJson(at);
    const char* expect = want.is_object() ? "an object" : want.is_array() ? "a list" : nullptr;
    if (expect != nullptr) {
      FUZZ_CHECK(described == expect, path << " described as " << described);
    } else {
      FUZZ_CHECK((described[0] == '"') == want.is_string(), path << " described as " << described);
    }
  }
}

std::vector<std::string> SplitDocuments(const std::string& text) {
  std::vector<std::string> docs(1);
  for (size_t at = 0; at < text.size();) {
    size_t nl = text.find('\n', at);
    nl = nl == std::string::npos ? text.size() : nl + 1;
    const std::string_view line(text.data() + at, nl - at);
    if (line.substr(0, 3) == "---" &&
        docs.back().find_first_not_of(" \t\r\n") != std::string::npos) {
      docs.emplace_back();
    }
    docs.back() += line;
    at = nl;
  }
  return docs;
}

}  // namespace
}  // namespace npc::manifest

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace npc::manifest;  // NOLINT(google-build-using-namespace)
  const std::string text(reinterpret_cast<const char*>(data), size);

  // Each document on its own, split at "---" lines as the loader splits them.
  // (Not YAML::LoadAll: yaml-cpp 0.7's loops forever on "{}," and the like,
  // jbeder/yaml-cpp#1040; netpol-ctrl never calls it.)
  for (const std::string& doc : SplitDocuments(text)) {
    YAML::Node root;
    try {
      root = YAML::Load(doc);
    } catch (const YAML::Exception&) {
      continue;
    }
    CheckDocument(root);
  }

  const LoadResult r = LoadText(text, "<fuzz>");
  const int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  for (const Diagnostic& d : r.diagnostics) {
    FUZZ_CHECK(!d.message.empty() && d.file == "<fuzz>", d.ToString());
    FUZZ_CHECK(d.document >= 1 && d.document <= r.documents, d.ToString());
    FUZZ_CHECK(d.line >= 0 && d.line <= lines, d.ToString()
                                                   << " (the input has " << lines << " lines)");
  }
  FUZZ_CHECK(r.objects <=
                 static_cast<int>(r.snapshot.workloads.size() + r.snapshot.services.size() +
                                  r.snapshot.endpoint_slices.size() + r.snapshot.ingresses.size() +
                                  r.snapshot.config_maps.size() + r.snapshot.namespaces.size()),
             "objects counted but not in the snapshot");
  return 0;
}
