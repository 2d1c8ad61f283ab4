// Byte classes for the hand-written JSON scanners of kube/ (the watch stream
// splitter and the list page decoder): one table lookup per byte tells what
// may change the nesting, and inside strings what may end them.
// Internal to kube/.
#pragma once

#include <array>

namespace npc::kube::json_scan {

// Byte classes outside strings; those below kOpen never change the nesting.
enum : unsigned char { kOther = 0, kSpace, kOpen, kClose, kQuote };

constexpr std::array<unsigned char, 256> MakeClasses() {
  std::array<unsigned char, 256> t{};
  t['{'] = kOpen;
  t['['] = kOpen;
  t['}'] = kClose;
  t[']'] = kClose;
  t['"'] = kQuote;
  t[' '] = kSpace;
  t['\t'] = kSpace;
  t['\r'] = kSpace;
  t['\n'] = kSpace;
  return t;
}
constexpr std::array<unsigned char, 256> kClass = MakeClasses();

// Inside strings only '"' and '\\' matter.
constexpr std::array<unsigned char, 256> MakeStringClasses() {
  std::array<unsigned char, 256> t{};
  t['"'] = 1;
  t['\\'] = 1;
  return t;
}
constexpr std::array<unsigned char, 256> kStringClass = MakeStringClasses();

}  // namespace npc::kube::json_scan
