#include "sinks/kafka/kafka_envelope.h"

#include <cctype>
#include <charconv>

#include "core/value_text.h"

namespace sluice::sinks::kafka_sink {

namespace {

using core::LogicalType;

void AppendSanitized(std::string& out, std::string_view name) {
  for (char c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    out += ok ? c : '_';
  }
}

// The Connect type of an array element, from PostgreSQL's format_type() text ("integer[]").
const char* ArrayItemType(std::string_view source_type) {
  std::string_view t = source_type;
  if (t.ends_with("[]")) t.remove_suffix(2);
  if (t == "smallint" || t == "int2") return "int16";
  if (t == "integer" || t == "int4" || t == "int") return "int32";
  if (t == "bigint" || t == "int8") return "int64";
  if (t == "boolean" || t == "bool") return "boolean";
  if (t == "real" || t == "float4") return "float";
  if (t == "double precision" || t == "float8") return "double";
  return "string";
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Debezium's column.propagate.source.type parameters; the Kafka source reads them back.
void AppendSourceTypeParameters(std::string& out, const core::Column& c, bool has_more) {
  std::string_view t = c.source_type;
  size_t paren = t.find('(');
  std::string_view base = t.substr(0, paren);
  while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
  out += "\"__debezium.source.column.type\":";
  core::AppendJsonString(out, Upper(base));
  int32_t length = c.type == LogicalType::kDecimal ? c.precision : c.length;
  if (length > 0) {
    out += ",\"__debezium.source.column.length\":\"" + std::to_string(length) + "\"";
  }
  if (c.type == LogicalType::kDecimal && c.precision > 0) {
    out += ",\"__debezium.source.column.scale\":\"" + std::to_string(c.scale) + "\"";
  }
  if (has_more) out += ',';
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

void AppendFieldSchemaJson(std::string& out, const core::Column& c) {
  const char* type = "string";
  const char* name = nullptr;
  switch (c.type) {
    case LogicalType::kBool: type = "boolean"; break;
    case LogicalType::kInt16: type = "int16"; break;
    case LogicalType::kInt32: type = "int32"; break;
    case LogicalType::kInt64: type = "int64"; break;
    case LogicalType::kFloat32: type = "float"; break;
    case LogicalType::kFloat64: type = "double"; break;
    case LogicalType::kBytes: type = "bytes"; break;
    case LogicalType::kDate: type = "int32"; name = "io.debezium.time.Date"; break;
    case LogicalType::kTime: type = "int64"; name = "io.debezium.time.MicroTime"; break;
    case LogicalType::kTimestamp: type = "int64"; name = "io.debezium.time.MicroTimestamp"; break;
    case LogicalType::kTimestampTz: name = "io.debezium.time.ZonedTimestamp"; break;
    case LogicalType::kInterval: name = "io.debezium.time.Interval"; break;
    case LogicalType::kJson: name = "io.debezium.data.Json"; break;
    case LogicalType::kUuid: name = "io.debezium.data.Uuid"; break;
    case LogicalType::kEnum: name = "io.debezium.data.Enum"; break;
    // decimal.handling.mode=string: a plain string, no logical name.
    case LogicalType::kDecimal: break;
    case LogicalType::kArray: type = "array"; break;
    default: break;
  }
  out += "{\"type\":\"";
  out += type;
  out += "\",\"optional\":";
  out += c.nullable ? "true" : "false";
  if (name) {
    out += ",\"name\":\"";
    out += name;
    out += "\",\"version\":1";
  }
  bool enum_values = c.type == LogicalType::kEnum && !c.enum_values.empty();
  if (enum_values || !c.source_type.empty()) {
    out += ",\"parameters\":{";
    if (!c.source_type.empty()) AppendSourceTypeParameters(out, c, enum_values);
    if (enum_values) {
      std::string allowed;
      for (const auto& v : c.enum_values) {
        if (!allowed.empty()) allowed += ',';
        allowed += v;
      }
      out += "\"allowed\":";
      core::AppendJsonString(out, allowed);
    }
    out += '}';
  }
  if (c.type == LogicalType::kArray) {
    out += ",\"items\":{\"type\":\"";
    out += ArrayItemType(c.source_type);
    out += "\",\"optional\":true}";
  }
  out += ",\"field\":";
  core::AppendJsonString(out, c.name);
  out += '}';
}

void AppendKeySchemaJson(std::string& out, const core::TableSchema& schema,
                         std::string_view record_name) {
  out += "{\"type\":\"struct\",\"fields\":[";
  bool first = true;
  for (uint32_t k : schema.key) {
    if (k >= schema.columns.size()) continue;
    if (!first) out += ',';
    first = false;
    core::Column c = schema.columns[k];
    c.nullable = false;
    AppendFieldSchemaJson(out, c);
  }
  out += "],\"optional\":false,\"name\":";
  core::AppendJsonString(out, std::string(record_name) + ".Key");
  out += '}';
}

void AppendValueSchemaJson(std::string& out, const core::TableSchema& schema,
                           std::string_view record_name, std::string_view connector) {
  auto row_schema = [&](const char* field) {
    out += "{\"type\":\"struct\",\"fields\":[";
    for (size_t i = 0; i < schema.columns.size(); ++i) {
      if (i) out += ',';
      AppendFieldSchemaJson(out, schema.columns[i]);
    }
    out += "],\"optional\":true,\"name\":";
    core::AppendJsonString(out, std::string(record_name) + ".Value");
    out += ",\"field\":\"";
    out += field;
    out += "\"}";
  };
  out += "{\"type\":\"struct\",\"fields\":[";
  row_schema("before");
  out += ',';
  row_schema("after");
  out += ",{\"type\":\"struct\",\"fields\":["
         "{\"type\":\"string\",\"optional\":false,\"field\":\"version\"},"
         "{\"type\":\"string\",\"optional\":false,\"field\":\"connector\"},"
         "{\"type\":\"string\",\"optional\":false,\"field\":\"name\"},"
         "{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"},"
         "{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.data.Enum\",\"version\":1,"
         "\"parameters\":{\"allowed\":\"true,last,false,incremental\"},\"default\":\"false\","
         "\"field\":\"snapshot\"},"
         "{\"type\":\"string\",\"optional\":false,\"field\":\"db\"},"
         "{\"type\":\"string\",\"optional\":true,\"field\":\"sequence\"},";
  if (connector == "mysql") {
    out += "{\"type\":\"string\",\"optional\":true,\"field\":\"table\"},"
           "{\"type\":\"int64\",\"optional\":false,\"field\":\"server_id\"},"
           "{\"type\":\"string\",\"optional\":true,\"field\":\"gtid\"},"
           "{\"type\":\"string\",\"optional\":false,\"field\":\"file\"},"
           "{\"type\":\"int64\",\"optional\":false,\"field\":\"pos\"},"
           "{\"type\":\"int32\",\"optional\":false,\"field\":\"row\"},"
           "{\"type\":\"int64\",\"optional\":true,\"field\":\"thread\"},"
           "{\"type\":\"string\",\"optional\":true,\"field\":\"query\"}";
  } else {
    out += "{\"type\":\"string\",\"optional\":false,\"field\":\"schema\"},"
           "{\"type\":\"string\",\"optional\":false,\"field\":\"table\"},"
           "{\"type\":\"int64\",\"optional\":true,\"field\":\"txId\"},"
           "{\"type\":\"int64\",\"optional\":true,\"field\":\"lsn\"},"
           "{\"type\":\"int64\",\"optional\":true,\"field\":\"xmin\"}";
  }
  out += "],\"optional\":false,\"name\":\"io.debezium.connector.";
  out += connector == "mysql" ? "mysql" : "postgresql";
  out += ".Source\",\"field\":\"source\"},"
         "{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},"
         "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"},"
         "{\"type\":\"struct\",\"fields\":["
         "{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},"
         "{\"type\":\"int64\",\"optional\":false,\"field\":\"total_order\"},"
         "{\"type\":\"int64\",\"optional\":false,\"field\":\"data_collection_order\"}],"
         "\"optional\":true,\"name\":\"event.block\",\"version\":1,\"field\":\"transaction\"}],"
         "\"optional\":false,\"name\":";
  core::AppendJsonString(out, std::string(record_name) + ".Envelope");
  out += '}';
}

const RecordEncoder::SchemaBlocks& RecordEncoder::BlocksFor(const core::TableSchemaPtr& schema) {
  auto it = blocks_.find(schema.get());
  if (it != blocks_.end()) return it->second.second;
  // Debezium names records after the topic: <prefix>.<schema>.<table>.
  std::string record = TopicName(kDefaultTopicFormat, options_.name, schema->id);
  SchemaBlocks b;
  AppendKeySchemaJson(b.key, *schema, record);
  AppendValueSchemaJson(b.value, *schema, record, options_.connector);
  for (size_t i = 0; i < schema->columns.size(); ++i) {
    std::string prefix = i ? "," : "";
    core::AppendJsonString(prefix, schema->columns[i].name);
    prefix += ':';
    b.field_prefixes.push_back(std::move(prefix));
  }
  if (blocks_.size() > 4096) blocks_.clear();  // schemas replaced many times: drop stale ones
  return blocks_.emplace(schema.get(), std::make_pair(schema, std::move(b))).first->second.second;
}

bool RecordEncoder::EncodeKey(const core::EventBatch& batch, const core::ChangeEvent& event) {
  key_.clear();
  if (event.op == core::Op::kTruncate || !event.table->HasKey() ||
      (event.after == core::kNoRow && event.before == core::kNoRow)) {
    return false;
  }
  if (schemas_enable_) {
    key_ += "{\"schema\":";
    key_ += BlocksFor(event.table).key;
    key_ += ",\"payload\":";
    core::AppendKeyJson(key_, batch, event);
    key_ += '}';
  } else {
    core::AppendKeyJson(key_, batch, event);
  }
  return true;
}

void RecordEncoder::EncodeValue(const core::EventBatch& batch, const core::ChangeEvent& event,
                                int64_t now_ms) {
  value_.clear();
  const SchemaBlocks& blocks = BlocksFor(event.table);
  if (schemas_enable_) {
    value_ += "{\"schema\":";
    value_ += blocks.value;
    value_ += ",\"payload\":";
    AppendPayload(batch, event, blocks, now_ms);
    value_ += '}';
  } else {
    AppendPayload(batch, event, blocks, now_ms);
  }
}

void RecordEncoder::AppendRow(const core::TableSchema& schema, const SchemaBlocks& blocks,
                              const core::RowView& row) {
  value_ += '{';
  for (uint32_t i = 0; i < schema.columns.size(); ++i) {
    value_ += blocks.field_prefixes[i];
    core::AppendEnvelopeValue(value_, schema.columns[i], row, i);
  }
  value_ += '}';
}

void RecordEncoder::AppendPayload(const core::EventBatch& batch, const core::ChangeEvent& event,
                                  const SchemaBlocks& blocks, int64_t now_ms) {
  const core::TableSchema& schema = *event.table;
  value_ += "{\"before\":";
  if (event.before != core::kNoRow) {
    AppendRow(schema, blocks, batch.row(event.before));
  } else {
    value_ += "null";
  }
  value_ += ",\"after\":";
  if (event.after != core::kNoRow) {
    AppendRow(schema, blocks, batch.row(event.after));
  } else {
    value_ += "null";
  }
  if (event.txn != source_txn_ || event.table.get() != source_table_) {
    // core writes the source block between ,"source": and ,"op": — reuse its exact text.
    core::EventBatch empty;
    core::ChangeEvent bare{event.op, core::kNoRow, core::kNoRow, 0, event.table};
    empty.AddTxn(batch.txn(event.txn));
    std::string full;
    core::AppendEnvelopeJson(full, empty, bare, options_, 0);
    size_t start = full.find(",\"source\":");
    size_t end = full.rfind(",\"op\":\"");
    source_json_.assign(full, start, end - start);
    source_txn_ = event.txn;
    source_table_ = event.table.get();
  }
  value_ += source_json_;
  value_ += ",\"op\":\"";
  value_ += static_cast<char>(event.op);
  value_ += "\",\"ts_ms\":";
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, now_ms);
  value_.append(buf, p);
  value_ += ",\"transaction\":null}";
}

}  // namespace sluice::sinks::kafka_sink
