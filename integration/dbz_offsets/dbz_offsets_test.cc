// Offsets in Debezium's shape (GET/PATCH /connectors/{name}/offsets) carry a stream from one
// connector to another: connector A streams, stops, shows its offset ({"server": topic.prefix}
// / Debezium's PostgreSQL or MySQL map) and is deleted keeping its slot; rows are written while
// nothing streams; connector B is created STOPPED, takes A's offset entry as it was shown, and
// resumes. An audit trigger in the target (PostgreSQL) records every row the sink applies:
// each change after A's snapshot must appear exactly once, none lost, none repeated.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "integration/api/serve_fixture.h"

namespace sluice::itest {
namespace {

using nlohmann::json;

// The connection keys of a PostgreSQL source on `source`'s database.
json PgSourceConfig(const PgClient& source) {
  return {{"connector.class", "postgres"},
          {"database.hostname", source.host()},
          {"database.port", std::to_string(source.port())},
          {"database.user", source.user()},
          {"database.dbname", source.dbname()}};
}

class DebeziumOffsets : public ::testing::Test {
 protected:
  void SetUp() override { target_db_ = CreateScratchPgDatabase("dbz_tgt"); }

  void WaitTargetRows(const std::string& table, int count) {
    WaitUntil([&] {
      SqlResult r = PgClient(target_db_).TryQuery("SELECT count(*) FROM " + table);
      return r.ok && !r.rows.empty() && r.rows[0][0] == std::to_string(count);
    }, std::chrono::seconds(40), table + " holds " + std::to_string(count) + " rows");
  }

  // Every row the sink inserts, updates or deletes in `table` from now on.
  void AuditTarget(const std::string& table) {
    PgClient(target_db_).Exec(
        "CREATE TABLE public.audit (n serial, id int, op text);"
        "CREATE FUNCTION public.audit_fn() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
        "INSERT INTO public.audit (id, op) VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.id "
        "ELSE NEW.id END, TG_OP); RETURN NULL; END$$;"
        "CREATE TRIGGER audit_t AFTER INSERT OR UPDATE OR DELETE ON " + table +
        " FOR EACH ROW EXECUTE FUNCTION public.audit_fn();");
  }

  std::string Audit() {
    return PgClient(target_db_).QueryValue(
        "SELECT string_agg(id || ':' || op, ',' ORDER BY id, op) FROM public.audit");
  }

  // The audit the test expects: 11..20 inserted while A streams, 21..40 inserted, 5 updated and
  // 6 deleted while nothing streams, 41..50 inserted while B streams.
  static std::string ExpectedAudit() {
    std::vector<std::pair<int, std::string>> rows = {{5, "UPDATE"}, {6, "DELETE"}};
    for (int id = 11; id <= 50; ++id) rows.emplace_back(id, "INSERT");
    std::sort(rows.begin(), rows.end());
    std::string out;
    for (const auto& [id, op] : rows) out += (out.empty() ? "" : ",") + std::to_string(id) + ":" + op;
    return out;
  }

