#include "api/cluster/topic_log.h"

#include "core/logging.h"

namespace sluice::api::cluster {

namespace {

using kafka::client::KafkaHandle;

const kafka::client::ErrorHints kHints = {
    "check cluster.sasl.* / cluster.security.protocol",
    "the worker needs read and write access to the cluster topics", core::StatusCode::kUnavailable};

core::Status KafkaError(rd_kafka_resp_err_t err, const std::string& what) {
  return kafka::client::MapError(err, what, "", kHints);
}

// What a delivery report tells the writer. The message's opaque pointer is a heap copy of a
// shared_ptr that the delivery callback deletes: a writer that stopped waiting (deadline,
// fence) may be gone when the report comes, at the latest at message.timeout.ms or when the
// destructor purges the queue.
struct Delivery {
  std::atomic<bool> done{false};
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  int32_t partition = -1;
  int64_t offset = -1;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  auto* holder = static_cast<std::shared_ptr<Delivery>*>(m->_private);
  if (holder == nullptr) {  // TopicLog::Send: nobody waits for it
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      spdlog::warn("cluster: a record sent to {} without waiting was not written: {} (the next "
                   "one of its key replaces it)",
                   m->rkt != nullptr ? rd_kafka_topic_name(m->rkt) : "?", rd_kafka_err2str(m->err));
    }
    return;
  }
  Delivery& d = **holder;
  d.err = m->err;
  d.partition = m->partition;
  d.offset = m->offset;
  d.done.store(true);
  delete holder;
}

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};

core::Result<KafkaHandle> NewClient(rd_kafka_type_t type,
                                    const std::map<std::string, std::string>& settings,
                                    const std::string& key_prefix) {
  SLUICE_ASSIGN_OR_RETURN(auto conf, kafka::client::MakeConf(settings, key_prefix));
  if (type == RD_KAFKA_PRODUCER) rd_kafka_conf_set_dr_msg_cb(conf.get(), &OnDelivery);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), err, sizeof err);
  if (rk == nullptr) return core::InvalidArgumentError(std::string("cluster client: ") + err);
  conf.release();  // rd_kafka_new took it
  return KafkaHandle(rk);
}

}  // namespace

core::Result<std::unique_ptr<TopicLog>> TopicLog::Open(
    const std::map<std::string, std::string>& client, const std::string& key_prefix,
    std::vector<std::string> topics, Apply apply, std::chrono::milliseconds timeout) {
  std::unique_ptr<TopicLog> log(new TopicLog(std::move(apply), timeout));
  SLUICE_RETURN_IF_ERROR(log->Connect(client, key_prefix, topics));
  log->reader_thread_ = std::jthread([raw = log.get()](std::stop_token stop) {
    raw->ReadLoop(stop);
  });
  SLUICE_RETURN_IF_ERROR(log->CatchUp(timeout));
  return log;
}

