#include "api/cluster/cluster_worker.h"

#include <cstring>

#include "api/cluster/cluster_topics.h"
#include "core/clock.h"
#include "core/logging.h"

namespace sluice::api::cluster {

namespace {

constexpr auto kHeartbeatInterval = std::chrono::seconds(2);
// How often librdkafka reports its statistics, which carry the coordinator's contact for the
// lease: a report can be this late, so a worker could fence itself this much early.
constexpr int kLeaseReportIntervalMs = 250;

// The group heartbeat: five per session, at most one per 100 ms.
std::chrono::milliseconds GroupHeartbeatInterval(const ClusterOptions& o) {
  return std::chrono::milliseconds(std::max(o.session_timeout_ms / 5, 100));
}

std::map<std::string, std::string> ClientSettings(const ClusterOptions& o,
                                                  const std::string& worker_id) {
  std::map<std::string, std::string> client = o.client;
  client["bootstrap.servers"] = o.bootstrap_servers;
  client["client.id"] = "sluice-worker-" + worker_id;
  return client;
}

// The group generation this consumer is a member of, -1 when it is not one. librdkafka 2.0.2
// has no getter for it; its serialized group metadata (rd_kafka_consumer_group_metadata_write,
// format "CGMDv2:" then the generation as a host-order int32) carries it. Another format: -1,
// which orders this worker's status records below every other worker's (see
// kafka_state_store.h), and a warning.
int32_t GroupGeneration(rd_kafka_t* rk) {
  static constexpr std::string_view kMagic = "CGMDv2:";
  rd_kafka_consumer_group_metadata_t* metadata = rd_kafka_consumer_group_metadata(rk);
  if (metadata == nullptr) return -1;
  void* buffer = nullptr;
  size_t size = 0;
  rd_kafka_error_t* error = rd_kafka_consumer_group_metadata_write(metadata, &buffer, &size);
  rd_kafka_consumer_group_metadata_destroy(metadata);
  if (error != nullptr) {
    spdlog::warn("cluster: cannot read the group generation: {}", rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
    return -1;
  }
  int32_t generation = -1;
  const std::string_view bytes(static_cast<const char*>(buffer), size);
  if (bytes.size() >= kMagic.size() + sizeof generation &&
      bytes.substr(0, kMagic.size()) == kMagic) {
    std::memcpy(&generation, bytes.data() + kMagic.size(), sizeof generation);
  } else if (static std::atomic<bool> warned{false}; !warned.exchange(true)) {
    spdlog::warn("cluster: this librdkafka's group metadata format is unknown; status records "
                 "carry generation -1");
  }
  rd_kafka_mem_free(rk, buffer);
  return generation;
}

}  // namespace

bool ClusterRetriable(const core::Status& status) {
  if (status.IsRetriable()) return true;
  // The PostgreSQL source's refusal of a slot another walsender holds
  // (connectors/postgres/slot_manager.cc, SlotActiveError): in a cluster, the previous owner's
  // stream until it ends; that is the fence, and the new owner waits behind it.
  return status.code() == core::StatusCode::kFailedPrecondition &&
         status.message().find("is in use by another process") != std::string::npos;
}

core::Result<std::unique_ptr<ClusterWorker>> ClusterWorker::Create(
    ClusterOptions options, std::string worker_id, core::MetricsRegistry* metrics) {
  SLUICE_RETURN_IF_ERROR(FinishClusterOptions(options));
  std::unique_ptr<ClusterWorker> worker(
      new ClusterWorker(std::move(options), std::move(worker_id), metrics));
  const ClusterOptions& o = worker->options_;
  auto client = ClientSettings(o, worker->worker_id_);
  SLUICE_RETURN_IF_ERROR(EnsureTopics(o, client));
  KafkaStateStoreOptions store;
  store.client = client;
  store.client["group.id"] = o.group_id + "-state-reader";
  store.configs_topic = o.configs_topic;
  store.offsets_topic = o.offsets_topic;
  store.status_topic = o.status_topic;
  store.worker_id = worker->worker_id_;
  SLUICE_ASSIGN_OR_RETURN(worker->store_, KafkaStateStore::Open(std::move(store)));
  return worker;
}

ClusterWorker::ClusterWorker(ClusterOptions options, std::string worker_id,
                             core::MetricsRegistry* metrics)
    : options_(std::move(options)),
      worker_id_(std::move(worker_id)),
      metrics_(metrics),
      lease_(std::chrono::milliseconds(options_.session_timeout_ms),
             GroupHeartbeatInterval(options_)) {}

ClusterWorker::~ClusterWorker() { Stop(); }

bool ClusterWorker::Owns(const std::string& connector) const {
  int32_t p = AssignmentPartition(connector, options_.assignment_partitions);
  std::lock_guard lock(mu_);
  return owned_.count(p) > 0;
}

void ClusterWorker::ConfigureSupervisor(SupervisorOptions& options) {
  options.owns = [this](const std::string& name) { return Owns(name); };
  options.remote_status = [this](const std::string& name) { return RemoteStatusOf(name); };
  options.retriable = &ClusterRetriable;
  options.forward_restart = [this](const std::string& name) {
    spdlog::info("connector {}: restart requested; its owner carries it out", name);
    return store_->RequestRestart(name);
  };
  options.refresh_missing = [this](const std::string& name) {
    view_refresh_.Run();
    // Loads it if the view has it now (the housekeeping thread reloads it too, later: Reload
    // is idempotent, and does nothing for a name the view does not hold).
    supervisor_->Reload(name);
  };
}

void ClusterWorker::CatchUpView() {
  if (core::Status s = store_->CatchUp(std::chrono::seconds(2)); !s.ok()) {
    spdlog::warn("cluster: cannot catch the state view up before answering a request: {}",
                 s.ToString());
  }
}

bool ClusterWorker::WorkerAlive(const nlohmann::json& record, int64_t now_ms) const {
  int64_t ts = record.value("ts_unix_ms", int64_t{0});
  int64_t allowance = options_.session_timeout_ms +
                      3 * std::chrono::milliseconds(kHeartbeatInterval).count();
  return now_ms - ts <= allowance;
}

std::optional<RemoteStatus> ClusterWorker::RemoteStatusOf(const std::string& connector) const {
  auto last = store_->LastStatus(connector);
  if (!last) return std::nullopt;
  RemoteStatus status{last->record.state, last->record.trace, last->worker_id};
  auto workers = store_->Workers();
  const int64_t now = core::NowUnixMs();
  if (status.state == "UNASSIGNED") {
    // A worker that released the connector records UNASSIGNED once its pipeline has flushed,
    // which can be after the new owner recorded RUNNING (a worker frozen past its session
    // does so when it wakes): the live workers' heartbeats say where it runs now.
    for (const auto& [id, record] : workers) {
      if (!WorkerAlive(record, now)) continue;
      for (const auto& running : record.value("connectors", nlohmann::json::array())) {
        if (running.is_string() && running.get<std::string>() == connector) {
          return RemoteStatus{"RUNNING", "", id};
        }
      }
    }
    status.worker_id.clear();
    return status;
  }
  auto it = workers.find(last->worker_id);
  if (it == workers.end() || !WorkerAlive(it->second, now)) {
    // Its worker is gone: the group moves the connector once the session times out.
    return RemoteStatus{"UNASSIGNED",
                        "worker " + last->worker_id + " stopped heart-beating; the connector "
                        "moves to another worker after cluster.session.timeout.ms",
                        ""};
  }
  return status;
}

core::Status ClusterWorker::Start(Supervisor* supervisor) {
  supervisor_ = supervisor;
  store_->SetConnectorListener([this](const std::string& name) {
    std::lock_guard lock(mu_);
    reloads_.push_back(name);
  });
  store_->SetRestartListener([this](const std::string& name) {
    std::lock_guard lock(mu_);
    restarts_.push_back(name);
  });
  std::map<std::string, std::string> settings = ClientSettings(options_, worker_id_);
  settings["group.id"] = options_.group_id;
  settings["partition.assignment.strategy"] = options_.assignment_strategy;
  settings["session.timeout.ms"] = std::to_string(options_.session_timeout_ms);
  settings["heartbeat.interval.ms"] = std::to_string(GroupHeartbeatInterval(options_).count());
  settings["statistics.interval.ms"] = std::to_string(kLeaseReportIntervalMs);
  settings["enable.auto.commit"] = "false";
  settings["enable.auto.offset.store"] = "false";
  SLUICE_ASSIGN_OR_RETURN(auto conf, kafka::client::MakeConf(settings, "cluster."));
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_rebalance_cb(conf.get(), &ClusterWorker::OnRebalance);
  rd_kafka_conf_set_stats_cb(conf.get(), &ClusterWorker::OnStats);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof err);
  if (rk == nullptr) return core::InvalidArgumentError(std::string("cluster consumer: ") + err);
  conf.release();
  consumer_.reset(rk);
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, options_.assignments_topic.c_str(),
                                    RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t sub = rd_kafka_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (sub != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return core::UnavailableError("cluster: joining group " + options_.group_id + ": " +
                                  rd_kafka_err2str(sub));
  }
  SetMembership("joining", -1);
  membership_thread_ = std::jthread([this](std::stop_token stop) { MembershipLoop(stop); });
  housekeeping_thread_ = std::jthread([this](std::stop_token stop) { HousekeepingLoop(stop); });
  spdlog::info("cluster worker {} joining group {} (topics {}, {}, {}, {}; {} partitions, {})",
               worker_id_, options_.group_id, options_.configs_topic, options_.offsets_topic,
               options_.status_topic, options_.assignments_topic,
               options_.assignment_partitions, options_.assignment_strategy);
  return core::Status::Ok();
}

int ClusterWorker::OnStats(rd_kafka_t*, char* json, size_t json_len, void* opaque) {
  auto* worker = static_cast<ClusterWorker*>(opaque);
  // Served by consumer_poll on the membership thread (Stop: the closing thread, after it).
  try {
    if (auto error = worker->lease_.Observe(std::string_view(json, json_len))) {
      static std::atomic<bool> warned{false};
      if (!warned.exchange(true)) {
        spdlog::warn("cluster worker {}: librdkafka's statistics report cannot be read ({}): "
                     "the worker cannot tell when its group coordinator last answered, and "
                     "fences itself only when librdkafka's session expires",
                     worker->worker_id_, *error);
      }
    }
    const int64_t now = CoordinatorLease::NowUs();
    worker->metrics_
        ->GetGauge("sluice_cluster_coordinator_silence_seconds",
                   "time since this worker last heard from its group coordinator")
        .Set(static_cast<double>(worker->lease_.Silence(now).count()) / 1000.0);
    std::lock_guard lock(worker->mu_);
    worker->membership_.coordinator_contact_us = worker->lease_.contact_us();
    worker->membership_.join_state = worker->lease_.join_state();
  } catch (...) {
    core::Status s = core::ExceptionToStatus("cluster statistics", std::current_exception());
    spdlog::error("{}", s.ToString());
  }
  return 0;  // librdkafka frees `json`
}

void ClusterWorker::OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* worker = static_cast<ClusterWorker*>(opaque);
  // librdkafka calls this inside consumer_poll on the membership thread: nothing may escape.
  try {
    worker->Rebalance(rk, err, partitions);
  } catch (...) {
    core::Status s = core::ExceptionToStatus("cluster rebalance", std::current_exception());
    spdlog::error("{}", s.ToString());
  }
}

