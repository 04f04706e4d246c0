// The two sides of a type-matrix pair: the source connector configs, a database side's column
// types, and the file and Kafka targets read back as rows (the files and topics a sink writes
// for a table, and the rows its envelopes leave when replayed by key).
#include <cctype>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "integration/matrix/matrix_support.h"

namespace sluice::itest::matrix {

namespace {

// The file sink's name for a schema or table (sinks/file: percent-encoded).
std::string SafeName(const std::string& name) {
  std::string out;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '_' || c == '-' || (c == '.' && !out.empty())) {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> FileLines(const std::string& dir, const std::string& schema,
                                   const std::string& table) {
  std::string path = dir + "/" + SafeName(schema) + "." + SafeName(table) + ".jsonl";
  std::ifstream in(path);
  if (!in) throw HarnessError("no file " + path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The Kafka sink's topic of a table: other characters than [a-zA-Z0-9._-] become '_'.
std::vector<std::string> TopicLines(const std::string& prefix, const std::string& schema,
                                    const std::string& table) {
  std::string topic = prefix + "." + schema + "." + table;
  for (char& c : topic) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '_';
  }
  std::vector<std::string> lines;
  for (const KafkaMessage& m : ConsumeTopic(topic)) {
    if (m.value) lines.push_back(*m.value);
  }
  return lines;
}

// The rows a file sink's JSON lines leave when replayed by key (the last `after` per id; a

SqlRows EnvelopeRows(const std::vector<std::string>& lines, const std::vector<std::string>& columns) {
  const std::string path = "envelopes";
  std::map<long long, nlohmann::json> rows;
  for (std::string line : lines) {
    if (line.empty()) continue;
    // nlohmann reads the number -0 as the integer 0: keep it as the text it is.
    line = std::regex_replace(line, std::regex(":-0([,}])"), ":\"-0\"$1");
    auto e = nlohmann::json::parse(line);
    if (e.contains("payload")) e = e["payload"];
    if (!e["after"].is_null()) {
      nlohmann::json after = e["after"];
      long long id = after["id"].get<long long>();
      long long old_id = e["before"].is_null() ? id : e["before"]["id"].get<long long>();
      // A column the source did not send (unchanged TOAST) keeps the value it had.
      auto previous = rows.find(old_id);
      for (auto& [name, value] : after.items()) {
        if (value == "__debezium_unavailable_value" && previous != rows.end())
          value = previous->second[name];
      }
      if (old_id != id) rows.erase(old_id);
      rows[id] = after;
    } else if (!e["before"].is_null()) {
      rows.erase(e["before"]["id"].get<long long>());
    }
  }
  SqlRows out;
  for (const auto& [id, after] : rows) {
    SqlRow row{std::to_string(id)};
    for (const std::string& c : columns) {
      if (!after.contains(c)) throw HarnessError(path + ": no column " + c);
      const auto& v = after[c];
      if (v.is_null()) row.push_back(std::nullopt);
      else if (v.is_string()) row.push_back(v.get<std::string>());
      else row.push_back(v.dump());
    }
    out.push_back(row);
  }
  return out;
}

size_t SampleRow(size_t id) {
  if (id == 6001 || id == 1001) return 2;  // 1001 took row 2's values, then its key changed
  if (id == 1002) return 1;
  if (id >= 1000 && id < 2000) return id - 1000;
  if (id == 9999) return 0;  // the marker: NULLs
  return id;
}

std::map<std::string, std::string> Side::Types(const std::string& table, bool full) const {
  std::map<std::string, std::string> out;
  std::string sql =
      dialect == Dialect::kPg
          ? "SELECT a.attname, " +
                std::string(full ? "format_type(a.atttypid, a.atttypmod)"
                                 : "CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, NULL) ELSE "
                                   "format_type(a.atttypid, NULL) END") +
                " FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = '" +
                Table(table) + "'::regclass AND a.attnum > 0 AND NOT a.attisdropped"
          : "SELECT COLUMN_NAME, " + std::string(full ? "COLUMN_TYPE" : "DATA_TYPE") +
                " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '" +
                table + "'";
  for (const SqlRow& r : Query(sql)) out[*r[0]] = *r[1];
  return out;
}

nlohmann::json PgSourceConfig(const std::string& db, const std::string& slot) {
  return {{"name", slot},
          {"connector.class", "postgres"},
          {"database.hostname", TestEnv::PgHost()},
          {"database.port", std::to_string(TestEnv::PgPort())},
          {"database.user", TestEnv::PgUser()},
          {"database.dbname", db},
          {"slot.name", slot},
          {"publication.name", "pub_" + slot},
          {"table.include.list", "public\\..*"},
          {"sink.batch.ms", "100"}};
}

nlohmann::json MariadbSourceConfig(const std::string& db) {
  return {{"name", "matrix_" + db},
          {"connector.class", "mysql"},
          {"database.hostname", TestEnv::MysqlHost()},
          {"database.port", std::to_string(TestEnv::MysqlPort())},
          {"database.user", kPasswordUser},
          {"database.password", kTestPassword},
          {"database.server.id", std::to_string(100000 + std::rand() % 1000000)},
          {"database.include.list", db},
          {"sink.batch.ms", "100"}};
}

void DropSlot(const std::string& slot) {
  PgClient("postgres").TryQuery(
      "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" +
      slot + "'");
}

}  // namespace sluice::itest::matrix