TopicLog::~TopicLog() {
  if (reader_thread_.joinable()) {
    reader_thread_.request_stop();
    reader_thread_.join();
  }
  if (reader_) rd_kafka_consumer_close(reader_.get());
  if (producer_) {
    rd_kafka_flush(producer_.get(), 5000);
    // What did not go out: its reports (and their holders) are served by the poll.
    rd_kafka_purge(producer_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(producer_.get(), 0);
  }
}

void TopicLog::Fence(std::string reason) {
  {
    std::lock_guard lock(mu_);
    fence_ = std::move(reason);
  }
  applied_cv_.notify_all();
}

core::Status TopicLog::Connect(const std::map<std::string, std::string>& client,
                               const std::string& key_prefix,
                               const std::vector<std::string>& topics) {
  std::map<std::string, std::string> producer = client;
  producer.erase("group.id");  // the reader's
  producer["enable.idempotence"] = "true";
  producer["acks"] = "all";
  producer["linger.ms"] = "0";
  SLUICE_ASSIGN_OR_RETURN(producer_, NewClient(RD_KAFKA_PRODUCER, producer, key_prefix));

  std::map<std::string, std::string> reader = client;
  // A group id only because librdkafka's consumer API wants one: the reader assigns partitions
  // itself and never joins the group or commits.
  if (!reader.count("group.id")) reader["group.id"] = "sluice-state-reader";
  reader["enable.auto.commit"] = "false";
  reader["enable.auto.offset.store"] = "false";
  reader["enable.partition.eof"] = "true";
  reader["fetch.wait.max.ms"] = "20";
  reader["fetch.error.backoff.ms"] = "50";
  reader["auto.offset.reset"] = "earliest";
  SLUICE_ASSIGN_OR_RETURN(reader_, NewClient(RD_KAFKA_CONSUMER, reader, key_prefix));
  rd_kafka_poll_set_consumer(reader_.get());

  std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter> assignment(
      rd_kafka_topic_partition_list_new(static_cast<int>(topics.size()) * 4));
  for (const std::string& topic : topics) {
    kafka::client::KafkaTopic handle(rd_kafka_topic_new(producer_.get(), topic.c_str(), nullptr));
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_metadata(producer_.get(), 0, handle.get(), &md,
                                                static_cast<int>(timeout_.count()));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return KafkaError(err, "cluster: reading the metadata of topic " + topic);
    }
    int partitions = 0;
    rd_kafka_resp_err_t topic_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (md->topic_cnt == 1) {
      partitions = md->topics[0].partition_cnt;
      topic_err = md->topics[0].err;
    }
    rd_kafka_metadata_destroy(md);
    if (topic_err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || partitions == 0) {
      return core::FailedPreconditionError(
          "cluster topic " + topic + " does not exist: create it with cleanup.policy=compact "
          "(a worker creates it on a broker that accepts CreateTopics)");
    }
    if (topic_err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return KafkaError(topic_err, "cluster: topic " + topic);
    }
    for (int32_t p = 0; p < partitions; ++p) {
      partitions_.emplace_back(topic, p);
      next_offset_[{topic, p}] = 0;
      rd_kafka_topic_partition_list_add(assignment.get(), topic.c_str(), p)->offset =
          RD_KAFKA_OFFSET_BEGINNING;
    }
  }
  rd_kafka_resp_err_t err = rd_kafka_assign(reader_.get(), assignment.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return KafkaError(err, "cluster: assigning the topics");
  return core::Status::Ok();
}

void TopicLog::ReadLoop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(reader_.get(), 100);
    if (m == nullptr) continue;
    std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> owned(
        m, &rd_kafka_message_destroy);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      // The end of the partition: offsets a compaction removed count as read.
      Partition p{rd_kafka_topic_name(m->rkt), m->partition};
      std::lock_guard lock(mu_);
      int64_t& next = next_offset_[p];
      if (m->offset > next) next = m->offset;
      applied_cv_.notify_all();
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::string what = rd_kafka_message_errstr(m);
      spdlog::warn("cluster state reader: {}", what);
      continue;
    }
    TopicRecord record;
    record.topic = rd_kafka_topic_name(m->rkt);
    if (m->key != nullptr) record.key.assign(static_cast<const char*>(m->key), m->key_len);
    if (m->payload != nullptr) {
      record.value.emplace(static_cast<const char*>(m->payload), m->len);
    }
    // An exception must not end the reader (every later write would wait forever).
    try {
      apply_(record);
    } catch (...) {
      core::Status s = core::ExceptionToStatus("cluster state record " + record.topic + "/" +
                                                   record.key,
                                               std::current_exception());
      spdlog::error("{} (record skipped)", s.ToString());
    }
    std::lock_guard lock(mu_);
    int64_t& next = next_offset_[{record.topic, m->partition}];
    if (m->offset + 1 > next) next = m->offset + 1;
    applied_cv_.notify_all();
  }
}

core::Status TopicLog::WaitApplied(const Partition& partition, int64_t offset,
                                   std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  bool reached = applied_cv_.wait_until(lock, deadline, [&] {
    return next_offset_[partition] > offset || !fence_.empty();
  });
  if (reached && next_offset_[partition] <= offset) {
    return core::UnavailableError("cluster: " + fence_ + ": stopped waiting for " +
                                  partition.first + "/" + std::to_string(partition.second) +
                                  " offset " + std::to_string(offset));
  }
  if (!reached) {
    return core::UnavailableError("cluster: the state reader did not reach " + partition.first +
                                  "/" + std::to_string(partition.second) + " offset " +
                                  std::to_string(offset) + " within " +
                                  std::to_string(timeout_.count()) + " ms");
  }
  return core::Status::Ok();
}

