// PostgreSQL -> Kafka with the sluice binary (PostgreSQL source, Kafka sink), read with kcat:
// Debezium's envelope for every op, timetz and hstore, the source block, the alternative modes
// read back into MariaDB, kill -9 mid-stream, key changes.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "integration/kafka/kafka_fixture.h"

namespace sluice::itest::kafka_test {

// The config leaves skipped.operations unset: Debezium's default (t) drops the truncate, and the
// insert after it still arrives, so the truncate is skipped, not late.
TEST_F(PgToKafkaTest, EnvelopeShapesForSnapshotInsertUpdateDeleteAndTruncateSkippedByDefault) {
  pg_.Exec("INSERT INTO orders VALUES (1, 'a', 1.50, '2024-01-01 00:00:00'), (2, 'b', NULL, NULL)");
  pg_sluice_.emplace(SluiceProcess::Run(PgToKafkaConfig(false)));
  WaitForMessages(topic_, 2, 60s);
  pg_.Exec("INSERT INTO orders VALUES (3, 'c', 3.00, '2024-02-29 12:30:00.5')");
  pg_.Exec("UPDATE orders SET name = 'c2' WHERE id = 3");
  pg_.Exec("DELETE FROM orders WHERE id = 1");
  pg_.Exec("TRUNCATE orders");
  pg_.Exec("INSERT INTO orders VALUES (4, 'd', NULL, NULL)");
  auto messages = WaitForMessages(topic_, 7, 60s);
  ASSERT_TRUE(pg_sluice_->IsRunning()) << pg_sluice_->LogTail();
  std::multiset<std::string> ops;
  std::map<std::string, json> by_op;
  int tombstones = 0;
  for (const auto& m : messages) {
    if (!m.value) {
      ++tombstones;
      EXPECT_EQ(json::parse(*m.key), json({{"id", 1}}));
      continue;
    }
    json v = json::parse(*m.value);
    ops.insert(v["op"].get<std::string>());
    if (v["op"] == "c" && v["after"]["id"] == 4) continue;  // the insert after the truncate
    by_op[v["op"].get<std::string>()] = v;
  }
  EXPECT_EQ(ops, (std::multiset<std::string>{"r", "r", "c", "u", "d", "c"}));
  EXPECT_EQ(tombstones, 1);
  EXPECT_EQ(by_op["c"]["after"]["amount"], "ASw=");  // Decimal: unscaled 300
  EXPECT_EQ(by_op["c"]["after"]["created"], 1709209800500000);
  EXPECT_EQ(by_op["u"]["after"]["name"], "c2");
  EXPECT_EQ(by_op["d"]["before"]["id"], 1);
  // REPLICA IDENTITY DEFAULT: only the key is sent; the other columns are null, as Debezium's.
  for (const char* column : {"name", "amount", "created"}) {
    EXPECT_TRUE(by_op["d"]["before"][column].is_null()) << column << ": " << by_op["d"].dump();
  }
  EXPECT_TRUE(by_op["d"]["after"].is_null());
  // Debezium 2.x times: processing time at the top level, commit time in the source block.
  EXPECT_EQ(by_op["c"]["ts_us"].get<int64_t>() / 1000, by_op["c"]["ts_ms"].get<int64_t>());
  EXPECT_EQ(by_op["c"]["ts_ns"].get<int64_t>() / 1000, by_op["c"]["ts_us"].get<int64_t>());
  // The commit time keeps its microseconds (PostgreSQL has them), as Debezium's.
  EXPECT_EQ(by_op["c"]["source"]["ts_us"].get<int64_t>() / 1000, by_op["c"]["source"]["ts_ms"]);
  EXPECT_EQ(by_op["c"]["source"]["ts_ns"], by_op["c"]["source"]["ts_us"].get<int64_t>() * 1000);
  EXPECT_EQ(by_op["c"]["source"]["connector"], "postgresql");
  EXPECT_EQ(by_op["c"]["source"]["db"], pg_db_);
  EXPECT_TRUE(by_op["c"]["source"]["lsn"].is_number());
  EXPECT_TRUE(by_op["r"]["source"]["snapshot"] == "true" || by_op["r"]["source"]["snapshot"] == "last");
}

// timetz is io.debezium.time.ZonedTime in UTC, hstore io.debezium.data.Json (a JSON object
// string, keys in java.util.HashMap's order) or, with hstore.handling.mode=map, a Connect map,
// in the snapshot and while streaming: the bytes Debezium writes, read with kcat.
void PgToKafkaTest::CheckTimetzAndHstore(const std::string& mode) {
  pg_.Exec("CREATE EXTENSION IF NOT EXISTS hstore");
  pg_.Exec("CREATE TABLE zt (id int PRIMARY KEY, tt timetz, tt6 time(6) with time zone, h hstore,"
           " tta timetz[], ha hstore[])");
  pg_.Exec(R"(INSERT INTO zt VALUES (1, '12:00:00+05:30', '00:00:00.000001-15:59',
                   E'"b"=>"2", "aa"=>NULL, ""=>"", "q\\"t"=>"x\\\\y", "é"=>"日本"',
                   ARRAY['12:00:00+05:30'::timetz, NULL], ARRAY['b=>2, aa=>NULL'::hstore, '']))");
  json config = PgToKafkaConfig(true);
  config["table.include.list"] = "public\\.zt";
  if (!mode.empty()) config["hstore.handling.mode"] = mode;
  const std::string topic = prefix_ + ".public.zt";
  pg_sluice_.emplace(SluiceProcess::Run(config));
  WaitForMessages(topic, 1, 60s);
  pg_.Exec("INSERT INTO zt VALUES (2, '24:00:00+15:59', '23:59:59.999999+00', '', '{}', NULL)");
  auto messages = WaitForMessages(topic, 2, 60s);
  ASSERT_TRUE(pg_sluice_->IsRunning()) << pg_sluice_->LogTail();
  std::map<int64_t, json> by_id;
  std::map<int64_t, std::string> raw;
  json fields;
  for (const auto& m : messages) {
    ASSERT_TRUE(m.value.has_value());
    json v = json::parse(*m.value);
    int64_t id = v["payload"]["after"]["id"].get<int64_t>();
    by_id[id] = v["payload"]["after"];
    raw[id] = *m.value;
    fields = v["schema"]["fields"][1]["fields"];  // "after"
  }
  ASSERT_EQ(by_id.size(), 2u);
  EXPECT_EQ(by_id[1]["tt"], "06:30:00Z");
  EXPECT_EQ(by_id[1]["tt6"], "15:59:00.000001Z");
  EXPECT_EQ(by_id[2]["tt"], "08:01:00Z");
  EXPECT_EQ(by_id[2]["tt6"], "23:59:59.999999Z");
  ASSERT_EQ(fields.size(), 6u) << fields.dump();
  EXPECT_EQ(fields[1]["name"], "io.debezium.time.ZonedTime");
  EXPECT_EQ(fields[2]["name"], "io.debezium.time.ZonedTime");
  // Arrays: element by element, as Debezium's array converters.
  EXPECT_EQ(by_id[1]["tta"], json::parse(R"(["06:30:00Z",null])"));
  EXPECT_EQ(by_id[2]["tta"], json::array());
  EXPECT_TRUE(by_id[2]["ha"].is_null());
  EXPECT_EQ(fields[4]["items"]["name"], "io.debezium.time.ZonedTime");
  // Jackson's compact object in HashMap order (java.util.HashMap, checked with jshell).
  const std::string object = R"({"":"","aa":null,"b":"2","q\"t":"x\\y","é":"日本"})";
  if (mode != "map") {
    EXPECT_EQ(by_id[1]["h"], object);
    EXPECT_EQ(by_id[2]["h"], "{}");
    EXPECT_EQ(fields[3]["type"], "string");
    EXPECT_EQ(fields[3]["name"], "io.debezium.data.Json");
    EXPECT_EQ(by_id[1]["ha"], json::parse(R"(["{\"aa\":null,\"b\":\"2\"}","{}"])"));
    EXPECT_EQ(fields[5]["items"]["name"], "io.debezium.data.Json");
  } else {
    EXPECT_NE(raw[1].find("\"h\":" + object), std::string::npos) << raw[1];
    EXPECT_NE(raw[2].find("\"h\":{}"), std::string::npos) << raw[2];
    EXPECT_EQ(fields[3]["type"], "map");
    EXPECT_FALSE(fields[3].contains("name"));
    EXPECT_EQ(fields[3]["keys"], json({{"type", "string"}, {"optional", false}}));
    EXPECT_EQ(fields[3]["values"], json({{"type", "string"}, {"optional", true}}));
    EXPECT_NE(raw[1].find(R"("ha":[{"aa":null,"b":"2"},{}])"), std::string::npos) << raw[1];
    EXPECT_EQ(fields[5]["items"]["type"], "map");
  }
}

