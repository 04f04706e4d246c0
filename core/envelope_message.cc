// Debezium's PostgreSQL logical decoding message records (see envelope.h): the shapes of
// Debezium's LogicalDecodingMessageMonitor and PostgresSchemaFactory (MessageKey, Message,
// MessageValue, each version 1).
#include "core/envelope.h"
#include "core/value_text.h"

namespace sluice::core {
namespace {

constexpr std::string_view kKeySchema =
    "{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":true,\"field\":\"prefix\"}],"
    "\"optional\":false,\"name\":\"io.debezium.connector.postgresql.MessageKey\",\"version\":1}";

void AppendValueSchema(std::string& out, const EnvelopeOptions& options) {
  out += "{\"type\":\"struct\",\"fields\":["
         "{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},"
         "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"},";
  AppendSourceSchemaJson(out, options.connector);
  out += ',';
  AppendTransactionBlockSchemaJson(out);
  out += ",{\"type\":\"struct\",\"fields\":["
         "{\"type\":\"string\",\"optional\":true,\"field\":\"prefix\"},{\"type\":";
  out += options.modes.binary == BinaryMode::kBytes ? "\"bytes\"" : "\"string\"";
  out += ",\"optional\":true,\"field\":\"content\"}],\"optional\":false,"
         "\"name\":\"io.debezium.connector.postgresql.Message\",\"version\":1,\"field\":\"message\"}],"
         "\"optional\":false,\"name\":\"io.debezium.connector.postgresql.MessageValue\",\"version\":1}";
}

}  // namespace

void AppendLogicalMessageKeyJson(std::string& out, std::string_view prefix, bool include_schema) {
  if (include_schema) {
    out += "{\"schema\":";
    out += kKeySchema;
    out += ",\"payload\":";
  }
  out += "{\"prefix\":";
  AppendJsonString(out, prefix);
  out += '}';
  if (include_schema) out += '}';
}

void AppendLogicalMessageValueJson(std::string& out, const EventBatch& batch,
                                   const LogicalMessage& message, const EnvelopeOptions& options,
                                   int64_t now_ns) {
  if (options.include_schema) {
    out += "{\"schema\":";
    AppendValueSchema(out, options);
    out += ",\"payload\":";
  }
  ChangeEvent event;
  event.txn = message.txn;
  static const TableSchemaPtr kNoDatabase = std::make_shared<const TableSchema>();
  event.table = message.source ? message.source : kNoDatabase;
  event.lsn = message.lsn;
  out += "{\"op\":\"m\",\"ts_ms\":";
  AppendInt(out, now_ns / 1000000);
  out += ",\"source\":";
  AppendSourceJson(out, batch, event, options);
  out += ",\"transaction\":null,\"message\":{\"prefix\":";
  AppendJsonString(out, batch.message_prefix(message));
  out += ",\"content\":";
  AppendBinaryJson(out, batch.message_content(message), options.modes.binary);
  out += "}}";
  if (options.include_schema) out += '}';
}

}  // namespace sluice::core