  // A streams, stops, shows its offset and is deleted; `between` writes while nothing streams;
  // B takes the offset and streams on. Returns A's offset entry.
  json MoveOffsets(const json& config, const std::string& table,
                   const std::function<void(int, int)>& insert,
                   const std::function<void()>& between) {
    ServeProcess serve;
    RestClient& api = serve.client();
    api.Expect(201, "POST", "/connectors", json{{"name", "dbz_a"}, {"config", config}}.dump());
    WaitTargetRows(table, 10);
    AuditTarget(table);
    insert(11, 20);
    WaitTargetRows(table, 20);
    serve.StopAndSettle("dbz_a");
    json shown = api.Expect(200, "GET", "/connectors/dbz_a/offsets");
    EXPECT_EQ(shown["offsets"].size(), 1u) << shown.dump();
    EXPECT_EQ(shown["offsets"][0]["partition"], json({{"server", "dbz_shop"}})) << shown.dump();
    api.Expect(204, "DELETE", "/connectors/dbz_a");

    between();

    api.Expect(201, "POST", "/connectors",
               json{{"name", "dbz_b"}, {"config", config}, {"initial_state", "STOPPED"}}.dump());
    serve.WaitForState("dbz_b", "STOPPED");
    EXPECT_EQ(api.Expect(200, "GET", "/connectors/dbz_b/offsets")["offsets"], json::array());
    // The entry exactly as A showed it: partition {"server": topic.prefix}, Debezium's map.
    api.Expect(200, "PATCH", "/connectors/dbz_b/offsets", json{{"offsets", shown["offsets"]}}.dump());
    EXPECT_EQ(api.Expect(200, "GET", "/connectors/dbz_b/offsets"), shown);
    api.Expect(202, "PUT", "/connectors/dbz_b/resume");
    serve.WaitForState("dbz_b", "RUNNING");
    insert(41, 50);
    WaitTargetRows(table, 49);  // 50 rows, 6 deleted
    WaitUntil([&] { return Audit() == ExpectedAudit(); }, std::chrono::seconds(20),
              "the audit to hold every change once");
    // Settle: nothing more arrives (a replay of A's rows would show as UPDATEs here).
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    EXPECT_EQ(Audit(), ExpectedAudit());
    EXPECT_EQ(PgClient(target_db_).QueryValue("SELECT v FROM " + table + " WHERE id = 5"), "upd");
    api.Expect(204, "DELETE", "/connectors/dbz_b");
    return shown;
  }

