// The PostgreSQL source's config parsing (source_config.h): defaults, derived values and the
// errors for a missing or malformed key.
#include "connectors/postgres/source_config.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "connectors/postgres/postgres_source.h"

namespace sluice::pg {
namespace {

core::ConnectorConfig Config(std::map<std::string, std::string> extra) {
  std::map<std::string, std::string> values = {{"connector.class", "postgres"},
                                               {"database.dbname", "shop"}};
  for (auto& [k, v] : extra) values[k] = v;
  return core::ConnectorConfig("orders-eu", values);
}

TEST(SourceConfig, Defaults) {
  auto c = ParseSourceConfig(Config({}));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->params.host, "127.0.0.1");
  EXPECT_EQ(c->params.port, 5432);
  EXPECT_EQ(c->params.user, "postgres");
  EXPECT_EQ(c->params.dbname, "shop");
  EXPECT_EQ(c->params.connect_timeout_s, 30);
  EXPECT_EQ(c->params.application_name.rfind("sluice_orders_eu", 0), 0u)
      << c->params.application_name;
  EXPECT_EQ(c->publication_mode, "filtered");
  EXPECT_EQ(c->mode, core::SnapshotMode::kInitial);
  EXPECT_FALSE(c->drop_on_stop);
  EXPECT_EQ(c->snapshot.threads, 2);
  EXPECT_EQ(c->snapshot.chunk_pages, 16384u);
  EXPECT_TRUE(c->snapshot.binary);
  EXPECT_EQ(c->stream.status_interval_ms, 10000);
  EXPECT_EQ(c->slot_health_interval_ms, 10000);
  EXPECT_EQ(c->slot_warn_bytes, int64_t{1} << 30);
  EXPECT_EQ(c->stream.database, "shop");
}

TEST(SourceConfig, ExplicitValues) {
  auto c = ParseSourceConfig(Config({{"database.hostname", "db.internal"},
                                     {"database.port", "6543"},
                                     {"connect.timeout.ms", "500"},
                                     {"snapshot.mode", "when_needed"},
                                     {"snapshot.copy.format", "text"},
                                     {"snapshot.max.threads", "4"},
                                     {"slot.drop.on.stop", "true"},
                                     {"status.update.interval.ms", "2500"},
                                     {"slot.health.interval.ms", "750"},
                                     {"slot.retained.warn.bytes", "1048576"},
                                     {"publication.autocreate.mode", "disabled"}}));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->params.host, "db.internal");
  EXPECT_EQ(c->params.port, 6543);
  EXPECT_EQ(c->params.connect_timeout_s, 2) << "libpq's connect_timeout is at least 2 s";
  EXPECT_EQ(c->mode, core::SnapshotMode::kWhenNeeded);
  EXPECT_FALSE(c->snapshot.binary);
  EXPECT_EQ(c->snapshot.threads, 4);
  EXPECT_TRUE(c->drop_on_stop);
  EXPECT_EQ(c->stream.status_interval_ms, 2500);
  EXPECT_EQ(c->slot_health_interval_ms, 750);
  EXPECT_EQ(c->slot_warn_bytes, 1048576);
  EXPECT_EQ(c->publication_mode, "disabled");
}

TEST(SourceConfig, ErrorsNameTheKey) {
  core::ConnectorConfig no_db("c", {{"connector.class", "postgres"}});
  auto missing = ParseSourceConfig(no_db);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("database.dbname"), std::string::npos);

  auto port = ParseSourceConfig(Config({{"database.port", "fifty"}}));
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(port.status().message().find("database.port"), std::string::npos);

  auto mode = ParseSourceConfig(Config({{"snapshot.mode", "sometimes"}}));
  ASSERT_FALSE(mode.ok());
  EXPECT_EQ(mode.status().code(), core::StatusCode::kInvalidArgument);
}

