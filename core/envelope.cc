#include "core/envelope.h"

#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <vector>

#include "core/value_text.h"

namespace sluice::core {

namespace {

void AppendUInt(std::string& out, uint64_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, p);
}

// The escaped `"name":` key of every column (with its leading comma), per table schema: the
// part of a row's JSON that is the same on every row. A few schemas per thread are kept (a
// stream interleaves tables); each entry holds its schema alive, so a pointer match is exact.
class RowKeyCache {
 public:
  const std::vector<std::string>& KeysFor(const TableSchemaPtr& schema) {
    for (Entry& e : entries_) {
      if (e.schema == schema) return e.keys;
    }
    Entry& e = entries_[next_];
    next_ = (next_ + 1) % entries_.size();
    e.schema = schema;
    e.keys.resize(schema->columns.size());
    for (size_t i = 0; i < schema->columns.size(); ++i) {
      std::string& key = e.keys[i];
      key.clear();
      if (i) key += ',';
      AppendJsonString(key, schema->columns[i].name);
      key += ':';
    }
    return e.keys;
  }

 private:
  struct Entry {
    TableSchemaPtr schema;
    std::vector<std::string> keys;
  };
  std::array<Entry, 8> entries_;
  size_t next_ = 0;
};

// {"a":1,"b":null,...}: `write_key(i)` writes column i's `"name":` (with its comma); in a
// before image an unchanged (TOAST) cell is null.
template <typename WriteKey>
bool AppendRowObject(std::string& out, const TableSchema& schema, const RowView& row,
                     bool before_image, const ValueModes& modes, WriteKey write_key) {
  bool exact = true;
  out += '{';
  for (uint32_t i = 0; i < schema.columns.size(); ++i) {
    write_key(i);
    if (before_image && i < row.size() && row.is_unchanged(i)) {
      out += "null";
      continue;
    }
    exact &= AppendEnvelopeValue(out, schema.columns[i], row, i, modes);
  }
  out += '}';
  return exact;
}

bool AppendRowJsonWithKeys(std::string& out, const TableSchema& schema,
                           const std::vector<std::string>& keys, const RowView& row,
                           bool before_image, const ValueModes& modes) {
  return AppendRowObject(out, schema, row, before_image, modes,
                         [&](uint32_t i) { out += keys[i]; });
}

}  // namespace

bool AppendRowJson(std::string& out, const TableSchema& schema, const RowView& row,
                   bool before_image, const ValueModes& modes) {
  return AppendRowObject(out, schema, row, before_image, modes, [&](uint32_t i) {
    if (i) out += ',';
    AppendJsonString(out, schema.columns[i].name);
    out += ':';
  });
}

RowView KeyRow(const EventBatch& batch, const ChangeEvent& event) {
  RowView row = batch.row(event.after != kNoRow ? event.after : event.before);
  // An update whose key columns were not sent in the new image (cannot happen for keys, but be
  // safe) falls back to the old image.
  if (event.after != kNoRow && event.before != kNoRow) {
    for (uint32_t k : event.table->key) {
      if (k < row.size() && row.is_unchanged(k)) return batch.row(event.before);
    }
  }
  return row;
}

bool AppendKeyJson(std::string& out, const EventBatch& batch, const ChangeEvent& event,
                   const ValueModes& modes) {
  const TableSchema& schema = *event.table;
  if (!schema.HasKey() || (event.after == kNoRow && event.before == kNoRow)) {
    out += "null";
    return true;
  }
  const RowView row = KeyRow(batch, event);
  bool exact = true;
  out += '{';
  bool first = true;
  for (uint32_t k : schema.key) {
    if (!first) out += ',';
    first = false;
    AppendJsonString(out, schema.columns[k].name);
    out += ':';
    exact &= AppendEnvelopeValue(out, schema.columns[k], row, k, modes);
  }
  out += '}';
  return exact;
}

