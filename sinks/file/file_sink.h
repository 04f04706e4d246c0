// FileSink: JSON-lines files, one per table (<dir>/<schema>.<table>.jsonl), each line one
// Debezium-style envelope (core/envelope.h), except the operations `skipped_ops` names
// (Debezium's skipped.operations; truncates by default, as Debezium). Flush() writes and fdatasyncs every file touched and
// returns the checkpoint now durable.
//
// Delivery: at-least-once. After a crash, events written after the last committed position are
// written again, so a file may hold duplicates; replaying the file by key in order gives the
// source's state when no operation is skipped (skipped.operations=none). On open, a partial last line left by a crash mid-write is cut off; Reset()
// (after a retriable error) truncates each file back to its last durable length.
//
// Thread-safety: one thread (the sink thread).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/config.h"
#include "core/envelope.h"
#include "core/sink.h"

namespace sluice::sinks {

std::vector<core::ConfigKey> FileSinkConfigKeys();
core::Result<std::unique_ptr<core::Sink>> MakeFileSink(const core::ConnectorContext& context);

class FileSink final : public core::Sink {
 public:
  // `skipped_ops`: the op letters not written (c, u, d, t; core::SkippedOperationsFromConfig).
  FileSink(std::string directory, core::EnvelopeOptions options, bool fsync,
           std::string skipped_ops = "", std::shared_ptr<spdlog::logger> logger = nullptr);
  ~FileSink() override;

  core::Status Open() override;
  core::Result<std::optional<core::SourcePosition>> LoadCommittedPosition() override;
  core::Status Write(const core::EventBatch& batch) override;
  core::Result<std::optional<core::SourcePosition>> Flush() override;
  core::Status Reset() override;
  core::Status Check() override;
  void Close() override;

  // The file that holds `table`'s events.
  std::string PathFor(const core::TableId& table) const;

 private:
  struct TableFile {
    int fd = -1;
    std::string path;
    std::string buffer;      // lines not yet written
    uint64_t durable_size = 0;
    uint64_t written_size = 0;
    bool dirty = false;
  };
  core::Result<TableFile*> FileFor(const core::TableId& table);
  core::Status WriteBuffer(TableFile& file);
  // Appends the batch's logical decoding messages from `next` that come before event
  // `before_event` to <topic.prefix>.message.jsonl, as the Kafka sink's values.
  core::Status WriteMessages(const core::EventBatch& batch, size_t& next, size_t before_event,
                             int64_t now_ns);

  std::string directory_;
  core::EnvelopeOptions options_;
  bool fsync_;
  std::string skipped_ops_;
  std::shared_ptr<spdlog::logger> logger_;  // the connector's; nullptr: spdlog's default
  std::map<core::TableId, TableFile> files_;
  std::optional<core::SourcePosition> pending_checkpoint_;
};

}  // namespace sluice::sinks
