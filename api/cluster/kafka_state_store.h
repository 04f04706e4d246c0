// KafkaStateStore: the StateStore (core/state_store.h) of cluster mode, kept in three Kafka
// topics in Kafka Connect's layout, with a materialized view in memory on every worker:
//
//   configs  key "connector-<name>": {"config": "<flat config JSON>", "target_state",
//            "created_unix_ms"}; key "sync-<id>": a sync job; key "restart-connector-<name>":
//            a restart request (Kafka Connect's KIP-745 key) {"only-failed", "include-tasks",
//            "requested_unix_ms", "worker_id"}, tombstoned once the owner carried it out;
//            null value = deleted.
//   offsets  key = connector name, value = the committed SourcePosition text; null = cleared.
//   status   key "status-<name>": {"state", "trace", "ts_unix_ms", "worker_id", "generation"},
//            one record per status change (the view keeps the newest kStatusHistoryMax per
//            connector, read from the log; after a real broker compacted the topic only the last
//            one remains); null = history deleted. "generation" is the consumer-group generation
//            in which the writer was assigned the connector (-1: it had lost its membership).
//            Records are ordered by generation, then by the log: a record of an older generation
//            than the newest in the view, written by another worker, is dropped (a worker that
//            lost the connector, e.g. behind a network partition, writes its last status late,
//            after the new owner's), unless it is stamped more than kGenerationResetMs after
//            that newest record (the group was deleted and its generations began again). A
//            record without "generation" (written before it existed) is always taken.
//            Key "worker-<worker_id>": the worker's heartbeat {"worker_id", "partitions",
//            "connectors", "generation", "ts_unix_ms"}; null = the worker left.
//
// Every worker reads every topic to its end at Open() and then tails them (api/cluster/
// topic_log.h): reads answer from the view, writes go to the topics and return once this
// worker's view shows them. The configs topic holds passwords as the SQLite file does: restrict
// it with ACLs to the workers.
//
// Atomicity: a call writes one record, except DeleteConnector: offsets, then status, then the
// configs tombstone, so that a delete cut short by a crash leaves a connector without position
// (it starts again from its snapshot), never a stale position that a new connector of the same
// name would resume. Concurrent writers on different workers: the last record wins (as in
// Kafka Connect), except for status records (by generation, above).
//
// Thread-safety: thread-safe. The connector listener runs on the reader thread: it must return
// quickly and must not call this store's write methods.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "api/cluster/topic_log.h"
#include "core/state_store.h"

namespace sluice::api::cluster {

struct KafkaStateStoreOptions {
  std::map<std::string, std::string> client;  // librdkafka properties (bootstrap.servers, …)
  std::string key_prefix = "cluster.";        // how errors name a client property
  std::string configs_topic;
  std::string offsets_topic;
  std::string status_topic;
  std::string worker_id;  // written into every status record
  std::chrono::milliseconds timeout{30000};
};

// A connector's latest status record, with the worker that wrote it.
struct OwnedStatus {
  core::StatusRecord record;
  std::string worker_id;
};

class KafkaStateStore final : public core::StateStore {
 public:
  // How much later than the newest status record a record of an older generation must be
  // stamped to be taken (the group started its generations again).
  static constexpr int64_t kGenerationResetMs = 60 * 60 * 1000;

  // Reads the topics to their end. kFailedPrecondition for a missing topic, kUnavailable when
  // the brokers do not answer, kInvalidArgument for a bad client property.
  static core::Result<std::unique_ptr<KafkaStateStore>> Open(KafkaStateStoreOptions options);
  ~KafkaStateStore() override;

  core::Status PutConnector(const core::StoredConnector& connector) override;
  core::Result<std::optional<core::StoredConnector>> GetConnector(const std::string& name) override;
  core::Result<std::vector<core::StoredConnector>> ListConnectors() override;
  core::Status SetTargetState(const std::string& name, const std::string& target_state) override;
  core::Status DeleteConnector(const std::string& name) override;

