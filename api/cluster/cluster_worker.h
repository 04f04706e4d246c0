// ClusterWorker: one worker of `sluice serve --cluster`. It owns the cluster's state store
// (api/cluster/kafka_state_store.h) and the worker's membership in the Kafka consumer group
// cluster.group.id, subscribed to the assignments topic. The group protocol assigns partitions
// of that topic to the workers; connector c runs on the worker that holds partition
// AssignmentPartition(c). Nothing is ever produced to the assignments topic: its partitions are
// only the unit of work the group protocol hands out.
//
// Rebalances: before giving up partitions (revocation, or an assignment the client declares
// lost after session.timeout.ms without a heartbeat) the worker stops the connectors of those
// partitions and waits until they flushed and committed their positions; before starting the
// connectors of new partitions it catches its state view up with the topics, so it resumes
// from the position the previous owner committed. Changes other workers write to the configs
// topic reach the local Supervisor through Supervisor::Reload. Every few seconds the worker
// writes a heartbeat record (its partitions and running connectors) to the status topic;
// GET /cluster shows them.
//
// Cut off: librdkafka declares the assignment lost only when its session expires in its steady
// state; the worker also fences itself when its CoordinatorLease runs out (nothing came from the
// group coordinator for session.timeout.ms, whatever the join state: coordinator_lease.h), and
// takes its partitions back once the coordinator confirms it still a member, or it rejoins.
//
// Restarts: POST …/restart on a worker that does not own the connector writes a restart request
// to the configs topic (KafkaStateStore::RequestRestart, key "restart-connector-<name>", as
// Kafka Connect does); the owner's housekeeping thread sees it, restarts the connector and
// writes the request's tombstone. A request still pending when a worker takes the connector's
// partition (a replay read at start-up, or one written while the owner was gone) is dropped
// with a tombstone without a restart: the connector starts anew there anyway. A request for a
// deleted connector is dropped too (DeleteConnector also tombstones it), so a request never
// restarts a connector twice and never brings a deleted one back.
//
// Lifecycle: Create() (topics checked, state read) -> ConfigureSupervisor() -> Start() ->
// Stop() (after Supervisor::Shutdown: leaves the group, removes its heartbeat record).
// Thread-safety: every public method is thread-safe; one membership thread polls the group
// and runs the rebalance callbacks, a housekeeping thread applies other workers' changes and
// writes the heartbeat.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "api/cluster/cluster_options.h"
#include "api/cluster/coordinator_lease.h"
#include "api/cluster/kafka_state_store.h"
#include "api/cluster/view_refresh.h"
#include "api/supervisor.h"
#include "connectors/kafka/client/kafka_client.h"
#include "core/metrics.h"

namespace sluice::api::cluster {

// Which connector failures a worker retries with backoff: the retriable ones, and a PostgreSQL
// slot held by another process (the previous owner, until its stream ends).
bool ClusterRetriable(const core::Status& status);

class ClusterWorker {
 public:
  // Checks (or creates) the topics and reads the cluster's state. kInvalidArgument for bad
  // options, kFailedPrecondition for a topic that is missing or set up wrong, kUnavailable when
  // the brokers do not answer.
  static core::Result<std::unique_ptr<ClusterWorker>> Create(ClusterOptions options,
                                                             std::string worker_id,
                                                             core::MetricsRegistry* metrics);
  ~ClusterWorker();  // Stop()

  KafkaStateStore* store() { return store_.get(); }
  // Sets the cluster hooks of the Supervisor's options (`owns`, `remote_status`,
  // `forward_restart`, `retriable`, `refresh_missing`) to this worker's.
  void ConfigureSupervisor(SupervisorOptions& options);
  // Joins the group. `supervisor` (started) must outlive Stop().
  core::Status Start(Supervisor* supervisor);
  // Leaves the group (the others take its partitions at once) and removes its heartbeat.
  // Idempotent.
  void Stop();

  // GET /cluster: this worker, its membership ("membership": state, since_unix_ms, generation),
  // the partitions it holds and the connectors running here now ("partitions", "running"),
  // every worker's last heartbeat (partitions, connectors, "alive"), and each connector's
  // partition and owner.
  nlohmann::json ClusterJson() const;
  bool Owns(const std::string& connector) const;

 private:
  ClusterWorker(ClusterOptions options, std::string worker_id, core::MetricsRegistry* metrics);
  static int OnStats(rd_kafka_t* rk, char* json, size_t json_len, void* opaque);
  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque);
  void Rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                 rd_kafka_topic_partition_list_t* partitions);
  void MembershipLoop(std::stop_token stop);
  // Reloads changed connectors and writes the heartbeat record, off the membership thread.
  void HousekeepingLoop(std::stop_token stop);
  void Heartbeat();
  // Carries out (or drops) the restart requests that arrived, on the housekeeping thread.
  void HandleRestarts();
  std::optional<RemoteStatus> RemoteStatusOf(const std::string& connector) const;
  bool WorkerAlive(const nlohmann::json& record, int64_t now_ms) const;
  void CatchUpView();
  // Records the membership, sets the generation the state store stamps on status records (-1
  // while lost) and fences the store while lost. `generation` is ignored for "lost".
  void SetMembership(const std::string& state, int32_t generation);
  // Follows the group's generation (on the membership thread).
  void RefreshGeneration();
  // Fences this worker when its lease ran out, and lifts that fence when the coordinator
  // confirms it still a member (on the membership thread).
  void EnforceLease();
  // Takes `partitions` (assigned by librdkafka) as this worker's again; a pending restart
  // request of their connectors is dropped, as for newly assigned partitions.
  void Own(const std::set<int32_t>& partitions);
  // The partitions of librdkafka's current assignment.
  std::set<int32_t> Assigned() const;
  // After a fence of the lease is lifted: owns what librdkafka still assigns and starts its
  // connectors now.
  void Reclaim();
  static constexpr std::chrono::milliseconds kRefreshInterval{100};

  ClusterOptions options_;
  const std::string worker_id_;
  core::MetricsRegistry* metrics_;
  std::unique_ptr<KafkaStateStore> store_;
  kafka::client::KafkaHandle consumer_;
  Supervisor* supervisor_ = nullptr;
  // Catches the state view up before a request is answered "not found" (read-your-writes
  // across workers), at most once per kRefreshInterval.
  ViewRefresh view_refresh_{[this] { CatchUpView(); }, kRefreshInterval};

  mutable std::mutex mu_;  // guards owned_, membership_, reloads_, restarts_, stale_restarts_
  std::set<int32_t> owned_;
  // This worker's membership: "joining" (before it joined), "member", or "lost" (the session
  // expired: its connectors were stopped and its state store fenced until it rejoins).
  struct Membership {
    std::string state = "joining";
    int64_t since_unix_ms = 0;
    int32_t generation = -1;  // the last group generation it was a member of
    // From librdkafka's statistics (CoordinatorLease): when the coordinator last spoke, and
    // librdkafka's join state.
    int64_t coordinator_contact_us = 0;
    std::string join_state;
  } membership_;
  CoordinatorLease lease_;  // membership thread only
  std::deque<std::string> reloads_;  // connectors changed in the configs topic, to Reload
  std::deque<std::string> restarts_;  // connectors with a new restart request
  // Requests pending when this worker took the connector's partition: name, requested_unix_ms.
  std::vector<std::pair<std::string, int64_t>> stale_restarts_;
  std::atomic<bool> stopped_{false};
  std::atomic<bool> heartbeat_now_{false};  // a rebalance changed what the heartbeat shows
  std::jthread membership_thread_;
  std::jthread housekeeping_thread_;
};

}  // namespace sluice::api::cluster
