// Debezium-compatible JSON envelopes for change events, shared by the file and Kafka sinks.
//
//   key:   {"<pk column>": value, ...}
//   value: {"before": {...}|null, "after": {...}|null, "source": {...}, "op": "c|u|d|r|t",
//           "ts_ms", "ts_us", "ts_ns": <processing time>, "transaction": null}
//
// Value representations follow Debezium's, under the modes of EnvelopeOptions::modes (see
// core/envelope_modes.h; the defaults are Debezium's): integers and booleans as JSON
// numbers/booleans; floats as numbers ("NaN"/"Infinity" as strings); decimals, times,
// timestamps, intervals, bytes as the modes say; timestamptz as an ISO-8601 string in UTC
// (ZonedTimestamp); json, uuid, enum as strings; YEAR as io.debezium.time.Year, SET as EnumSet,
// bit strings as io.debezium.data.Bits; arrays as JSON arrays. The file sink uses kSluiceText
// (decimals and intervals as text, every time in microseconds). Columns
// left *unchanged* by the source are written as Debezium does for PostgreSQL: in an `after`
// image (unchanged TOAST) the placeholder "__debezium_unavailable_value"; in a `before` image
// (a column outside REPLICA IDENTITY DEFAULT's key, which pgoutput does not send) null.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/envelope_modes.h"
#include "core/envelope_source_type.h"
#include "core/envelope_types.h"
#include "core/event.h"
#include "core/status.h"