void ClusterWorker::Rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                              rd_kafka_topic_partition_list_t* partitions) {
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  const auto began = std::chrono::steady_clock::now();
  const int64_t called_us = CoordinatorLease::NowUs();  // the coordinator has just answered
  std::vector<int32_t> changed;
  for (int i = 0; i < partitions->cnt; ++i) changed.push_back(partitions->elems[i].partition);
  metrics_->GetCounter("sluice_cluster_rebalances_total", "rebalances this worker took part in")
      .Increment();
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    // Resume from what the previous owners committed: read the state topics to their end first.
    if (core::Status s = store_->CatchUp(std::chrono::seconds(30)); !s.ok()) {
      spdlog::warn("cluster: state not caught up before starting connectors: {}", s.ToString());
    }
    std::set<int32_t> fresh(changed.begin(), changed.end());
    {
      std::lock_guard lock(mu_);
      if (!cooperative) owned_.clear();
      // Fenced by its lease, this worker kept librdkafka's assignment: what it still holds is
      // its own again in this generation, next to what this round adds.
      if (cooperative && membership_.state == "lost") fresh.merge(Assigned());
    }
    // Stamped on every status record from now on, before any connector of these partitions
    // starts here.
    SetMembership("member", GroupGeneration(rk));
    lease_.Renew(called_us);
    Own(fresh);
    rd_kafka_error_t* e = nullptr;
    if (cooperative) {
      e = rd_kafka_incremental_assign(rk, partitions);
    } else if (rd_kafka_resp_err_t a = rd_kafka_assign(rk, partitions); a) {
      spdlog::error("cluster: assign failed: {}", rd_kafka_err2str(a));
    }
    if (e != nullptr) {
      spdlog::error("cluster: incremental assign failed: {}", rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
    }
    // Start the connectors of the new partitions now, not at the next reconcile tick.
    if (supervisor_ != nullptr) supervisor_->Wake();
    spdlog::info("cluster worker {}: assigned {} partition(s) ({}, {} ms)", worker_id_,
                 changed.size(), cooperative ? "cooperative" : "eager",
                 std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - began)
                     .count());
  } else {
    const bool lost = rd_kafka_assignment_lost(rk);
    // A lost assignment is no longer this worker's: what it records about the connectors it
    // stops (it may reach the topic long after, e.g. when a partition heals) must never replace
    // what their new owners record.
    if (lost) SetMembership("lost", -1);  // the generation it lost stays on show
    {
      std::lock_guard lock(mu_);
      if (!cooperative || err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        owned_.clear();
      } else {
        for (int32_t p : changed) owned_.erase(p);
      }
    }
    // Stop and commit before the partitions go: the next owner starts from that position.
    if (supervisor_ != nullptr) supervisor_->ReleaseUnowned();
    if (cooperative && err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, partitions)) {
        spdlog::error("cluster: incremental unassign failed: {}", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
      }
    } else {
      rd_kafka_assign(rk, nullptr);
    }
    spdlog::info("cluster worker {}: {} {} partition(s){}", worker_id_,
                 lost ? "lost" : "gave up", changed.size(),
                 err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS ? "" : std::string(" after ") +
                                                                     rd_kafka_err2str(err));
  }
  heartbeat_now_ = true;
}

