#include "cli/flags.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <cstdio>

namespace npc::cli {
namespace {

// Writes the message JSON-escaped, for --log-format=json.
class JsonMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      switch (c) {
        case '"': dest.append(std::string_view("\\\"")); break;
        case '\\': dest.append(std::string_view("\\\\")); break;
        case '\n': dest.append(std::string_view("\\n")); break;
        case '\t': dest.append(std::string_view("\\t")); break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\u%04x", c);
            dest.append(std::string_view(buf));
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessage>();
  }
};

}  // namespace

void ConfigureLogging(const std::string& format, int verbosity) {
  spdlog::set_level(verbosity >= 2   ? spdlog::level::trace
                    : verbosity == 1 ? spdlog::level::debug
                                     : spdlog::level::info);
  auto logger = spdlog::get("netpol-ctrl");
  if (!logger) logger = spdlog::stderr_color_mt("netpol-ctrl");
  spdlog::set_default_logger(logger);
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (format == "json") {
    formatter->add_flag<JsonMessage>('*').set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","msg":"%*"})");
  } else {
    formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %v");
  }
  spdlog::set_formatter(std::move(formatter));
}

std::optional<std::chrono::milliseconds> ParseDuration(const std::string& text) {
  if (text == "0") return std::chrono::milliseconds(0);
  if (text.empty()) return std::nullopt;
  double total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = i;
    while (end < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == '.')) {
      ++end;
    }
    if (end == i) return std::nullopt;
    double n = 0;
    try {
      size_t used = 0;
      n = std::stod(text.substr(i, end - i), &used);
      if (used != end - i) return std::nullopt;
    } catch (...) {
      return std::nullopt;
    }
    i = end;
    double unit_ms = 0;
    if (text.compare(i, 2, "ms") == 0) {
      unit_ms = 1, i += 2;
    } else if (i < text.size() && text[i] == 's') {
      unit_ms = 1000, i += 1;
    } else if (i < text.size() && text[i] == 'm') {
      unit_ms = 60000, i += 1;
    } else if (i < text.size() && text[i] == 'h') {
      unit_ms = 3600000, i += 1;
    } else {
      return std::nullopt;
    }
    total_ms += n * unit_ms;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(total_ms));
}

}  // namespace npc::cli
