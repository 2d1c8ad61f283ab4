// Helpers shared by the libFuzzer targets in this folder (see README.md).
//
// FUZZ_CHECK(cond, "details " << value): a property that must hold for every input.
// A failure prints the condition and the details and aborts, which libFuzzer
// reports as a crash and saves as crash-<sha1> (a unit test in the making).
//
// Chunkings(data) gives the ways a stream target feeds the same bytes: whole,
// one byte at a time, and a few cuts drawn from a generator seeded with the
// input's hash (deterministic, so a crash reproduces from the saved input).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace npc::fuzz {

[[noreturn]] inline void Fail(const char* file, int line, const char* cond,
                              const std::string& details) {
  std::fprintf(stderr, "%s:%d: fuzz property failed: %s\n%s\n", file, line, cond, details.c_str());
  std::abort();
}

#define FUZZ_CHECK(cond, ...)                                            \
  do {                                                                   \
    if (!(cond)) {                                                       \
      std::ostringstream fuzz_details_;                                  \
      fuzz_details_ << __VA_ARGS__;                                      \
      ::npc::fuzz::Fail(__FILE__, __LINE__, #cond, fuzz_details_.str()); \
    }                                                                    \
  } while (0)

// Quotes bytes for a failure message (C escapes, shortened beyond `max`).
inline std::string Quote(std::string_view s, size_t max = 2000) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > max) out += "...";
  return out + "\"";
}

// FNV-1a: the seed of the chunking generator.
inline uint64_t Hash(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// The ways to cut `data` into chunks, as lists of chunk lengths: whole; one
// byte at a time; small random chunks (1-16 bytes); mixed small and large
// ones. Every list sums to data.size().
inline std::vector<std::vector<size_t>> Chunkings(std::string_view data) {
  std::vector<std::vector<size_t>> out;
  out.push_back({data.size()});
  out.emplace_back(data.size(), 1);
  uint64_t x = Hash(data) | 1;
  auto next = [&x] {  // xorshift64
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (const size_t big : {size_t{16}, size_t{4096}}) {
    std::vector<size_t> cuts;
    size_t left = data.size();
    while (left > 0) {
      size_t n = 1 + next() % (next() % 4 == 0 ? big : 16);
      if (n > left) n = left;
      cuts.push_back(n);
      left -= n;
    }
    out.push_back(std::move(cuts));
  }
  return out;
}

}  // namespace npc::fuzz
