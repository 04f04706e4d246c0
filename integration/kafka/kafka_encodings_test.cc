// Debezium's value encodings through Kafka and back, with the sluice binary: PostgreSQL -> Kafka
// -> PostgreSQL and MariaDB -> Kafka -> MariaDB (schemas on), in Debezium's default modes and in
// an alternative set, each target compared with its source by an independent client.
//
// What the encodings themselves approximate is left out here and covered by the unit tests
// (tests/connectors/kafka): intervals are compared as seconds (MicroDuration counts a month as
// 30.4375 days, so the values here have none), and decimal.handling.mode=double is not used.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "integration/common/itest.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using Modes = std::map<std::string, std::string>;

// The Kafka source tells a string decimal and a base64 string from text by the columns' source
// types, so the alternative modes ask for them (column.propagate.source.type), as a Debezium
// user reading these modes back would.
const Modes kAlternative = {{"decimal.handling.mode", "string"},
                            {"time.precision.mode", "adaptive_time_microseconds"},
                            {"binary.handling.mode", "base64-url-safe"},
                            {"interval.handling.mode", "string"},
                            {"bigint.unsigned.handling.mode", "precise"},
                            {"column.propagate.source.type", ".*"}};

class KafkaTypesTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (auto* p : {&to_kafka_, &from_kafka_}) {
      if (*p) (*p)->Kill();
      p->reset();
    }
    if (!slot_.empty()) {
      PgClient("postgres").TryQuery(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" +
          slot_ + "'");
    }
    for (const auto& db : pg_dbs_) DropPgDatabase(db);
    for (const auto& db : my_dbs_) DropMysqlDatabase(db);
  }

  // Runs source -> Kafka (`source` config plus `modes`) and Kafka -> target (`target` sink keys),
  // then waits until `matches` holds.
  void Relay(json source, const json& target, const Modes& modes,
             const std::function<::testing::AssertionResult()>& matches) {
    std::string prefix = UniqueName("kt");
    source["topic.prefix"] = prefix;
    source["sink.type"] = "kafka";
    source["sink.kafka.bootstrap.servers"] = TestEnv::KafkaBootstrap();
    source["value.converter.schemas.enable"] = "true";
    source["key.converter.schemas.enable"] = "true";
    source["sink.batch.ms"] = "100";
    for (const auto& [k, v] : modes) source[k] = v;
    to_kafka_.emplace(SluiceProcess::Run(source));
    json apply = target;
    apply["name"] = prefix + "_apply";
    apply["connector.class"] = "kafka";
    apply["kafka.bootstrap.servers"] = TestEnv::KafkaBootstrap();
    apply["kafka.topic.regex"] = prefix + "\\..*";
    apply["kafka.group.id"] = prefix + "_group";
    apply["kafka.consumer.session.timeout.ms"] = "6000";
    apply["kafka.consumer.topic.metadata.refresh.interval.ms"] = "500";
    apply["sink.batch.ms"] = "100";
    if (modes.contains("binary.handling.mode")) apply["binary.handling.mode"] = modes.at("binary.handling.mode");
    from_kafka_.emplace(SluiceProcess::Run(apply));
    ::testing::AssertionResult last = ::testing::AssertionFailure() << "not compared yet";
    WaitUntil(
        [&] {
          if (!to_kafka_->IsRunning()) throw HarnessError("source -> kafka exited:\n" + to_kafka_->LogTail());
          if (!from_kafka_->IsRunning()) throw HarnessError("kafka -> target exited:\n" + from_kafka_->LogTail());
          last = matches();
          return static_cast<bool>(last);
        },
        120s, "target equals the source", 500ms);
    EXPECT_TRUE(last);
  }

  void PgRoundTrip(const Modes& modes) {
    std::string src = CreateScratchPgDatabase("kts");
    std::string tgt = CreateScratchPgDatabase("ktt");
    pg_dbs_ = {src, tgt};
    // hstore is an extension (its OID differs per database); the target gets it too, so that
    // its text can be compared as hstore.
    PgClient(src).Exec("CREATE EXTENSION IF NOT EXISTS hstore");
    PgClient(tgt).Exec("CREATE EXTENSION IF NOT EXISTS hstore");
    PgClient(src).Exec(
        "CREATE TABLE types (id int PRIMARY KEY, n numeric, n2 numeric(12,2), t3 time(3), t6 time,"
        " ts3 timestamp(3), ts timestamp, tz timestamptz, d date, b bytea, bits bit(10), p point,"
        " u uuid, j jsonb, iv interval, m money, tt timetz, tt3 time(3) with time zone, h hstore);"
        "INSERT INTO types VALUES"
        " (1, '-98765432109876543210.0012300', '-12.34', '12:00:00.5', '23:59:59.999999',"
        "  '2024-02-29 12:00:00.123', '2024-02-29 12:00:00.654321', '2024-02-29 12:00:00.5+02',"
        "  '2024-02-29', '\\x00fbff', B'1000000001', '(1.5,-2)',"
        "  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": [1, 2.50]}', '3 days 04:05:06.5',"
        "  '-92233720368547758.08', '12:00:00+05:30', '00:00:00.123-15:59',"
        R"(  E'"b"=>"2", "aa"=>NULL, ""=>"", "q\\"t"=>"x\\\\y", "é"=>"日本", "n"=>"NULL"'),)"
        " (2, '0', '0.01', '00:00:00', '00:00:00', '1970-01-01 00:00:00', 'infinity',"
        "  '1999-12-31 23:00:00-05', '0001-01-01', '\\x', B'0000000000', '(0,0)',"
        "  '00000000-0000-0000-0000-000000000000', '[]', '-00:00:01', '1234.5',"
        "  '24:00:00+15:59', '23:59:59.999+00', ''),"
        " (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
        "  NULL, NULL, NULL)");
    slot_ = UniqueName("kt_slot");
    json source = {{"name", slot_},
                   {"connector.class", "postgres"},
                   {"database.hostname", TestEnv::PgHost()},
                   {"database.port", std::to_string(TestEnv::PgPort())},
                   {"database.user", TestEnv::PgUser()},
                   {"database.dbname", src},
                   {"slot.name", slot_},
                   {"publication.name", "pub_" + slot_},
                   {"table.include.list", "public\\.types"}};
    // timetz keeps its instant of day in UTC (ZonedTime has no offset); the target's text
    // columns hold timetz and hstore text, the same as the source's in UTC.
    auto select = [](bool source_side) {
      return std::string(
                 "SELECT id::text, n::text, n2::text, t3::text, t6::text, ts3::text, ts::text, tz::text,"
                 " d::text, encode(b, 'hex'), bits::text, p::text, u::text, j::text,"
                 " extract(epoch FROM iv)::text, m::numeric::text, ") +
             (source_side ? "(tt AT TIME ZONE 'UTC')::text, (tt3 AT TIME ZONE 'UTC')::text, h::text"
                          : "tt::text, tt3::text, h::text") +
             " FROM types ORDER BY id";
    };
    Relay(source, {{"sink.type", "postgres"}, {"sink.url", PgClient(tgt).Url()}}, modes, [&] {
      SqlResult target = PgClient(tgt).TryQuery(select(false));
      if (!target.ok) return ::testing::AssertionFailure() << "target not ready: " << target.error;
      return TablesMatch(PgClient(src).Query(select(true)), target.rows);
    });
    // The target's text is hstore's and timetz's own: it reads back as the same values.
    SqlResult typed = PgClient(tgt).TryQuery(
        "SELECT count(*) FROM types WHERE h IS NOT NULL AND (h::hstore::text <> h OR "
        "tt::timetz::text <> tt)");
    ASSERT_TRUE(typed.ok) << typed.error;
    EXPECT_EQ(typed.rows[0][0], "0");
    // A change while streaming arrives too.
    PgClient(src).Exec("UPDATE types SET n = '1e-20', bits = B'0100000000', p = '(-1,1e+300)',"
                       " tt = '00:00:00.000001-00:00:01', h = 'k=>\\\\, \"\"=>NULL' WHERE id = 2");
    WaitUntil(
        [&] {
          SqlResult target = PgClient(tgt).TryQuery(select(false));
          return target.ok &&
                 static_cast<bool>(TablesMatch(PgClient(src).Query(select(true)), target.rows));
        },
        60s, "the streamed update in the target", 500ms);
  }

  void MariadbRoundTrip(const Modes& modes) {
    std::string src = CreateScratchMysqlDatabase("kms");
    std::string tgt = UniqueName("kmt");
    my_dbs_ = {src, tgt};
    MysqlClient(src).Exec(
        "CREATE TABLE types (id INT PRIMARY KEY, de DECIMAL(20,5), bu BIGINT UNSIGNED, y YEAR,"
        " s SET('a','b','c'), e ENUM('x','y'), bits BIT(10), g GEOMETRY, dt3 DATETIME(3),"
        " dt DATETIME(6), tm TIME(6), vb VARBINARY(8), bl BLOB)");
    MysqlClient(src).Exec(
        "INSERT INTO types VALUES"
        " (1, -123456789012345.12345, 9223372036854775807, 2024, 'a,c', 'y', b'1000000001',"
        "  ST_GeomFromText('LINESTRING(0 0,1 1)', 4326), '2024-02-29 12:00:00.123',"
        "  '2024-02-29 12:00:00.654321', '-838:59:59.000000', x'00fbff', x'01'),"
        " (2, 0, 0, 1901, '', 'x', b'0000000000', ST_GeomFromText('POINT(1 2)'),"
        "  '1000-01-01 00:00:00', '9999-12-31 23:59:59.999999', '12:34:56.5', x'', x''),"
        " (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)");
    json source = {{"name", "kt_" + src},
                   {"connector.class", "mysql"},
                   {"database.hostname", TestEnv::MysqlHost()},
                   {"database.port", std::to_string(TestEnv::MysqlPort())},
                   {"database.user", kPasswordUser},
                   {"database.password", kTestPassword},
                   {"database.server.id", std::to_string(200000 + std::rand() % 1000000)},
                   {"database.include.list", src}};
    // The same values, by each side's own SQL: BIT's number, the geometry's bytes.
    auto select = [](bool source_side) {
      return std::string("SELECT id, CAST(de AS CHAR), CAST(bu AS CHAR), CAST(y AS CHAR), s, e, ") +
             (source_side ? "CAST(bits AS UNSIGNED)" : "CAST(CONV(HEX(bits), 16, 10) AS UNSIGNED)") +
             ", HEX(g), DATE_FORMAT(dt3, '%Y-%m-%d %H:%i:%s.%f'), DATE_FORMAT(dt, '%Y-%m-%d %H:%i:%s.%f'),"
             " CAST(tm AS CHAR), HEX(vb), HEX(bl) FROM types ORDER BY id";
    };
    Relay(source,
          {{"sink.type", "mysql"}, {"sink.url", MysqlClient(tgt).Url()},
           {"sink.table.name.format", "${table}"}},
          modes, [&] {
            SqlResult target = MysqlClient(tgt).TryQuery(select(false));
            if (!target.ok) return ::testing::AssertionFailure() << "target not ready: " << target.error;
            return TablesMatch(MysqlClient(src).Query(select(true)), target.rows);
          });
  }

  std::optional<SluiceProcess> to_kafka_, from_kafka_;
  std::string slot_;
  std::vector<std::string> pg_dbs_, my_dbs_;
};

// Debezium's default modes; hstore's Json is told from jsonb by its source type, the one
// parameter asked for (datatype.propagate.source.type).
TEST_F(KafkaTypesTest, PostgresThroughKafkaToPostgresInDebeziumsDefaultModes) {
  PgRoundTrip({{"datatype.propagate.source.type", ".+\\.hstore"}});
}

TEST_F(KafkaTypesTest, PostgresThroughKafkaToPostgresInAlternativeModes) {
  Modes modes = kAlternative;
  modes["hstore.handling.mode"] = "map";  // PostgreSQL only: MariaDB has no hstore
  PgRoundTrip(modes);
}

TEST_F(KafkaTypesTest, MariadbThroughKafkaToMariadbInDebeziumsDefaultModes) { MariadbRoundTrip({}); }

TEST_F(KafkaTypesTest, MariadbThroughKafkaToMariadbInAlternativeModes) {
  MariadbRoundTrip(kAlternative);
}

}  // namespace
}  // namespace sluice::itest
