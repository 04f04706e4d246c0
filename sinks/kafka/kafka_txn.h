// Debezium's transaction metadata (provide.transaction.metadata=true) for the Kafka sink: the
// BEGIN and END records of the topic <topic.prefix>.<topic.transaction> and the "transaction"
// block of every streamed change's envelope.
//
//   key:   {"id": <id>}                      (io.debezium.connector.common.TransactionMetadataKey)
//   value: {"status":"BEGIN"|"END","id":<id>,"event_count":null|n,
//           "data_collections":null|[{"data_collection":"<schema>.<table>","event_count":n}],
//           "ts_ms":<commit time>}           (io.debezium.connector.common.TransactionMetadataValue)
//   block: {"id":<id>,"total_order":n,"data_collection_order":m}
//
// PostgreSQL ids are "<xid>:<lsn>", the lsn (decimal) being that of the message the record comes
// from, as Debezium's PostgresTransactionMonitor writes them: the BEGIN message's for BEGIN, the
// change's own for a data record, the COMMIT message's for END. END lists the tables in the
// iteration order of the Java HashMap Debezium keeps the counts in (bucket of String.hashCode,
// then insertion), so the bytes match. A source with ids of its own (MySQL/MariaDB: the GTID, else
// "file=<binlog>,pos=<BEGIN's position>", see core::BinlogTransactionId) sets TxnBoundary::id on
// BEGIN; every record of that transaction then carries that id unchanged, as Debezium's.
//
// Counting follows Debezium's dispatcher: every data record counts (both halves of a key
// change), tombstones and skipped.operations do not; snapshot records carry "transaction":null.
//
// Thread-safety: one thread (the sink thread). Nothing is allocated per value once warm.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"

namespace sluice::sinks::kafka_sink {

inline constexpr std::string_view kDefaultTransactionTopic = "transaction";

class TxnMetadata {
 public:
  explicit TxnMetadata(bool schemas_enable) : schemas_enable_(schemas_enable) {}

  bool in_progress() const { return state_.in_progress; }

  // Starts the transaction of `b` and encodes its BEGIN record into key() / value().
  void Begin(const core::TxnBoundary& b);
  // Counts one data record of `table` (message LSN `lsn`) in the open transaction and encodes its
  // "transaction" block into block().
  void Event(const core::TableSchema& table, uint64_t lsn);
  // Encodes the open transaction's END record (commit message at `b`) and closes it.
  void End(const core::TxnBoundary& b);

  const std::string& key() const { return key_; }
  const std::string& value() const { return value_; }
  const std::string& block() const { return block_; }

  // The state as of the last successful flush, restored when the sink replays after Reset().
  void Save() { saved_ = state_; }
  void Restore() { state_ = saved_; }

 private:
  struct Collection {
    const core::TableSchema* table = nullptr;
    std::string name;  // "<schema>.<table>"
    int64_t count = 0;
    int32_t hash = 0;  // Java String.hashCode of name
  };
  struct State {
    bool in_progress = false;
    uint64_t txid = 0;
    std::string id;  // the source's own id (TxnBoundary::id); empty: "<txid>:<lsn>"
    int64_t total = 0;
    std::vector<Collection> collections;  // [0, used) in insertion order; capacity reused
    size_t used = 0;
    uint32_t hash_capacity = 16;  // the HashMap's table size: grows, never shrinks (clear())
  };
  void AppendId(std::string& out, uint64_t lsn) const;
  void EncodeKey(uint64_t lsn);
  // value_ = the record's start: the schema when on, {"status":"<status>","id":<id>.
  void StartValue(std::string_view status, uint64_t lsn);

  bool schemas_enable_;
  State state_;
  State saved_;
  std::vector<uint32_t> order_;  // END's data_collections order
  std::string key_;
  std::string value_;
  std::string block_;
};

}  // namespace sluice::sinks::kafka_sink