void ClusterWorker::Own(const std::set<int32_t>& partitions) {
  std::lock_guard lock(mu_);
  owned_.insert(partitions.begin(), partitions.end());
  for (const std::string& name : store_->PendingRestarts()) {
    auto ts = store_->PendingRestart(name);
    if (ts && partitions.count(AssignmentPartition(name, options_.assignment_partitions))) {
      stale_restarts_.emplace_back(name, *ts);
    }
  }
}

std::set<int32_t> ClusterWorker::Assigned() const {
  std::set<int32_t> partitions;
  rd_kafka_topic_partition_list_t* assignment = nullptr;
  if (rd_kafka_resp_err_t err = rd_kafka_assignment(consumer_.get(), &assignment); err) {
    spdlog::error("cluster worker {}: cannot read its assignment: {}", worker_id_,
                  rd_kafka_err2str(err));
    return partitions;
  }
  for (int i = 0; i < assignment->cnt; ++i) partitions.insert(assignment->elems[i].partition);
  rd_kafka_topic_partition_list_destroy(assignment);
  return partitions;
}

void ClusterWorker::SetMembership(const std::string& state, int32_t generation) {
  const bool lost = state == "lost";
  store_->SetGeneration(lost ? -1 : generation);
  // Fenced while lost: the stop of its connectors must not wait on a broker this worker may not
  // reach (a network partition), and their positions and statuses are their new owners' now.
  store_->Fence(lost ? "worker " + worker_id_ + " lost its membership of group " +
                           options_.group_id + "; it writes nothing until it rejoins"
                     : "");
  std::lock_guard lock(mu_);
  if (membership_.state != state) membership_.since_unix_ms = core::NowUnixMs();
  membership_.state = state;
  if (!lost) membership_.generation = generation;
}

