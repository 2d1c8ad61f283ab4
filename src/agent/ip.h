// IpAddr: an IPv4 or IPv6 address as a small value (hashable, comparable),
// the key of the agent's address maps.
//
//   auto a = IpAddr::Parse("198.18.0.7");      // nullopt when not an address
//   a->ToString();                              // "198.18.0.7"
//   std::unordered_map<IpAddr, int, IpAddrHash> by_ip;
//
// IPv4 addresses are stored as such (not IPv4-mapped IPv6).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace npc::agent {

struct IpAddr {
  uint8_t family = 0;               // AF_INET or AF_INET6; 0: none
  std::array<uint8_t, 16> bytes{};  // network order; IPv4 in the first 4

  static IpAddr V4(uint32_t network_order);
  static IpAddr V6(const uint8_t (&b)[16]);
  [[nodiscard]] static std::optional<IpAddr> Parse(std::string_view text);

  bool valid() const { return family != 0; }
  bool IsLoopback() const;  // 127.0.0.0/8, ::1
  std::string ToString() const;

  bool operator==(const IpAddr& o) const { return family == o.family && bytes == o.bytes; }
  auto operator<=>(const IpAddr& o) const = default;
};

struct IpAddrHash {
  size_t operator()(const IpAddr& a) const {
    uint64_t lo = 0, hi = 0;
    std::memcpy(&lo, a.bytes.data(), 8);
    std::memcpy(&hi, a.bytes.data() + 8, 8);
    uint64_t h = lo * 0x9E3779B97F4A7C15ULL ^ (hi + a.family) * 0xC2B2AE3D27D4EB4FULL;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

}  // namespace npc::agent
