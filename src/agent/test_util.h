// Helpers for the agent's unit tests: decoded objects and events built from
// a few words.
#pragma once

#include <netinet/in.h>

#include <string>
#include <vector>

#include "agent/conntrack.h"
#include "decode/decode.h"
#include "model/model.h"

namespace npc::agent::testing {

inline decode::Meta PodMetaOf(const std::string& ns, const std::string& name,
                              const std::string& owner_kind = "", const std::string& owner = "",
                              const std::string& owner_api = "apps/v1") {
  decode::Meta m;
  m.kind = "Pod";
  m.ns = ns;
  m.name = name;
  m.uid = "uid-" + name;
  if (!owner_kind.empty()) {
    m.controller = OwnerReference{owner_api, owner_kind, owner, "uid-" + owner};
  }
  return m;
}

inline decode::PodMeta Running(const std::string& ip, const std::string& node = "node-a") {
  decode::PodMeta p;
  p.ips = {ip};
  p.node_name = node;
  return p;
}

inline decode::Meta ControllerMeta(const std::string& ns, const std::string& name,
                                   const std::string& owner_kind = "",
                                   const std::string& owner = "",
                                   const std::string& owner_api = "apps/v1") {
  decode::Meta m;
  m.ns = ns;
  m.name = name;
  m.uid = "uid-" + name;
  if (!owner_kind.empty()) {
    m.controller = OwnerReference{owner_api, owner_kind, owner, "uid-" + owner};
  }
  return m;
}

inline Service ServiceOf(const std::string& ns, const std::string& name, const std::string& ip,
                         int port, const std::string& proto = "TCP") {
  Service s;
  s.ns = ns;
  s.name = name;
  s.cluster_ips = {ip};
  ServicePort p;
  p.port = port;
  p.protocol = proto;
  s.ports.push_back(p);
  return s;
}

// A connection from src:sport to dst:dport answered by answer:aport.
inline ConnEvent Conn(const std::string& src, const std::string& dst, uint16_t dport,
                      const std::string& answer = "", uint16_t aport = 0,
                      uint8_t proto = IPPROTO_TCP, uint16_t sport = 40000, uint32_t id = 0) {
  ConnEvent e;
  e.protocol = proto;
  e.orig.src = *IpAddr::Parse(src);
  e.orig.dst = *IpAddr::Parse(dst);
  e.orig.sport = sport;
  e.orig.dport = dport;
  e.reply.src = *IpAddr::Parse(answer.empty() ? dst : answer);
  e.reply.dst = e.orig.src;
  e.reply.sport = aport == 0 ? dport : aport;
  e.reply.dport = sport;
  e.id = id;
  return e;
}

}  // namespace npc::agent::testing