void ClusterWorker::RefreshGeneration() {
  // The group's generation moves on in rebalances that call no callback here (one that leaves
  // this worker's partitions as they were; a rejoin after a lost membership that brings no
  // partition): a newer generation than the one on record means this worker is a member of
  // it. Stamp it, so that this worker's status records do not rank below those a worker of
  // the new generation writes (a pause through another worker), and lift a lost membership's
  // fence: its connectors were stopped in the callback that reported the loss.
  const int32_t generation = GroupGeneration(consumer_.get());
  bool was_lost = false;
  {
    std::lock_guard lock(mu_);
    if (generation <= membership_.generation) return;
    was_lost = membership_.state == "lost";
  }
  SetMembership("member", generation);
  lease_.Renew(CoordinatorLease::NowUs());  // it has just answered a JoinGroup
  // A fence of the lease leaves librdkafka's assignment in place: it is this worker's in the
  // new generation (after a lost session, librdkafka emptied it).
  if (was_lost) Reclaim();
}

void ClusterWorker::Reclaim() {
  Own(Assigned());
  if (supervisor_ != nullptr) supervisor_->Wake();
  heartbeat_now_ = true;
}

void ClusterWorker::EnforceLease() {
  std::string state;
  int32_t generation = -1;
  {
    std::lock_guard lock(mu_);
    state = membership_.state;
    generation = membership_.generation;
  }
  if (lease_.fenced()) {
    if (state != "lost" || !lease_.Confirmed()) return;
    spdlog::info("cluster worker {}: group {}'s coordinator answers again and this worker is "
                 "still a member of generation {}: it runs its connectors again",
                 worker_id_, options_.group_id, generation);
    SetMembership("member", generation);
    Reclaim();
    return;
  }
  if (state != "member") return;
  const int64_t now = CoordinatorLease::NowUs();
  auto silence = lease_.Expired(now);
  if (!silence) return;
  spdlog::warn("cluster worker {}: nothing from group {}'s coordinator for {} ms "
               "(cluster.session.timeout.ms is {}; librdkafka's join state: {}): the group may "
               "have handed its partitions to other workers, so it stops its connectors and "
               "writes nothing until the coordinator answers",
               worker_id_, options_.group_id, silence->count(), options_.session_timeout_ms,
               lease_.join_state());
  lease_.Fenced(now);
  SetMembership("lost", -1);
  {
    std::lock_guard lock(mu_);
    owned_.clear();
  }
  if (supervisor_ != nullptr) supervisor_->ReleaseUnowned();
  heartbeat_now_ = true;
}