TEST_F(PgToKafkaTest, TimetzIsZonedTimeAndHstoreJsonByDefault) { CheckTimetzAndHstore(""); }

TEST_F(PgToKafkaTest, HstoreIsAConnectMapWithHstoreHandlingModeMap) {
  CheckTimetzAndHstore("map");
}

// Debezium 2.x's PostgreSQL source block: "lsn" is each change's own WAL position (distinct and
// increasing within one transaction), "sequence" the JSON text ["<last commit lsn>","<lsn>"],
// "xmin" null; a snapshot record has the snapshot's LSN.
TEST_F(PgToKafkaTest, SourceLsnSequenceAndXminAreDebeziums) {
  pg_.Exec("INSERT INTO orders VALUES (1, 'a', 1.50, NULL)");
  pg_sluice_.emplace(SluiceProcess::Run(PgToKafkaConfig(false)));
  WaitForMessages(topic_, 1, 60s);
  pg_.Exec("INSERT INTO orders VALUES (2, 'b', NULL, NULL), (3, 'c', NULL, NULL), "
           "(4, 'd', NULL, NULL)");
  pg_.Exec("INSERT INTO orders VALUES (5, 'e', NULL, NULL)");
  auto messages = WaitForMessages(topic_, 5, 60s);
  ASSERT_TRUE(pg_sluice_->IsRunning()) << pg_sluice_->LogTail();
  std::map<int64_t, json> source_of;  // by the row's id
  for (const auto& m : messages) {
    ASSERT_TRUE(m.value.has_value());
    json v = json::parse(*m.value);
    source_of[v["after"]["id"].get<int64_t>()] = v["source"];
  }
  ASSERT_EQ(source_of.size(), 5u);
  auto sequence = [](const json& source) {
    EXPECT_TRUE(source["sequence"].is_string()) << source.dump();
    json seq = json::parse(source["sequence"].get<std::string>());
    EXPECT_TRUE(seq.is_array() && seq.size() == 2) << source.dump();
    return seq;
  };
  for (const auto& [id, source] : source_of) {
    ASSERT_TRUE(source.contains("xmin")) << source.dump();
    EXPECT_TRUE(source["xmin"].is_null()) << source.dump();
    ASSERT_TRUE(source["lsn"].is_number()) << source.dump();
    EXPECT_EQ(sequence(source)[1], std::to_string(source["lsn"].get<uint64_t>())) << source.dump();
  }
  // The snapshot record: the snapshot's LSN, no commit streamed before it.
  const json& snap = source_of[1];
  EXPECT_TRUE(snap["snapshot"] == "true" || snap["snapshot"] == "last") << snap.dump();
  EXPECT_TRUE(sequence(snap)[0].is_null()) << snap.dump();
  // One transaction of three rows: one txId, one last commit, three distinct increasing LSNs.
  for (int64_t id : {3, 4}) {
    EXPECT_EQ(source_of[id]["txId"], source_of[2]["txId"]);
    EXPECT_EQ(sequence(source_of[id])[0], sequence(source_of[2])[0]);
    EXPECT_GT(source_of[id]["lsn"].get<uint64_t>(), source_of[id - 1]["lsn"].get<uint64_t>());
  }
  EXPECT_GE(source_of[2]["lsn"].get<uint64_t>(), snap["lsn"].get<uint64_t>());
  // The next transaction's sequence starts where that one committed: after its changes.
  json next = sequence(source_of[5]);
  ASSERT_TRUE(next[0].is_string()) << source_of[5].dump();
  uint64_t last_commit = std::stoull(next[0].get<std::string>());
  EXPECT_GT(last_commit, source_of[4]["lsn"].get<uint64_t>());
  // The next record may start right where the commit record ends.
  EXPECT_LE(last_commit, source_of[5]["lsn"].get<uint64_t>());
  EXPECT_NE(source_of[5]["txId"], source_of[2]["txId"]);
}

