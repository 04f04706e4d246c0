// EnvelopeDecoder: turns Kafka records holding Debezium-style change envelopes (ours, or
// Debezium's own; JsonConverter with or without schemas) into change events. A pure decoder:
// bytes in, events out; it never trusts the bytes and every error names the record
// (topic/partition/offset).
//
// Formats (Debezium documentation, "Change event values" / "Change event keys"):
//   value: {"before", "after", "source", "op", "ts_ms"} or {"schema": …, "payload": <that>}
//   key:   {"<pk>": …} or {"schema": …, "payload": {…}}; a null key means no primary key
//   null value: a tombstone (skipped)
// The table comes from the source block (schema, else db, and table), falling back to the
// topic's last two dot-separated parts. Columns and types come from the schema block when
// present (see kafka_types.h), else they are inferred from the JSON values (numbers, booleans,
// strings, arrays, objects: dates and timestamps then stay numbers; see README.md). A table's
// schema is kept per table and replaced (version + 1) when the columns, types or key change.
//
// Thread-safety: one thread (the source thread).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/kafka/kafka_types.h"
#include "core/event.h"
#include "core/status.h"
#include "core/table_filter.h"

namespace sluice::kafka {

struct KafkaRecord {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  const char* key = nullptr;  // null: no key
  size_t key_len = 0;
  const char* value = nullptr;  // null: tombstone
  size_t value_len = 0;
};

enum class DecodeOutcome {
  kEvent,      // one event appended to the batch
  kTombstone,  // null value: nothing appended
  kNotChange,  // a valid JSON record that is not a change event (schema change, heartbeat)
  kFiltered,   // a change of a table that table.include.list / exclude.list leave out
};

class EnvelopeDecoder {
 public:
  // Decodes one record and appends at most one event (with its rows and transaction info) to
  // `batch`. kInvalidArgument naming topic/partition/offset when the record is malformed; the
  // batch is then unchanged.
  core::Result<DecodeOutcome> Decode(const KafkaRecord& record, core::EventBatch& batch);

  // Tables the filter excludes are decoded no further (kFiltered). Not owned; may be null.
  void set_filter(const core::TableFilter* filter) { filter_ = filter; }

  // How the producer wrote binary columns as strings (binary.handling.mode); default bytes.
  void set_binary_mode(core::BinaryMode mode) { binary_mode_ = mode; }

  // The current schema of a table, or null.
  core::TableSchemaPtr SchemaOf(const core::TableId& id) const;

 private:
  struct TableState {
    core::TableSchemaPtr schema;
    std::vector<ColumnCodec> codecs;  // aligned with schema->columns
    std::string signature;            // what the schema was built from
  };
  core::Result<DecodeOutcome> DecodeJson(const KafkaRecord& record, core::EventBatch& batch);

  std::map<core::TableId, TableState> tables_;
  const core::TableFilter* filter_ = nullptr;
  core::BinaryMode binary_mode_ = core::BinaryMode::kBytes;
};

}  // namespace sluice::kafka
