// Unit tests of the MySQL sink's SQL generation, type mapping, literal escaping and URL parsing
// (no server).
#include <gtest/gtest.h>
#include <mysql.h>

#include "core/config.h"
#include "sinks/mysql/mysql_client.h"
#include "sinks/mysql/mysql_sink.h"
#include "sinks/mysql/mysql_sql.h"
#include "sinks/mysql/mysql_types.h"
#include "tests/common/schema_builders.h"

namespace sluice::sinks::mysql_sink {
namespace {

using core::Column;
using core::LogicalType;

using sluice::testing::Col;

// An unconnected libmariadb handle in the state a sink connection is in after its SET sql_mode
// (the server reports NO_BACKSLASH_ESCAPES in every OK packet; utf8mb4 is the default charset),
// or, with `backslash_escapes`, a session without it.
MYSQL* Handle(bool backslash_escapes = false) {
  static MYSQL* quotes = [] {
    MYSQL* m = mysql_init(nullptr);
    m->server_status |= SERVER_STATUS_NO_BACKSLASH_ESCAPES;
    return m;
  }();
  static MYSQL* backslashes = mysql_init(nullptr);
  return backslash_escapes ? backslashes : quotes;
}

StringEscaper Escaper() { return StringEscaper(Handle()); }

std::string Lit(LiteralKind kind, std::string_view text) {
  std::string out;
  const char* why = AppendLiteral(out, kind, text, Escaper());
  return why ? std::string("ERROR: ") + why : out;
}

TEST(MysqlIdentifierTest, QuotesWithBackticksAndDoublesThem) {
  EXPECT_EQ(QuoteIdentifier("orders"), "`orders`");
  EXPECT_EQ(QuoteIdentifier("a`b"), "`a``b`");
  EXPECT_EQ(QuoteIdentifier("\"; DROP TABLE x; --"), "`\"; DROP TABLE x; --`");
  EXPECT_EQ(QuoteIdentifier("``"), "``````");
}

// Names MySQL cannot hold are refused by name before any statement: an emoji in a table name
// once failed with "Illegal mix of collations" while reading the table's columns.
TEST(MysqlIdentifierTest, NamesMysqlCannotHoldAreRefused) {
  EXPECT_EQ(IdentifierProblem("orders"), nullptr);
  EXPECT_EQ(IdentifierProblem("Ünï 名"), nullptr);  // BMP characters are fine
  EXPECT_EQ(IdentifierProblem(std::string(64, 'x')), nullptr);
  std::string accented(32, 'x');
  for (int i = 0; i < 32; ++i) accented += "\xC3\xA9";
  EXPECT_EQ(IdentifierProblem(accented), nullptr);  // 64 characters in 96 bytes
  EXPECT_NE(IdentifierProblem(accented + "\xC3\xA9"), nullptr);
  ASSERT_NE(IdentifierProblem("t\xF0\x9F\x98\x80"), nullptr);
  EXPECT_NE(std::string(IdentifierProblem("t\xF0\x9F\x98\x80")).find("Basic Multilingual Plane"),
            std::string::npos);
  EXPECT_NE(IdentifierProblem(std::string(65, 'x')), nullptr);
  EXPECT_NE(IdentifierProblem("trailing "), nullptr);
  EXPECT_NE(IdentifierProblem(""), nullptr);
  EXPECT_NE(IdentifierProblem(std::string("a\0b", 3)), nullptr);
}

TEST(MysqlLiteralTest, StringsDoubleQuotesOnlyBecauseBackslashIsPlain) {
  EXPECT_EQ(Lit(LiteralKind::kString, "it's"), "'it''s'");
  EXPECT_EQ(Lit(LiteralKind::kString, "a\\b"), "'a\\b'");
  EXPECT_EQ(Lit(LiteralKind::kString, "'); DROP TABLE x; --"), "'''); DROP TABLE x; --'");
  EXPECT_EQ(Lit(LiteralKind::kString, ""), "''");
  EXPECT_EQ(Lit(LiteralKind::kString, "\xF0\x9F\x98\x80"), "'\xF0\x9F\x98\x80'");
  EXPECT_EQ(Lit(LiteralKind::kString, std::string_view("a\0b", 3)), std::string("'a\0b'", 5));
}

// The client library escapes for the session's mode; without NO_BACKSLASH_ESCAPES every special
// byte is backslash-escaped (the library, not the sink, knows which).
TEST(MysqlLiteralTest, StringsFollowTheSessionsEscapingMode) {
  std::string out = "x=";
  StringEscaper(Handle(true)).AppendQuoted(out, std::string_view("it's \\ \"\n\0", 10));
  EXPECT_EQ(out, "x='it\\'s \\\\ \\\"\\n\\0'");
  // Appends into the buffer after what is there, growing it.
  std::string big(1000, 'a');
  out.clear();
  Escaper().AppendQuoted(out, big);
  EXPECT_EQ(out, "'" + big + "'");
}

TEST(MysqlLiteralTest, BytesAreHex) {
  EXPECT_EQ(Lit(LiteralKind::kBytes, std::string_view("\x00\xff'", 3)), "X'00FF27'");
  EXPECT_EQ(Lit(LiteralKind::kBytes, ""), "X''");
}

TEST(MysqlLiteralTest, NumbersAreValidatedBeforeGoingBare) {
  EXPECT_EQ(Lit(LiteralKind::kNumber, "-42"), "-42");
  EXPECT_EQ(Lit(LiteralKind::kNumber, "1;DROP"), "ERROR: not an integer");
  EXPECT_EQ(Lit(LiteralKind::kNumber, ""), "ERROR: not an integer");
  EXPECT_EQ(Lit(LiteralKind::kFloat, "1.5e-07"), "1.5e-07");
  EXPECT_NE(Lit(LiteralKind::kFloat, "NaN").find("ERROR"), std::string::npos);
  EXPECT_NE(Lit(LiteralKind::kFloat, "-Infinity").find("ERROR"), std::string::npos);
  EXPECT_EQ(Lit(LiteralKind::kDecimal, "-12.3400"), "-12.3400");
  EXPECT_NE(Lit(LiteralKind::kDecimal, "NaN").find("sink.mysql.numeric.unbounded"), std::string::npos);
  EXPECT_EQ(Lit(LiteralKind::kDecimalText, "NaN"), "'NaN'");
  EXPECT_EQ(Lit(LiteralKind::kBool, "t"), "1");
  EXPECT_EQ(Lit(LiteralKind::kBool, "f"), "0");
  EXPECT_EQ(Lit(LiteralKind::kBool, "x"), "ERROR: not a boolean");
}

// A FLOAT column's values are written as the float32's exact double: MySQL reads literals as
// DOUBLE, so "0.1" would never equal the stored FLOAT 0.1 in a WHERE clause, and FLT_MAX's
// shortest text 3.4028235e38 is a double above FLT_MAX, which MariaDB refuses (error 1264).
TEST(MysqlLiteralTest, Float32IsWrittenAsItsExactDouble) {
  EXPECT_EQ(LiteralKindFor(Col("f", LogicalType::kFloat32), {}), LiteralKind::kFloat32);
  EXPECT_EQ(Lit(LiteralKind::kFloat32, "0.1"), "0.10000000149011612");
  EXPECT_EQ(Lit(LiteralKind::kFloat32, "3.4028235e+38"), "3.4028234663852886e+38");
  EXPECT_EQ(Lit(LiteralKind::kFloat32, "-3.4028235e38"), "-3.4028234663852886e+38");
  EXPECT_EQ(Lit(LiteralKind::kFloat32, "1.1754944e-38"), "1.1754943508222875e-38");
  EXPECT_EQ(Lit(LiteralKind::kFloat32, "1e-45"), "1.401298464324817e-45");
  EXPECT_EQ(Lit(LiteralKind::kFloat32, "16777216"), "16777216");
  EXPECT_EQ(Lit(LiteralKind::kFloat32, "-0"), "-0");
  EXPECT_EQ(Lit(LiteralKind::kFloat32, "3.5e38"), "ERROR: outside the range of a 4-byte FLOAT");
  EXPECT_NE(Lit(LiteralKind::kFloat32, "NaN").find("ERROR"), std::string::npos);
  EXPECT_EQ(Lit(LiteralKind::kFloat32, "1;DROP"), "ERROR: not a number");
}

TEST(MysqlLiteralTest, WideDecimalRejectsWhatDecimal65_30CannotHold) {
  EXPECT_EQ(Lit(LiteralKind::kDecimalWide, "12345678901234567890123456789012345.5"),
            "12345678901234567890123456789012345.5");
  EXPECT_NE(Lit(LiteralKind::kDecimalWide, "123456789012345678901234567890123456").find("ERROR"),
            std::string::npos);
  EXPECT_NE(Lit(LiteralKind::kDecimalWide, "0." + std::string(31, '1')).find("ERROR"),
            std::string::npos);
}

TEST(MysqlLiteralTest, TemporalValues) {
  EXPECT_EQ(Lit(LiteralKind::kDate, "2024-02-29"), "'2024-02-29'");
  EXPECT_NE(Lit(LiteralKind::kDate, "infinity").find("infinity"), std::string::npos);
  EXPECT_NE(Lit(LiteralKind::kDate, "0044-03-15 BC").find("BC"), std::string::npos);
  EXPECT_EQ(Lit(LiteralKind::kDateTime, "2024-01-02 03:04:05.123456"), "'2024-01-02 03:04:05.123456'");
  EXPECT_EQ(Lit(LiteralKind::kDateTimeTz, "2024-01-02 03:04:05.5+00"), "'2024-01-02 03:04:05.5'");
  EXPECT_EQ(Lit(LiteralKind::kDateTimeTz, "2024-01-02 03:04:05+00"), "'2024-01-02 03:04:05'");
  EXPECT_NE(Lit(LiteralKind::kDateTimeTz, "2024-01-02 03:04:05+02").find("UTC"), std::string::npos);
  EXPECT_NE(Lit(LiteralKind::kDateTimeTz, "-infinity").find("ERROR"), std::string::npos);
}

TEST(MysqlTypesTest, MapsPostgresTypesToClosestLosslessMysqlTypes) {
  TypeOptions o;
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kInt16), false, 0, o), "SMALLINT");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kInt32), false, 0, o), "INT");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kInt64), false, 0, o), "BIGINT");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kBool), false, 0, o), "BOOLEAN");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kFloat32), false, 0, o), "FLOAT");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kFloat64), false, 0, o), "DOUBLE");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kDecimal, "numeric(12,2)", 0, 12, 2), false, 0, o),
            "DECIMAL(12,2)");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kDecimal, "numeric"), false, 0, o), "DECIMAL(65,30)");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kDecimal, "numeric(100,2)", 0, 100, 2), false, 0, o),
            "DECIMAL(65,30)");
  // PostgreSQL 15 scales outside 0..p map to the DECIMAL that holds every value exactly.
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kDecimal, "numeric(3,5)", 0, 3, 5), false, 0, o),
            "DECIMAL(5,5)");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kDecimal, "numeric(3,-2)", 0, 3, -2), false, 0, o),
            "DECIMAL(5,0)");
  EXPECT_EQ(LiteralKindFor(Col("a", LogicalType::kDecimal, "numeric(3,-2)", 0, 3, -2), o),
            LiteralKind::kDecimal);
  // Beyond DECIMAL's limits: the unbounded mapping, whose values are checked one by one.
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kDecimal, "numeric(10,40)", 0, 10, 40), false, 0, o),
            "DECIMAL(65,30)");
  EXPECT_EQ(LiteralKindFor(Col("a", LogicalType::kDecimal, "numeric(10,40)", 0, 10, 40), o),
            LiteralKind::kDecimalWide);
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kDecimal, "numeric(60,-10)", 0, 60, -10), false, 0, o),
            "DECIMAL(65,30)");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kString, "character varying(64)", 64), false, 0, o),
            "VARCHAR(64)");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kString, "text"), false, 0, o), "LONGTEXT");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kString, "text"), true, 768, o), "VARCHAR(768)");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kBytes, "bytea"), false, 0, o), "LONGBLOB");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kBytes, "bytea"), true, 3072, o), "VARBINARY(3072)");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kJson, "jsonb"), false, 0, o), "JSON");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kArray, "integer[]"), false, 0, o), "JSON");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kUuid, "uuid"), false, 0, o), "CHAR(36)");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kDate), false, 0, o), "DATE");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kTime), false, 0, o), "TIME(6)");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kTimestamp), false, 0, o), "DATETIME(6)");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kTimestampTz), false, 0, o), "DATETIME(6)");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kInterval), false, 0, o), "VARCHAR(255)");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kEnum, "mood"), false, 0, o), "VARCHAR(255)");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kUnknown, "tsvector"), false, 0, o), "LONGTEXT");
  o.unbounded_numeric = UnboundedNumeric::kText;
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kDecimal, "numeric"), false, 0, o), "LONGTEXT");
  EXPECT_EQ(LiteralKindFor(Col("a", LogicalType::kDecimal, "numeric"), o), LiteralKind::kDecimalText);
}