// xmin.fetch.interval.ms: streamed records carry the slot's catalog_xmin as last read (a number
// no newer than the record's own transaction nor than the slot's catalog_xmin afterwards: it
// only advances); snapshot records keep null, as Debezium's.
TEST_F(PgToKafkaTest, SourceXminIsTheSlotsCatalogXminWithXminFetchIntervalMs) {
  pg_.Exec("INSERT INTO orders VALUES (1, 'a', 1.50, NULL)");
  json config = PgToKafkaConfig(false);
  config["xmin.fetch.interval.ms"] = "100";
  pg_sluice_.emplace(SluiceProcess::Run(config));
  WaitForMessages(topic_, 1, 60s);
  for (int id = 2; id <= 4; ++id) {
    pg_.Exec("INSERT INTO orders VALUES (" + std::to_string(id) + ", 'x', NULL, NULL)");
    std::this_thread::sleep_for(250ms);
  }
  auto messages = WaitForMessages(topic_, 4, 60s);
  ASSERT_TRUE(pg_sluice_->IsRunning()) << pg_sluice_->LogTail();
  const uint64_t catalog_xmin = std::stoull(PgClient("postgres").QueryValue(
      "SELECT catalog_xmin::text FROM pg_replication_slots WHERE slot_name = '" + slot_ + "'"));
  int streamed = 0;
  for (const auto& m : messages) {
    ASSERT_TRUE(m.value.has_value());
    json source = json::parse(*m.value)["source"];
    ASSERT_TRUE(source.contains("xmin")) << source.dump();
    if (source["snapshot"] != "false") {
      EXPECT_TRUE(source["xmin"].is_null()) << source.dump();
      continue;
    }
    ++streamed;
    ASSERT_TRUE(source["xmin"].is_number_unsigned()) << source.dump();
    const uint64_t xmin = source["xmin"].get<uint64_t>();
    EXPECT_GT(xmin, 0u) << source.dump();
    EXPECT_LE(xmin, source["txId"].get<uint64_t>()) << source.dump();
    EXPECT_LE(xmin, catalog_xmin) << source.dump();
  }
  EXPECT_EQ(streamed, 3);
  // Out of range: refused when the connector is created, naming the key.
  config["xmin.fetch.interval.ms"] = "-1";
  CommandResult refused = SluiceProcess::RunToCompletion("validate", config, 30s);
  EXPECT_FALSE(refused.Success());
  EXPECT_NE((refused.out + refused.err).find("xmin.fetch.interval.ms"), std::string::npos)
      << refused.out << refused.err;
}