void ClusterWorker::MembershipLoop(std::stop_token stop) {
  // Only the group: a rebalance callback must not wait behind a state-store write.
  while (!stop.stop_requested()) {
    try {
      if (rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_.get(), 100)) {
        if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          spdlog::warn("cluster group {}: {}", options_.group_id, rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
      }
      RefreshGeneration();
      EnforceLease();
    } catch (...) {
      core::Status s = core::ExceptionToStatus("cluster membership", std::current_exception());
      spdlog::error("{}", s.ToString());
    }
  }
}

void ClusterWorker::HousekeepingLoop(std::stop_token stop) {
  auto next_heartbeat = std::chrono::steady_clock::now();
  while (!stop.stop_requested()) {
    try {
      std::deque<std::string> reloads;
      {
        std::lock_guard lock(mu_);
        reloads.swap(reloads_);
      }
      for (const std::string& name : reloads) supervisor_->Reload(name);
      HandleRestarts();
      if (heartbeat_now_.exchange(false) || std::chrono::steady_clock::now() >= next_heartbeat) {
        Heartbeat();
        next_heartbeat = std::chrono::steady_clock::now() + kHeartbeatInterval;
      }
    } catch (...) {
      core::Status s = core::ExceptionToStatus("cluster housekeeping", std::current_exception());
      spdlog::error("{}", s.ToString());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void ClusterWorker::HandleRestarts() {
  std::deque<std::string> restarts;
  std::vector<std::pair<std::string, int64_t>> stale;
  {
    std::lock_guard lock(mu_);
    restarts.swap(restarts_);
    stale.swap(stale_restarts_);
  }
  auto clear = [this](const std::string& name, const char* why) {
    if (core::Status s = store_->ClearRestart(name); !s.ok()) {
      spdlog::warn("connector {}: restart request not tombstoned: {}", name, s.ToString());
      return;
    }
    spdlog::info("connector {}: restart request {}", name, why);
  };
  for (const auto& [name, ts] : stale) {
    // Only the request seen at assignment: a newer one is carried out below.
    if (store_->PendingRestart(name) == ts) clear(name, "dropped (the connector starts here anew)");
  }
  for (const std::string& name : restarts) {
    if (!store_->PendingRestart(name) || !Owns(name)) continue;  // done, or the owner's to do
    auto stored = store_->GetConnector(name);
    if (stored.ok() && !stored->has_value()) {
      clear(name, "dropped (the connector was deleted)");
      continue;
    }
    if (core::Status s = supervisor_->Restart(name); !s.ok()) {
      spdlog::warn("connector {}: restart request from another worker failed: {}", name,
                   s.ToString());
    }
    clear(name, "carried out");
  }
}

void ClusterWorker::Heartbeat() {
  std::vector<int32_t> partitions;
  {
    std::lock_guard lock(mu_);
    partitions.assign(owned_.begin(), owned_.end());
  }
  std::vector<std::string> running = supervisor_ ? supervisor_->RunningHere()
                                                 : std::vector<std::string>{};
  size_t assigned = 0;
  if (supervisor_ != nullptr) {
    for (const std::string& name : supervisor_->Names()) assigned += Owns(name) ? 1 : 0;
  }
  metrics_->GetGauge("sluice_cluster_connectors_assigned",
                     "connectors whose partition this worker holds")
      .Set(static_cast<double>(assigned));
  metrics_->GetGauge("sluice_cluster_partitions_assigned",
                     "partitions of the assignments topic this worker holds")
      .Set(static_cast<double>(partitions.size()));
  nlohmann::json record = {{"worker_id", worker_id_},
                           {"partitions", partitions},
                           {"connectors", running},
                           {"generation", store_->generation()},
                           {"ts_unix_ms", core::NowUnixMs()}};
  if (core::Status s = store_->PutWorker(record); !s.ok()) {
    spdlog::warn("cluster worker {}: heartbeat record not written: {}", worker_id_,
                 s.ToString());
  }
}

void ClusterWorker::Stop() {
  if (stopped_.exchange(true)) return;
  if (housekeeping_thread_.joinable()) {
    housekeeping_thread_.request_stop();
    housekeeping_thread_.join();
  }
  if (membership_thread_.joinable()) {
    membership_thread_.request_stop();
    membership_thread_.join();
  }
  if (consumer_) {
    // Leaves the group: the revocation callback runs here, the others rebalance at once.
    rd_kafka_consumer_close(consumer_.get());
    consumer_.reset();
  }
  if (store_) {
    if (core::Status s = store_->RemoveWorker(); !s.ok()) {
      spdlog::warn("cluster worker {}: heartbeat record not removed: {}", worker_id_,
                   s.ToString());
    }
  }
  spdlog::info("cluster worker {} left group {}", worker_id_, options_.group_id);
}

nlohmann::json ClusterWorker::ClusterJson() const {
  const int64_t now = core::NowUnixMs();
  nlohmann::json workers = nlohmann::json::array();
  std::map<int32_t, std::string> owner_of;
  for (const auto& [id, record] : store_->Workers()) {
    bool alive = WorkerAlive(record, now);
    nlohmann::json w = record;
    w["alive"] = alive;
    workers.push_back(w);
    if (!alive) continue;
    for (const auto& p : record.value("partitions", nlohmann::json::array())) {
      owner_of[p.get<int32_t>()] = id;
    }
  }
  nlohmann::json assignments = nlohmann::json::object();
  if (supervisor_ != nullptr) {
    for (const std::string& name : supervisor_->Names()) {
      int32_t p = AssignmentPartition(name, options_.assignment_partitions);
      auto it = owner_of.find(p);
      assignments[name] = {{"partition", p},
                           {"worker_id", it == owner_of.end() ? nlohmann::json(nullptr)
                                                              : nlohmann::json(it->second)}};
    }
  }
  std::vector<std::string> running =
      supervisor_ ? supervisor_->RunningHere() : std::vector<std::string>{};
  nlohmann::json membership;
  std::vector<int32_t> partitions;
  {
    std::lock_guard lock(mu_);
    membership = {{"state", membership_.state},
                  {"since_unix_ms", membership_.since_unix_ms},
                  {"generation", membership_.generation},
                  {"join_state", membership_.join_state},
                  {"coordinator_silence_ms",
                   membership_.coordinator_contact_us == 0
                       ? nlohmann::json(nullptr)
                       : nlohmann::json(CoordinatorLease::SilenceSince(
                                            membership_.coordinator_contact_us,
                                            CoordinatorLease::NowUs())
                                            .count())}};
    partitions.assign(owned_.begin(), owned_.end());
  }
  return {{"group_id", options_.group_id},
          {"worker_id", worker_id_},
          {"membership", membership},
          {"partitions", partitions},
          {"running", running},
          {"assignment_strategy", options_.assignment_strategy},
          {"assignments_topic", options_.assignments_topic},
          {"assignment_partitions", options_.assignment_partitions},
          {"workers", workers},
          {"assignments", assignments}};
}

}  // namespace sluice::api::cluster
