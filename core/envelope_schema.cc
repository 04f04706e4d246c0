// The Kafka Connect schema blocks of the Debezium envelope (JsonConverter with schemas): one
// per column, the key's, and the whole value envelope's. Written as Debezium writes them for
// the value modes, so that Debezium consumers, which read schemas strictly, accept them: the
// logical names and parameters of envelope_types.h (Decimal's scale and connect.decimal.precision,
// Bits' length, Enum/EnumSet's allowed; a decimal.handling.mode=string decimal has none), array
// items carry their element type, the key has its own `<record>.Key` schema, the MySQL source
// block declares server_id and row, `snapshot` is the io.debezium.data.Enum Debezium declares,
// and source column types travel as parameters for the columns column.propagate.source.type /
// datatype.propagate.source.type select (core/envelope_source_type.h; none by default).
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "core/envelope.h"
#include "core/envelope_types.h"
#include "core/value_text.h"

namespace sluice::core {
namespace {

// Debezium's hstore map(STRING, OPTIONAL_STRING): keys are never null, values may be.
constexpr std::string_view kHstoreMapKeysValues =
    "\"keys\":{\"type\":\"string\",\"optional\":false},"
    "\"values\":{\"type\":\"string\",\"optional\":true}";

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

// Debezium's column.propagate.source.type parameters (core/envelope_source_type.h) with
// `type_name` as the type; the Kafka source reads them back.
void AppendSourceTypeParameters(std::string& out, const Column& c, std::string_view type_name) {
  out += "\"__debezium.source.column.type\":";
  AppendJsonString(out, type_name);
  int32_t length = c.type == LogicalType::kDecimal ? c.precision : c.length;
  if (length > 0) {
    out += ",\"__debezium.source.column.length\":\"" + std::to_string(length) + "\"";
  }
  // A BIGINT UNSIGNED held as a decimal declares no scale (Debezium writes none).
  bool integer = c.is_unsigned && type_name.starts_with("BIGINT");
  if (c.type == LogicalType::kDecimal && c.precision > 0 && !integer) {
    out += ",\"__debezium.source.column.scale\":\"" + std::to_string(c.scale) + "\"";
  }
}

}  // namespace

void AppendFieldSchemaJson(std::string& out, const Column& c, const ValueModes& modes,
                           std::string_view source_type_name) {
  EnvelopeKind kind = EnvelopeKindOf(c, modes);
  const char* type = EnvelopeSchemaType(kind, c, modes);
  const char* name = EnvelopeSchemaName(kind, modes);
  if (kind == EnvelopeKind::kAsType) {
    switch (c.type) {
      case LogicalType::kJson: name = "io.debezium.data.Json"; break;
      case LogicalType::kUuid: name = "io.debezium.data.Uuid"; break;
      case LogicalType::kEnum: name = "io.debezium.data.Enum"; break;
      default: break;
    }
  }
  out += "{\"type\":\"";
  out += type;
  out += '"';
  if (kind == EnvelopeKind::kVariableDecimal) {
    out += ",\"fields\":[{\"type\":\"int32\",\"optional\":false,\"field\":\"scale\"},"
           "{\"type\":\"bytes\",\"optional\":false,\"field\":\"value\"}]";
  } else if (kind == EnvelopeKind::kGeometry) {
    out += ",\"fields\":[{\"type\":\"bytes\",\"optional\":false,\"field\":\"wkb\"},"
           "{\"type\":\"int32\",\"optional\":true,\"field\":\"srid\"}]";
  } else if (kind == EnvelopeKind::kHstoreMap) {
    out += ',';
    out += kHstoreMapKeysValues;
  } else if (kind == EnvelopeKind::kPoint) {
    out += ",\"fields\":[{\"type\":\"double\",\"optional\":false,\"field\":\"x\"},"
           "{\"type\":\"double\",\"optional\":false,\"field\":\"y\"},"
           "{\"type\":\"bytes\",\"optional\":true,\"field\":\"wkb\"},"
           "{\"type\":\"int32\",\"optional\":true,\"field\":\"srid\"}]";
  }
  out += ",\"optional\":";
  out += c.nullable ? "true" : "false";
  if (name) {
    out += ",\"name\":\"";
    out += name;
    out += "\",\"version\":1";
  }
  if (modes.schema_comments && !c.comment.empty()) {  // JsonConverter: after version, before parameters
    out += ",\"doc\":";
    AppendJsonString(out, c.comment);
  }
  // Parameters: the logical type's (Debezium's), then column.propagate.source.type's.
  bool first = true;
  auto param = [&](std::string_view key, const std::string& value) {
    out += first ? ",\"parameters\":{" : ",";
    first = false;
    AppendJsonString(out, key);
    out += ':';
    AppendJsonString(out, value);
  };
  if (kind == EnvelopeKind::kDecimal) {
    param("scale", std::to_string(c.scale));
    param("connect.decimal.precision", std::to_string(c.precision));
  } else if (kind == EnvelopeKind::kUnsignedDecimal) {
    param("scale", "0");
  } else if (kind == EnvelopeKind::kMoney && modes.decimal == DecimalMode::kPrecise) {
    param("scale", "2");  // money.fraction.digits' default, PostgreSQL's C / en_US money
  } else if (kind == EnvelopeKind::kBitsFromText || kind == EnvelopeKind::kBitsFromBytes) {
    param("length", std::to_string(BitsLength(c)));
  }
  if ((c.type == LogicalType::kEnum || kind == EnvelopeKind::kEnumSet) && !c.enum_values.empty()) {
    std::string allowed;
    for (const auto& v : c.enum_values) {
      if (!allowed.empty()) allowed += ',';
      allowed += v;
    }
    param("allowed", allowed);
  }
  for (const auto& [key, value] : c.schema_parameters) param(key, value);
  if (!source_type_name.empty()) {
    out += first ? ",\"parameters\":{" : ",";
    first = false;
    AppendSourceTypeParameters(out, c, source_type_name);
  }
  if (!first) out += '}';
  // Debezium's array converters of timetz[] and hstore[] declare their elements' logical types.
  const char* item_name = kind == EnvelopeKind::kZonedTimeArray    ? "io.debezium.time.ZonedTime"
                          : kind == EnvelopeKind::kHstoreJsonArray ? "io.debezium.data.Json"
                                                                   : nullptr;
  if (item_name) {
    out += ",\"items\":{\"type\":\"string\",\"optional\":true,\"name\":\"";
    out += item_name;
    out += "\",\"version\":1}";
  } else if (kind == EnvelopeKind::kHstoreMapArray) {
    out += ",\"items\":{\"type\":\"map\"," + std::string(kHstoreMapKeysValues) +
           ",\"optional\":true}";
  } else if (c.type == LogicalType::kArray) {
    out += ",\"items\":{\"type\":\"";
    out += ArrayItemType(c.source_type);
    out += "\",\"optional\":true}";
  }
  out += ",\"field\":";
  AppendJsonString(out, c.name);
  out += '}';
}

void AppendKeySchemaJson(std::string& out, const TableSchema& schema,
                         std::string_view record_name, const ValueModes& modes,
                         const SourceTypePropagation* propagation) {
  out += "{\"type\":\"struct\",\"fields\":[";
  bool first = true;
  for (uint32_t k : schema.key) {
    if (k >= schema.columns.size()) continue;
    if (!first) out += ',';
    first = false;
    Column c = schema.columns[k];
    c.nullable = false;
    AppendFieldSchemaJson(out, c, modes,
                          propagation ? propagation->TypeParameterFor(schema, c) : std::string());
  }
  out += "],\"optional\":false,\"name\":";
  AppendJsonString(out, std::string(record_name) + ".Key");
  out += '}';
}

void AppendSourceSchemaJson(std::string& out, std::string_view connector) {
  out += "{\"type\":\"struct\",\"fields\":["
         "{\"type\":\"string\",\"optional\":false,\"field\":\"version\"},"
         "{\"type\":\"string\",\"optional\":false,\"field\":\"connector\"},"
         "{\"type\":\"string\",\"optional\":false,\"field\":\"name\"},"
         "{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"},"
         "{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.data.Enum\",\"version\":1,"
         "\"parameters\":{\"allowed\":\"true,last,false,incremental\"},\"default\":\"false\","
         "\"field\":\"snapshot\"},"
         "{\"type\":\"string\",\"optional\":false,\"field\":\"db\"},"
         "{\"type\":\"string\",\"optional\":true,\"field\":\"sequence\"},"
         "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_us\"},"
         "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ns\"},";
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
  out += ".Source\",\"field\":\"source\"}";
}