TEST_F(PgToKafkaTest, PgToKafkaToMariaDbEqualsTheSource) { RunPgToKafkaToMariaDb({}); }

// Debezium's alternative modes decode back as well, with the source types that tell a double
// decimal from a float (column.propagate.source.type).
TEST_F(PgToKafkaTest, PgToKafkaToMariaDbEqualsTheSourceInAlternativeModes) {
  RunPgToKafkaToMariaDb({{"decimal.handling.mode", "double"},
                         {"time.precision.mode", "adaptive_time_microseconds"},
                         {"binary.handling.mode", "hex"},
                         {"column.propagate.source.type", ".*"}});
}

void PgToKafkaTest::RunPgToKafkaToMariaDb(const std::map<std::string, std::string>& modes) {
  pg_.Exec("INSERT INTO orders SELECT i, 'name ' || i, i * 1.25, '2024-01-01'::timestamp + i * interval '1 s'"
           " FROM generate_series(1, 1500) i");
  json config = PgToKafkaConfig(true);
  for (const auto& [k, v] : modes) config[k] = v;
  pg_sluice_.emplace(SluiceProcess::Run(config));
  WaitForMessages(topic_, 1, 60s);
  json kafka_source = KafkaToMysqlConfig();
  if (modes.contains("binary.handling.mode")) kafka_source["binary.handling.mode"] = modes.at("binary.handling.mode");
  sluice_.emplace(SluiceProcess::Run(kafka_source));
  for (int round = 0; round < 5; ++round) {
    std::string r = std::to_string(round);
    pg_.Exec("BEGIN; INSERT INTO orders SELECT i, 'w" + r + "', i, now()::timestamp FROM generate_series(" +
             std::to_string(2000 + round * 100) + ", " + std::to_string(2099 + round * 100) + ") i;"
             "UPDATE orders SET amount = amount + 1, name = name || '+' WHERE id % 11 = " + r + ";"
             "DELETE FROM orders WHERE id % 13 = " + r + "; COMMIT;");
  }
  WaitForMatch(120s);
  ASSERT_TRUE(pg_sluice_->IsRunning()) << pg_sluice_->LogTail();
  EXPECT_TRUE(TargetMatches());
}

