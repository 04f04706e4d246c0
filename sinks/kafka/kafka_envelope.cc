#include "sinks/kafka/kafka_envelope.h"

#include <cctype>
#include <charconv>

#include <nlohmann/json.hpp>

#include "core/value_text.h"

namespace sluice::sinks::kafka_sink {

namespace {

void AppendSanitized(std::string& out, std::string_view name) {
  for (char c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    out += ok ? c : '_';
  }
}

}  // namespace

std::string TopicName(std::string_view format, std::string_view prefix, const core::TableId& id) {
  std::string out;
  size_t i = 0;
  while (i < format.size()) {
    if (format.compare(i, 9, "${prefix}") == 0) {
      AppendSanitized(out, prefix);
      i += 9;
    } else if (format.compare(i, 9, "${schema}") == 0) {
      AppendSanitized(out, id.schema);
      i += 9;
    } else if (format.compare(i, 8, "${table}") == 0) {
      AppendSanitized(out, id.table);
      i += 8;
    } else {
      AppendSanitized(out, format.substr(i, 1));
      ++i;
    }
  }
  return out;
}

const RecordEncoder::SchemaBlocks& RecordEncoder::BlocksFor(const core::TableSchemaPtr& schema) {
  if (schema.get() == last_schema_) return *last_blocks_;  // twice per record: key and value
  auto it = blocks_.find(schema.get());
  if (it != blocks_.end()) {
    last_schema_ = schema.get();
    last_blocks_ = &it->second.second;
    return *last_blocks_;
  }
  // Debezium names records after the topic: <prefix>.<schema>.<table>.
  std::string record = TopicName(kDefaultTopicFormat, options_.name, schema->id);
  SchemaBlocks b;
  core::AppendKeySchemaJson(b.key, *schema, record, options_.modes, &options_.source_types);
  core::AppendValueSchemaJson(b.value, *schema, record, options_.connector, options_.modes,
                              &options_.source_types);
  for (size_t i = 0; i < schema->columns.size(); ++i) {
    std::string prefix = i ? "," : "";
    core::AppendJsonString(prefix, schema->columns[i].name);
    prefix += ':';
    b.field_prefixes.push_back(std::move(prefix));
    b.kinds.push_back(core::EnvelopeKindOf(schema->columns[i], options_.modes));
  }
  for (size_t j = 0; j < schema->key.size(); ++j) {
    std::string prefix = j ? "," : "";
    core::AppendJsonString(prefix, schema->columns[schema->key[j]].name);
    prefix += ':';
    b.key_prefixes.push_back(std::move(prefix));
  }
  if (unwrap_ && schemas_enable_) AppendFlatSchemas(b, *schema, record);
  if (blocks_.size() > 4096) blocks_.clear();  // schemas replaced many times: drop stale ones
  last_schema_ = schema.get();
  last_blocks_ =
      &blocks_.emplace(schema.get(), std::make_pair(schema, std::move(b))).first->second.second;
  return *last_blocks_;
}

bool RecordEncoder::EncodeKey(const core::EventBatch& batch, const core::ChangeEvent& event) {
  key_.clear();
  if (event.op == core::Op::kTruncate || !event.table->HasKey() ||
      (event.after == core::kNoRow && event.before == core::kNoRow)) {
    return false;
  }
  const SchemaBlocks& blocks = BlocksFor(event.table);
  if (schemas_enable_) {
    key_ += "{\"schema\":";
    key_ += blocks.key;
    key_ += ",\"payload\":";
    AppendKeyObject(batch, event, blocks);
    key_ += '}';
  } else {
    AppendKeyObject(batch, event, blocks);
  }
  return true;
}

void RecordEncoder::AppendKeyObject(const core::EventBatch& batch, const core::ChangeEvent& event,
                                    const SchemaBlocks& blocks) {
  // core::AppendKeyJson's bytes (a unit test compares), names escaped once per table schema.
  const core::TableSchema& schema = *event.table;
  const core::RowView row = core::KeyRow(batch, event);
  key_ += '{';
  for (size_t j = 0; j < schema.key.size(); ++j) {
    const uint32_t k = schema.key[j];
    key_ += blocks.key_prefixes[j];
    core::AppendEnvelopeValueAs(key_, schema.columns[k], blocks.kinds[k], row, k, options_.modes);
  }
  key_ += '}';
}

bool RecordEncoder::EncodeValue(const core::EventBatch& batch, const core::ChangeEvent& event,
                                int64_t now_ns) {
  value_.clear();
  BeginBatch();  // a caller of its own: `batch` may be a new one at an old address
  return AppendValueBytes(batch, event, now_ns);
}

bool RecordEncoder::AppendValue(std::string& out, const core::EventBatch& batch,
                                const core::ChangeEvent& event, int64_t now_ns) {
  // The writers below append to value_: lend them `out` (a swap moves no bytes).
  value_.clear();
  value_.swap(out);
  const bool exact = AppendValueBytes(batch, event, now_ns);
  value_.swap(out);
  return exact;
}

bool RecordEncoder::AppendValueBytes(const core::EventBatch& batch, const core::ChangeEvent& event,
                                     int64_t now_ns) {
  const SchemaBlocks& blocks = BlocksFor(event.table);
  if (schemas_enable_) {
    value_ += "{\"schema\":";
    if (!unwrap_) {
      value_ += blocks.value;
    } else if (event.op == core::Op::kDelete &&
               unwrap_->deletes == core::NewRecordStateOptions::Deletes::kNone) {
      value_ += blocks.flat_null;
    } else {
      value_ += blocks.flat;
    }
    value_ += ",\"payload\":";
    bool exact = unwrap_ ? AppendFlat(batch, event, blocks, now_ns)
                         : AppendPayload(batch, event, blocks, now_ns);
    value_ += '}';
    return exact;
  }
  return unwrap_ ? AppendFlat(batch, event, blocks, now_ns)
                 : AppendPayload(batch, event, blocks, now_ns);
}

bool RecordEncoder::AppendRow(const core::TableSchema& schema, const SchemaBlocks& blocks,
                              const core::RowView& row, bool before_image) {
  bool exact = true;
  value_ += '{';
  for (uint32_t i = 0; i < schema.columns.size(); ++i) {
    value_ += blocks.field_prefixes[i];
    if (before_image && i < row.size() && row.is_unchanged(i)) {
      value_ += "null";  // not sent by the source (REPLICA IDENTITY DEFAULT): as Debezium
      continue;
    }
    exact &= core::AppendEnvelopeValueAs(value_, schema.columns[i], blocks.kinds[i], row, i,
                                         options_.modes);
  }
  value_ += '}';
  return exact;
}

bool RecordEncoder::AppendPayload(const core::EventBatch& batch, const core::ChangeEvent& event,
                                  const SchemaBlocks& blocks, int64_t now_ns) {
  const core::TableSchema& schema = *event.table;
  bool exact = true;
  value_ += "{\"before\":";
  if (event.before != core::kNoRow) {
    exact &= AppendRow(schema, blocks, batch.row(event.before), true);
  } else {
    value_ += "null";
  }
  value_ += ",\"after\":";
  if (event.after != core::kNoRow) {
    exact &= AppendRow(schema, blocks, batch.row(event.after), false);
  } else {
    value_ += "null";
  }
  value_ += ",\"source\":";
  if (source_batch_ != &batch || source_table_ != event.table.get() || source_txn_ != event.txn ||
      source_lsn_ != event.lsn || source_pos_ != event.source_pos ||
      source_row_ != event.source_row || source_query_ != event.query) {
    source_.clear();
    core::AppendSourceJson(source_, batch, event, options_);
    source_batch_ = &batch;
    source_table_ = event.table.get();
    source_txn_ = event.txn;
    source_lsn_ = event.lsn;
    source_pos_ = event.source_pos;
    source_row_ = event.source_row;
    source_query_ = event.query;
  }
  value_ += source_;
  // ,"op":"…","ts_ms":…,"ts_us":…,"ts_ns":…,"transaction":…} : one time per Write, so without
  // a transaction block the whole tail is rendered once per operation and Write.
  if (now_ns != tail_ns_ || event.op != tail_op_ || tail_.empty()) {
    tail_.assign(",\"op\":\"");
    tail_ += static_cast<char>(event.op);
    tail_ += '"';
    core::AppendEnvelopeTimes(tail_, now_ns);
    tail_ += ",\"transaction\":";
    tail_ns_ = now_ns;
    tail_op_ = event.op;
  }
  value_ += tail_;
  value_ += transaction_block_ ? std::string_view(*transaction_block_) : std::string_view("null}");
  if (transaction_block_) value_ += '}';
  return exact;
}

const std::string& RecordEncoder::SourceJson(const core::EventBatch& batch,
                                             const core::ChangeEvent& event) {
  source_json_.assign(",\"source\":");
  core::AppendSourceJson(source_json_, batch, event, options_);
  return source_json_;
}

namespace {

// JsonConverter's {"schema", "payload"} record of a one-field struct.
std::string OneFieldRecord(const char* type, const char* field, const char* schema_name,
                           nlohmann::json value, bool schemas_enable) {
  nlohmann::json payload = nlohmann::json::object();
  payload[field] = std::move(value);
  if (!schemas_enable) return payload.dump();
  nlohmann::ordered_json schema = {
      {"type", "struct"},
      {"fields", nlohmann::ordered_json::array(
                     {{{"type", type}, {"optional", false}, {"field", field}}})},
      {"optional", false},
      {"name", schema_name}};
  return "{\"schema\":" + schema.dump() + ",\"payload\":" + payload.dump() + "}";
}

}  // namespace

std::string HeartbeatKey(std::string_view server_name, bool schemas_enable) {
  return OneFieldRecord("string", "serverName", "io.debezium.connector.common.ServerNameKey",
                        std::string(server_name), schemas_enable);
}

std::string HeartbeatValue(int64_t ts_ms, bool schemas_enable) {
  return OneFieldRecord("int64", "ts_ms", "io.debezium.connector.common.Heartbeat", ts_ms,
                        schemas_enable);
}

}  // namespace sluice::sinks::kafka_sink
