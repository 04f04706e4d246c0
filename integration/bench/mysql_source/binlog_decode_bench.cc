// Decodes binlog files with Sluice's BinlogDecoder (TABLE_MAP + ROWS into EventBatches, values
// rendered as canonical text) and prints rows/s and MB/s. run.sh compares the time with
// `mariadb-binlog -v` on the same files.
//
// usage: mysql_binlog_decode_bench FILE...
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "connectors/mysql/binlog_decoder.h"

using namespace sluice;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s BINLOG_FILE...\n", argv[0]);
    return 2;
  }
  uint64_t rows = 0, bytes = 0, events = 0;
  auto start = std::chrono::steady_clock::now();
  core::EventBatch batch;
  for (int f = 1; f < argc; ++f) {
    std::ifstream in(argv[f], std::ios::binary | std::ios::ate);
    std::string data(static_cast<size_t>(in.tellg()), '\0');
    in.seekg(0);
    in.read(data.data(), static_cast<std::streamsize>(data.size()));
    bytes += data.size();
    std::map<uint64_t, std::shared_ptr<const mysql::RowsPlan>> plans;
    std::map<uint64_t, mysql::TableMap> maps;
    size_t pos = 4;
    while (pos + mysql::kEventHeaderSize <= data.size()) {
      uint32_t size = static_cast<uint8_t>(data[pos + 9]) | static_cast<uint8_t>(data[pos + 10]) << 8 |
                      static_cast<uint8_t>(data[pos + 11]) << 16 |
                      static_cast<uint32_t>(static_cast<uint8_t>(data[pos + 12])) << 24;
      if (size < mysql::kEventHeaderSize || pos + size > data.size()) break;
      mysql::BinlogLocation at{argv[f], pos};
      auto raw = mysql::SplitEvent(std::string_view(data).substr(pos, size), true, at);
      pos += size;
      if (!raw.ok()) {
        std::fprintf(stderr, "%s\n", raw.status().ToString().c_str());
        return 1;
      }
      ++events;
      uint8_t type = raw->header.type;
      if (type == 19) {
        auto map = mysql::DecodeTableMap(raw->body, at);
        if (!map.ok()) return 1;
        auto& old = maps[map->table_id];
        if (old.types != map->types || !plans.count(map->table_id)) {
          auto schema = std::make_shared<core::TableSchema>();
          schema->id = {map->database, map->table};
          std::vector<mysql::SchemaColumnInfo> info;
          mysql::SchemaFromTableMap(*map, *schema, info);
          plans[map->table_id] = *mysql::BuildRowsPlan(*map, schema, info,
                                                       std::vector<bool>(map->types.size(), false));
          old = *map;
        }
      } else if ((type >= 23 && type <= 25) || (type >= 30 && type <= 32)) {
        auto r = mysql::DecodeRowsHeader(type, raw->body, at);
        if (!r.ok()) return 1;
        if (batch.size() > 4096) batch.Clear();
        uint32_t txn = batch.AddTxn({});
        size_t before = batch.size();
        auto st = mysql::DecodeRows(*r, *plans.at(r->table_id), txn, batch, at, nullptr);
        if (!st.ok()) {
          std::fprintf(stderr, "%s\n", st.ToString().c_str());
          return 1;
        }
        rows += batch.size() - before;
      }
    }
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("sluice decoder: %llu events, %llu row events, %.1f MB in %.3f s: %.0f rows/s, %.1f MB/s\n",
              static_cast<unsigned long long>(events), static_cast<unsigned long long>(rows),
              bytes / 1e6, s, rows / s, bytes / 1e6 / s);
  std::printf("seconds=%.6f\n", s);
  return 0;
}
