// Loading Kubernetes manifests (YAML or JSON) into an npc::Snapshot.
//
//   manifest::Loader loader;
//   if (Status s = loader.AddPath("examples/app"); !s.ok()) return Fail(s);
//   manifest::LoadResult r = std::move(loader).Finish();
//   for (const auto& d : r.diagnostics) std::cerr << d.ToString() << "\n";
//   Synthesize(r.snapshot, config);
//
// Reads files, directories (recursively: *.yaml, *.yml, *.json, in name order)
// and standard input ("-"). A file may hold several YAML documents and
// `kind: List` objects. Objects the snapshot does not need (unknown kinds,
// RBAC...) are ignored quietly; Secrets are kept only as the host names
// their values name (decode.h), and synthesis reads them only with
// SynthesisConfig::read_secrets. Bad input never stops loading: a
// document that is not YAML, or not a Kubernetes object, or an object whose
// fields have the wrong type yields a Diagnostic naming the file, document
// and line, and that document or object is left out; the rest is loaded.
//
// Each object is turned into JSON as kubectl would turn it (YAML 1.1 scalar
// types, see yaml_json.h: `port: "80"` is a string, `value: yes` a boolean) and
// read by decode::Decoder, the decoder the controller reads the cluster with,
// so a field means the same in a manifest as in the cluster. A diagnostic for
// a bad field names the object, the field path and what was found there, at
// the line of that field.
//
// Namespaces that objects live in but that no Namespace object declares are
// added to the snapshot (with the kubernetes.io/metadata.name label, as the
// API server sets it). Objects without metadata.namespace go to
// LoadOptions::default_namespace. When two objects share kind, namespace and
// name, the later one wins (as `kubectl apply` would leave it), with a warning.
//
// Thread-safety: a Loader is not thread-safe; distinct Loaders are independent.
#pragma once

#include <istream>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "common/status.h"
#include "model/model.h"

namespace npc::decode {
class Decoder;
}  // namespace npc::decode

namespace npc::manifest {

struct Diagnostic {
  enum class Severity { kError, kWarning };

  Severity severity = Severity::kError;
  std::string file;  // as given ("-" is shown as "<stdin>")
  int document = 0;  // 1-based index of the YAML document in the file; 0: whole file
  int line = 0;      // 1-based line in the file; 0: unknown
  std::string message;

  // "examples/app/shop.yaml:doc 3:line 12: Deployment shop/api: spec.template...
  // : expected a list, got a scalar"; warnings are prefixed with "warning: ".
  std::string ToString() const;
};

struct LoadOptions {
  std::string default_namespace = "default";
};

struct LoadResult {
  Snapshot snapshot;
  std::vector<Diagnostic> diagnostics;  // in input order
  int documents = 0;                    // non-empty YAML documents read
  int objects = 0;                      // objects put into the snapshot

  // True when any diagnostic is an error (an input document was invalid).
  bool has_errors() const;
};

class Loader {
 public:
  explicit Loader(LoadOptions options = {});
  ~Loader();
  Loader(Loader&&) noexcept;
  Loader& operator=(Loader&&) noexcept;

  // Loads a file, a directory (recursively) or "-" (standard input). Returns
  // NotFound/InvalidArgument when the path cannot be read at all; problems
  // inside the files become diagnostics instead.
  [[nodiscard]] Status AddPath(const std::string& path);

  // Loads manifest text; `source` names it in diagnostics.
  void AddText(std::string_view text, const std::string& source);

  // Loads everything from a stream ("-" uses std::cin).
  void AddStream(std::istream& in, const std::string& source);

  // The snapshot: objects in input order, then the implied namespaces.
  [[nodiscard]] LoadResult Finish() &&;

 private:
  void AddDocument(std::string_view text, const std::string& source, int document, int first_line);
  template <typename T>
  void Store(std::vector<T>& into, const std::string& kind, T object, const Diagnostic& where);

  LoadOptions options_;
  std::unique_ptr<decode::Decoder> decoder_;  // reads every object, as the controller does
  LoadResult result_;
  // (kind, namespace, name) -> index into the matching snapshot vector, to
  // replace duplicates.
  std::map<std::tuple<std::string, std::string, std::string>, size_t> seen_;
};

// Convenience: loads all `paths` (as Loader::AddPath) and finishes. Fails only
// when a path cannot be read.
[[nodiscard]] StatusOr<LoadResult> LoadPaths(const std::vector<std::string>& paths,
                                             const LoadOptions& options = {});

// Convenience for tests: loads one text.
[[nodiscard]] LoadResult LoadText(std::string_view text, const std::string& source = "<text>",
                                  const LoadOptions& options = {});

}  // namespace npc::manifest
