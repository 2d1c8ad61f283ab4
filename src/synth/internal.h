// Small helpers shared by the files of synth/. Not for use outside synth/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/model.h"
#include "synth/synth.h"

namespace npc::synth {

// Expressions sorted, their values sorted and de-duplicated: the same
// selector always renders the same bytes.
[[nodiscard]] LabelSelector CanonicalSelector(LabelSelector s);

// At most 200 bytes of `value`, never cutting a UTF-8 sequence.
[[nodiscard]] std::string CutForDisplay(std::string_view value);

// 64-bit FNV-1a: a stable hash for names (never changes across builds).
[[nodiscard]] uint64_t StableHash(std::string_view s);

// "a/b": the key of a namespaced object (and of other pairs).
[[nodiscard]] std::string JoinKey(std::string_view a, std::string_view b);

// The dot-separated labels of a DNS name ("db.data.svc" -> db, data, svc).
[[nodiscard]] std::vector<std::string_view> SplitLabels(std::string_view host);

// Sorts warnings by workload and message and drops repeats.
void SortWarnings(std::vector<Warning>& warnings);

// Total orders used to sort and de-duplicate results.
[[nodiscard]] bool EdgeLess(const Edge& a, const Edge& b);
[[nodiscard]] bool UnresolvedLess(const Unresolved& a, const Unresolved& b);

// "port http 80 -> targetPort 8080/TCP, port 9090 -> targetPort 9090/TCP", or "all ports".
[[nodiscard]] std::string DescribePorts(const std::vector<ServicePort>& ports);

// `container web env API_URL="http://api:8080" names Service shop/api (port ...)`.
[[nodiscard]] std::string DescribeEdge(const Edge& e);

}  // namespace npc::synth