void AppendValueSchemaJson(std::string& out, const TableSchema& schema,
                           std::string_view record_name, std::string_view connector,
                           const ValueModes& modes, const SourceTypePropagation* propagation) {
  std::vector<std::string> type_names(schema.columns.size());
  if (propagation) {
    for (size_t i = 0; i < schema.columns.size(); ++i) {
      type_names[i] = propagation->TypeParameterFor(schema, schema.columns[i]);
    }
  }
  auto row_schema = [&](const char* field) {
    out += "{\"type\":\"struct\",\"fields\":[";
    for (size_t i = 0; i < schema.columns.size(); ++i) {
      if (i) out += ',';
      AppendFieldSchemaJson(out, schema.columns[i], modes, type_names[i]);
    }
    out += "],\"optional\":true,\"name\":";
    AppendJsonString(out, std::string(record_name) + ".Value");
    out += ",\"field\":\"";
    out += field;
    out += "\"}";
  };
  out += "{\"type\":\"struct\",\"fields\":[";
  row_schema("before");
  out += ',';
  row_schema("after");
  out += ',';
  AppendSourceSchemaJson(out, connector);
  out += ",{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},"
         "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"},"
         "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_us\"},"
         "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ns\"},";
  AppendTransactionBlockSchemaJson(out);
  out += "],\"optional\":false,\"name\":";
  AppendJsonString(out, std::string(record_name) + ".Envelope");
  out += '}';
}

void AppendEnvelopeSchemaJson(std::string& out, const TableSchema& schema,
                              const EnvelopeOptions& options) {
  AppendValueSchemaJson(out, schema, options.name + "." + schema.id.schema + "." + schema.id.table,
                        options.connector, options.modes, &options.source_types);
}

void AppendTransactionBlockSchemaJson(std::string& out) {
  out += "{\"type\":\"struct\",\"fields\":["
         "{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},"
         "{\"type\":\"int64\",\"optional\":false,\"field\":\"total_order\"},"
         "{\"type\":\"int64\",\"optional\":false,\"field\":\"data_collection_order\"}],"
         "\"optional\":true,\"name\":\"event.block\",\"version\":1,\"field\":\"transaction\"}";
}

}  // namespace sluice::core
