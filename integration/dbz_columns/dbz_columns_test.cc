// Debezium's column filters, masks and message keys with the sluice binary, checked with
// independent clients: PostgreSQL -> Kafka read back with kcat (keys from message.key.columns,
// masked, hashed and truncated values, a column and a schema filtered out), MariaDB ->
// PostgreSQL read back with psql, and the refusals (an excluded key column, message.key.columns
// with a database sink). Expected digests were computed with Java's MessageDigest over the bytes
// Debezium hashes (ObjectOutputStream for v1, String.getBytes() for v2).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "integration/common/itest.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kHelloV1 = "b4d39ab0d198fb4cac8b2f023da74f670bcaf192dcc79b5d6361b7ae6b2fafdf";
constexpr const char* kWorldV1 = "0a8ade09d228232c9d17ab5ac73005c6b5d1848a007a2b2c0e04094406526861";
constexpr const char* kHelloV2 = "e199871663d7739b7983b5b15bd4adc39157a5dd5a5274931e94659b760be53d";
constexpr const char* kWorldV2 = "74af38ee11eaae1af61f73fa74911572019c9faad4f637963cc7a3d110cc2694";

class DbzColumnsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (sluice_) sluice_->Kill();
    sluice_.reset();
    for (const std::string& slot : slots_) DropPgSlot(slot);
    if (!pg_db_.empty()) DropPgDatabase(pg_db_);
    if (!target_db_.empty()) DropPgDatabase(target_db_);
    if (!my_db_.empty()) MysqlClient().TryQuery("DROP DATABASE IF EXISTS `" + my_db_ + "`");
  }

  json PgSource(const std::string& name) {
    const std::string slot = UniqueName(name + "_slot");
    slots_.push_back(slot);
    return {{"name", slot},
            {"connector.class", "postgres"},
            {"database.hostname", TestEnv::PgHost()},
            {"database.port", std::to_string(TestEnv::PgPort())},
            {"database.user", TestEnv::PgUser()},
            {"database.dbname", pg_db_},
            {"slot.name", slot},
            {"publication.name", "pub_" + slot},
            {"sink.batch.ms", "100"}};
  }

  json MySource(const std::string& name) {
    std::random_device rd;
    return {{"name", UniqueName(name)},
            {"connector.class", "mysql"},
            {"database.hostname", TestEnv::MysqlHost()},
            {"database.port", std::to_string(TestEnv::MysqlPort())},
            {"database.user", TestEnv::MysqlUser()},
            {"database.server.id", std::to_string(100000 + rd() % 1000000)},
            {"database.include.list", my_db_},
            {"sink.batch.ms", "100"}};
  }

  std::optional<SluiceProcess> sluice_;
  std::vector<std::string> slots_;
  std::string pg_db_, target_db_, my_db_;
};

