// A pure decoder for the bytes of PostgreSQL logical replication: the CopyBoth framing of the
// streaming replication protocol (XLogData 'w', Primary keepalive 'k') and the pgoutput plugin's
// messages, protocol version 1.
//
// References: PostgreSQL 15 documentation, "55.4 Streaming Replication Protocol" (XLogData,
// Primary keepalive message, Standby status update) and "55.9 Logical Replication Message
// Formats" (Begin, Commit, Origin, Relation, Type, Insert, Update, Delete, Truncate, Message;
// TupleData).
//
// Bytes in, structs out: no I/O, no allocation in steady state (the output struct is reused and
// its strings/vectors keep their capacity). Every read is bounds-checked; malformed input gives
// kDataLoss naming the LSN and the offset, never a crash. Tuple values are string_views into the
// input buffer, valid while it lives.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice::pg {

// PostgreSQL epoch (2000-01-01) in Unix microseconds.
inline constexpr int64_t kPgEpochUnixMicros = 946684800000000LL;

// "16/B374D848" <-> 0x16B374D848.
std::string LsnToString(uint64_t lsn);
bool ParseLsn(std::string_view text, uint64_t& lsn);

// One CopyData message of the replication stream.
struct CopyDataFrame {
  char kind = 0;           // 'w' XLogData, 'k' keepalive
  uint64_t wal_start = 0;  // 'w'
  uint64_t wal_end = 0;    // 'w' and 'k': the server's current end of WAL
  int64_t send_time_us = 0;
  bool reply_requested = false;  // 'k'
  std::string_view payload;      // 'w': the pgoutput message
};
core::Status DecodeCopyData(std::string_view bytes, CopyDataFrame& frame);

// The standby status update ('r') reporting write/flush/apply positions.
std::string EncodeStandbyStatus(uint64_t write_lsn, uint64_t flush_lsn, uint64_t apply_lsn,
                                int64_t now_unix_us, bool reply_requested);

struct TupleValue {
  char kind = 'n';         // 'n' null, 'u' unchanged TOAST, 't' text, 'b' binary
  std::string_view data;   // 't'/'b'
};

struct RelationColumn {
  bool key = false;  // part of the replica identity
  std::string name;
  uint32_t type_oid = 0;
  int32_t typmod = -1;
};

struct PgoutputMessage {
  char type = 0;  // 'B','C','O','R','Y','I','U','D','T','M'
  // Begin
  uint64_t final_lsn = 0;
  int64_t commit_time_us = 0;  // PostgreSQL epoch
  uint32_t xid = 0;
  // Commit
  uint64_t commit_lsn = 0;
  uint64_t end_lsn = 0;
  // Relation / Insert / Update / Delete
  uint32_t relid = 0;
  std::string nspname;
  std::string relname;
  char replident = 'd';  // d default, n nothing, f full, i index
  std::vector<RelationColumn> columns;
  char old_kind = 0;     // Update/Delete: 'K' (key columns) or 'O' (old row), 0 when absent
  std::vector<TupleValue> old_tuple;
  bool has_new = false;
  std::vector<TupleValue> new_tuple;
  // Truncate
  uint8_t truncate_options = 0;  // 1 CASCADE, 2 RESTART IDENTITY
  std::vector<uint32_t> relids;
  // Message (pg_logical_emit_message; sent with START_REPLICATION's messages 'true', PostgreSQL
  // 14+): `message_content` is a view into the input bytes, valid while they live.
  bool message_transactional = false;  // flags bit 1: part of the transaction around it
  uint64_t message_lsn = 0;            // the LSN of the logical decoding message
  std::string message_prefix;
  std::string_view message_content;
};

// Decodes one pgoutput message; `lsn` (the XLogData's wal_start) names the position in errors.
core::Status DecodePgoutput(std::string_view bytes, uint64_t lsn, PgoutputMessage& out);

}  // namespace sluice::pg
