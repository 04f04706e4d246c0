// TopicLog: a set of Kafka topics read as logs of keyed records, the storage under cluster mode's
// state store (api/cluster/kafka_state_store.h). It keeps one producer (idempotent, acks=all)
// and one reader that is assigned every partition of the topics from the beginning and hands
// each record, in log order per partition, to the `apply` callback. Reading a topic to its end
// and keeping the last value per key is what a compacted topic means, so this works on brokers
// without log compaction (the test broker) as on real Kafka.
//
// Read-your-writes: Write() returns once the reader has applied the record it wrote, so a view
// built by `apply` shows every write that returned. CatchUp() waits until the reader has applied
// everything the brokers held when it was called (the high watermarks), e.g. before a worker
// starts a connector whose position another worker committed.
//
// Lifecycle: Open() (reads every topic to its end first) -> Write()/CatchUp()* -> destructor
// (stops the reader thread). Thread-safety: Write and CatchUp from any thread; `apply` runs on
// the reader thread only and must not call Write or CatchUp (it would wait for itself).
#pragma once

#include <librdkafka/rdkafka.h>

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
#include <utility>
#include <vector>

#include "connectors/kafka/client/kafka_client.h"
#include "core/status.h"

namespace sluice::api::cluster {

struct TopicRecord {
  std::string topic;
  std::string key;
  std::optional<std::string> value;  // nullopt: a tombstone (the key is deleted)
};

class TopicLog {
 public:
  using Apply = std::function<void(const TopicRecord&)>;

  // `client` are librdkafka properties for both clients (bootstrap.servers, security.*, sasl.*);
  // errors name `key_prefix` + the property. Every topic must exist (kFailedPrecondition naming
  // it otherwise); kUnavailable when no broker answers within `timeout`.
  static core::Result<std::unique_ptr<TopicLog>> Open(
      const std::map<std::string, std::string>& client, const std::string& key_prefix,
      std::vector<std::string> topics, Apply apply, std::chrono::milliseconds timeout);
  ~TopicLog();
  TopicLog(const TopicLog&) = delete;
  TopicLog& operator=(const TopicLog&) = delete;

  // Appends one record and waits until the reader applied it. kUnavailable when the broker does
  // not acknowledge it or the reader does not reach it within the timeout (the write may still
  // land: callers retry, and every record here is idempotent), or when fenced (Fence).
  core::Status Write(const std::string& topic, const std::string& key,
                     const std::optional<std::string>& value);
  // Appends one record without waiting for the broker's acknowledgement or the reader, for a
  // record whose loss does no harm (KafkaStateStore::SavePositionCopy): a failed delivery is
  // logged. Records of one key keep their order with every other write of this log (one
  // idempotent producer). kUnavailable when fenced, or when the producer's queue refuses it.
  core::Status Send(const std::string& topic, const std::string& key, const std::string& value);
  // Waits until the reader applied every record the topics held when called.
  core::Status CatchUp(std::chrono::milliseconds timeout);
  // While `reason` is not empty, Write refuses at once with kUnavailable naming it, and writes
  // waiting for their acknowledgement stop waiting (their records may still land): a worker
  // that lost its group membership must not block its connectors' stop on a broker it cannot
  // reach, nor commit for connectors that are no longer its own. Empty: writes go out again.
  void Fence(std::string reason);

 private:
  using Partition = std::pair<std::string, int32_t>;

  TopicLog(Apply apply, std::chrono::milliseconds timeout)
      : apply_(std::move(apply)), timeout_(timeout) {}
  core::Status Connect(const std::map<std::string, std::string>& client,
                       const std::string& key_prefix, const std::vector<std::string>& topics);
  void ReadLoop(std::stop_token stop);
  // Queues one record (`value` null: a tombstone); `opaque` comes back in its delivery report
  // (OnDelivery: a Delivery holder, or null for Send).
  core::Status Produce(const std::string& topic, const std::string& key,
                       const std::string* value, void* opaque);
  // Waits until the next offset to read of `partition` is past `offset`.
  core::Status WaitApplied(const Partition& partition, int64_t offset,
                           std::chrono::steady_clock::time_point deadline);

  Apply apply_;
  std::chrono::milliseconds timeout_;
  kafka::client::KafkaHandle producer_;
  kafka::client::KafkaHandle reader_;
  std::vector<Partition> partitions_;

  core::Status FencedError(const std::string& key, const std::string& topic);

  std::mutex mu_;  // guards next_offset_, reader_error_ and fence_
  std::condition_variable applied_cv_;
  std::map<Partition, int64_t> next_offset_;  // the next offset the reader will apply
  std::string reader_error_;                  // last fatal reader error, empty when none
  std::string fence_;                         // why writes are refused; empty: they are not
  std::jthread reader_thread_;
};

}  // namespace sluice::api::cluster
