// Debezium's MySQL schema-change records (see core/envelope.h). Field order and optionality
// follow Debezium 2.x's SchemaChangeKey / SchemaChangeValue and its table-change serializer.
#include <memory>

#include "core/envelope.h"
#include "core/value_text.h"

namespace sluice::core {
namespace {

void AppendOptionalString(std::string& out, const std::optional<std::string>& v) {
  if (v) {
    AppendJsonString(out, *v);
  } else {
    out += "null";
  }
}

void AppendOptionalInt(std::string& out, const std::optional<int32_t>& v) {
  if (v) {
    AppendInt(out, *v);
  } else {
    out += "null";
  }
}

void AppendBool(std::string& out, bool v) { out += v ? "true" : "false"; }

void AppendStringArray(std::string& out, const std::vector<std::string>& items) {
  out += '[';
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(out, items[i]);
  }
  out += ']';
}

// "\"db\".\"table\"", Debezium's TableId.toDoubleQuotedString().
std::string DoubleQuotedId(const TableId& id) {
  std::string out = "\"" + id.schema + "\"";
  if (!id.table.empty()) out += ".\"" + id.table + "\"";
  return out;
}

void AppendColumn(std::string& out, const SchemaChangeColumn& c) {
  out += "{\"name\":";
  AppendJsonString(out, c.name);
  out += ",\"jdbcType\":";
  AppendInt(out, c.jdbc_type);
  out += ",\"nativeType\":null,\"typeName\":";
  AppendJsonString(out, c.type_name);
  out += ",\"typeExpression\":";
  AppendJsonString(out, c.type_expression);
  out += ",\"charsetName\":";
  AppendOptionalString(out, c.charset_name);
  out += ",\"length\":";
  AppendOptionalInt(out, c.length);
  out += ",\"scale\":";
  AppendOptionalInt(out, c.scale);
  out += ",\"position\":";
  AppendInt(out, c.position);
  out += ",\"optional\":";
  AppendBool(out, c.optional);
  out += ",\"autoIncremented\":";
  AppendBool(out, c.auto_incremented);
  out += ",\"generated\":";
  AppendBool(out, c.generated);
  out += ",\"comment\":";
  AppendOptionalString(out, c.comment);
  out += ",\"hasDefaultValue\":";
  AppendBool(out, c.has_default_value);
  out += ",\"defaultValueExpression\":";
  AppendOptionalString(out, c.default_value_expression);
  out += ",\"enumValues\":";
  if (c.enum_values.empty()) {
    out += "null";
  } else {
    AppendStringArray(out, c.enum_values);
  }
  out += '}';
}

void AppendTableChange(std::string& out, const SchemaChangeTable& t) {
  out += "{\"type\":";
  AppendJsonString(out, SchemaChangeTypeName(t.type));
  out += ",\"id\":";
  AppendJsonString(out, DoubleQuotedId(t.id));
  out += ",\"table\":";
  if (!t.has_table) {
    out += "null}";
    return;
  }
  out += "{\"defaultCharsetName\":";
  AppendOptionalString(out, t.default_charset_name);
  out += ",\"primaryKeyColumnNames\":";
  AppendStringArray(out, t.primary_key_column_names);
  out += ",\"columns\":[";
  for (size_t i = 0; i < t.columns.size(); ++i) {
    if (i) out += ',';
    AppendColumn(out, t.columns[i]);
  }
  out += "],\"comment\":";
  AppendOptionalString(out, t.comment);
  out += "}}";
}

constexpr std::string_view kKeySchema =
    "{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,"
    "\"field\":\"databaseName\"}],\"optional\":false,"
    "\"name\":\"io.debezium.connector.mysql.SchemaChangeKey\"}";

constexpr std::string_view kColumnSchema =
    "{\"type\":\"struct\",\"fields\":["
    "{\"type\":\"string\",\"optional\":false,\"field\":\"name\"},"
    "{\"type\":\"int32\",\"optional\":false,\"field\":\"jdbcType\"},"
    "{\"type\":\"int32\",\"optional\":true,\"field\":\"nativeType\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"typeName\"},"
    "{\"type\":\"string\",\"optional\":true,\"field\":\"typeExpression\"},"
    "{\"type\":\"string\",\"optional\":true,\"field\":\"charsetName\"},"
    "{\"type\":\"int32\",\"optional\":true,\"field\":\"length\"},"
    "{\"type\":\"int32\",\"optional\":true,\"field\":\"scale\"},"
    "{\"type\":\"int32\",\"optional\":false,\"field\":\"position\"},"
    "{\"type\":\"boolean\",\"optional\":true,\"field\":\"optional\"},"
    "{\"type\":\"boolean\",\"optional\":true,\"field\":\"autoIncremented\"},"
    "{\"type\":\"boolean\",\"optional\":true,\"field\":\"generated\"},"
    "{\"type\":\"string\",\"optional\":true,\"field\":\"comment\"},"
    "{\"type\":\"boolean\",\"optional\":true,\"field\":\"hasDefaultValue\"},"
    "{\"type\":\"string\",\"optional\":true,\"field\":\"defaultValueExpression\"},"
    "{\"type\":\"array\",\"items\":{\"type\":\"string\",\"optional\":false},\"optional\":true,"
    "\"field\":\"enumValues\"}],"
    "\"optional\":false,\"name\":\"io.debezium.connector.schema.Column\"}";

void AppendValueSchema(std::string& out, std::string_view connector) {
  out += "{\"type\":\"struct\",\"fields\":[";
  AppendSourceSchemaJson(out, connector);
  out += ",{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"},"
         "{\"type\":\"string\",\"optional\":true,\"field\":\"databaseName\"},"
         "{\"type\":\"string\",\"optional\":true,\"field\":\"schemaName\"},"
         "{\"type\":\"string\",\"optional\":true,\"field\":\"ddl\"},"
         "{\"type\":\"array\",\"items\":{\"type\":\"struct\",\"fields\":["
         "{\"type\":\"string\",\"optional\":false,\"field\":\"type\"},"
         "{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},"
         "{\"type\":\"struct\",\"fields\":["
         "{\"type\":\"string\",\"optional\":true,\"field\":\"defaultCharsetName\"},"
         "{\"type\":\"array\",\"items\":{\"type\":\"string\",\"optional\":false},"
         "\"optional\":true,\"field\":\"primaryKeyColumnNames\"},"
         "{\"type\":\"array\",\"items\":";
  out += kColumnSchema;
  out += ",\"optional\":false,\"field\":\"columns\"},"
         "{\"type\":\"string\",\"optional\":true,\"field\":\"comment\"}],"
         "\"optional\":true,\"name\":\"io.debezium.connector.schema.Table\",\"field\":\"table\"}],"
         "\"optional\":false,\"name\":\"io.debezium.connector.schema.Change\"},"
         "\"optional\":false,\"field\":\"tableChanges\"}],"
         "\"optional\":false,\"name\":\"io.debezium.connector.";
  out += connector == "mysql" ? "mysql" : "postgresql";
  out += ".SchemaChangeValue\"}";
}

}  // namespace

