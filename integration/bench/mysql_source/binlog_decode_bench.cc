// Decodes binlog files with Sluice's BinlogDecoder (TABLE_MAP + ROWS into EventBatches, values
// rendered as canonical text) and prints rows/s and MB/s. run.sh compares the time with
// `mariadb-binlog -v` on the same files.
//
// usage: mysql_binlog_decode_bench FILE...
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>

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
    // The file is mapped, not copied: the connector gets these bytes from the network, so the
    // decoder is what is measured (mariadb-binlog reads its file with buffered reads).
    int fd = open(argv[f], O_RDONLY);
    struct stat st_buf {};
    if (fd < 0 || fstat(fd, &st_buf) != 0) {
      std::perror(argv[f]);
      return 1;
    }
    size_t length = static_cast<size_t>(st_buf.st_size);
    void* mapped = length > 0 ? mmap(nullptr, length, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0) : nullptr;
    close(fd);
    if (mapped == MAP_FAILED) {
      std::perror(argv[f]);
      return 1;
    }
    std::string_view data(static_cast<const char*>(mapped), length);
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
      auto raw = mysql::SplitEvent(data.substr(pos, size), true, at);
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
    if (mapped != nullptr) munmap(mapped, length);
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("sluice decoder: %llu events, %llu row events, %.1f MB in %.3f s: %.0f rows/s, %.1f MB/s\n",
              static_cast<unsigned long long>(events), static_cast<unsigned long long>(rows),
              bytes / 1e6, s, rows / s, bytes / 1e6 / s);
  std::printf("seconds=%.6f\n", s);
  return 0;
}
