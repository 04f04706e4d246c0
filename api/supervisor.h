// Supervisor: owns the connectors of `sluice serve`. Each connector has its config, its desired
// state (RUNNING, PAUSED, STOPPED, persisted in the StateStore so that it survives a restart of
// the server), at most one core::Pipeline, a ProgressTracker, and its last error.
//
// A reconcile thread drives every connector toward its desired state: it starts a pipeline for a
// RUNNING connector that has none, asks a pipeline to stop when the connector is paused, stopped,
// reconfigured or restarted, and reaps pipelines that ended. A pipeline that ended with an error
// makes the connector FAILED with the error as its trace; a retriable error (kUnavailable,
// kAborted, kDeadlineExceeded) is retried automatically with exponential backoff (1 s doubling to
// 60 s), anything else waits for POST /connectors/{name}/restart or a new config. While a retry
// is pending (here, or inside a running pipeline) the connector stays RUNNING, a state Kafka
// Connect clients understand, and the trace shows the attempt, the next retry time and the last
// error. A one-shot connector (snapshot.mode=initial_only) that finished becomes STOPPED.
//
// Server objects: no two connectors may share a server object that one of them must own alone
// (core::Source::ExclusiveServerObjects: a PostgreSQL slot or publication). Create and PUT
// refuse such a config (kInvalidArgument naming the other connector); at start the connector
// created later is refused (FAILED). Delete drops what the connector created on the source
// unless slot.drop.on.delete=false, and logs what it left.
// Pause and stop both stop the pipeline (it flushes and commits its position): Sluice keeps no
// pipeline resources while paused, so PAUSED and STOPPED differ only in what they tell the
// operator and in that offsets may be changed only when STOPPED.
//
// Shutdown() is the gate used on SIGTERM: it refuses new work (mutations return kUnavailable),
// asks every pipeline to stop (they flush and commit) and waits for them, without changing the
// desired states, so that the connectors come back as they were at the next start.
//
// Thread-safety: every public method is thread-safe; calls that stop a pipeline wait for it
// (bounded) without holding locks that other calls need.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "api/plugins.h"
#include "core/config.h"
#include "core/metrics.h"
#include "core/pipeline.h"
#include "core/progress.h"
#include "core/state_store.h"