namespace {

// The part of the "source" object of an event of `schema` in transaction `txn` that every event
// of the transaction shares (without its closing brace). PostgreSQL: the per-event "sequence"
// goes in at `sequence_at` (after "db"), "lsn" and "xmin" at the end; MySQL: sequence_at is npos.
void AppendSourceBlock(std::string& out, size_t& sequence_at, const TableSchema& schema,
                       const TxnInfo& txn, const EnvelopeOptions& options) {
  out += "{\"version\":";
  AppendJsonString(out, options.version);
  out += ",\"connector\":";
  AppendJsonString(out, options.connector);
  out += ",\"name\":";
  AppendJsonString(out, options.name);
  out += ",\"ts_ms\":";
  AppendInt(out, txn.ts_ms);
  out += ",\"snapshot\":";
  out += txn.snapshot ? (txn.last_snapshot_event ? "\"last\"" : "\"true\"") : "\"false\"";
  out += ",\"db\":";
  AppendJsonString(out, schema.database);
  sequence_at = options.connector == "mysql" ? std::string::npos : out.size();
  // PostgreSQL's commit time has microseconds; MySQL's binlog seconds (ts_us 0: from ts_ms).
  int64_t ts_us = txn.ts_us != 0 ? txn.ts_us : txn.ts_ms * 1000;
  out += ",\"ts_us\":";
  AppendInt(out, ts_us);
  out += ",\"ts_ns\":";
  AppendInt(out, ts_us * 1000);
  if (options.connector == "mysql") {
    out += ",\"table\":";
    if (schema.id.table.empty()) {
      out += "null";  // a schema change of a database (SET, CREATE DATABASE, USE), as Debezium's
    } else {
      AppendJsonString(out, schema.id.table);
    }
    out += ",\"server_id\":";
    AppendUInt(out, txn.server_id);
    out += ",\"gtid\":";
    if (txn.gtid.empty()) {
      out += "null";
    } else {
      AppendJsonString(out, txn.gtid);
    }
    out += ",\"file\":";
    AppendJsonString(out, txn.file);
    // "pos", "row", "thread" and "query" follow per event (AppendSourceEventFields).
  } else {
    out += ",\"schema\":";
    AppendJsonString(out, schema.id.schema);
    out += ",\"table\":";
    AppendJsonString(out, schema.id.table);
    out += ",\"txId\":";
    if (txn.txid) {
      AppendUInt(out, txn.txid);
    } else {
      out += "null";
    }
    // "lsn" and "xmin" follow per event (AppendSourceEventFields).
  }
}

// The LSN Debezium's PostgreSQL source names for `event`: its own message's (stream), else the
// transaction's (the snapshot's consistent point); 0 when none.
uint64_t EventLsn(const ChangeEvent& event, const TxnInfo& txn) {
  return event.lsn != 0 ? event.lsn : txn.lsn;
}

void AppendLsnOrNull(std::string& out, uint64_t lsn) {
  if (lsn) {
    AppendUInt(out, lsn);
  } else {
    out += "null";
  }
}

// Debezium's PostgreSQL "sequence": a JSON string holding ["<last commit lsn>","<event lsn>"],
// decimal LSNs, either null when unknown.
void AppendPgSequence(std::string& out, const ChangeEvent& event, const TxnInfo& txn) {
  auto element = [&out](uint64_t lsn) {
    if (lsn) {
      out += "\\\"";
      AppendUInt(out, lsn);
      out += "\\\"";
    } else {
      out += "null";
    }
  };
  out += ",\"sequence\":\"[";
  element(txn.last_commit_lsn);
  out += ',';
  element(EventLsn(event, txn));
  out += "]\"";
}

}  // namespace

void AppendSourceEventFields(std::string& out, const ChangeEvent& event, const TxnInfo& txn,
                             const EnvelopeOptions& options, const std::string_view* query) {
  if (options.connector != "mysql") {
    out += ",\"lsn\":";
    AppendLsnOrNull(out, EventLsn(event, txn));
    out += ",\"xmin\":";  // null unless xmin.fetch.interval.ms is set, as Debezium's
    if (txn.xmin != 0) {
      AppendUInt(out, txn.xmin);
    } else {
      out += "null";
    }
    return;
  }
  out += ",\"pos\":";
  AppendUInt(out, event.source_pos != 0 ? event.source_pos : txn.pos);
  out += ",\"row\":";
  AppendUInt(out, event.source_row);
  out += ",\"thread\":";
  if (txn.thread >= 0) {
    AppendInt(out, txn.thread);
  } else {
    out += "null";
  }
  out += ",\"query\":";
  if (query != nullptr) {
    AppendJsonString(out, *query);
  } else {
    out += "null";
  }
}