// include.schema.comments=true: each column's comment (COMMENT ON COLUMN, read back with psql's
// col_description) is its field schema's "doc", in the snapshot and after a comment set while
// streaming and a column added (a new relation message); columns without one have none.
TEST_F(DbzColumnsTest, PostgresColumnCommentsAreFieldDocsWithIncludeSchemaComments) {
  pg_db_ = CreateScratchPgDatabase("dbzcm");
  PgClient pg(pg_db_);
  pg.Exec("CREATE TABLE items (id int PRIMARY KEY, price numeric(8,2), note text);"
          "COMMENT ON COLUMN items.price IS 'net price, \"EUR\"';"
          "INSERT INTO items VALUES (1, 1.50, 'a')");
  const std::string prefix = UniqueName("dbzcm");
  json config = PgSource("dbzcm");
  config.update({{"topic.prefix", prefix},
                 {"sink.type", "kafka"},
                 {"sink.kafka.bootstrap.servers", TestEnv::KafkaBootstrap()},
                 {"value.converter.schemas.enable", "true"},
                 {"key.converter.schemas.enable", "true"},
                 {"include.schema.comments", "true"}});
  sluice_.emplace(SluiceProcess::Run(config));
  const std::string topic = prefix + ".public.items";
  WaitForMessages(topic, 1, 60s);
  pg.Exec("COMMENT ON COLUMN items.note IS 'free text'; ALTER TABLE items ADD COLUMN qty int;"
          "COMMENT ON COLUMN items.qty IS 'pieces'; INSERT INTO items VALUES (2, 2.00, 'b', 3)");
  auto messages = WaitForMessages(topic, 2, 60s);
  ASSERT_EQ(messages.size(), 2u) << sluice_->LogTail();
  // The topic's messages come ordered by partition, and the keys' partitions depend on the
  // random topic prefix inside the key schema's name: order them by row instead.
  auto row_id = [](const KafkaMessage& m) {
    return json::parse(*m.value)["payload"]["after"]["id"].get<int>();
  };
  std::sort(messages.begin(), messages.end(),
            [&](const KafkaMessage& a, const KafkaMessage& b) { return row_id(a) < row_id(b); });
  ASSERT_EQ(row_id(messages[0]), 1);
  ASSERT_EQ(row_id(messages[1]), 2);
  auto field = [](const json& fields, const std::string& name) {
    for (const json& f : fields) {
      if (f.at("field") == name) return f;
    }
    return json();
  };
  const std::string price_doc =
      PgClient(pg_db_).QueryValue("SELECT col_description('items'::regclass, 2)");
  ASSERT_EQ(price_doc, "net price, \"EUR\"");
  json snapshot_after = json::parse(*messages[0].value)["schema"]["fields"][1]["fields"];
  EXPECT_EQ(field(snapshot_after, "price")["doc"], price_doc) << snapshot_after.dump();
  EXPECT_FALSE(field(snapshot_after, "id").contains("doc")) << snapshot_after.dump();
  EXPECT_FALSE(field(snapshot_after, "note").contains("doc")) << snapshot_after.dump();
  // JsonConverter's order: name, version, doc, parameters.
  EXPECT_NE(messages[0].value->find(R"("version":1,"doc":"net price, \"EUR\"","parameters")"),
            std::string::npos) << *messages[0].value;
  json streamed_after = json::parse(*messages[1].value)["schema"]["fields"][1]["fields"];
  EXPECT_EQ(field(streamed_after, "note")["doc"], "free text") << streamed_after.dump();
  EXPECT_EQ(field(streamed_after, "qty")["doc"], "pieces") << streamed_after.dump();
  EXPECT_EQ(field(streamed_after, "price")["doc"], price_doc);
}

TEST_F(DbzColumnsTest, PostgresToKafkaKeysMasksHashesTruncatesAndFilters) {
  pg_db_ = CreateScratchPgDatabase("dbzc");
  PgClient pg(pg_db_);
  pg.Exec("CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL, name text, "
          "code varchar(8), secret text, region text);"
          "CREATE SCHEMA audit; CREATE TABLE audit.log (id int PRIMARY KEY, what text);"
          "INSERT INTO customers VALUES (1, 'a@x', 'Ann', 'hello', 's1', 'Europe');"
          "INSERT INTO audit.log VALUES (1, 'kept out')");
  const std::string prefix = UniqueName("dbzc");
  json config = PgSource("dbzc");
  config.update({{"topic.prefix", prefix},
                 {"sink.type", "kafka"},
                 {"sink.kafka.bootstrap.servers", TestEnv::KafkaBootstrap()},
                 {"schema.exclude.list", "audit"},
                 {"column.include.list", "public\\.customers\\.(id|email|name|code|region)"},
                 {"message.key.columns", "public\\.cust.*:email"},
                 {"column.mask.with.4.chars", "public\\.customers\\.name"},
                 {"column.mask.hash.SHA-256.with.salt.CzQMA0cB5K", "public\\.customers\\.code"},
                 {"column.truncate.to.3.chars", "public\\.customers\\.region"}});
  sluice_.emplace(SluiceProcess::Run(config));
  const std::string topic = prefix + ".public.customers";
  WaitForMessages(topic, 1, 60s);  // the snapshot row: streaming has started
  pg.Exec("INSERT INTO customers VALUES (2, 'b@x', NULL, 'world', 's2', 'Asia');"
          "INSERT INTO audit.log VALUES (2, 'still out')");
  ASSERT_TRUE(sluice_->IsRunning()) << sluice_->LogTail();
  auto messages = WaitForMessages(topic, 2, 60s);
  ASSERT_EQ(messages.size(), 2u);

  std::map<json, json> after_by_key;
  for (const auto& m : messages) {
    ASSERT_TRUE(m.key && m.value);
    after_by_key[json::parse(*m.key)] = json::parse(*m.value).at("after");
  }
  // Keys come from message.key.columns; code keeps 8 hex digits (varchar(8)); secret is gone.
  EXPECT_EQ(after_by_key[json({{"email", "a@x"}})],
            json({{"id", 1}, {"email", "a@x"}, {"name", "****"},
                  {"code", std::string(kHelloV1).substr(0, 8)}, {"region", "Eur"}}));
  // A null is masked too (Debezium's mask is unconditional).
  EXPECT_EQ(after_by_key[json({{"email", "b@x"}})],
            json({{"id", 2}, {"email", "b@x"}, {"name", "****"},
                  {"code", std::string(kWorldV1).substr(0, 8)}, {"region", "Asi"}}));
  EXPECT_TRUE(ConsumeTopic(prefix + ".audit.log").empty());

  // REPLICA IDENTITY DEFAULT: the delete carries the primary key only, so the message key's
  // email is null, as in Debezium; the before image is masked as the rows were.
  pg.Exec("DELETE FROM customers WHERE id = 2");
  messages = WaitForMessages(topic, 4, 60s);  // the delete and its tombstone
  ASSERT_EQ(messages.size(), 4u);
  std::optional<json> del;
  int tombstones = 0;
  for (const auto& m : messages) {
    ASSERT_TRUE(m.key.has_value());
    if (!m.value) {
      ++tombstones;
      EXPECT_EQ(json::parse(*m.key), json({{"email", nullptr}}));
      continue;
    }
    json value = json::parse(*m.value);
    if (value.at("op") != "d") continue;
    EXPECT_EQ(json::parse(*m.key), json({{"email", nullptr}}));
    del = value;
  }
  EXPECT_EQ(tombstones, 1);
  ASSERT_TRUE(del.has_value());
  EXPECT_EQ(del->at("before").at("id"), 2);
  EXPECT_EQ(del->at("before").at("email"), nullptr);
  EXPECT_EQ(del->at("before").at("name"), "****");
}

