// libFuzzer target: the MySQL/MariaDB binlog decoder (connectors/mysql/binlog_decoder.h) and
// MySQL's binary JSON (json_binary.h).
//
// Input: one mode byte, then either
//   - (mode & 0x80) a binary JSON document: its text must be valid JSON when decoding succeeds;
//   - else a sequence of binlog events, each cut at its header's event_size (the last one gets
//     whatever is left). CRC32 trailers are verified only when mode & 1: mutated events rarely
//     keep a valid checksum, so the seeds (tests/testdata/binlog, see make_seeds.sh) carry none.
// Events are decoded as the stream reader does: TABLE_MAPs kept by table id, rows decoded with
// a plan built from the TABLE_MAP's own metadata, and the batch encoded as the sinks write it.
// Contract checked: errors are kDataLoss naming the file:pos, never a crash.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "connectors/mysql/binlog_decoder.h"
#include "connectors/mysql/json_binary.h"
#include "fuzz_util.h"

namespace {

using namespace sluice;
using namespace sluice::mysql;
using sluice::fuzz::Check;

constexpr std::string_view kFile = "fuzz-bin.000001";

void CheckError(const core::Status& st) {
  if (st.ok()) return;
  Check(st.message().find(kFile) != std::string::npos, "binlog error without the file name",
        st.message());
}

uint32_t Le32(std::string_view s, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(s[at + i])) << (8 * i);
  return v;
}

void DecodeEvents(std::string_view in, bool has_checksum) {
  std::map<uint64_t, TableMap> maps;
  std::map<uint64_t, std::shared_ptr<const RowsPlan>> plans;
  core::EventBatch batch;
  uint32_t txn = batch.AddTxn({});
  DecodeStats stats;
  uint32_t query = core::kNoQuery;  // the statement of the rows that follow (include.query)
  size_t pos = 0;
  while (pos < in.size()) {
    size_t size = in.size() - pos;
    if (size >= kEventHeaderSize) {
      uint32_t declared = Le32(in, pos + 9);
      if (declared >= kEventHeaderSize && declared <= size) size = declared;
    }
    std::string_view event = in.substr(pos, size);
    BinlogLocation at{kFile, 4 + pos};
    pos += size;
    auto raw = SplitEvent(event, has_checksum, at);
    if (!raw.ok()) {
      CheckError(raw.status());
      continue;
    }
    std::string_view body = raw->body;
    switch (static_cast<EventType>(raw->header.type)) {
      case EventType::kTableMap: {
        auto map = DecodeTableMap(body, at);
        if (!map.ok()) {
          CheckError(map.status());
          break;
        }
        auto schema = std::make_shared<core::TableSchema>();
        schema->id = {map->database, map->table};
        std::vector<SchemaColumnInfo> info;
        SchemaFromTableMap(*map, *schema, info);
        // Exclude every third column, as column.exclude.list would.
        std::vector<bool> excluded(map->types.size(), false);
        for (size_t i = 2; i < excluded.size(); i += 3) excluded[i] = (map->table_id & 1) != 0;
        auto plan = BuildRowsPlan(*map, schema, info, excluded);
        if (plan.ok()) {
          plans[map->table_id] = *plan;
        } else {
          plans.erase(map->table_id);
        }
        maps[map->table_id] = std::move(*map);
        break;
      }
      case EventType::kWriteRowsV1: case EventType::kUpdateRowsV1: case EventType::kDeleteRowsV1:
      case EventType::kWriteRowsV2: case EventType::kUpdateRowsV2: case EventType::kDeleteRowsV2: {
        auto rows = DecodeRowsHeader(raw->header.type, body, at);
        if (!rows.ok()) {
          CheckError(rows.status());
          break;
        }
        auto plan = plans.find(rows->table_id);
        if (plan == plans.end()) break;
        CheckError(DecodeRows(*rows, *plan->second, txn, batch, at, &stats, query));
        if (rows->flags & kRowsStatementEnd) query = core::kNoQuery;
        break;
      }
      case EventType::kRowsQuery: case EventType::kAnnotateRows: {
        auto sql = DecodeRowsQuery(raw->header.type, body, at);
        if (sql.ok()) {
          query = batch.AddQuery(*sql);
        } else {
          CheckError(sql.status());
        }
        break;
      }
      case EventType::kQuery: case EventType::kQueryCompressed: {
        auto q = DecodeQuery(body, at);
        if (!q.ok()) CheckError(q.status());
        break;
      }
      case EventType::kRotate: {
        auto r = DecodeRotate(body, at);
        if (!r.ok()) CheckError(r.status());
        break;
      }
      case EventType::kMariaGtid: {
        auto g = DecodeMariaGtid(body, at);
        if (!g.ok()) CheckError(g.status());
        break;
      }
      case EventType::kXid: {
        auto x = DecodeXid(body, at);
        if (!x.ok()) CheckError(x.status());
        break;
      }
      default:
        break;
    }
  }
  sluice::fuzz::EncodeAsSinksDo(batch);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint8_t mode = data[0];
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (mode & 0x80) {
    std::string out;
    if (AppendJsonFromBinary(in, out)) {
      Check(nlohmann::json::accept(out), "binary JSON decoded to invalid JSON text", out);
    }
    return 0;
  }
  DecodeEvents(in, (mode & 1) != 0);
  return 0;
}