TEST(MysqlTypesTest, MysqlSourceTypesAreReusedExceptLobKeys) {
  TypeOptions o;
  o.reuse_source_type = true;
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kInt64, "int(10) unsigned"), false, 0, o),
            "int(10) unsigned");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kEnum, "enum('a','b')"), false, 0, o),
            "enum('a','b')");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kString, "text"), true, 100, o), "VARCHAR(100)");
  // Incomplete type texts (a binlog-only schema) fall back to the mapping.
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kString, "varchar", 0), false, 0, o), "LONGTEXT");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kTimestamp, "datetime"), false, 0, o), "DATETIME(6)");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kTimestamp, "datetime(3)"), false, 0, o), "datetime(3)");
  EXPECT_EQ(MysqlColumnType(Col("a", LogicalType::kEnum, "enum"), false, 0, o), "VARCHAR(255)");
  Column u = Col("a", LogicalType::kInt64, "int");
  u.is_unsigned = true;
  EXPECT_EQ(MysqlColumnType(u, false, 0, o), "int unsigned");
}

core::TableSchemaPtr Schema() {
  auto s = std::make_shared<core::TableSchema>();
  s->id = {"public", "we`ird"};
  s->columns = {Col("id", LogicalType::kInt32, "integer", 0, 0, 0, false),
                Col("name", LogicalType::kString, "text"), Col("blob", LogicalType::kBytes, "bytea")};
  s->key = {0};
  return s;
}