TEST_F(DbzColumnsTest, MariadbToPostgresHashesV2AndTruncates) {
  my_db_ = CreateScratchMysqlDatabase("dbzc");
  MysqlClient my(my_db_);
  my.Exec("CREATE TABLE people (id INT PRIMARY KEY, token VARCHAR(100), note TEXT, "
          "hidden VARCHAR(10));"
          "INSERT INTO people VALUES (1, 'hello', 'abcdef', 'h1')");
  target_db_ = CreateScratchPgDatabase("dbzc_dst");
  PgClient dst(target_db_);
  json config = MySource("dbzc_my");
  config.update({{"sink.type", "postgres"},
                 {"sink.url", dst.Url()},
                 {"column.exclude.list", my_db_ + "\\.people\\.hidden"},
                 {"column.mask.hash.v2.SHA-256.with.salt.s", my_db_ + "\\.people\\.token"},
                 {"column.truncate.to.2.chars", my_db_ + "\\.people\\.note"}});
  sluice_.emplace(SluiceProcess::Run(config));
  const std::string table = "\"" + my_db_ + "\".people";
  auto rows = [&] {
    auto r = dst.TryQuery("SELECT id, token, note FROM " + table + " ORDER BY id");
    return r.ok ? r.rows : SqlRows{};
  };
  WaitUntil([&] { return rows().size() == 1; }, 60s, "the snapshot row");
  my.Exec("INSERT INTO people VALUES (2, 'world', 'xyz', 'h2');"
          "UPDATE people SET note = 'qrstu' WHERE id = 1");
  WaitUntil([&] { return rows().size() == 2 && rows()[0][2] == SqlValue("qr"); }, 60s,
            "the streamed rows");
  ASSERT_TRUE(sluice_->IsRunning()) << sluice_->LogTail();
  EXPECT_EQ(rows(), (SqlRows{{"1", kHelloV2, "qr"}, {"2", kWorldV2, "xy"}}));
  auto hidden = dst.TryQuery("SELECT hidden FROM " + table);
  EXPECT_FALSE(hidden.ok);  // the excluded column is not in the target
}

