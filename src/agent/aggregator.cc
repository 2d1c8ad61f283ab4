#include "agent/aggregator.h"

#include <netinet/in.h>

#include <utility>

namespace npc::agent {

Attribution Attribute(const ConnEvent& e, const AddressMap::View& map, bool final_try) {
  Attribution a;
  auto proto = observedflows::ProtocolFromNumber(e.protocol);
  if (!proto) {
    a.verdict = Attribution::Verdict::kOtherProto;
    return a;
  }
  auto client = map.FindPod(e.orig.src);
  if (!client) {
    a.verdict = final_try ? Attribution::Verdict::kNotAPod : Attribution::Verdict::kRetry;
    return a;
  }
  if (!client->local) {
    a.verdict = Attribution::Verdict::kRemote;
    return a;
  }
  a.client = *client;
  ServerView& s = a.server;
  s.protocol = *proto;
  s.port = e.reply.sport;
  if (auto server = map.FindPod(e.reply.src)) {
    s.type = PeerType::kWorkload;
    s.workload = server->workload;
    s.pod_created = server->created;
    if (server->owner_pending && !final_try) {
      a.verdict = Attribution::Verdict::kRetry;
      return a;
    }
  } else {
    s.type = PeerType::kExternal;
    s.address = e.reply.src;
  }
  // Translated (kube-proxy's DNAT): was the original destination a Service?
  if (!(e.orig.dst == e.reply.src) || e.orig.dport != e.reply.sport) {
    s.service = map.FindService(e.orig.dst, e.orig.dport, e.protocol);
  }
  if (client->owner_pending && !final_try) {
    a.verdict = Attribution::Verdict::kRetry;
    return a;
  }
  a.verdict = Attribution::Verdict::kFlow;
  return a;
}

Aggregator::Aggregator(const AddressMap& map, AggregatorOptions options, const WallClock& wall,
                       const Clock& clock, AgentMetrics& metrics)
    : map_(map),
      options_(options),
      wall_(wall),
      clock_(clock),
      metrics_(metrics),
      table_(options.table),
      last_forget_(clock.Now()) {}

void Aggregator::Count(const Attribution& a, WallTime now, uint64_t connections) {
  switch (table_.Add(a.client.workload, a.server, now, connections)) {
    case FlowTable::AddResult::kCounted:
    case FlowTable::AddResult::kNew: metrics_.counted.Inc(static_cast<double>(connections)); break;
    case FlowTable::AddResult::kDroppedMaxFlows:
      metrics_.dropped_max_flows.Inc(static_cast<double>(connections));
      break;
    case FlowTable::AddResult::kDroppedPerWorkload:
      metrics_.dropped_per_workload.Inc(static_cast<double>(connections));
      break;
  }
}

void Aggregator::OnEvents(std::span<const ConnEvent> events) {
  const WallTime wall_now = wall_.Now();
  const Clock::TimePoint now = clock_.Now();
  metrics_.events.Inc(static_cast<double>(events.size()));
  std::lock_guard<std::mutex> lock(mu_);
  AddressMap::View view = map_.Read();
  for (const ConnEvent& e : events) {
    if (!dumped_ids_.empty() && e.id != 0 && dumped_ids_.erase(e.id) > 0) {
      metrics_.duplicates.Inc();
      continue;
    }
    Attribution a = Attribute(e, view, /*final_try=*/false);
    switch (a.verdict) {
      case Attribution::Verdict::kFlow: Count(a, wall_now); break;
      case Attribution::Verdict::kRetry:
        if (retrying_.size() >= options_.max_retrying) {
          // Full: judge the oldest now.
          Attribution old = Attribute(retrying_.front().event, view, /*final_try=*/true);
          if (old.verdict == Attribution::Verdict::kFlow) {
            Count(old, wall_now);
          } else if (old.verdict == Attribution::Verdict::kRemote) {
            metrics_.ignored_remote_client.Inc();
          } else {
            metrics_.ignored_not_a_pod.Inc();
          }
          retrying_.pop_front();
        }
        retrying_.push_back({e, now});
        break;
      case Attribution::Verdict::kRemote: metrics_.ignored_remote_client.Inc(); break;
      case Attribution::Verdict::kNotAPod:
      case Attribution::Verdict::kOtherProto: metrics_.ignored_not_a_pod.Inc(); break;
    }
  }
  metrics_.flows.Set(static_cast<double>(table_.flows()));
}

void Aggregator::RetryDue(bool all) {
  if (retrying_.empty()) return;
  const Clock::TimePoint now = clock_.Now();
  const WallTime wall_now = wall_.Now();
  AddressMap::View view = map_.Read();
  std::deque<Retrying> keep;
  for (Retrying& r : retrying_) {
    const bool final_try = all || now - r.since >= options_.retry_for;
    Attribution a = Attribute(r.event, view, final_try);
    switch (a.verdict) {
      case Attribution::Verdict::kFlow: Count(a, wall_now); break;
      case Attribution::Verdict::kRetry: keep.push_back(r); break;
      case Attribution::Verdict::kRemote: metrics_.ignored_remote_client.Inc(); break;
      case Attribution::Verdict::kNotAPod:
      case Attribution::Verdict::kOtherProto: metrics_.ignored_not_a_pod.Inc(); break;
    }
  }
  retrying_.swap(keep);
}

void Aggregator::OnOverflow(uint64_t lost_total) {
  if (lost_total > lost_seen_) {
    metrics_.events_lost.Inc(static_cast<double>(lost_total - lost_seen_));
    lost_seen_ = lost_total;
  }
  resync_requested_ = true;
}

void Aggregator::OnIdle() {
  const Clock::TimePoint now = clock_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  RetryDue(/*all=*/false);
  if (!dumped_ids_.empty()) {
    std::erase_if(dumped_ids_,
                  [&](const auto& item) { return now - item.second >= options_.dump_dedupe_for; });
  }
  if (options_.forget_after.count() > 0 && now - last_forget_ >= std::chrono::minutes(1)) {
    last_forget_ = now;
    const size_t n = table_.Forget(wall_.Now() - options_.forget_after);
    metrics_.flows_forgotten.Inc(static_cast<double>(n));
  }
  UpdateGauges();
}

void Aggregator::FlushRetries() {
  std::lock_guard<std::mutex> lock(mu_);
  RetryDue(/*all=*/true);
  UpdateGauges();
}

void Aggregator::Load(const std::vector<observedflows::ObservedFlows>& objects,
                      std::string_view node) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const observedflows::ObservedFlows& o : objects) {
    for (const observedflows::NodeReport& n : o.nodes) {
      if (n.node == node) table_.Load(o, n, clock_.Now(), wall_.Now());
    }
  }
  UpdateGauges();
}