TEST(MysqlSqlTest, CreateTableQuotesAndKeepsTheKey) {
  auto s = Schema();
  EXPECT_EQ(CreateTableSql("db", "we`ird", *s, TypeOptions(), "utf8mb4_nopad_bin"),
            "CREATE TABLE IF NOT EXISTS `db`.`we``ird` (`id` INT NOT NULL, `name` LONGTEXT NULL, "
            "`blob` LONGBLOB NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 "
            "COLLATE=utf8mb4_nopad_bin");
}

TEST(MysqlSqlTest, ModifyColumnUsesTheNewlyMappedType) {
  core::TableSchema s = *Schema();
  s.columns[0] = Col("id", LogicalType::kInt64, "bigint", 0, 0, 0, false);
  s.columns[1] = Col("name", LogicalType::kString, "character varying(200)", 200);
  EXPECT_EQ(ModifyColumnSql("`db`.`we``ird`", s, 0, TypeOptions()),
            "ALTER TABLE `db`.`we``ird` MODIFY COLUMN `id` BIGINT NOT NULL");
  EXPECT_EQ(ModifyColumnSql("`db`.`we``ird`", s, 1, TypeOptions()),
            "ALTER TABLE `db`.`we``ird` MODIFY COLUMN `name` VARCHAR(200) NULL");
}