TEST_F(DbzColumnsTest, RefusesAnExcludedKeyColumnAndMessageKeysForADatabaseSink) {
  pg_db_ = CreateScratchPgDatabase("dbzc_ref");
  PgClient pg(pg_db_);
  pg.Exec("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a')");
  target_db_ = CreateScratchPgDatabase("dbzc_ref_dst");
  json config = PgSource("dbzc_ref");
  config.update({{"sink.type", "postgres"},
                 {"sink.url", PgClient(target_db_).Url()},
                 {"column.exclude.list", "public\\.t\\.id"}});
  CommandResult sync = SluiceProcess::RunToCompletion("sync", config, 60s);
  EXPECT_FALSE(sync.Success());
  EXPECT_NE((sync.out + sync.err).find("column public.t.id is part of the table's key"),
            std::string::npos)
      << sync.out << sync.err;
  EXPECT_EQ(PgClient(target_db_).QueryValue(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 't'"),
            "0");

  // The same from MariaDB, with column.include.list leaving the key out.
  my_db_ = CreateScratchMysqlDatabase("dbzc_ref");
  MysqlClient(my_db_).Exec("CREATE TABLE k (id INT PRIMARY KEY, v TEXT); INSERT INTO k VALUES (1, 'a')");
  json my_config = MySource("dbzc_ref_my");
  my_config.update({{"sink.type", "postgres"},
                    {"sink.url", PgClient(target_db_).Url()},
                    {"column.include.list", my_db_ + "\\.k\\.v"}});
  CommandResult my_sync = SluiceProcess::RunToCompletion("sync", my_config, 60s);
  EXPECT_FALSE(my_sync.Success());
  EXPECT_NE((my_sync.out + my_sync.err)
                .find("column " + my_db_ + ".k.id is part of the table's key and "
                      "column.include.list leaves it out"),
            std::string::npos)
      << my_sync.out << my_sync.err;

  config.erase("column.exclude.list");
  config["message.key.columns"] = "public\\.t:v";
  CommandResult validate = SluiceProcess::RunToCompletion("validate", config, 60s);
  EXPECT_FALSE(validate.Success());
  EXPECT_NE((validate.out + validate.err).find("message.key.columns"), std::string::npos)
      << validate.out << validate.err;
  EXPECT_NE((validate.out + validate.err).find("database sink"), std::string::npos);
}

// snapshot.mode=always: every start takes a new snapshot, truncating each table first, so that a
// row deleted while the connector was stopped is gone from the target too.
TEST_F(DbzColumnsTest, AlwaysSnapshotsAtEveryStartForPostgresAndMariadb) {
  pg_db_ = CreateScratchPgDatabase("dbzc_alw");
  PgClient pg(pg_db_);
  pg.Exec("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b')");
  my_db_ = CreateScratchMysqlDatabase("dbzc_alw");
  MysqlClient my(my_db_);
  my.Exec("CREATE TABLE t (id INT PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b')");
  target_db_ = CreateScratchPgDatabase("dbzc_alw_dst");
  PgClient dst(target_db_);

  json pg_config = PgSource("dbzc_alw");
  pg_config.update({{"sink.type", "postgres"}, {"sink.url", dst.Url()},
                    {"snapshot.mode", "always"}});
  json my_config = MySource("dbzc_alw_my");
  my_config.update({{"sink.type", "postgres"}, {"sink.url", dst.Url()},
                    {"snapshot.mode", "always"}});
  auto rows = [&](const std::string& table) {
    auto r = dst.TryQuery("SELECT id, v FROM " + table + " ORDER BY id");
    return r.ok ? r.rows : SqlRows{};
  };
  const std::string pg_table = "public.t";
  const std::string my_table = "\"" + my_db_ + "\".t";
  for (auto* config : {&pg_config, &my_config}) {
    const bool is_pg = config == &pg_config;
    const std::string& table = is_pg ? pg_table : my_table;
    auto source = [&](const std::string& sql) { is_pg ? pg.Exec(sql) : my.Exec(sql); };
    SluiceProcess run = SluiceProcess::Run(*config);
    WaitUntil([&] { return rows(table).size() == 2; }, 60s, "the first snapshot");
    source("INSERT INTO t VALUES (3, 'c')");
    WaitUntil([&] { return rows(table).size() == 3; }, 60s, "a streamed row");
    ASSERT_TRUE(run.Stop().Success()) << run.LogTail();
    source("DELETE FROM t WHERE id = 1");
    source("UPDATE t SET v = 'B' WHERE id = 2");
    run.Restart();
    WaitUntil([&] { return rows(table) == SqlRows{{"2", "B"}, {"3", "c"}}; }, 60s,
              "the second snapshot drops the deleted row");
    source("INSERT INTO t VALUES (4, 'd')");
    WaitUntil([&] { return rows(table).size() == 3; }, 60s, "streaming after the new snapshot");
    EXPECT_NE(run.LogTail(200).find("snapshot.mode=always"), std::string::npos) << run.LogTail();
    run.Stop();
  }
  // recovery: MySQL only, and only for a connector with a stored position.
  json recovery = MySource("dbzc_rec");
  recovery.update({{"sink.type", "postgres"}, {"sink.url", dst.Url()},
                   {"snapshot.mode", "recovery"}});
  CommandResult fresh = SluiceProcess::RunToCompletion("run", recovery, 60s);
  EXPECT_FALSE(fresh.Success());
  EXPECT_NE((fresh.out + fresh.err).find("snapshot.mode=recovery"), std::string::npos)
      << fresh.out << fresh.err;
  pg_config["snapshot.mode"] = "recovery";
  CommandResult pg_recovery = SluiceProcess::RunToCompletion("validate", pg_config, 60s);
  EXPECT_FALSE(pg_recovery.Success());
}

// snapshot.select.statement.overrides: the snapshot reads the statement's rows (by column name),
// streaming is not filtered; a statement without a captured column stops the snapshot naming it.
TEST_F(DbzColumnsTest, SelectOverridesFilterTheSnapshotOfPostgresAndMariadb) {
  pg_db_ = CreateScratchPgDatabase("dbzc_sel");
  PgClient pg(pg_db_);
  pg.Exec("CREATE TABLE t (id int PRIMARY KEY, v numeric(6,2), note text);"
          "INSERT INTO t SELECT g, g * 1.5, 'n' || g FROM generate_series(1, 5) g");
  my_db_ = CreateScratchMysqlDatabase("dbzc_sel");
  MysqlClient my(my_db_);
  my.Exec("CREATE TABLE t (id INT PRIMARY KEY, v DECIMAL(6,2), note TEXT);"
          "INSERT INTO t VALUES (1, 1.5, 'n1'), (2, 3, 'n2'), (3, 4.5, 'n3'), (4, 6, 'n4')");
  target_db_ = CreateScratchPgDatabase("dbzc_sel_dst");
  PgClient dst(target_db_);
  json pg_config = PgSource("dbzc_sel");
  // Columns in another order plus an extra one: read by name.
  pg_config.update({{"sink.type", "postgres"}, {"sink.url", dst.Url()},
                    {"snapshot.select.statement.overrides", "public.t"},
                    {"snapshot.select.statement.overrides.public.t",
                     "SELECT note, id, v, 1 AS extra FROM public.t WHERE id % 2 = 1;"}});
  json my_config = MySource("dbzc_sel_my");
  my_config.update({{"sink.type", "postgres"}, {"sink.url", dst.Url()},
                    {"snapshot.select.statement.overrides", my_db_ + ".t"},
                    {"snapshot.select.statement.overrides." + my_db_ + ".t",
                     "SELECT * FROM `" + my_db_ + "`.t WHERE id > 2"}});
  auto rows = [&](const std::string& table) {
    auto r = dst.TryQuery("SELECT id, v::text, note FROM " + table + " ORDER BY id");
    return r.ok ? r.rows : SqlRows{};
  };
  {
    SluiceProcess run = SluiceProcess::Run(pg_config);
    WaitUntil([&] { return rows("public.t").size() == 3; }, 60s, "the filtered snapshot");
    pg.Exec("INSERT INTO t VALUES (10, 2.25, 'streamed')");  // not filtered
    WaitUntil([&] { return rows("public.t").size() == 4; }, 60s, "the streamed row");
    EXPECT_EQ(rows("public.t"), (SqlRows{{"1", "1.50", "n1"}, {"3", "4.50", "n3"},
                                         {"5", "7.50", "n5"}, {"10", "2.25", "streamed"}}));
    run.Stop();
  }
  {
    const std::string table = "\"" + my_db_ + "\".t";
    SluiceProcess run = SluiceProcess::Run(my_config);
    WaitUntil([&] { return rows(table).size() == 2; }, 60s, "the filtered snapshot");
    my.Exec("INSERT INTO t VALUES (0, 0.25, 'streamed')");
    WaitUntil([&] { return rows(table).size() == 3; }, 60s, "the streamed row");
    EXPECT_EQ(rows(table), (SqlRows{{"0", "0.25", "streamed"}, {"3", "4.50", "n3"},
                                    {"4", "6.00", "n4"}}));
    run.Stop();
  }
  // A statement that lacks a captured column: the snapshot stops, naming the override.
  json bad = PgSource("dbzc_sel_bad");
  bad.update({{"sink.type", "postgres"}, {"sink.url", PgClient(target_db_).Url()},
              {"snapshot.select.statement.overrides", "public.t"},
              {"snapshot.select.statement.overrides.public.t", "SELECT id FROM public.t"}});
  CommandResult sync = SluiceProcess::RunToCompletion("sync", bad, 60s);
  EXPECT_FALSE(sync.Success());
  EXPECT_NE((sync.out + sync.err).find("snapshot.select.statement.overrides.public.t"),
            std::string::npos)
      << sync.out << sync.err;
}

}  // namespace
}  // namespace sluice::itest
