#include "connectors/kafka/envelope_decoder.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>

namespace sluice::kafka {

namespace {

using json = nlohmann::ordered_json;

// {"schema": …, "payload": …} -> payload (and the schema); anything else is the payload itself.
const json& Unwrap(const json& j, const json** schema) {
  if (j.is_object() && j.size() == 2 && j.contains("payload") && j.contains("schema")) {
    *schema = &j["schema"];
    return j["payload"];
  }
  *schema = nullptr;
  return j;
}

std::string StringField(const json& obj, const char* name) {
  if (!obj.is_object()) return "";
  auto it = obj.find(name);
  if (it == obj.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

// A number field as T; 0 when absent, not a number, or outside T's range ("ts_ms": 1e75, a
// negative lsn): the cast would be undefined or change the value.
template <typename T>
T NumberField(const json& obj, const char* name) {
  if (!obj.is_object()) return 0;
  auto it = obj.find(name);
  if (it == obj.end()) return 0;
  if (it->is_number_unsigned()) {
    uint64_t v = it->get<uint64_t>();
    return v <= static_cast<uint64_t>(std::numeric_limits<T>::max()) ? static_cast<T>(v) : 0;
  }
  if (it->is_number_integer()) {
    int64_t v = it->get<int64_t>();
    if constexpr (std::is_unsigned_v<T>) {
      return v >= 0 ? static_cast<T>(v) : 0;
    } else {
      return v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max() ? static_cast<T>(v) : 0;
    }
  }
  if (it->is_number_float()) {
    // [lower, 2^digits) is exactly T's range for int64 and uint64, and NaN fails both tests.
    double v = it->get<double>();
    double upper = std::ldexp(1.0, std::numeric_limits<T>::digits);
    double lower = std::is_signed_v<T> ? -upper : 0.0;
    return v >= lower && v < upper ? static_cast<T>(v) : 0;
  }
  return 0;
}

// Deepest JSON nesting accepted in a record. Serialising a value (dump) recurses once per level,
// so a record of a million '[' would otherwise exhaust the stack; Jackson, which Kafka Connect's
// JsonConverter uses, has the same default limit.
constexpr int kMaxJsonDepth = 1000;

json ParseRecordJson(const char* begin, const char* end, const char* what) {
  // A scan of the brackets outside strings before parsing: cheaper than nlohmann's callback
  // parser, which would report the depth too.
  int depth = 0;
  bool in_string = false;
  for (const char* p = begin; p < end; ++p) {
    char c = *p;
    if (in_string) {
      if (c == '\\') {
        ++p;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        throw std::length_error(std::string("the ") + what + " nests JSON deeper than " +
                                std::to_string(kMaxJsonDepth) + " levels");
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return json::parse(begin, end);
}

// The Connect schema of the row struct ("after", else "before") inside an envelope schema.
const json* RowSchema(const json& envelope_schema) {
  if (!envelope_schema.is_object() || !envelope_schema.contains("fields")) return nullptr;
  const json& fields = envelope_schema["fields"];
  if (!fields.is_array()) return nullptr;
  const json* before = nullptr;
  for (const auto& f : fields) {
    if (!f.is_object()) continue;
    std::string name = StringField(f, "field");
    if (name == "after" && f.contains("fields") && f["fields"].is_array()) return &f;
    if (name == "before" && f.contains("fields") && f["fields"].is_array()) before = &f;
  }
  return before;
}

bool SameTxn(const core::TxnInfo& a, const core::TxnInfo& b) {
  return a.ts_ms == b.ts_ms && a.snapshot == b.snapshot && a.txid == b.txid &&
         a.file == b.file && a.pos == b.pos && a.gtid == b.gtid &&
         a.last_snapshot_event == b.last_snapshot_event;
}

}  // namespace

core::TableSchemaPtr EnvelopeDecoder::SchemaOf(const core::TableId& id) const {
  auto it = tables_.find(id);
  return it == tables_.end() ? nullptr : it->second.schema;
}

core::Result<DecodeOutcome> EnvelopeDecoder::Decode(const KafkaRecord& record,
                                                    core::EventBatch& batch) {
  if (record.value == nullptr) return DecodeOutcome::kTombstone;
  try {
    auto result = DecodeJson(record, batch);
    if (result.ok()) return result;
    return result.status().WithContext("kafka record " + std::string(record.topic) + "/" +
                                       std::to_string(record.partition) + "@" +
                                       std::to_string(record.offset));
  } catch (const std::exception& e) {
    return core::InvalidArgumentError("kafka record " + std::string(record.topic) + "/" +
                                      std::to_string(record.partition) + "@" +
                                      std::to_string(record.offset) +
                                      " is not a Debezium JSON envelope: " + e.what());
  }
}

core::Result<DecodeOutcome> EnvelopeDecoder::DecodeJson(const KafkaRecord& record,
                                                        core::EventBatch& batch) {
  json value_doc = ParseRecordJson(record.value, record.value + record.value_len, "value");
  const json* value_schema = nullptr;
  const json& payload = Unwrap(value_doc, &value_schema);
  if (payload.is_null()) return DecodeOutcome::kTombstone;
  if (!payload.is_object()) {
    return core::InvalidArgumentError("the value is not a JSON object");
  }
  std::string op = StringField(payload, "op");
  if (op.empty()) {
    // Debezium's schema-change and heartbeat records have no "op".
    if (payload.contains("ddl") || payload.contains("tableChanges") ||
        payload.contains("databaseName") || (payload.size() == 1 && payload.contains("ts_ms"))) {
      return DecodeOutcome::kNotChange;
    }
    return core::InvalidArgumentError("the envelope has no \"op\"");
  }
  // A PostgreSQL logical decoding message (<topic.prefix>.message): no row to apply.
  if (op == "m" && payload.contains("message")) return DecodeOutcome::kNotChange;
  if (op.size() != 1 || std::string_view("crudt").find(op[0]) == std::string_view::npos) {
    return core::InvalidArgumentError("unknown op \"" + op + "\"");
  }
  core::Op kind = static_cast<core::Op>(op[0]);
  const json& source = payload.contains("source") ? payload["source"] : json();
  const json& before = payload.contains("before") ? payload["before"] : json();
  const json& after = payload.contains("after") ? payload["after"] : json();
  if (!before.is_null() && !before.is_object()) return core::InvalidArgumentError("\"before\" is not an object");
  if (!after.is_null() && !after.is_object()) return core::InvalidArgumentError("\"after\" is not an object");
  if ((kind == core::Op::kCreate || kind == core::Op::kRead || kind == core::Op::kUpdate) &&
      after.is_null()) {
    return core::InvalidArgumentError("op \"" + op + "\" without \"after\"");
  }
  if (kind == core::Op::kDelete && before.is_null()) {
    return core::InvalidArgumentError("op \"d\" without \"before\"");
  }

  // Table identity.
  core::TableId id;
  id.schema = StringField(source, "schema");
  std::string db = StringField(source, "db");
  if (id.schema.empty()) id.schema = db;
  id.table = StringField(source, "table");
  if (id.table.empty() || id.schema.empty()) {
    std::string_view t = record.topic;
    size_t last = t.rfind('.');
    if (last == std::string_view::npos) {
      return core::InvalidArgumentError("no source.table and the topic is not <prefix>.<schema>.<table>");
    }
    size_t prev = t.rfind('.', last - 1);
    if (id.table.empty()) id.table = std::string(t.substr(last + 1));
    if (id.schema.empty()) {
      id.schema = std::string(prev == std::string_view::npos ? t.substr(0, last)
                                                             : t.substr(prev + 1, last - prev - 1));
    }
  }

  if (filter_ != nullptr && !filter_->IncludesTable(id)) return DecodeOutcome::kFiltered;

  // Key columns, in the key's order.
  std::vector<std::string> key_names;
  if (record.key != nullptr && record.key_len > 0) {
    json key_doc = ParseRecordJson(record.key, record.key + record.key_len, "key");
    const json* key_schema = nullptr;
    const json& key = Unwrap(key_doc, &key_schema);
    if (key.is_object()) {
      for (const auto& [k, v] : key.items()) key_names.push_back(k);
    }
  }

  DecodeHints hints;
  hints.binary = binary_mode_;
  hints.mysql = StringField(source, "connector") == "mysql";
  // Columns: from the schema block, else from the row values.
  std::vector<ColumnCodec> codecs;
  std::string signature;
  const json* row_schema = value_schema ? RowSchema(*value_schema) : nullptr;
  auto it = tables_.find(id);
  if (row_schema != nullptr) {
    for (const auto& f : (*row_schema)["fields"]) {
      codecs.push_back(CodecFromFieldSchema(f, hints));
    }
  } else {
    const json& row = !after.is_null() ? after : before;
    if (row.is_object()) {
      for (const auto& [name, v] : row.items()) {
        ColumnCodec c = CodecFromValue(name, v);
        // A null tells nothing about the type: keep what an earlier record showed.
        if (v.is_null() && it != tables_.end()) {
          int idx = it->second.schema->FindColumn(name);
          if (idx >= 0) c = it->second.codecs[static_cast<size_t>(idx)];
        }
        codecs.push_back(std::move(c));
      }
    } else if (it != tables_.end()) {
      codecs = it->second.codecs;  // truncate: keep the known columns
    }
  }
  for (const auto& c : codecs) {
    signature += c.column.name;
    signature += ':';
    signature += core::LogicalTypeName(c.column.type);
    signature += static_cast<char>('0' + static_cast<int>(c.encoding));
    signature += ',';
  }
  signature += '|';
  for (const auto& k : key_names) signature += k + ',';
  if (kind == core::Op::kTruncate && it != tables_.end()) {
    signature = it->second.signature;
    codecs = it->second.codecs;
  }

  if (it == tables_.end() || it->second.signature != signature) {
    auto schema = std::make_shared<core::TableSchema>();
    schema->id = id;
    schema->database = db.empty() ? id.schema : db;
    for (const auto& c : codecs) schema->columns.push_back(c.column);
    for (const auto& k : key_names) {
      int idx = schema->FindColumn(k);
      if (idx < 0) {
        return core::InvalidArgumentError("key column \"" + k + "\" is not a column of " +
                                          id.ToString());
      }
      schema->key.push_back(static_cast<uint32_t>(idx));
      schema->columns[static_cast<size_t>(idx)].nullable = false;
    }
    schema->version = it == tables_.end() ? 1 : it->second.schema->version + 1;
    TableState state{schema, std::move(codecs), std::move(signature)};
    it = tables_.insert_or_assign(id, std::move(state)).first;
  }
  const TableState& table = it->second;

  // Rows.
  auto append_row = [&](const json& row) -> core::Result<uint32_t> {
    uint32_t index = batch.BeginRow();
    for (const ColumnCodec& c : table.codecs) {
      auto v = row.find(c.column.name);
      core::Status s = v == row.end() ? (batch.AppendNull(), core::Status::Ok())
                                      : AppendCanonical(batch, c, *v);
      if (!s.ok()) {
        batch.AbandonRow();
        return s.WithContext(id.ToString());
      }
    }
    batch.EndRow();
    return index;
  };
  core::ChangeEvent event;
  event.op = kind;
  event.table = table.schema;
  if (kind != core::Op::kTruncate) {
    if (before.is_object()) {
      SLUICE_ASSIGN_OR_RETURN(event.before, append_row(before));
    }
    if (after.is_object()) {
      // On error the before row stays in the batch unreferenced: harmless.
      SLUICE_ASSIGN_OR_RETURN(event.after, append_row(after));
    }
  }

  core::TxnInfo txn;
  txn.ts_ms = NumberField<int64_t>(source, "ts_ms");
  if (txn.ts_ms == 0) txn.ts_ms = NumberField<int64_t>(payload, "ts_ms");
  std::string snapshot;
  if (source.is_object() && source.contains("snapshot")) {
    const json& s = source["snapshot"];
    snapshot = s.is_string() ? s.get<std::string>() : (s.is_boolean() && s.get<bool>() ? "true" : "");
  }
  txn.snapshot = (!snapshot.empty() && snapshot != "false") || kind == core::Op::kRead;
  txn.last_snapshot_event = snapshot == "last";
  txn.txid = NumberField<uint64_t>(source, "txId");
  // PostgreSQL's "lsn" is the change's own: per event, so it does not split the transaction.
  event.lsn = NumberField<uint64_t>(source, "lsn");
  txn.file = StringField(source, "file");
  txn.pos = NumberField<uint64_t>(source, "pos");
  txn.gtid = StringField(source, "gtid");
  if (!batch.txns().empty() && SameTxn(batch.txns().back(), txn)) {
    event.txn = static_cast<uint32_t>(batch.txns().size() - 1);
  } else {
    event.txn = batch.AddTxn(std::move(txn));
  }
  batch.AddEvent(std::move(event));
  return DecodeOutcome::kEvent;
}

}  // namespace sluice::kafka
