#include "sinks/kafka/kafka_txn.h"

#include <algorithm>

#include "core/java_hash.h"
#include "core/value_text.h"

namespace sluice::sinks::kafka_sink {

namespace {

// The Kafka Connect schemas Debezium's SchemaFactory declares, as JsonConverter writes them.
constexpr std::string_view kKeySchema =
    "{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"id\"}],"
    "\"optional\":false,\"name\":\"io.debezium.connector.common.TransactionMetadataKey\","
    "\"version\":1}";
constexpr std::string_view kValueSchema =
    "{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"status\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"event_count\"},"
    "{\"type\":\"array\",\"items\":{\"type\":\"struct\",\"fields\":["
    "{\"type\":\"string\",\"optional\":false,\"field\":\"data_collection\"},"
    "{\"type\":\"int64\",\"optional\":false,\"field\":\"event_count\"}],"
    "\"optional\":true,\"name\":\"event.collection\",\"version\":1},"
    "\"optional\":true,\"field\":\"data_collections\"},"
    "{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"}],"
    "\"optional\":false,\"name\":\"io.debezium.connector.common.TransactionMetadataValue\","
    "\"version\":1}";

}  // namespace

void TxnMetadata::AppendId(std::string& out, uint64_t lsn) const {
  if (!state_.id.empty()) {
    core::AppendJsonString(out, state_.id);
    return;
  }
  out += '"';
  core::AppendInt(out, static_cast<int64_t>(state_.txid));
  out += ':';
  core::AppendInt(out, static_cast<int64_t>(lsn));
  out += '"';
}

void TxnMetadata::EncodeKey(uint64_t lsn) {
  key_.clear();
  if (schemas_enable_) {
    key_ += "{\"schema\":";
    key_ += kKeySchema;
    key_ += ",\"payload\":";
  }
  key_ += "{\"id\":";
  AppendId(key_, lsn);
  key_ += '}';
  if (schemas_enable_) key_ += '}';
}

void TxnMetadata::StartValue(std::string_view status, uint64_t lsn) {
  value_.clear();
  if (schemas_enable_) {
    value_ += "{\"schema\":";
    value_ += kValueSchema;
    value_ += ",\"payload\":";
  }
  value_ += "{\"status\":\"";
  value_ += status;
  value_ += "\",\"id\":";
  AppendId(value_, lsn);
}

void TxnMetadata::Begin(const core::TxnBoundary& b) {
  state_.in_progress = true;
  state_.txid = b.txid;
  state_.id.assign(b.id);
  state_.total = 0;
  state_.used = 0;
  EncodeKey(b.lsn);
  StartValue("BEGIN", b.lsn);
  value_ += ",\"event_count\":null,\"data_collections\":null,\"ts_ms\":";
  core::AppendInt(value_, b.ts_ms);
  value_ += '}';
  if (schemas_enable_) value_ += '}';
}

void TxnMetadata::Event(const core::TableSchema& table, uint64_t lsn) {
  State& s = state_;
  Collection* c = nullptr;
  for (size_t i = 0; i < s.used; ++i) {
    if (s.collections[i].table == &table) {
      c = &s.collections[i];
      break;
    }
  }
  if (c == nullptr) {
    // Another schema object of the same table (after a schema change) is the same collection.
    for (size_t i = 0; i < s.used && c == nullptr; ++i) {
      const Collection& e = s.collections[i];
      if (e.name.size() == table.id.schema.size() + 1 + table.id.table.size() &&
          e.name.compare(0, table.id.schema.size(), table.id.schema) == 0 &&
          e.name.compare(table.id.schema.size() + 1, std::string::npos, table.id.table) == 0) {
        c = &s.collections[i];
        c->table = &table;
      }
    }
  }
  if (c == nullptr) {
    if (s.used == s.collections.size()) s.collections.emplace_back();
    c = &s.collections[s.used];
    c->table = &table;
    c->name.assign(table.id.schema);
    c->name += '.';
    c->name += table.id.table;
    c->count = 0;
    c->hash = core::JavaStringHash(c->name);
    // HashMap.putVal: a bin reaching 9 entries in a table under 64 doubles it; so does passing
    // three quarters of its capacity.
    uint32_t in_bin = 0;
    for (size_t i = 0; i < s.used; ++i) {
      in_bin += core::JavaHashMapBucket(s.collections[i].hash, s.hash_capacity) ==
                core::JavaHashMapBucket(c->hash, s.hash_capacity);
    }
    ++s.used;
    if (in_bin >= 8 && s.hash_capacity < 64) s.hash_capacity *= 2;
    while (s.used > s.hash_capacity / 4 * 3) s.hash_capacity *= 2;
  }
  ++s.total;
  ++c->count;
  block_.assign("{\"id\":");
  AppendId(block_, lsn);
  block_ += ",\"total_order\":";
  core::AppendInt(block_, s.total);
  block_ += ",\"data_collection_order\":";
  core::AppendInt(block_, c->count);
  block_ += '}';
}

void TxnMetadata::End(const core::TxnBoundary& b) {
  State& s = state_;
  EncodeKey(b.lsn);
  order_.clear();
  for (uint32_t i = 0; i < s.used; ++i) order_.push_back(i);
  std::stable_sort(order_.begin(), order_.end(), [&](uint32_t x, uint32_t y) {
    return core::JavaHashMapBucket(s.collections[x].hash, s.hash_capacity) <
           core::JavaHashMapBucket(s.collections[y].hash, s.hash_capacity);
  });
  StartValue("END", b.lsn);
  value_ += ",\"event_count\":";
  core::AppendInt(value_, s.total);
  value_ += ",\"data_collections\":[";
  for (size_t k = 0; k < order_.size(); ++k) {
    const Collection& c = s.collections[order_[k]];
    if (k > 0) value_ += ',';
    value_ += "{\"data_collection\":";
    core::AppendJsonString(value_, c.name);
    value_ += ",\"event_count\":";
    core::AppendInt(value_, c.count);
    value_ += '}';
  }
  value_ += "],\"ts_ms\":";
  core::AppendInt(value_, b.ts_ms);
  value_ += '}';
  if (schemas_enable_) value_ += '}';
  s.in_progress = false;
}

}  // namespace sluice::sinks::kafka_sink