namespace {

bool SameTxn(const TxnInfo& a, const TxnInfo& b) {
  return a.ts_ms == b.ts_ms && a.snapshot == b.snapshot && a.last_snapshot_event == b.last_snapshot_event &&
         a.ts_us == b.ts_us && a.txid == b.txid && a.lsn == b.lsn &&
         a.last_commit_lsn == b.last_commit_lsn && a.pos == b.pos && a.file == b.file &&
         a.gtid == b.gtid && a.server_id == b.server_id && a.thread == b.thread;
}

// The last source block written on this thread: every event of one transaction (a snapshot
// chunk, a large transaction) on one table has the same one. The key holds the schema alive
// and copies the transaction and options, so a match is exact.
struct SourceBlockCache {
  TableSchemaPtr schema;
  TxnInfo txn;
  std::string version, connector, name;
  std::string block;
  size_t sequence_at = std::string::npos;

  const std::string& For(const TableSchemaPtr& s, const TxnInfo& t, const EnvelopeOptions& o) {
    if (schema != s || !SameTxn(txn, t) || version != o.version || connector != o.connector ||
        name != o.name) {
      schema = s;
      txn = t;
      version = o.version;
      connector = o.connector;
      name = o.name;
      block.clear();
      AppendSourceBlock(block, sequence_at, *s, t, o);
    }
    return block;
  }
};

}  // namespace

void AppendSourceJson(std::string& out, const EventBatch& batch, const ChangeEvent& event,
                      const EnvelopeOptions& options) {
  thread_local SourceBlockCache source_cache;
  const TxnInfo& txn = batch.txn(event.txn);
  const std::string& block = source_cache.For(event.table, txn, options);
  if (source_cache.sequence_at == std::string::npos) {
    out += block;
  } else {
    out.append(block, 0, source_cache.sequence_at);
    AppendPgSequence(out, event, txn);
    out.append(block, source_cache.sequence_at);
  }
  std::string_view query;
  if (event.query != kNoQuery) query = batch.query(event.query);
  AppendSourceEventFields(out, event, txn, options, event.query != kNoQuery ? &query : nullptr);
  out += '}';
}

bool AppendEnvelopeJson(std::string& out, const EventBatch& batch, const ChangeEvent& event,
                        const EnvelopeOptions& options, int64_t now_ns) {
  bool exact = true;
  const TableSchema& schema = *event.table;
  if (options.include_schema) {
    out += "{\"schema\":";
    AppendEnvelopeSchemaJson(out, schema, options);
    out += ",\"payload\":";
  }
  thread_local RowKeyCache key_cache;
  const std::vector<std::string>& keys = key_cache.KeysFor(event.table);
  out += "{\"before\":";
  if (event.before != kNoRow) {
    exact &= AppendRowJsonWithKeys(out, schema, keys, batch.row(event.before), true, options.modes);
  } else {
    out += "null";
  }
  out += ",\"after\":";
  if (event.after != kNoRow) {
    exact &= AppendRowJsonWithKeys(out, schema, keys, batch.row(event.after), false, options.modes);
  } else {
    out += "null";
  }
  out += ",\"source\":";
  AppendSourceJson(out, batch, event, options);
  out += ",\"op\":\"";
  out += static_cast<char>(event.op);
  out += '"';
  AppendEnvelopeTimes(out, now_ns);
  out += ",\"transaction\":null}";
  if (options.include_schema) out += '}';
  return exact;
}

int64_t EnvelopeNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void AppendEnvelopeTimes(std::string& out, int64_t now_ns) {
  out += ",\"ts_ms\":";
  AppendInt(out, now_ns / 1000000);
  out += ",\"ts_us\":";
  AppendInt(out, now_ns / 1000);
  out += ",\"ts_ns\":";
  AppendInt(out, now_ns);
}

Status EnvelopeValueError(const EventBatch& batch, const ChangeEvent& event,
                          const ValueModes& modes) {
  const TableSchema& schema = *event.table;
  std::string scratch;
  for (uint32_t row_index : {event.before, event.after}) {
    if (row_index == kNoRow) continue;
    RowView row = batch.row(row_index);
    for (uint32_t i = 0; i < schema.columns.size(); ++i) {
      scratch.clear();
      if (AppendEnvelopeValue(scratch, schema.columns[i], row, i, modes)) continue;
      std::string key;
      AppendKeyJson(key, batch, event, modes);
      return InvalidArgumentError(
          "table " + schema.id.ToString() + ", key " + key + ", column " + schema.columns[i].name +
          ": the " + std::string(LogicalTypeName(schema.columns[i].type)) + " value '" +
          std::string(row.text(i)) + "' has no exact representation in the envelope (" +
          std::string(EnvelopeValueProblem(schema.columns[i], row.text(i), modes)) +
          "); exclude the column with column.exclude.list, change the mode, or change the value "
          "at the source");
    }
  }
  return Status::Ok();
}

}  // namespace sluice::core
