// Kafka record encoding for the Kafka sink: topic names, and the key and value bytes of each
// change event in Debezium's JSON shapes (JsonConverter, with or without schemas).
//
// The payloads and the optional Kafka Connect schema blocks come from core/envelope.h.
//
// RecordEncoder caches the schema blocks per table schema (they are large and constant) and
// reuses its buffers: encoding a record allocates nothing once warm.
//
// With Debezium's ExtractNewRecordState (core/debezium_transforms.h) the value is the flat row
// instead: the `after` row (a delete's `before` row under delete.handling.mode=rewrite, with
// "__deleted":"true"; "false" on other records), plus the add.fields; the key is unchanged.
// Truncates and (delete.handling.mode=drop) deletes are dropped: DropsValue().
//
// Thread-safety: TopicName is pure; a RecordEncoder is used by one thread (the sink thread).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/debezium_transforms.h"
#include "core/envelope.h"
#include "core/event.h"

namespace sluice::sinks::kafka_sink {

// Kafka's legal topic characters are [a-zA-Z0-9._-]; like Debezium, any other character in a
// name is replaced by '_'. `format` holds ${prefix}, ${schema}, ${table} placeholders; the
// default is "${prefix}.${schema}.${table}".
inline constexpr std::string_view kDefaultTopicFormat = "${prefix}.${schema}.${table}";
std::string TopicName(std::string_view format, std::string_view prefix, const core::TableId& id);

// Debezium's heartbeat records (heartbeat.interval.ms), topic
// <topic.heartbeat.prefix>.<topic.prefix>: key {"serverName": <topic.prefix>} (schema
// io.debezium.connector.common.ServerNameKey), value {"ts_ms": <now>} (schema
// io.debezium.connector.common.Heartbeat), each wrapped in {"schema", "payload"} when
// `schemas_enable`.
inline constexpr std::string_view kDefaultHeartbeatPrefix = "__debezium-heartbeat";
std::string HeartbeatKey(std::string_view server_name, bool schemas_enable);
std::string HeartbeatValue(int64_t ts_ms, bool schemas_enable);

class RecordEncoder {
 public:
  RecordEncoder(core::EnvelopeOptions options, bool schemas_enable,
                std::optional<core::NewRecordStateOptions> unwrap = std::nullopt)
      : options_(std::move(options)), schemas_enable_(schemas_enable), unwrap_(std::move(unwrap)) {}

  // ExtractNewRecordState: true when `event` gives no value record (a truncate; a delete under
  // delete.handling.mode=drop), and when the tombstone after a delete is dropped.
  bool DropsValue(const core::ChangeEvent& event) const;
  bool DropsTombstones() const { return unwrap_ && unwrap_->drop_tombstones; }

  // Encodes the key of `event` into key(); returns false when the record has no key (table
  // without a primary key, truncate): produce it with a null key.
  bool EncodeKey(const core::EventBatch& batch, const core::ChangeEvent& event);
  // Encodes the value envelope of `event` into value(). False when a value has no exact
  // representation (core::AppendEnvelopeValue): refuse the event with core::EnvelopeValueError.
  // The key holds only columns of the value's rows, so this check covers it too.
  bool EncodeValue(const core::EventBatch& batch, const core::ChangeEvent& event, int64_t now_ns);
  // Same bytes, appended to `out` instead of replacing value() (the sink renders a batch's
  // values into one arena: kafka_stage.h). value() is left empty. The caller calls BeginBatch()
  // before the first event of each batch.
  bool AppendValue(std::string& out, const core::EventBatch& batch, const core::ChangeEvent& event,
                   int64_t now_ns);

  // Called before the events of each new batch (KafkaSink::Write): the source block kept from
  // the last event (see source_) may belong to a batch now freed whose address is reused.
  void BeginBatch() { source_batch_ = nullptr; }

  // The envelope's "transaction" block for the next EncodeValue calls (provide.transaction.
  // metadata): the JSON text, or nullptr for null. Must outlive those calls.
  void set_transaction_block(const std::string* block) { transaction_block_ = block; }

  const std::string& key() const { return key_; }
  const std::string& value() const { return value_; }
  const core::EnvelopeOptions& options() const { return options_; }

 private:
  struct SchemaBlocks {
    std::string key;    // key schema JSON
    std::string value;  // value schema JSON
    std::vector<std::string> field_prefixes;  // "\"col\":" (with a leading ',' after the first)
    std::vector<core::EnvelopeKind> kinds;    // each column's EnvelopeKindOf under the modes
    std::vector<std::string> key_prefixes;    // the same as field_prefixes for the key columns
    std::string flat;        // ExtractNewRecordState: the value schema of the flat row
    std::string flat_null;   // ... of delete.handling.mode=none's null value (the after struct)
  };
  // EncodeValue's bytes, appended to value_.
  bool AppendValueBytes(const core::EventBatch& batch, const core::ChangeEvent& event,
                        int64_t now_ns);
  // ExtractNewRecordState's value: the flat row and the added fields.
  bool AppendFlat(const core::EventBatch& batch, const core::ChangeEvent& event,
                  const SchemaBlocks& blocks, int64_t now_ns);
  void AppendFlatSchemas(SchemaBlocks& b, const core::TableSchema& schema,
                         std::string_view record);
  // The ,"source":{...} text of `event`.
  const std::string& SourceJson(const core::EventBatch& batch, const core::ChangeEvent& event);
  // The payload, byte for byte what core::AppendEnvelopeJson writes (a unit test checks), with
  // the source block built once per transaction and table and column names escaped once.
  bool AppendPayload(const core::EventBatch& batch, const core::ChangeEvent& event,
                     const SchemaBlocks& blocks, int64_t now_ns);
  // The key object (core::AppendKeyJson's bytes) into key_.
  void AppendKeyObject(const core::EventBatch& batch, const core::ChangeEvent& event,
                       const SchemaBlocks& blocks);
  bool AppendRow(const core::TableSchema& schema, const SchemaBlocks& blocks,
                 const core::RowView& row, bool before_image);
  const SchemaBlocks& BlocksFor(const core::TableSchemaPtr& schema);

  core::EnvelopeOptions options_;
  bool schemas_enable_;
  std::optional<core::NewRecordStateOptions> unwrap_;
  std::string key_;
  std::string value_;
  std::string source_json_;  // ,"source":{...} of the last event (core caches its shared part)
  const std::string* transaction_block_ = nullptr;
  // The "source" object of the last event and what it depends on (core::AppendSourceJson: the
  // table, the transaction, the event's LSN, binlog position, row and query): every row of a
  // snapshot chunk has the same one, so it is rendered once and copied.
  const core::EventBatch* source_batch_ = nullptr;  // nullptr: nothing kept
  const core::TableSchema* source_table_ = nullptr;
  uint32_t source_txn_ = 0, source_row_ = 0, source_query_ = 0;
  uint64_t source_lsn_ = 0, source_pos_ = 0;
  std::string source_;
  // The payload's tail up to the transaction block, for the last now_ns (the sink passes one
  // per Write) and operation.
  std::string tail_;
  int64_t tail_ns_ = 0;
  core::Op tail_op_ = core::Op::kRead;
  // Keyed by the schema object; the shared_ptr keeps it alive so the address is never reused.
  std::map<const core::TableSchema*, std::pair<core::TableSchemaPtr, SchemaBlocks>> blocks_;
  // The last lookup (map nodes do not move; both reset when blocks_ is cleared).
  const core::TableSchema* last_schema_ = nullptr;
  const SchemaBlocks* last_blocks_ = nullptr;
};

}  // namespace sluice::sinks::kafka_sink