TEST(MysqlSqlTest, ReplacePrimaryKeyRedefinesTheKeyColumnsInOneStatement) {
  core::TableSchema s = *Schema();
  s.key = {0, 1};  // (id, name): name becomes a bounded, NOT NULL key column
  EXPECT_EQ(ReplacePrimaryKeySql("`db`.`t`", s, TypeOptions(), true),
            "ALTER TABLE `db`.`t` DROP PRIMARY KEY, MODIFY COLUMN `id` INT NOT NULL, MODIFY COLUMN "
            "`name` VARCHAR(767) NOT NULL, ADD PRIMARY KEY (`id`, `name`)");  // (3072 - 4) / 4
  s.key = {1};
  EXPECT_EQ(ReplacePrimaryKeySql("`db`.`t`", s, TypeOptions(), false),
            "ALTER TABLE `db`.`t` MODIFY COLUMN `name` VARCHAR(768) NOT NULL, ADD PRIMARY KEY "
            "(`name`)");
}

TEST(MysqlSqlTest, KeyBudgetIsSharedByUnboundedKeyColumns) {
  core::TableSchema s;
  s.columns = {Col("a", LogicalType::kString, "text"), Col("b", LogicalType::kString, "text"),
               Col("c", LogicalType::kInt64)};
  s.key = {0, 1, 2};
  EXPECT_EQ(KeyChars(s, TypeOptions()), (3072 - 8) / 8);
}