  std::string target_db_;
};

TEST_F(DebeziumOffsets, PostgresOffsetMovesToANewConnectorOnTheSameSlot) {
  const std::string source_db = CreateScratchPgDatabase("dbz_src");
  PgClient source(source_db);
  source.Exec("CREATE TABLE public.items (id int PRIMARY KEY, v text);"
              "INSERT INTO public.items SELECT g, 'v' || g FROM generate_series(1, 10) g");
  const std::string slot = UniqueName("dbz_slot");
  json config = PgSourceConfig(source);
  config.update({{"table.include.list", "public\\.items"},
                 {"slot.name", slot},
                 {"publication.name", slot + "_pub"},
                 {"slot.drop.on.delete", "false"},
                 {"topic.prefix", "dbz_shop"},
                 {"sink.type", "postgres"},
                 {"sink.url", PgClient(target_db_).Url()},
                 {"sink.batch.ms", "50"},
                 {"status.update.interval.ms", "200"}});
  auto insert = [&](int from, int to) {
    // One transaction per row: the offset moves transaction by transaction.
    for (int id = from; id <= to; ++id) {
      source.Exec("INSERT INTO public.items VALUES (" + std::to_string(id) + ", 'v" +
                  std::to_string(id) + "')");
    }
  };
  json shown = MoveOffsets(config, "public.items", insert, [&] {
    EXPECT_EQ(PgClient("postgres").QueryValue(
                  "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + slot + "'"),
              "1")
        << "slot.drop.on.delete=false keeps the slot";
    insert(21, 40);
    source.Exec("UPDATE public.items SET v = 'upd' WHERE id = 5; DELETE FROM public.items WHERE id = 6");
  });
  const json& offset = shown["offsets"][0]["offset"];
  EXPECT_TRUE(offset["lsn"].is_number_unsigned()) << offset.dump();
  EXPECT_EQ(offset["lsn_commit"], offset["lsn"]) << offset.dump();
  EXPECT_EQ(offset["lsn_proc"], offset["lsn"]) << offset.dump();
  EXPECT_TRUE(offset["txId"].is_number_unsigned()) << offset.dump();
  EXPECT_TRUE(offset["ts_usec"].is_number_integer()) << offset.dump();
  PgClient("postgres").TryQuery("SELECT pg_drop_replication_slot('" + slot + "')");
}

TEST_F(DebeziumOffsets, MariaDbOffsetMovesToANewConnectorOnTheSameBinlog) {
  const std::string my_db = CreateScratchMysqlDatabase("dbz_my");
  MysqlClient source(my_db);
  source.Exec("CREATE TABLE items (id INT PRIMARY KEY, v VARCHAR(20));"
              "INSERT INTO items VALUES (1,'v1'),(2,'v2'),(3,'v3'),(4,'v4'),(5,'v5'),(6,'v6'),"
              "(7,'v7'),(8,'v8'),(9,'v9'),(10,'v10')");
  std::random_device rd;
  json config = {{"connector.class", "mysql"},
                 {"database.hostname", TestEnv::MysqlHost()},
                 {"database.port", std::to_string(TestEnv::MysqlPort())},
                 {"database.user", kPasswordUser},
                 {"database.password", kTestPassword},
                 {"database.server.id", std::to_string(100000 + rd() % 1000000)},
                 {"database.include.list", my_db},
                 {"topic.prefix", "dbz_shop"},
                 {"sink.type", "postgres"},
                 {"sink.url", PgClient(target_db_).Url()},
                 {"sink.batch.ms", "50"}};
  auto insert = [&](int from, int to) {
    for (int id = from; id <= to; ++id) {
      source.Exec("INSERT INTO items VALUES (" + std::to_string(id) + ", 'v" +
                  std::to_string(id) + "')");
    }
  };
  const std::string table = "\"" + my_db + "\".items";
  json shown = MoveOffsets(config, table, insert, [&] {
    insert(21, 40);
    source.Exec("UPDATE items SET v = 'upd' WHERE id = 5; DELETE FROM items WHERE id = 6");
  });
  const json& offset = shown["offsets"][0]["offset"];
  EXPECT_TRUE(offset["file"].is_string()) << offset.dump();
  EXPECT_TRUE(offset["pos"].is_number_unsigned()) << offset.dump();
  EXPECT_TRUE(offset["gtids"].is_string()) << offset.dump();
  EXPECT_FALSE(offset.contains("snapshot")) << offset.dump();
}

// heartbeat.interval.ms with the Kafka sink: Debezium's heartbeat records on
// __debezium-heartbeat.<topic.prefix> while nothing changes, read back with kcat.
TEST(DebeziumHeartbeat, IdleConnectorWritesHeartbeatRecords) {
  const std::string source_db = CreateScratchPgDatabase("dbz_hb");
  PgClient source(source_db);
  source.Exec("CREATE TABLE public.items (id int PRIMARY KEY, v text); "
              "INSERT INTO public.items VALUES (1, 'a')");
  const std::string prefix = UniqueName("dbz_hb");
  const std::string topic = "__debezium-heartbeat." + prefix;
  CreateKafkaTopic(topic, 1);
  json config = PgSourceConfig(source);
  config.update({{"topic.prefix", prefix},
                 {"heartbeat.interval.ms", "300"},
                 {"sink.type", "kafka"},
                 {"sink.kafka.bootstrap.servers", TestEnv::KafkaBootstrap()}});
  ServeProcess serve;
  RestClient& api = serve.client();
  api.Expect(201, "POST", "/connectors", json{{"name", "dbz_hb"}, {"config", config}}.dump());
  WaitForMessages(prefix + ".public.items", 1, std::chrono::seconds(30));
  const int64_t since_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  const size_t before = ConsumeTopic(topic).size();
  // Idle now: heartbeats keep coming, about every 300 ms.
  auto beats = WaitForMessages(topic, before + 3, std::chrono::seconds(20));
  for (const auto& m : beats) {
    ASSERT_TRUE(m.key && m.value) << m.topic << "@" << m.offset;
    EXPECT_EQ(json::parse(*m.key), json({{"serverName", prefix}})) << *m.key;
    json v = json::parse(*m.value);
    EXPECT_EQ(v.size(), 1u) << *m.value;
    EXPECT_TRUE(v["ts_ms"].is_number_integer()) << *m.value;
  }
  EXPECT_GE(json::parse(*beats.back().value)["ts_ms"].get<int64_t>(), since_ms);
  // At most one per interval: 3 within 20 s means nothing about the rate, so check the spacing.
  for (size_t i = before + 1; i < beats.size(); ++i) {
    EXPECT_GE(json::parse(*beats[i].value)["ts_ms"].get<int64_t>() -
                  json::parse(*beats[i - 1].value)["ts_ms"].get<int64_t>(),
              250)
        << "heartbeats closer than heartbeat.interval.ms";
  }
  api.Expect(204, "DELETE", "/connectors/dbz_hb");
}

}  // namespace
}  // namespace sluice::itest