StatusOr<Aggregator::DumpResult> Aggregator::ApplyDump(const DumpFn& dump, DumpKind kind,
                                                       bool timestamps) {
  std::lock_guard<std::mutex> lock(mu_);
  AddressMap::View view = map_.Read();
  const uint32_t epoch = table_.NewEpoch();
  const WallTime wall_now = wall_.Now();
  const Clock::TimePoint now = clock_.Now();
  DumpResult result;
  Status s = dump([&](const ConnEvent& e) {
    Attribution a = Attribute(e, view, /*final_try=*/true);
    if (a.verdict != Attribution::Verdict::kFlow) return;
    if (e.start_ns > 0) {
      // Older than the pod that has the address now: another pod's (an
      // address reused while the entry lived). Its owner is unknowable.
      const auto before = [&](int64_t created) {
        return created > 0 && e.start_ns < static_cast<uint64_t>(created) * 1000000000ULL;
      };
      if (before(a.client.created) ||
          (a.server.type == PeerType::kWorkload && before(a.server.pod_created))) {
        ++result.stale;
        return;
      }
    }
    ++result.entries;
    bool count = !table_.KnownBefore(a.client.workload, a.server, epoch);
    if (!count && kind == DumpKind::kStartup && timestamps && e.start_ns > 0) {
      // Started after the last write that counted this client's flows.
      auto until = table_.LoadedUntil(a.client.workload);
      count =
          until.has_value() &&
          e.start_ns > static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                 until->time_since_epoch())
                                                 .count());
    }
    if (!count) return;
    Count(a, wall_now);
    ++result.counted;
    metrics_.resync_connections.Inc();
    if (e.id != 0 && dumped_ids_.size() < options_.max_dump_ids) dumped_ids_[e.id] = now;
  });
  if (kind == DumpKind::kResync) metrics_.resyncs.Inc();
  UpdateGauges();
  if (!s.ok()) return s;
  return result;
}

std::vector<FlowTable::Report> Aggregator::TakeDue(Clock::Duration interval,
                                                   std::string_view node) {
  std::lock_guard<std::mutex> lock(mu_);
  auto due = table_.TakeDue(clock_.Now(), interval, wall_.Now(), node);
  UpdateGauges();
  return due;
}

void Aggregator::Failed(uint32_t client_id) {
  std::lock_guard<std::mutex> lock(mu_);
  table_.Failed(client_id);
  UpdateGauges();
}

void Aggregator::UpdateGauges() {
  metrics_.flows.Set(static_cast<double>(table_.flows()));
  metrics_.pending_reports.Set(static_cast<double>(table_.dirty_clients()));
}

}  // namespace npc::agent