TEST(MysqlSqlTest, UpsertRowsAndUpdateWithUnchangedColumns) {
  auto s = Schema();
  TablePlan plan = BuildTablePlan(s, "db", "t", TypeOptions());
  EXPECT_EQ(plan.insert_prefix, "INSERT INTO `db`.`t` (`id`,`name`,`blob`) VALUES ");
  EXPECT_EQ(plan.upsert_suffix,
            " ON DUPLICATE KEY UPDATE `name`=VALUES(`name`),`blob`=VALUES(`blob`)");
  core::EventBatch batch;
  uint32_t r = batch.BeginRow();
  batch.AppendValue("7");
  batch.AppendValue("O'Brien");
  batch.AppendNull();
  batch.EndRow();
  std::string sql;
  ASSERT_TRUE(AppendRowValues(sql, plan, batch.row(r), Escaper()).ok());
  EXPECT_EQ(sql, "(7,'O''Brien',NULL)");
  uint32_t u = batch.BeginRow();
  batch.AppendValue("7");
  batch.AppendUnchanged();
  batch.AppendValue("ab");
  batch.EndRow();
  ASSERT_TRUE(BuildUpdateStatement(sql, plan, batch.row(u), batch.row(u), false, Escaper()).ok());
  EXPECT_EQ(sql, "UPDATE `db`.`t` SET `blob`=X'6162' WHERE `id`<=>7");
  EXPECT_EQ(DescribeKey(*s, batch.row(u)), "id='7'");
}

TEST(MysqlSqlTest, BadValueNamesTheColumn) {
  auto s = Schema();
  TablePlan plan = BuildTablePlan(s, "db", "t", TypeOptions());
  core::EventBatch batch;
  uint32_t r = batch.BeginRow();
  batch.AppendValue("7 OR 1=1");
  batch.AppendNull();
  batch.AppendNull();
  batch.EndRow();
  std::string sql;
  ValueError e = AppendRowValues(sql, plan, batch.row(r), Escaper());
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.column, 0u);
}

TEST(MysqlSqlTest, TableNameFormat) {
  core::TableId id{"sales", "orders"};
  EXPECT_EQ(TargetTableName("", id), "orders");
  EXPECT_EQ(TargetTableName("${schema}_${table}", id), "sales_orders");
  EXPECT_EQ(TargetTableName("x_${table}_${unknown}", id), "x_orders_${unknown}");
}

TEST(MysqlUrlTest, ParsesUserPasswordHostPortDatabase) {
  auto u = ParseMysqlUrl("mysql://app:p%40ss@db.local:3307/shop?connect_timeout=5");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->user, "app");
  EXPECT_EQ(u->password, "p@ss");
  EXPECT_EQ(u->host, "db.local");
  EXPECT_EQ(u->port, 3307);
  EXPECT_EQ(u->database, "shop");
  EXPECT_EQ(u->connect_timeout_s, 5);
  auto s = ParseMysqlUrl("mysql://root@localhost/x?socket=%2Ftmp%2Fm.sock");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->socket, "/tmp/m.sock");
  EXPECT_EQ(s->port, 3306);
  EXPECT_FALSE(ParseMysqlUrl("postgresql://x/y").ok());
  EXPECT_FALSE(ParseMysqlUrl("mysql://h:99999/db").ok());
  EXPECT_FALSE(ParseMysqlUrl("mysql://h:3306/").ok());
  auto bad = ParseMysqlUrl("mysql://u:secret@h/db?sslmode=x");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().find("secret"), std::string::npos);
}