TEST_F(PgToKafkaTest, KilledMidStreamAndRestartedLosesNoChange) {
  pg_sluice_.emplace(SluiceProcess::Run(PgToKafkaConfig(false)));
  pg_.Exec("INSERT INTO orders VALUES (0, 'start', 0, NULL)");
  WaitForMessages(topic_, 1, 60s);
  const int kTxns = 40, kPerTxn = 250;
  for (int t = 0; t < kTxns; ++t) {
    if (t == kTxns / 2) pg_sluice_->Kill();
    pg_.Exec("INSERT INTO orders SELECT i, 'n', 1, NULL FROM generate_series(" +
             std::to_string(1 + t * kPerTxn) + ", " + std::to_string((t + 1) * kPerTxn) + ") i");
  }
  pg_sluice_->Restart();
  std::set<int> ids;
  WaitUntil(
      [&] {
        if (!pg_sluice_->IsRunning()) throw HarnessError("sluice exited:\n" + pg_sluice_->LogTail());
        ids.clear();
        for (const auto& m : ConsumeTopic(topic_)) {
          if (m.value) ids.insert(json::parse(*m.value)["after"]["id"].get<int>());
        }
        return ids.size() == static_cast<size_t>(kTxns * kPerTxn + 1);
      },
      120s, "every inserted row in the topic", 500ms);
  EXPECT_EQ(*ids.rbegin(), kTxns * kPerTxn);
}

// A key change as Debezium writes it: a delete and a tombstone under the old key, then a create
// under the new one, so a compacted topic keeps nothing under the old key.
TEST_F(PgToKafkaTest, KeyChangeIsADeleteAndTombstoneUnderTheOldKeyThenACreate) {
  pg_.Exec("INSERT INTO orders VALUES (1, 'a', 1.50, NULL)");
  pg_sluice_.emplace(SluiceProcess::Run(PgToKafkaConfig(false)));
  WaitForMessages(topic_, 1, 60s);
  pg_.Exec("UPDATE orders SET id = 10, name = 'moved' WHERE id = 1");
  auto messages = WaitForMessages(topic_, 4, 60s);
  ASSERT_TRUE(pg_sluice_->IsRunning()) << pg_sluice_->LogTail();
  ASSERT_EQ(messages.size(), 4u);
  // Old and new key may sit in different partitions: check the order per key.
  std::vector<std::optional<std::string>> old_key, new_key;
  for (const auto& m : messages) {
    json key = json::parse(m.key.value_or("null"));
    if (key == json({{"id", 1}})) old_key.push_back(m.value);
    else if (key == json({{"id", 10}})) new_key.push_back(m.value);
    else ADD_FAILURE() << "unexpected key " << key.dump();
  }
  ASSERT_EQ(old_key.size(), 3u);  // snapshot read, delete, tombstone
  ASSERT_EQ(new_key.size(), 1u);
  EXPECT_EQ(json::parse(old_key[0].value_or("null"))["op"], "r");
  json d = json::parse(old_key[1].value_or("null"));
  EXPECT_EQ(d["op"], "d");
  EXPECT_EQ(d["before"]["id"], 1);
  EXPECT_TRUE(d["after"].is_null());
  EXPECT_FALSE(old_key[2].has_value()) << "a tombstone after the delete";
  json c = json::parse(new_key[0].value_or("null"));
  EXPECT_EQ(c["op"], "c");
  EXPECT_TRUE(c["before"].is_null());
  EXPECT_EQ(c["after"]["id"], 10);
  EXPECT_EQ(c["after"]["name"], "moved");
  EXPECT_EQ(c["source"]["lsn"], d["source"]["lsn"]);
}

}  // namespace sluice::itest::kafka_test
