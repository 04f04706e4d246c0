// KafkaSource: consumes topics of Debezium-style change envelopes (written by Sluice's Kafka
// sink or by Debezium itself) and emits them as change events, so that a topic can be applied to
// a database sink (PG -> Kafka -> MariaDB across two pipelines).
//
// Position: the next offset of every topic-partition consumed so far, as JSON
// ({"offsets":{"<topic>":{"<partition>":<offset>}}}). Consumer-group offsets are committed only
// in Acknowledge(), i.e. after the sink made the events durable (never auto-commit); a database
// sink also stores the position with the data, and Start(resume) then seeks every assigned
// partition to it, so the target sees each change once.
//
// Lifecycle: Start(resume) -> Poll()* -> Close(); streaming only (Poll never returns kFinished).
// Thread-safety: Acknowledge() and RequestStop() from any thread; the rest on the source thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "connectors/kafka/envelope_decoder.h"
#include "connectors/kafka/kafka_consumer.h"
#include "core/config.h"
#include "core/source.h"
#include "core/table_filter.h"

namespace sluice::kafka {

std::vector<core::ConfigKey> SourceConfigKeys();
core::Result<std::unique_ptr<core::Source>> MakeKafkaSource(const core::ConnectorContext& context);

struct KafkaSourceOptions {
  std::map<std::string, std::string> librdkafka;  // consumer properties incl. bootstrap.servers
  std::vector<std::string> topics;                // names, or one "^regex"
  bool skip_invalid = false;                      // log and skip records that are not envelopes
  core::BinaryMode binary = core::BinaryMode::kBytes;  // the producer's binary.handling.mode
};

core::Result<KafkaSourceOptions> KafkaSourceOptionsFromConfig(const core::ConnectorConfig& config);

class KafkaSource final : public core::Source {
 public:
  KafkaSource(KafkaSourceOptions options, core::TableFilter filter,
              std::shared_ptr<spdlog::logger> logger);
  ~KafkaSource() override;

  // Connects (kUnavailable when no broker answers), subscribes, and seeks to `resume`'s offsets
  // as partitions are assigned. kInvalidArgument for a malformed resume position.
  core::Status Start(const std::optional<core::SourcePosition>& resume) override;
  // Appends decoded events; a malformed record is kInvalidArgument naming topic/partition/offset
  // (unless kafka.skip.invalid.records=true). Tombstones and non-change records only move the
  // position. Returns kHaveMore when a limit was hit, else kIdle.
  core::Result<core::PollStatus> Poll(core::EventBatch& batch, const core::PollLimits& limits) override;
  // Remembers the offsets to commit; the commit happens on the source thread (next Poll or Close).
  void Acknowledge(const core::SourcePosition& position) override;
  void RequestStop() override;
  // Commits the last acknowledged offsets (synchronously), leaves the group.
  void Close() override;
  core::Status Check() override;

 private:
  void CommitAcknowledged(bool async);

  KafkaSourceOptions options_;
  core::TableFilter filter_;
  std::shared_ptr<spdlog::logger> logger_;
  std::unique_ptr<Consumer> consumer_;
  EnvelopeDecoder decoder_;
  OffsetMap consumed_;  // next offset per partition, everything read so far
  std::atomic<bool> stop_{false};
  std::mutex ack_mu_;
  std::optional<std::string> ack_;  // position text acknowledged, not yet committed
};

}  // namespace sluice::kafka