namespace sluice::core {

inline constexpr std::string_view kUnavailableValuePlaceholder = "__debezium_unavailable_value";

struct EnvelopeOptions {
  std::string connector = "postgresql";  // source.connector: "postgresql" or "mysql"
  std::string name;                      // source.name: topic.prefix
  std::string version = "0.1.0";         // source.version
  bool include_schema = false;           // wrap as {"schema": …, "payload": …}
  ValueModes modes;                      // Debezium's value encodings (its defaults)
  // column/datatype.propagate.source.type: which columns' schemas carry the source type.
  SourceTypePropagation source_types;
};

// Appends one value in its envelope representation (see above) under `modes`. Returns false
// when the value has no exact representation: a date beyond int32 days or a timestamp beyond
// int64 microseconds (PostgreSQL allows both), one that would read back as +/-infinity, a
// NaN/Infinity decimal under decimal.handling.mode=precise, sub-millisecond digits in a
// millisecond field, a BIGINT UNSIGNED above 2^63-1 under bigint.unsigned.handling.mode=long.
// Something is then appended (the text as a JSON string), and the caller must refuse the event
// (EnvelopeValueError) rather than write it: a sink never writes a value other than the source's.
bool AppendEnvelopeValue(std::string& out, const Column& column, const RowView& row, uint32_t i,
                         const ValueModes& modes = {});
// The same for a present value's canonical text.
bool AppendEnvelopeText(std::string& out, const Column& column, std::string_view text,
                        const ValueModes& modes = {});
// The same with the column's EnvelopeKindOf(column, modes) computed by the caller: a sink that
// renders many rows of one table decides each column's kind once per table schema instead of
// once per value (the kind's source-type prefix tests were ~8% of the Kafka sink's rendering).
bool AppendEnvelopeTextAs(std::string& out, const Column& column, EnvelopeKind kind,
                          std::string_view text, const ValueModes& modes);
// AppendEnvelopeValue with the column's kind computed by the caller (as AppendEnvelopeTextAs).
bool AppendEnvelopeValueAs(std::string& out, const Column& column, EnvelopeKind kind,
                           const RowView& row, uint32_t i, const ValueModes& modes);
// Why AppendEnvelopeText refused `text` (what the field holds, and the mode that would keep it).
std::string_view EnvelopeValueProblem(const Column& column, std::string_view text,
                                      const ValueModes& modes);
// ISO-8601 duration -> microseconds, a month being 365.25 / 12 days as Debezium's MicroDuration
// documents (a year 365.25 days); false when malformed or beyond int64.
bool IsoDurationToMicros(std::string_view iso, int64_t& out);

// Appends {"col": value, ...} for every column of the row; false as AppendEnvelopeValue.
// `before_image`: unchanged cells (not sent by the source) are null, not the placeholder.
bool AppendRowJson(std::string& out, const TableSchema& schema, const RowView& row,
                   bool before_image = false, const ValueModes& modes = {});

// Appends the key object (primary-key columns of the after row, else the before row). Appends
// "null" for a table without a key or for truncate. False as AppendEnvelopeValue.
bool AppendKeyJson(std::string& out, const EventBatch& batch, const ChangeEvent& event,
                   const ValueModes& modes = {});
// The row AppendKeyJson reads the key from: the after image, else the before image, and the
// before image of an update whose new image lacks a key column. `event` has an image.
RowView KeyRow(const EventBatch& batch, const ChangeEvent& event);

// Appends the value envelope, with `now_ns` (processing time, ns since 1970) as the top-level
// ts_ms/ts_us/ts_ns; false as AppendEnvelopeValue.
bool AppendEnvelopeJson(std::string& out, const EventBatch& batch, const ChangeEvent& event,
                        const EnvelopeOptions& options, int64_t now_ns);

// Appends the "source" object of `event`, as Debezium's connector writes it. The part every
// event of a transaction shares is built once per thread, transaction and table.
void AppendSourceJson(std::string& out, const EventBatch& batch, const ChangeEvent& event,
                      const EnvelopeOptions& options);

// The fields of the "source" object that differ per event within one transaction, written
// last in it (before its closing brace). MySQL: Debezium's "pos" (where the row's binlog event
// starts), "row" (its index in that event), "thread" (null when unknown) and "query" (`query`,
// the statement's SQL as include.query=true captures it; null when not captured, as in a
// snapshot). PostgreSQL: "lsn" (the change's own WAL position; in a snapshot, the snapshot's)
// and "xmin" (TxnInfo::xmin; null when 0, as Debezium without xmin.fetch.interval.ms). PostgreSQL's per-event
// "sequence" sits earlier in the object; AppendSourceJson writes it.
void AppendSourceEventFields(std::string& out, const ChangeEvent& event, const TxnInfo& txn,
                             const EnvelopeOptions& options,
                             const std::string_view* query = nullptr);

// Appends `bytes` as a JSON string under binary.handling.mode `mode`: base64 (bytes, base64),
// base64url with padding (base64-url-safe) or lowercase hex (hex).
void AppendBinaryJson(std::string& out, std::string_view bytes, BinaryMode mode);

// Nanoseconds since 1970 by the system clock: the `now_ns` of AppendEnvelopeJson.
int64_t EnvelopeNowNs();

// Appends ,"ts_ms":…,"ts_us":…,"ts_ns":… for `now_ns`.
void AppendEnvelopeTimes(std::string& out, int64_t now_ns);

// Why an event's envelope is not exact: kInvalidArgument naming the table, the key, the column
// and the value, for a sink to return when one of the functions above returned false. OK when
// every value is exact.
Status EnvelopeValueError(const EventBatch& batch, const ChangeEvent& event,
                          const ValueModes& modes = {});

// Whether skipped.operations' letters `skipped_ops` (SkippedOperationsFromConfig) drop `op`.
bool SkipsOperation(std::string_view skipped_ops, Op op);

// What a sink logs when it drops `event` by skipped.operations and the event is the truncate a
// restarted snapshot sends before reading its table again (rows deleted at the source between
// the two attempts then stay in the output): a warning naming the table and the fix; "" for
// every other event.
std::string SkippedSnapshotTruncateWarning(const EventBatch& batch, const ChangeEvent& event);

// Kafka Connect schema blocks, as Debezium writes them (envelope_schema.cc).
// The schema of one column; with the __debezium.source.column.* parameters when
// `source_type_name` (SourceTypePropagation::TypeParameterFor) is not empty.
void AppendFieldSchemaJson(std::string& out, const Column& column, const ValueModes& modes = {},
                           std::string_view source_type_name = {});
// {"type":"struct","fields":[key columns],"optional":false,"name":"<record>.Key"}; the columns
// `propagation` selects carry their source type (nullptr: none).
void AppendKeySchemaJson(std::string& out, const TableSchema& schema, std::string_view record_name,
                         const ValueModes& modes = {},
                         const SourceTypePropagation* propagation = nullptr);
// The envelope schema (before/after/source/op/ts_ms/transaction) named "<record>.Envelope";
// `connector` picks the source block ("mysql" or PostgreSQL's); `propagation` as above.
void AppendValueSchemaJson(std::string& out, const TableSchema& schema, std::string_view record_name,
                           std::string_view connector, const ValueModes& modes = {},
                           const SourceTypePropagation* propagation = nullptr);
// The envelope schema of `schema`'s table, named "<options.name>.<schema>.<table>".
void AppendEnvelopeSchemaJson(std::string& out, const TableSchema& schema,
                              const EnvelopeOptions& options);

// The "source" field's schema (Debezium's io.debezium.connector.<mysql|postgresql>.Source), as
// a struct field of a record's value schema.
void AppendSourceSchemaJson(std::string& out, std::string_view connector);

// The optional "transaction" block's schema (event.block) of Debezium's value envelopes.
void AppendTransactionBlockSchemaJson(std::string& out);

// Debezium's PostgreSQL logical decoding message records (envelope_message.cc), topic
// <topic.prefix>.message:
//   key:   {"prefix": <prefix>}                  (io.debezium.connector.postgresql.MessageKey)
//   value: {"op": "m", "ts_ms": <processing time>, "source": {...}, "transaction": null,
//           "message": {"prefix": <prefix>, "content": <bytes under binary.handling.mode>}}
//                                                (io.debezium.connector.postgresql.MessageValue)
// The source block is the PostgreSQL one with "schema" and "table" empty, "lsn" the message's,
// and "txId" its transaction's (null for a non-transactional message). With
// options.include_schema each record is {"schema": …, "payload": …}.
void AppendLogicalMessageKeyJson(std::string& out, std::string_view prefix, bool include_schema);
void AppendLogicalMessageValueJson(std::string& out, const EventBatch& batch,
                                   const LogicalMessage& message, const EnvelopeOptions& options,
                                   int64_t now_ns);

// Debezium's MySQL schema-change records (include.schema.changes; envelope_schema_change.cc),
// topic <topic.prefix>:
//   key:   {"databaseName": <db>}                    (io.debezium.connector.mysql.SchemaChangeKey)
//   value: {"source": {...}, "ts_ms": <the DDL's source time>, "databaseName": <db>,
//           "schemaName": null, "ddl": <statement>, "tableChanges": [{"type", "id", "table"}]}
//                                                      (io.debezium.connector.mysql.SchemaChangeValue)
// `id` is "\"db\".\"table\""; `table` is null for a DROP, else {"defaultCharsetName",
// "primaryKeyColumnNames", "columns": [...], "comment"} (Debezium 2.x's
// io.debezium.connector.schema.Table/Column; 2.5's "attributes" is not written). The source
// block is the one of the DDL's transaction, "table" the tables named, comma-separated, "pos"
// where the DDL's event starts, "row" 0, "query" null. With options.include_schema each record is
// {"schema": …, "payload": …}.
void AppendSchemaChangeKeyJson(std::string& out, const SchemaChange& change, bool include_schema);
void AppendSchemaChangeValueJson(std::string& out, const EventBatch& batch,
                                 const SchemaChange& change, const EnvelopeOptions& options);

}  // namespace sluice::core