core::Status TopicLog::FencedError(const std::string& key, const std::string& topic) {
  std::lock_guard lock(mu_);
  if (fence_.empty()) return core::Status::Ok();
  return core::UnavailableError("cluster: " + fence_ + ": " + key + " not written to " +
                                topic);
}

core::Status TopicLog::Write(const std::string& topic, const std::string& key,
                             const std::optional<std::string>& value) {
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  if (core::Status f = FencedError(key, topic); !f.ok()) return f;
  auto delivery = std::make_shared<Delivery>();
  auto* holder = new std::shared_ptr<Delivery>(delivery);
  if (core::Status queued = Produce(topic, key, value ? &*value : nullptr, holder); !queued.ok()) {
    delete holder;  // not queued: no report will come
    return queued;
  }
  // Any thread's poll may serve this report.
  while (!delivery->done.load()) {
    if (core::Status f = FencedError(key, topic); !f.ok()) return f;
    if (std::chrono::steady_clock::now() >= deadline) {
      return core::UnavailableError("cluster: writing " + key + " to " + topic +
                                    ": not acknowledged within " +
                                    std::to_string(timeout_.count()) +
                                    " ms (it may still land)");
    }
    rd_kafka_poll(producer_.get(), 10);
  }
  if (delivery->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError(delivery->err, "cluster: writing " + key + " to " + topic);
  }
  return WaitApplied({topic, delivery->partition}, delivery->offset, deadline);
}

core::Status TopicLog::Send(const std::string& topic, const std::string& key,
                            const std::string& value) {
  if (core::Status f = FencedError(key, topic); !f.ok()) return f;
  core::Status queued = Produce(topic, key, &value, nullptr);
  rd_kafka_poll(producer_.get(), 0);  // the reports of earlier sends
  return queued;
}

core::Status TopicLog::Produce(const std::string& topic, const std::string& key,
                               const std::string* value, void* opaque) {
  rd_kafka_resp_err_t err = rd_kafka_producev(
      producer_.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
      RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
      RD_KAFKA_V_VALUE(value ? const_cast<char*>(value->data()) : nullptr,
                       value ? value->size() : 0),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError(err, "cluster: writing " + key + " to " + topic);
  }
  return core::Status::Ok();
}

core::Status TopicLog::CatchUp(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // Every partition's end offset in one ListOffsets request per broker (timestamp -1 asks for
  // the latest offset), not one round trip per partition: a worker taking over connectors
  // waits on this inside its rebalance callback.
  std::unique_ptr<rd_kafka_topic_partition_list_t, decltype(&rd_kafka_topic_partition_list_destroy)>
      ends(rd_kafka_topic_partition_list_new(static_cast<int>(partitions_.size())),
           &rd_kafka_topic_partition_list_destroy);
  for (const Partition& p : partitions_) {
    rd_kafka_topic_partition_list_add(ends.get(), p.first.c_str(), p.second)->offset =
        RD_KAFKA_OFFSET_END;
  }
  rd_kafka_resp_err_t err =
      rd_kafka_offsets_for_times(reader_.get(), ends.get(), static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError(err, "cluster: reading the end offsets of the state topics");
  }
  for (int i = 0; i < ends->cnt; ++i) {
    const rd_kafka_topic_partition_t& end = ends->elems[i];
    if (end.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return KafkaError(end.err, "cluster: reading the end offset of " + std::string(end.topic) +
                                     "/" + std::to_string(end.partition));
    }
    if (end.offset > 0) {
      SLUICE_RETURN_IF_ERROR(WaitApplied({end.topic, end.partition}, end.offset - 1, deadline));
    }
  }
  return core::Status::Ok();
}

}  // namespace sluice::api::cluster
