// Consumer: a thin RAII owner of a librdkafka high-level consumer (rd_kafka_t) for the Kafka
// source: subscribe, poll, seek-on-assign to resume offsets, explicit commits. The seam between
// the source's logic and librdkafka.
//
// Lifecycle: Create() -> Subscribe() -> Poll()* / Commit()* -> Close() (leaves the group).
// Thread-safety: one thread (the source thread); librdkafka's rebalance callback runs inside
// Poll() on that thread.
#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace sluice::kafka {

// (topic, partition) -> offset of the next record to read (Kafka's committed-offset meaning).
using OffsetMap = std::map<std::pair<std::string, int32_t>, int64_t>;

// Position text: {"offsets":{"<topic>":{"<partition>":<next offset>,…},…}}.
std::string SerializeOffsets(const OffsetMap& offsets);
core::Result<OffsetMap> ParseOffsets(std::string_view text);

struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
using Message = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

class Consumer {
 public:
  // `settings` are librdkafka consumer properties; errors name `key_prefix` + the property.
  static core::Result<std::unique_ptr<Consumer>> Create(
      const std::map<std::string, std::string>& settings, const std::string& key_prefix);
  ~Consumer();

  // Checks a broker answers within `timeout_ms` (kUnavailable otherwise); returns the names of
  // the topics that exist.
  core::Result<std::vector<std::string>> ListTopics(int timeout_ms);
  // Subscribes to topic names (a name starting with '^' is a regex). Partitions found in
  // `resume` start at that offset when assigned; the others at the group's committed offset,
  // else at auto.offset.reset.
  core::Status Subscribe(const std::vector<std::string>& topics, OffsetMap resume);
  // The next message or error, or null after `timeout_ms`.
  Message Poll(int timeout_ms);
  // Commits `offsets` for the group (async: non-blocking; sync: waits).
  core::Status Commit(const OffsetMap& offsets, bool async);
  // Leaves the group and releases the handle. Safe to call twice.
  void Close();

 private:
  explicit Consumer(rd_kafka_t* rk) : rk_(rk) {}
  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque);

  rd_kafka_t* rk_;
  OffsetMap resume_;
  bool closed_ = false;
};

}  // namespace sluice::kafka
