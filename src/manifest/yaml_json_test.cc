#include "manifest/yaml_json.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace npc::manifest {
namespace {

// The JSON of `yaml`, or "error: <message>".
std::string Json(const std::string& yaml) {
  StatusOr<std::string> j = YamlToJson(YAML::Load(yaml));
  return j.ok() ? *j : "error: " + j.status().message();
}

// The JSON one plain or quoted value becomes.
std::string Value(const std::string& v) {
  std::string j = Json("v: " + v);
  if (j.rfind("error: ", 0) == 0) return j;
  return j.substr(5, j.size() - 6);  // {"v":...}
}

TEST(YamlJson, QuotedScalarsAreStringsPlainNumbersAreNumbers) {
  EXPECT_EQ(Value("5432"), "5432");
  EXPECT_EQ(Value("\"5432\""), "\"5432\"");
  EXPECT_EQ(Value("'5432'"), "\"5432\"");
  EXPECT_EQ(Value("!!str 5432"), "\"5432\"");
  EXPECT_EQ(Value("|\n  5432"), "\"5432\"");
  EXPECT_EQ(Value("-7"), "-7");
  EXPECT_EQ(Value("+7"), "7");
  EXPECT_EQ(Value("0"), "0");
  EXPECT_EQ(Value("1_000"), "1000");
  EXPECT_EQ(Value("9223372036854775807"), "9223372036854775807");
  EXPECT_EQ(Value("18446744073709551615"), "18446744073709551615");  // ParseUint
}

TEST(YamlJson, IntegerBasesFollowGoYaml) {
  EXPECT_EQ(Value("0x1F"), "31");
  EXPECT_EQ(Value("0o17"), "15");
  EXPECT_EQ(Value("017"), "15");  // a leading 0 is octal (YAML 1.1)
  EXPECT_EQ(Value("0b101"), "5");
  EXPECT_EQ(Value("08"), "8");  // not octal: a float, written as 8
  EXPECT_EQ(Value("0x"), "\"0x\"");
  EXPECT_EQ(Value("12abc"), "\"12abc\"");
}

TEST(YamlJson, FloatsAreJsonNumbers) {
  EXPECT_EQ(Value("1.5"), "1.5");
  EXPECT_EQ(Value("80.0"), "80");  // reads back as the integer 80, as with kubectl
  EXPECT_EQ(Value("1e3"), "1000");
  EXPECT_EQ(Value(".5"), "0.5");
  EXPECT_EQ(Value("-.5e1"), "-5");
  EXPECT_EQ(Value("1e21"), "1e+21");
  // Whole numbers beyond 64-bit integers get an exponent: JSON readers (the
  // decoder's simdjson) refuse integers that large. (Found by fuzz/yaml_json.)
  EXPECT_EQ(Value("18446744073709551616"), "1.8446744073709552e+19");
  EXPECT_EQ(Value("-18446744073709551616"), "-1.8446744073709552e+19");
  EXPECT_EQ(Value("-9223372036854775809"), "-9223372036854775808");  // rounds to -2^63
  EXPECT_EQ(Value("1e19"), "10000000000000000000");                  // fits a uint64
  EXPECT_EQ(Value("1e400"), "\"1e400\"");  // out of range: a string, as in go-yaml
  EXPECT_EQ(Value("1.2.3"), "\"1.2.3\"");
  EXPECT_EQ(Value("2024-01-01"), "\"2024-01-01\"");  // timestamps stay strings
  EXPECT_EQ(Value(".inf"), "error: v: .inf is not a number JSON can hold");
  EXPECT_EQ(Value("-.Inf"), "error: v: -.Inf is not a number JSON can hold");
  EXPECT_EQ(Value(".NaN"), "error: v: .NaN is not a number JSON can hold");
}

TEST(YamlJson, Yaml11BooleansAndNulls) {
  for (const char* t : {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"}) {
    EXPECT_EQ(Value(t), "true") << t;
  }
  for (const char* f :
       {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"}) {
    EXPECT_EQ(Value(f), "false") << f;
  }
  for (const char* s : {"\"yes\"", "'on'", "tRue", "yES", "oN"}) {
    EXPECT_EQ(Value(s).front(), '"') << s;
  }
  for (const char* n : {"null", "Null", "NULL", "~", ""}) EXPECT_EQ(Value(n), "null") << n;
  EXPECT_EQ(Value("\"null\""), "\"null\"");
  EXPECT_EQ(Value("''"), "\"\"");
  EXPECT_EQ(Value("!!str"), "\"\"");
}

TEST(YamlJson, ExplicitTagsMustFit) {
  EXPECT_EQ(Value("!!int \"7\""), "7");
  EXPECT_EQ(Value("!!float 7"), "7");
  EXPECT_EQ(Value("!!int abc"), "error: v: cannot read \"abc\" as !!int");
  EXPECT_EQ(Value("!!binary aGk="), "error: v: !!binary values are not supported");
  EXPECT_EQ(Value("!custom 7"), "7");
}

TEST(YamlJson, StringsAreEscaped) {
  EXPECT_EQ(Value("\"a\\\"b\\\\c\\n\\t\\x01\""), R"("a\"b\\c\n\t\u0001")");
  EXPECT_EQ(Value("\"\u00e9\u4e2d\""), "\"\u00e9\u4e2d\"");  // UTF-8 passes through
}

// JSON text is UTF-8; yaml-cpp passes bytes that are not through, and they
// are an error at their field. (Found by fuzz/yaml_json.)
TEST(YamlJson, TextMustBeUtf8) {
  EXPECT_EQ(Value("\"a\xff\""), "error: v: is not valid UTF-8 text");
  EXPECT_EQ(Value("a\xc3\x28"), "error: v: is not valid UTF-8 text");
  EXPECT_EQ(Value("'\xed\xa0\x80'"), "error: v: is not valid UTF-8 text");  // a surrogate
  EXPECT_EQ(Json("m:\n  \"k\xfe\": 1\n"), "error: m: is not valid UTF-8 text");
  EXPECT_EQ(Value("\"\\U0001F600 \xe4\xb8\xad\""), "\"\U0001F600 \u4e2d\"");
}

TEST(YamlJson, MapsAndLists) {
  EXPECT_EQ(Json("a: [1, '2', {b: c}]\nd: {}\ne: []\n"),
            R"({"a":[1,"2",{"b":"c"}],"d":{},"e":[]})");
  EXPECT_EQ(Json("- a\n- 1\n"), R"(["a",1])");
  EXPECT_EQ(Json("42"), "42");
}

TEST(YamlJson, KeysBecomeStringsTheWayGoYamlTypesThem) {
  EXPECT_EQ(Json("on: 1\n80: 2\n'on': 3\n0x10: 4\n1.5: 5\n"),
            R"({"true":1,"80":2,"on":3,"16":4,"1.5":5})");
  // go-yaml v2 reads a plain `y` key as the boolean true, so does kubectl.
  EXPECT_EQ(Json("y: 1\nno: 2\n"), R"({"true":1,"false":2})");
  EXPECT_EQ(Json("~: 1\n"), "error: null cannot be a map key in JSON");
  EXPECT_EQ(Json("[a]: 1\n"), "error: a list or object cannot be a map key in JSON");
}

TEST(YamlJson, LaterDuplicateKeysWin) {
  EXPECT_EQ(Json("a: 1\nb: 2\na: 3\n"), R"({"a":3,"b":2})");
}

TEST(YamlJson, MergeKeysFollowGoYamlV2) {
  EXPECT_EQ(Json("base: &b {x: 1, z: 2}\nm:\n  <<: *b\n  x: 3\n"),
            R"({"base":{"x":1,"z":2},"m":{"x":3,"z":2}})");
  // Entries before the merge are overridden by it (go-yaml v2 applies in order).
  EXPECT_EQ(Json("base: &b {x: 1}\nm: {x: 0, <<: *b}\n"), R"({"base":{"x":1},"m":{"x":1}})");
  // In a list of maps, the first one wins.
  EXPECT_EQ(Json("a: &a {x: 1}\nb: &b {x: 2, z: 2}\nm:\n  <<: [*a, *b]\n"),
            R"({"a":{"x":1},"b":{"x":2,"z":2},"m":{"x":1,"z":2}})");
  EXPECT_EQ(Json("'<<': 1\n"), R"({"<<":1})");  // a quoted << is a key
  EXPECT_EQ(Json("m:\n  <<: 5\n"),
            "error: m: a merge key (<<) needs an object or a list of objects");
}

TEST(YamlJson, ErrorsCarryThePathAndTheMark) {
  YAML::Mark mark;
  StatusOr<std::string> j =
      YamlToJson(YAML::Load("spec:\n  ports:\n    - port: 80\n    - port: .inf\n"), &mark);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().message(), "spec.ports[1].port: .inf is not a number JSON can hold");
  EXPECT_EQ(mark.line, 3);
}

TEST(YamlJson, AliasBombsAndDeepNestingAreRefused) {
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev;
    for (int k = 0; k < 9; ++k) bomb += ", " + prev;
    bomb += "]\n";
  }
  EXPECT_NE(Json(bomb).find("more than 4 MiB"), std::string::npos);

  std::string deep(300, '[');
  deep += std::string(300, ']');
  EXPECT_NE(Json(deep).find("nested more than 256 levels deep"), std::string::npos);
}

// Beyond 4 MiB of JSON an object is more than the API server accepts (3 MiB
// request bodies): refused before the alias bomb above costs seconds and
// 64 MiB. (Found by fuzz/yaml_json: a 511-byte document took 50 s under ASan.)
TEST(YamlJson, ObjectsTheApiServerCouldNotTakeAreRefused) {
  const std::string three_mib(3 << 20, 'x');
  EXPECT_EQ(Json("v: " + three_mib).size(), three_mib.size() + 8);
  const std::string five_mib(5 << 20, 'x');
  EXPECT_EQ(Json("a: 1\nv: " + five_mib + "\nw: 2\n"),
            "error: w: the document expands to more than 4 MiB of JSON, more than the API "
            "server accepts (through aliases?)");
}

TEST(YamlJson, FindPathFollowsDecodePaths) {
  const YAML::Node root = YAML::Load(
      "metadata:\n  labels:\n    app.kubernetes.io/name: x\n    app: web\n"
      "spec:\n  ports:\n  - port: 80\n  - name: b\n    port: http\n");
  // (Never assign one yaml-cpp node to another: that rewrites the tree.)
  bool complete = false;
  const YAML::Node port = FindPath(root, "spec.ports[1].port", &complete);
  EXPECT_TRUE(complete);
  EXPECT_EQ(port.Scalar(), "http");
  EXPECT_EQ(port.Mark().line, 8);
  const YAML::Node label = FindPath(root, "metadata.labels.app.kubernetes.io/name", &complete);
  EXPECT_TRUE(complete);
  EXPECT_EQ(label.Scalar(), "x");
  const YAML::Node partial = FindPath(root, "spec.ports[5].port", &complete);
  EXPECT_FALSE(complete);
  EXPECT_TRUE(partial.IsSequence());  // the deepest node found
  const YAML::Node whole = FindPath(root, "", &complete);
  EXPECT_TRUE(complete);
  EXPECT_TRUE(whole.IsMap());
  // A path that names two nodes (a key with a dot beside the object it
  // seems to go through; found by the yaml_json fuzzer) means the longest key.
  const YAML::Node both = YAML::Load("spec.ports: v1\nspec:\n  ports: [1]\n");
  const YAML::Node dotted = FindPath(both, "spec.ports", &complete);
  EXPECT_TRUE(complete);
  EXPECT_EQ(dotted.Scalar(), "v1");
  // Looking things up leaves the tree as it was.
  EXPECT_EQ(Json(YAML::Dump(root)),
            R"({"metadata":{"labels":{"app.kubernetes.io/name":"x","app":"web"}},)"
            R"("spec":{"ports":[{"port":80},{"name":"b","port":"http"}]}})");
}

TEST(YamlJson, DescribeJsonNamesWhatKubernetesWouldSee) {
  const YAML::Node root = YAML::Load("{a: '80', b: 80, c: yes, d: ~, e: [1], f: {}}");
  EXPECT_EQ(DescribeJson(root["a"]), "\"80\"");
  EXPECT_EQ(DescribeJson(root["b"]), "80");
  EXPECT_EQ(DescribeJson(root["c"]), "true");
  EXPECT_EQ(DescribeJson(root["d"]), "null");
  EXPECT_EQ(DescribeJson(root["e"]), "a list");
  EXPECT_EQ(DescribeJson(root["f"]), "an object");
  EXPECT_EQ(DescribeJson(YAML::Load(std::string(50, 'z'))), "\"" + std::string(40, 'z') + "...\"");
}

}  // namespace
}  // namespace npc::manifest