// TLS parameters reach the URL, checked as the MySQL source's keys are (named as parameters).
TEST(MysqlUrlTest, TlsParametersAreParsedAndChecked) {
  auto u = ParseMysqlUrl("mysql://u@h/db?sslmode=verify_identity&sslrootcert=%2Fetc%2Fhostname");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->ssl_mode, "verify_identity");
  EXPECT_EQ(u->ssl_ca, "/etc/hostname");
  EXPECT_EQ(ParseMysqlUrl("mysql://u@h/db")->ssl_mode, "preferred");
  auto message = [](const char* url) { return ParseMysqlUrl(url).status().message(); };
  EXPECT_NE(message("mysql://u@h/db?sslmode=verify-full").find("sslmode 'verify-full' is not one"),
            std::string::npos);
  EXPECT_NE(message("mysql://u@h/db?sslmode=required&sslrootcert=%2Fetc%2Fhostname")
                .find("sink.url's sslrootcert is only used to verify the server"),
            std::string::npos);
  EXPECT_NE(message("mysql://u@h/db?sslcert=%2Fetc%2Fhostname")
                .find("sink.url's sslcert and sink.url's sslkey go together"),
            std::string::npos);
  EXPECT_NE(message("mysql://u@h/db?sslmode=verify_ca&sslrootcert=%2Fno%2Fsuch.pem")
                .find("sink.url's sslrootcert: cannot read '/no/such.pem'"),
            std::string::npos);
  EXPECT_NE(message("mysql://u@h/db?sslmode=disabled&sslkey=%2Fetc%2Fhostname"
                    "&sslcert=%2Fetc%2Fhostname")
                .find("is set but sink.url's sslmode is 'disabled'"),
            std::string::npos);
}

// An unencoded '/' or '?' in the password ends the userinfo early; the parser then reads a piece
// of the password as the port and must not quote it.
TEST(MysqlUrlTest, PiecesOfAPasswordNeverAppearInErrors) {
  for (const char* url : {"mysql://app:pa/ss@db/shop", "mysql://app:pa?ss@db/shop",
                          "mysql://app:1x2y/z@db/shop"}) {
    auto bad = ParseMysqlUrl(url);
    ASSERT_FALSE(bad.ok()) << url;
    EXPECT_EQ(bad.status().code(), core::StatusCode::kInvalidArgument) << url;
    const std::string& m = bad.status().message();
    EXPECT_EQ(m.find("'pa'"), std::string::npos) << m;
    EXPECT_EQ(m.find("1x2y"), std::string::npos) << m;
    EXPECT_NE(m.find("sink.url"), std::string::npos) << m;
  }
}

TEST(MysqlSinkConfigTest, ReadsKeysAndRejectsBadValues) {
  core::ConnectorConfig config("c1", {{"connector.class", "postgres"},
                                      {"sink.type", "mysql"},
                                      {"sink.url", "mysql://root@127.0.0.1:3306/target"},
                                      {"sink.columns.drop", "drop"},
                                      {"sink.mysql.numeric.unbounded", "text"}});
  auto o = MysqlSinkOptionsFromConfig(config);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->connector_name, "c1");
  EXPECT_EQ(o->offsets_table, "sluice_offsets");
  EXPECT_EQ(o->drop_columns, DropColumns::kDrop);
  EXPECT_EQ(o->types.unbounded_numeric, UnboundedNumeric::kText);
  EXPECT_FALSE(o->types.reuse_source_type);
  config.mutable_values()["sink.columns.drop"] = "maybe";
  EXPECT_EQ(MysqlSinkOptionsFromConfig(config).status().code(), core::StatusCode::kInvalidArgument);
  bool listed = false;
  for (const auto& k : MysqlSinkConfigKeys()) listed |= k.name == "sink.offsets.table";
  EXPECT_TRUE(listed);
}

}  // namespace
}  // namespace sluice::sinks::mysql_sink
