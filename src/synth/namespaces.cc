#include "synth/namespaces.h"

#include <algorithm>
#include <cctype>

namespace npc::synth {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A label key or value as Kubernetes allows it (loosely: no spaces, no
// selector syntax), so that typos fail instead of matching nothing.
bool ValidToken(std::string_view s, bool allow_empty) {
  if (s.empty()) return allow_empty;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == '/';
  });
}

}  // namespace

NamespaceDecision DecideNamespace(std::string_view ns, const Namespace* object,
                                  const SynthesisConfig& config) {
  NamespaceDecision d;
  const std::string name(ns);
  auto not_managed = [&](std::string why) {
    d.managed = false;
    d.why_not = std::move(why);
    return d;
  };
  const auto& ex = config.excluded_namespaces;
  if (std::find(ex.begin(), ex.end(), name) != ex.end()) {
    return not_managed("namespace " + name + " is excluded");
  }
  if (object) {
    auto it = object->annotations.find(std::string(kIgnoreAnnotation));
    if (it != object->annotations.end() && Lower(it->second) == "true") {
      return not_managed("namespace " + name + " is annotated " + std::string(kIgnoreAnnotation) +
                         "=true");
    }
  }
  Labels labels = object ? object->labels : Labels{};
  labels.emplace(std::string(kNamespaceNameLabel), name);  // the API server always sets it
  if (auto it = labels.find(std::string(kModeLabel)); it != labels.end()) {
    const std::string v = Lower(std::string(Trim(it->second)));
    if (v == "off") {
      return not_managed("namespace " + name + " is labelled " + std::string(kModeLabel) + "=off");
    }
    if (v == "enforce") {
      d.mode = Mode::kEnforce;
    } else {
      d.mode = Mode::kAudit;
      if (v != "audit") {
        d.warning = "namespace " + name + ": label " + std::string(kModeLabel) + "=" +
                    it->second + " is none of audit, enforce, off; the namespace is treated " +
                    "as audit";
      }
    }
  }
  if (config.namespace_selector && !Matches(*config.namespace_selector, labels)) {
    d.mode.reset();
    d.warning.clear();
    return not_managed("namespace " + name + " does not match --namespace-selector");
  }
  return d;
}

StatusOr<LabelSelector> ParseLabelSelector(std::string_view text) {
  LabelSelector sel;
  auto bad = [&](std::string_view item, const std::string& why) {
    return InvalidArgument("label selector \"" + std::string(text) + "\": \"" +
                           std::string(Trim(item)) + "\": " + why);
  };
  // Split on commas outside parentheses.
  std::vector<std::string_view> items;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || (text[i] == ',' && depth == 0)) {
      items.push_back(text.substr(start, i - start));
      start = i + 1;
    } else if (text[i] == '(') {
      ++depth;
    } else if (text[i] == ')') {
      --depth;
    }
  }
  if (depth != 0) return InvalidArgument("label selector \"" + std::string(text) + "\": unbalanced parentheses");
  if (items.size() == 1 && Trim(items[0]).empty()) return sel;  // everything
  for (std::string_view raw : items) {
    const std::string_view item = Trim(raw);
    if (item.empty()) return bad(raw, "empty requirement");
    // Set-based: key in (a,b) / key notin (a,b).
    if (const size_t paren = item.find('('); paren != std::string_view::npos) {
      if (item.back() != ')') return bad(item, "expected ')' at the end");
      std::string_view head = Trim(item.substr(0, paren));
      const size_t sp = head.find_last_of(" \t");
      if (sp == std::string_view::npos) return bad(item, "expected KEY in (...) or KEY notin (...)");
      const std::string_view key = Trim(head.substr(0, sp));
      const std::string op(Trim(head.substr(sp + 1)));
      if (op != "in" && op != "notin") return bad(item, "expected in or notin, got " + op);
      if (!ValidToken(key, false)) return bad(item, "not a label key");
      LabelSelectorRequirement r{std::string(key), op == "in" ? "In" : "NotIn", {}};
      std::string_view values = item.substr(paren + 1, item.size() - paren - 2);
      for (size_t pos = 0; pos <= values.size();) {
        size_t comma = values.find(',', pos);
        if (comma == std::string_view::npos) comma = values.size();
        const std::string_view v = Trim(values.substr(pos, comma - pos));
        if (!ValidToken(v, true)) return bad(item, "not a label value: " + std::string(v));
        r.values.emplace_back(v);
        pos = comma + 1;
      }
      std::sort(r.values.begin(), r.values.end());
      r.values.erase(std::unique(r.values.begin(), r.values.end()), r.values.end());
      sel.match_expressions.push_back(std::move(r));
      continue;
    }
    if (item.front() == '!') {
      const std::string_view key = Trim(item.substr(1));
      if (!ValidToken(key, false)) return bad(item, "not a label key");
      sel.match_expressions.push_back({std::string(key), "DoesNotExist", {}});
      continue;
    }
    if (const size_t ne = item.find("!="); ne != std::string_view::npos) {
      const std::string_view key = Trim(item.substr(0, ne));
      const std::string_view value = Trim(item.substr(ne + 2));
      if (!ValidToken(key, false)) return bad(item, "not a label key");
      if (!ValidToken(value, true)) return bad(item, "not a label value");
      sel.match_expressions.push_back({std::string(key), "NotIn", {std::string(value)}});
      continue;
    }
    if (const size_t eq = item.find('='); eq != std::string_view::npos) {
      const std::string_view key = Trim(item.substr(0, eq));
      std::string_view value = item.substr(eq + 1);
      if (!value.empty() && value.front() == '=') value.remove_prefix(1);
      value = Trim(value);
      if (!ValidToken(key, false)) return bad(item, "not a label key");
      if (!ValidToken(value, true)) return bad(item, "not a label value");
      auto [it, inserted] = sel.match_labels.emplace(std::string(key), std::string(value));
      if (!inserted && it->second != value) {
        return bad(item, "key " + std::string(key) + " already requires another value");
      }
      continue;
    }
    if (!ValidToken(item, false)) return bad(item, "not a label key");
    sel.match_expressions.push_back({std::string(item), "Exists", {}});
  }
  std::sort(sel.match_expressions.begin(), sel.match_expressions.end());
  return sel;
}

}  // namespace npc::synth
