#include "cli/config_file.h"

#include <yaml-cpp/yaml.h>

#include <set>

namespace npc::cli {
namespace {

// The long name an argument sets ("--mode=audit" -> "mode"), or "".
std::string FlagName(const std::string& arg) {
  if (arg.rfind("--", 0) != 0 || arg.size() <= 2) return "";
  std::string name = arg.substr(2);
  if (auto eq = name.find('='); eq != std::string::npos) name.resize(eq);
  return name;
}

}  // namespace

Status ExpandConfigFile(const CLI::App& sub, size_t sub_index, std::vector<std::string>& args,
                        const CLI::App* also_known) {
  std::string path;
  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > sub_index && args[i] == "--config") {
      if (i + 1 >= args.size()) return InvalidArgument("--config needs a file");
      path = args[++i];
    } else if (i > sub_index && args[i].rfind("--config=", 0) == 0) {
      path = args[i].substr(9);
    } else {
      rest.push_back(args[i]);
    }
  }
  args = std::move(rest);
  if (path.empty()) return Status::Ok();

  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return InvalidArgument("config file " + path + ": cannot be read");
  } catch (const YAML::Exception& e) {
    return InvalidArgument("config file " + path + ": line " + std::to_string(e.mark.line + 1) +
                           ": not YAML: " + e.msg);
  }
  if (!root || root.IsNull()) return Status::Ok();
  if (!root.IsMap()) return InvalidArgument("config file " + path + ": expected a map of flags");

  std::set<std::string> given;
  for (size_t i = sub_index + 1; i < args.size(); ++i) given.insert(FlagName(args[i]));

  std::vector<std::string> problems;
  std::vector<std::string> flags;
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    const CLI::Option* opt = sub.get_option_no_throw("--" + key);
    if (!opt && also_known && also_known->get_option_no_throw("--" + key) && key != "help" &&
        key != "config") {
      continue;  // a flag of the command the file was written for
    }
    if (!opt || key == "help" || key == "config") {
      problems.push_back(key + ": not a flag of `" + sub.get_name() + "`");
      continue;
    }
    if (given.count(key)) continue;  // the command line wins
    const YAML::Node& v = kv.second;
    std::vector<std::string> values;
    if (v.IsScalar()) {
      values.push_back(v.as<std::string>());
    } else if (v.IsSequence()) {
      for (const auto& e : v) {
        if (!e.IsScalar()) {
          problems.push_back(key + ": expected a list of values");
          values.clear();
          break;
        }
        values.push_back(e.as<std::string>());
      }
    } else if (!v.IsNull()) {
      problems.push_back(key + ": expected a value or a list");
      continue;
    }
    if (opt->get_expected_min() == 0) {  // a flag without a value: true/false
      if (values.size() != 1 || (values[0] != "true" && values[0] != "false")) {
        problems.push_back(key + ": expected true or false");
      } else if (values[0] == "true") {
        flags.push_back("--" + key);
      }
      continue;
    }
    for (const auto& value : values) flags.push_back("--" + key + "=" + value);
  }
  if (!problems.empty()) {
    std::string msg = "config file " + path + ":";
    for (const auto& p : problems) msg += "\n  " + p;
    return InvalidArgument(msg);
  }
  args.insert(args.begin() + static_cast<std::ptrdiff_t>(sub_index) + 1, flags.begin(),
              flags.end());
  return Status::Ok();
}

}  // namespace npc::cli
