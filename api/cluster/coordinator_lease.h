// CoordinatorLease: whether a worker may still count itself a member of its group, judged from
// its own side of the network.
//
// The group coordinator expires a member that sent no heartbeat for session.timeout.ms and
// hands its partitions to the others. librdkafka notices that on the member's side only in its
// steady state: a worker cut off while a rebalance is under way (its JoinGroup or SyncGroup
// request unanswered) waits on that request for minutes and keeps its partitions, so its
// connectors would run on two workers at once. The lease closes that hole as Kafka Connect's
// workers do (KAFKA-9184): it runs out when nothing at all came from the coordinator for the
// session timeout, whatever the join state, and the worker then fences itself.
//
// Contact is read from librdkafka's statistics report (statistics.interval.ms): the logical
// "GroupCoordinator" broker's `rxidle` (microseconds since its connection last received bytes,
// -1 while it is down) at the report's `ts`, both on librdkafka's clock, rd_clock(), which is
// CLOCK_MONOTONIC on Linux (NowUs() reads the same clock). The report's `cgrp.join_state` and
// `cgrp.rebalance_cnt` tell whether the worker is still in the generation it was fenced in.
//
// A fence is lifted by a newer group generation (the worker rejoined: ClusterWorker), or by
// Confirmed(): the coordinator answers again and librdkafka stayed steady, with no rebalance,
// for two heartbeat intervals of contact. A member the coordinator had expired cannot pass that
// test: its next heartbeat is refused (unknown member, illegal generation or rebalance in
// progress) and librdkafka leaves its steady state to rejoin.
//
// Thread-safety: none; ClusterWorker uses it on its membership thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::api::cluster {

class CoordinatorLease {
 public:
  // `timeout`: the session timeout; `heartbeat`: the heartbeat interval.
  CoordinatorLease(std::chrono::milliseconds timeout, std::chrono::milliseconds heartbeat)
      : timeout_us_(timeout.count() * 1000), heartbeat_us_(heartbeat.count() * 1000) {}

  // librdkafka's clock (CLOCK_MONOTONIC), in microseconds.
  static int64_t NowUs();

  // The worker is a member as of `at_us` (the coordinator answered its JoinGroup or SyncGroup
  // then): a fence is lifted.
  void Renew(int64_t at_us);
  // Reads one statistics report. An error names what the report lacks; nothing changes then.
  std::optional<std::string> Observe(std::string_view report);

  // How long the coordinator has been silent, once that is longer than the timeout.
  std::optional<std::chrono::milliseconds> Expired(int64_t now_us) const;
  // The worker fenced itself at `now_us`.
  void Fenced(int64_t now_us);
  // After Fenced(): whether the reports since show the worker still a member of its generation
  // (see above). Resets the fence when they do.
  bool Confirmed();
  bool fenced() const { return fenced_at_us_ != 0; }

  // For GET /cluster and metrics: the coordinator's silence at `now_us`, librdkafka's join
  // state ("" before the first report).
  std::chrono::milliseconds Silence(int64_t now_us) const {
    return SilenceSince(contact_us_, now_us);
  }
  // The same from a contact time read off another thread (0: none yet).
  static std::chrono::milliseconds SilenceSince(int64_t contact_us, int64_t now_us);
  int64_t contact_us() const { return contact_us_; }
  const std::string& join_state() const { return join_state_; }

 private:
  const int64_t timeout_us_;
  const int64_t heartbeat_us_;
  int64_t contact_us_ = 0;       // the last time bytes came from the coordinator
  int64_t report_us_ = 0;        // the newest report's ts
  std::string join_state_;
  int64_t rebalances_ = -1;      // cgrp.rebalance_cnt of the newest report
  int64_t fenced_at_us_ = 0;     // 0 while not fenced
  int64_t fenced_rebalances_ = -1;
  int64_t steady_since_us_ = 0;  // since when every report with fresh contact said "steady"
};

}  // namespace sluice::api::cluster