  core::Result<std::optional<core::SourcePosition>> LoadPosition(
      const std::string& connector) override;
  core::Status SavePosition(const std::string& connector,
                            const core::SourcePosition& position) override;
  // The copy of a position the sink keeps with its data (Sink::StoresPosition) goes out without
  // waiting for the broker or the reader (TopicLog::Send): SavePosition's round trip through
  // the topic, on the sink thread after every flush, buys nothing for a copy that resume does not
  // read. The view has it at once; a copy that fails to land is logged and replaced by the next.
  // Until the reader has read the copies still in flight, a store opened elsewhere (a worker
  // taking the connector over) sees an older copy: that connector resumes from its sink's
  // position all the same.
  core::Status SavePositionCopy(const std::string& connector,
                                const core::SourcePosition& position) override;
  core::Status ClearPosition(const std::string& connector) override;

  core::Status AppendStatus(const std::string& connector, const core::StatusRecord& record) override;
  core::Result<std::vector<core::StatusRecord>> StatusHistory(const std::string& connector,
                                                              size_t limit) override;

  core::Status PutSync(const core::SyncRecord& sync) override;
  core::Result<std::optional<core::SyncRecord>> GetSync(const std::string& id) override;
  core::Result<std::vector<core::SyncRecord>> ListSyncs() override;

  // Cluster extras.
  // The newest status record of `connector` and the worker that wrote it.
  std::optional<OwnedStatus> LastStatus(const std::string& connector) const;
  // Worker heartbeats: Put replaces this worker's record, Remove writes its tombstone.
  core::Status PutWorker(const nlohmann::json& record);
  core::Status RemoveWorker();
  std::map<std::string, nlohmann::json> Workers() const;
  // Called with a connector's name whenever its config record changes (from any worker).
  void SetConnectorListener(std::function<void(const std::string&)> listener);
  // Waits until the view holds everything the topics held when called.
  core::Status CatchUp(std::chrono::milliseconds timeout) { return log_->CatchUp(timeout); }
  const std::string& worker_id() const { return options_.worker_id; }
  // While `reason` is not empty, every write is refused at once naming it (TopicLog::Fence).
  void Fence(std::string reason) { log_->Fence(std::move(reason)); }
  // The generation stamped on the status records this worker writes from now on.
  void SetGeneration(int32_t generation) { generation_ = generation; }
  int32_t generation() const { return generation_.load(); }

  // Restart requests (cluster_worker.h says who writes and who carries them out).
  core::Status RequestRestart(const std::string& connector);
  // The pending request's requested_unix_ms, if any.
  std::optional<int64_t> PendingRestart(const std::string& connector) const;
  std::vector<std::string> PendingRestarts() const;
  core::Status ClearRestart(const std::string& connector);
  // Called with a connector's name when a restart request for it arrives (not for tombstones).
  void SetRestartListener(std::function<void(const std::string&)> listener);

 private:
  struct StatusEntry {
    core::StatusRecord record;
    std::string worker_id;
    std::optional<int64_t> generation;  // nullopt: a record without one
  };

  explicit KafkaStateStore(KafkaStateStoreOptions options) : options_(std::move(options)) {}
  void Apply(const TopicRecord& record);
  void ApplyConfig(const TopicRecord& record);
  void ApplyStatus(const TopicRecord& record);
  // Whether `record` must not replace `newest` (the ordering above).
  static bool Stale(const StatusEntry& record, const StatusEntry& newest);
  core::Status WriteConnector(const core::StoredConnector& connector);

  KafkaStateStoreOptions options_;
  std::unique_ptr<TopicLog> log_;
  // Serialises this process's read-modify-write calls on the configs topic.
  std::mutex write_mu_;
  std::atomic<int32_t> generation_{-1};
  mutable std::mutex mu_;  // guards the views below
  std::map<std::string, core::StoredConnector> connectors_;
  std::map<std::string, core::SyncRecord> syncs_;
  std::map<std::string, std::string> positions_;
  std::map<std::string, std::deque<StatusEntry>> statuses_;  // newest last
  std::map<std::string, nlohmann::json> workers_;
  std::function<void(const std::string&)> listener_;
  std::map<std::string, int64_t> restarts_;  // pending restart requests: requested_unix_ms
  std::function<void(const std::string&)> restart_listener_;
};

}  // namespace sluice::api::cluster