namespace sluice::api {

// Builds a connector's source and sink from its config (BuildConnector in production; tests pass
// fakes).
using ConnectorBuilder = std::function<core::Result<BuiltConnector>(
    const core::ConnectorConfig&, core::MetricsRegistry*, core::ProgressTracker*)>;

// Validates a config's keys and values without building anything (ValidateConfig by default).
using ConfigValidator = std::function<core::Status(const core::ConnectorConfig&)>;

// Builds a connector's source alone, for administrative calls on a connector that is not
// running (see BuildSource). `metrics` outlives the source.
using SourceBuilder = std::function<core::Result<std::unique_ptr<core::Source>>(
    const core::ConnectorConfig&, core::MetricsRegistry*)>;

// BuildSource when `builder` is empty (production), else the source of what `builder` builds
// (tests pass fakes).
SourceBuilder SourceBuilderFor(const ConnectorBuilder& builder);

// Builds `config`'s source and releases the server objects it created (see
// core::Source::ReleaseServerObjects); logs and returns what was dropped and what was left.
// Never fails: an error (server unreachable) is logged as a warning with what was left.
std::string ReleaseConnectorObjects(const SourceBuilder& build, const core::ConnectorConfig& config,
                                    const std::optional<core::SourcePosition>& stored, bool drop);

// What another worker reported of a connector it runs (cluster mode).
struct RemoteStatus {
  std::string state;  // RUNNING, FAILED, UNASSIGNED, ...
  std::string trace;
  std::string worker_id;
};

struct SupervisorOptions {
  std::string worker_id = "127.0.0.1:8083";  // reported in statuses, as Kafka Connect does
  // Cluster mode (api/cluster/cluster_worker.h). When `owns` is set, a pipeline runs here only
  // for the connectors it returns true for; the others show what `remote_status` returns (or
  // UNASSIGNED). Unset (single node): every connector runs here.
  std::function<bool(const std::string&)> owns;
  std::function<std::optional<RemoteStatus>(const std::string&)> remote_status;
  // Cluster mode: Restart of a connector that `owns` returns false for calls this instead (it
  // asks the owning worker to restart it).
  std::function<core::Status(const std::string&)> forward_restart;
  // Cluster mode: called when a request names a connector this worker's view does not hold
  // (before the answer "not found", and before a create); it brings the view up to date with
  // the state topics and loads that connector if it exists (ClusterWorker: ViewRefresh).
  std::function<void(const std::string&)> refresh_missing;
  // Which failures restart with backoff; unset: core::Status::IsRetriable. Cluster mode adds a
  // slot held by another process (the previous owner, until its stream ends).
  std::function<bool(const core::Status&)> retriable;
  ConnectorBuilder builder;                  // default: BuildConnector
  ConfigValidator validator;                 // default: ValidateConfig
  SourceBuilder source_builder;              // default: SourceBuilderFor(builder)
  std::chrono::milliseconds restart_backoff_initial{1000};
  std::chrono::milliseconds restart_backoff_max{60000};
  std::chrono::milliseconds reconcile_interval{100};
  std::chrono::milliseconds stop_timeout{60000};  // longest wait for a pipeline to stop
};

// What the API shows of one connector (a copy).
struct ConnectorView {
  std::string name;
  core::ConnectorConfig config;  // unredacted: redact before showing
  std::string target_state;      // RUNNING, PAUSED, STOPPED
  std::string state;             // UNASSIGNED, RUNNING, PAUSED, STOPPED, FAILED
  std::string trace;             // error text when FAILED
  std::string worker_id;
  core::ProgressSnapshot progress;
  uint64_t events_written = 0;
  int restart_attempts = 0;      // automatic restarts since the last healthy run
};

class Supervisor {
 public:
  Supervisor(core::StateStore* store, core::MetricsRegistry* metrics, SupervisorOptions options);
  ~Supervisor();  // Shutdown()
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Loads the stored connectors and starts the reconcile thread (RUNNING connectors start and
  // resume from their committed positions). Call once.
  core::Status Start();

  // kAlreadyExists when the name is taken, kInvalidArgument for a bad config (names the key).
  // `initial_state` (RUNNING, PAUSED or STOPPED, as Kafka Connect's POST /connectors takes it):
  // STOPPED lets offsets be set (PATCH …/offsets) before the connector first runs.
  core::Result<ConnectorView> Create(core::ConnectorConfig config,
                                     const std::string& initial_state = "RUNNING");
  // Create or replace (restarts a running connector). *created tells which.
  core::Result<ConnectorView> PutConfig(const std::string& name, core::ConnectorConfig config,
                                        bool* created);
  core::Result<ConnectorView> Get(const std::string& name) const;
  std::vector<std::string> Names() const;

  // Lifecycle; kNotFound for an unknown name. They return at once: the reconcile thread does the
  // work (a stopping pipeline flushes and commits first).
  core::Status Pause(const std::string& name);
  core::Status Resume(const std::string& name);
  core::Status Stop(const std::string& name);
  core::Status Restart(const std::string& name);
  // Stops the pipeline (waits for it), drops the server objects the connector created (unless
  // slot.drop.on.delete=false; an unreachable source does not stop the deletion), removes the
  // connector, its position, history and metrics. `*released` (optional) gets what was dropped
  // and what was left on the source server.
  core::Status Delete(const std::string& name, std::string* released = nullptr);

  // Offsets: the position committed in the state store. Changing it needs the connector STOPPED
  // (kFailedPrecondition otherwise). An exactly-once database sink also stores the position in
  // the target, and the pipeline resumes from that one: these calls do not change it.
  core::Result<std::optional<core::SourcePosition>> GetOffset(const std::string& name) const;
  core::Status ResetOffset(const std::string& name);
  // Checks the position with the source first (core::Source::CheckOffset: kInvalidArgument with
  // the reason; `force` allows moving a PostgreSQL slot forward, which is irreversible).
  core::Status AlterOffset(const std::string& name, const core::SourcePosition& position,
                           bool force = false);
  // GET /connectors/{name}/offsets: the "offsets" array of Kafka Connect's answer, empty or one
  // {"partition", "offset"} entry in the source's shape (core::Source::ExportOffset: Debezium's
  // for PostgreSQL and MySQL). kNotFound for an unknown name.
  core::Result<nlohmann::json> ShowOffsets(const std::string& name);
  // PATCH /connectors/{name}/offsets: Kafka Connect's body
  //   {"offsets": [{"partition": {"server": …}, "offset": {…} | null}], "force": true|false}
  // with the offset as ShowOffsets gives it (or as Debezium's connector of the same kind holds
  // it), or Sluice's own {"position": "<text>"}; the partition's server is the source's
  // (topic.prefix) or the connector's name. A null offset resets. kInvalidArgument for any other
  // shape, an offset the source cannot import, or a partition of another connector; then as
  // ResetOffset / AlterOffset.
  core::Status PatchOffsets(const std::string& name, const nlohmann::json& body);

  // The incremental snapshots of a running connector (POST/GET/DELETE …/snapshots).
  // kNotFound for an unknown name; kFailedPrecondition when it is not running (nothing reads
  // its source); kInvalidArgument when its source has no incremental snapshots.
  core::Result<std::shared_ptr<core::IncrementalSnapshots>> IncrementalSnapshots(
      const std::string& name) const;

  // Cluster mode (api/cluster/supervisor_cluster.cc).
  // Stops the pipelines of the connectors that `owns` no longer returns true for and waits for
  // them (they flush and commit their positions): called before a worker gives up partitions.
  void ReleaseUnowned();
  // Brings the connector `name` in line with the state store after another worker changed it:
  // adds it, applies a new config or target state, or stops and forgets a deleted one (and, when
  // it ran here, drops the server objects it created, as the worker that took the DELETE could
  // not while this one streamed).
  void Reload(const std::string& name);
  // The names of the connectors with a pipeline here.
  std::vector<std::string> RunningHere() const;
  // Reconcile every connector now instead of at the next tick (cluster mode: this worker was
  // just assigned partitions).
  void Wake();

  // Sets the state and snapshot-progress gauges in the metrics registry (call before rendering).
  void UpdateGauges();

  // The SIGTERM gate (see the class comment). Idempotent.
  void Shutdown();
  bool accepting() const;
  // The number of connectors, read without the lock (for /healthz).
  size_t ConnectorCount() const { return connector_count_.load(); }

  const std::string& worker_id() const { return options_.worker_id; }

 private:
  struct Entry;

  // The connector a request names, or null. In cluster mode a name missing from this worker's
  // view is looked up again after options_.refresh_missing (must be called without mu_ held).
  std::shared_ptr<Entry> Find(const std::string& name) const;
  std::shared_ptr<Entry> FindLocal(const std::string& name) const;  // this worker's view only
  // Create; `view_refreshed`: the caller already ran refresh_missing for this name.
  core::Result<ConnectorView> CreateEntry(core::ConnectorConfig config,
                                          const std::string& initial_state, bool view_refreshed);
  // A source built from the connector's config for the offsets calls (never started).
  core::Result<std::unique_ptr<core::Source>> AdminSource(const std::string& name);
  core::Status CheckAccepting() const;
  core::Status SetTarget(const std::string& name, const std::string& target);
  ConnectorView ViewLocked(const Entry& e) const;
  void ReconcileLoop(std::stop_token stop);
  void Reconcile(Entry& e);
  void StartPipelineLocked(Entry& e);
  // Keeps the source's retention watch (core::Source::WatchRetention) for a connector that this
  // worker owns and no pipeline runs: the slot's WAL keeps growing while it is paused, stopped
  // or failed, and its status and metrics show it. Rebuilt at most once a minute when missing.
  void WatchIdleLocked(Entry& e, bool owned);
  // Waits for a pipeline asked to stop (warning when it takes over stop_timeout), logs how it
  // ended and drops it. Needs e.mu.
  void FinishStopLocked(Entry& e);
  // Whether a connector that failed with `status` restarts with backoff (options_.retriable).
  bool Retriable(const core::Status& status) const;
  // The exclusive server objects of `config` (empty when its source cannot be built).
  std::vector<std::string> ExclusiveObjects(const core::ConnectorConfig& config,
                                            const std::optional<core::SourcePosition>& stored);
  // kInvalidArgument when another connector (older than `created_unix_ms` only, when
  // `only_older`) holds one of `objects`. Needs mu_.
  core::Status CheckNoClashLocked(const std::string& name, const std::vector<std::string>& objects,
                                  bool only_older, int64_t created_unix_ms) const;
  void RecordStatus(const std::string& name, const std::string& state, const std::string& trace);

  core::StateStore* store_;
  core::MetricsRegistry* metrics_;
  SupervisorOptions options_;

  mutable std::mutex mu_;  // guards entries_; Shutdown also flips accepting_ under it
  // Serialises UpdateGauges with the removal of a deleted connector's series: GetGauge hands out
  // references that RemoveSeriesWithLabel would free under a concurrent /metrics request.
  std::mutex gauges_mu_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  // For sources built only to answer administrative calls (their metrics are never shown).
  core::MetricsRegistry admin_metrics_;
  // Atomics so that /healthz answers without mu_, which Create holds across an fsync'd write.
  std::atomic<bool> accepting_{true};
  std::atomic<size_t> connector_count_{0};
  bool started_ = false;

  std::mutex wake_mu_;
  std::condition_variable_any wake_cv_;
  bool wake_ = false;
  std::jthread reconcile_thread_;
};

}  // namespace sluice::api