void AppendSchemaChangeKeyJson(std::string& out, const SchemaChange& change, bool include_schema) {
  if (include_schema) {
    out += "{\"schema\":";
    out += kKeySchema;
    out += ",\"payload\":";
  }
  out += "{\"databaseName\":";
  AppendJsonString(out, change.database);
  out += '}';
  if (include_schema) out += '}';
}

void AppendSchemaChangeValueJson(std::string& out, const EventBatch& batch,
                                 const SchemaChange& change, const EnvelopeOptions& options) {
  if (options.include_schema) {
    out += "{\"schema\":";
    AppendValueSchema(out, options.connector);
    out += ",\"payload\":";
  }
  // The source block of a change event whose "table" names every table of the statement.
  auto tables = std::make_shared<TableSchema>();
  tables->database = change.database;
  tables->id.schema = change.database;
  for (const SchemaChangeTable& t : change.tables) {
    if (!tables->id.table.empty()) tables->id.table += ',';
    tables->id.table += t.id.table;
  }
  ChangeEvent event;
  event.txn = change.txn;
  event.table = tables;
  event.source_pos = change.source_pos;
  out += "{\"source\":";
  AppendSourceJson(out, batch, event, options);
  out += ",\"ts_ms\":";
  AppendInt(out, batch.txn(change.txn).ts_ms);
  out += ",\"databaseName\":";
  AppendJsonString(out, change.database);
  out += ",\"schemaName\":null,\"ddl\":";
  AppendJsonString(out, change.ddl);
  out += ",\"tableChanges\":[";
  for (size_t i = 0; i < change.tables.size(); ++i) {
    if (i) out += ',';
    AppendTableChange(out, change.tables[i]);
  }
  out += "]}";
  if (options.include_schema) out += '}';
}

}  // namespace sluice::core