TEST(SourceConfig, MessagePrefixListsCaptureAllByDefaultAndRefuseBothOrABadRegex) {
  auto all = ParseSourceConfig(Config({}));
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->stream.message_prefix_include.empty());
  EXPECT_TRUE(all->stream.message_prefix_exclude.empty());

  auto include = ParseSourceConfig(Config({{"message.prefix.include.list", "audit.*,x"}}));
  ASSERT_TRUE(include.ok()) << include.status().message();
  ASSERT_EQ(include->stream.message_prefix_include.size(), 2u);
  EXPECT_TRUE(core::AnyFullMatch(include->stream.message_prefix_include, "audit_log"));
  EXPECT_FALSE(core::AnyFullMatch(include->stream.message_prefix_include, "xy"));

  auto both = ParseSourceConfig(Config({{"message.prefix.include.list", "a"},
                                        {"message.prefix.exclude.list", "b"}}));
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(both.status().message().find("message.prefix.exclude.list"), std::string::npos);

  auto bad = ParseSourceConfig(Config({{"message.prefix.exclude.list", "a("}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("message.prefix.exclude.list"), std::string::npos);
}

TEST(SourceConfig, EveryParsedKeyIsDeclared) {
  std::map<std::string, bool> declared;
  for (const auto& k : SourceConfigKeys()) declared[k.name] = true;
  for (const char* key : {"database.hostname", "database.port", "database.user",
                          "database.password", "database.dbname", "database.sslmode",
                          "slot.name", "publication.name", "publication.autocreate.mode",
                          "snapshot.max.threads", "snapshot.chunk.pages", "snapshot.copy.format",
                          "slot.drop.on.stop", "status.update.interval.ms", "connect.timeout.ms",
                          "slot.health.interval.ms", "slot.retained.warn.bytes",
                          "slot.max.retained.wal", "message.prefix.include.list",
                          "message.prefix.exclude.list"}) {
    EXPECT_TRUE(declared.count(key)) << key;
  }
}

TEST(SourceConfig, MaxRetainedWalTakesBytesWithPostgresUnits) {
  auto bytes = [](const char* v) {
    auto c = ParseSourceConfig(Config({{"slot.max.retained.wal", v}}));
    EXPECT_TRUE(c.ok()) << v << ": " << c.status().message();
    return c.ok() ? c->slot_max_retained_bytes : -2;
  };
  EXPECT_EQ(ParseSourceConfig(Config({}))->slot_max_retained_bytes, 0) << "no limit by default";
  EXPECT_EQ(bytes("0"), 0);
  EXPECT_EQ(bytes("1048576"), 1048576);
  EXPECT_EQ(bytes("512kB"), 512 * 1024);
  EXPECT_EQ(bytes("64MB"), 64 * 1024 * 1024);
  EXPECT_EQ(bytes("50GB"), int64_t{50} << 30);
  EXPECT_EQ(bytes("10 GiB"), int64_t{10} << 30);
  EXPECT_EQ(bytes("1.5gb"), int64_t{3} << 29);
  EXPECT_EQ(bytes("2TB"), int64_t{2} << 40);
  EXPECT_EQ(bytes("100B"), 100);
}

TEST(SourceConfig, MaxRetainedWalRejectsBadValuesNamingTheKeyAndValue) {
  for (const char* bad : {"-1GB", "lots", "50XB", "10 G B", "GB", "9999999TB",
                          "99999999999999999999", "1.2.3MB"}) {
    auto c = ParseSourceConfig(Config({{"slot.max.retained.wal", bad}}));
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.status().code(), core::StatusCode::kInvalidArgument) << bad;
    const std::string& m = c.status().message();
    EXPECT_NE(m.find("slot.max.retained.wal"), std::string::npos) << m;
    EXPECT_NE(m.find(std::string("'") + bad + "'"), std::string::npos) << m;
    EXPECT_NE(m.find("for example 50GB"), std::string::npos) << m;
  }
  auto c = ParseSourceConfig(Config({{"slot.max.retained.wal", "50XB"}}));
  EXPECT_NE(c.status().message().find("unknown unit 'XB'"), std::string::npos)
      << c.status().message();
}

TEST(SourceConfig, SnapshotModesAndTheirDebeziumAliases) {
  EXPECT_EQ(ParseSourceConfig(Config({{"snapshot.mode", "always"}}))->mode,
            core::SnapshotMode::kAlways);
  EXPECT_EQ(ParseSourceConfig(Config({{"snapshot.mode", "schema_only"}}))->mode,
            core::SnapshotMode::kNoData);
  // Recovery rebuilds a MySQL schema history; PostgreSQL has no such mode.
  for (const char* mode : {"recovery", "schema_only_recovery"}) {
    auto c = ParseSourceConfig(Config({{"snapshot.mode", mode}}));
    ASSERT_FALSE(c.ok()) << mode;
    EXPECT_EQ(c.status().code(), core::StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find("MySQL mode"), std::string::npos);
  }
  core::ConfigDef def;
  def.AddAll(core::CommonConfigKeys());
  def.AddAll(SourceConfigKeys());
  auto sink = [](std::map<std::string, std::string> extra) {
    extra["sink.type"] = "file";
    return Config(std::move(extra));
  };
  EXPECT_TRUE(def.Validate(sink({{"snapshot.mode", "always"}})).ok());
  EXPECT_FALSE(def.Validate(sink({{"snapshot.mode", "recovery"}})).ok());
  EXPECT_TRUE(def.Validate(sink({{"schema.include.list", "public"}})).ok());
}

}  // namespace
}  // namespace sluice::pg
