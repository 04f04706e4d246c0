#include "core/column_policy.h"

#include <gtest/gtest.h>

#include "core/column_hash.h"
#include "core/envelope.h"
#include "core/table_filter.h"
#include "tests/common/schema_builders.h"

namespace sluice::core {
namespace {

using sluice::testing::Col;
using sluice::testing::MakeSchema;

ConnectorConfig Config(std::map<std::string, std::string> extra, std::string sink = "kafka") {
  std::map<std::string, std::string> values = {{"connector.class", "postgres"},
                                               {"sink.type", sink}};
  for (auto& [k, v] : extra) values[k] = v;
  return ConnectorConfig("c", values);
}

ColumnPolicy Policy(std::map<std::string, std::string> extra, std::string sink = "kafka") {
  auto policy = ColumnPolicy::FromConfig(Config(std::move(extra), std::move(sink)));
  EXPECT_TRUE(policy.ok()) << policy.status().message();
  return policy.ok() ? std::move(*policy) : ColumnPolicy();
}

TableSchemaPtr Customers() {
  return MakeSchema("public", "customers",
                    {Col("id", LogicalType::kInt32, "integer"),
                     Col("email", LogicalType::kString, "varchar(255)", 255),
                     Col("name", LogicalType::kString, "text"),
                     Col("code", LogicalType::kString, "varchar(8)", 8),
                     Col("region", LogicalType::kString, "text")});
}

// Expected digests computed by Java's MessageDigest over ObjectOutputStream bytes (v1) and
// String.getBytes() (v2), as Debezium's HashingByteArrayStrategy does.
TEST(ColumnHash, MatchesJavaSerializationDigests) {
  ColumnHasher h;
  auto hex = h.Hash(*DigestNameForJava("SHA-256"), "CzQMA0cB5K", false, "hello");
  ASSERT_TRUE(hex.ok()) << hex.status().message();
  EXPECT_EQ(*hex, "b4d39ab0d198fb4cac8b2f023da74f670bcaf192dcc79b5d6361b7ae6b2fafdf");
  // NUL and a character outside the BMP take modified UTF-8's special forms.
  const std::string odd = std::string("a\0b", 3) + "\xF0\x9F\x98\x80" + "\xC3\xA9";
  EXPECT_EQ(*h.Hash(*DigestNameForJava("SHA-256"), "CzQMA0cB5K", false, odd),
            "ea1973312137b4ccf96852f6c2db76614e091b8295c3bc05e01cb42c12c3fc8c");
  EXPECT_EQ(*h.Hash(*DigestNameForJava("sha-256"), "CzQMA0cB5K", true, odd),
            "8a1a11e626e6d5d4bbb2bbcbee1c576987f8c8560b769a81dd454033dc5e06d1");
  EXPECT_EQ(*h.Hash(*DigestNameForJava("MD5"), "salt", false, ""),
            "f7b84b26a44d5b5a9eb9895429174c85");
  // Longer than 65535 bytes: TC_LONGSTRING with an 8-byte length.
  EXPECT_EQ(*h.Hash(*DigestNameForJava("SHA-1"), "s", false, std::string(70000, 'x')),
            "7ef8eff3c8017462f546e9f0cb9f9a065a9c162b");
  EXPECT_EQ(*h.Hash(*DigestNameForJava("SHA-512/256"), "s", false, "hello"),
            "47a9354ecb8fad033521e8616325c5abe2511a50441d9f41c0d66b81b43a9ab7");
  EXPECT_EQ(*h.Hash(*DigestNameForJava("SHA3-256"), "s", true, "hello"),
            "8c0467f1f4ce6973b0398dd198ed4d370d5ea23813e5e641f6fbe78ee4f0a936");
}

TEST(ColumnHash, RefusesUnknownAlgorithmsAndInvalidUtf8) {
  EXPECT_FALSE(DigestNameForJava("MD2"));
  EXPECT_FALSE(DigestNameForJava("CRC32"));
  ColumnHasher h;
  EXPECT_FALSE(h.Hash("SHA256", "s", false, "\xFF").ok());
  EXPECT_TRUE(h.Hash("SHA256", "s", true, "\xFF").ok());  // v2 hashes the bytes as they are
}

TEST(ColumnHash, TruncatesInUtf16UnitsAsJava) {
  const std::string text = "ab\xF0\x9F\x98\x80" "cd";  // Java: "ab😀cd".substring(0, 4)
  EXPECT_EQ(Utf16Prefix(text, 4), "ab\xF0\x9F\x98\x80");
  EXPECT_EQ(Utf16Prefix(text, 2), "ab");
  EXPECT_EQ(Utf16Prefix(text, 99), text);
  EXPECT_FALSE(Utf16Prefix(text, 3).has_value());  // would split the surrogate pair
  EXPECT_EQ(Utf16Prefix("h\xC3\xA9llo", 2), "h\xC3\xA9");
}

TEST(ColumnPolicyConfig, ReportsMalformedKeysAndValues) {
  auto issues = [](std::map<std::string, std::string> extra, std::string sink = "kafka") {
    return ColumnPolicyIssues(Config(std::move(extra), std::move(sink)));
  };
  EXPECT_TRUE(issues({{"column.mask.with.8.chars", "public\\.t\\.c"},
                      {"column.mask.hash.SHA-256.with.salt.x", "public\\.t\\.c"},
                      {"column.mask.hash.v2.MD5.with.salt.y", "public\\.t\\.d"},
                      {"column.truncate.to.20.chars", "public\\.t\\.e"},
                      {"message.key.columns", "public\\.t:c,d;(.*)\\.u:e"}})
                  .empty());
  auto bad = issues({{"column.mask.with.0.chars", "a"}});
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_NE(bad[0].message.find("from 1 to"), std::string::npos) << bad[0].message;
  bad = issues({{"column.mask.hash.MD2.with.salt.x", "a"}});
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_NE(bad[0].message.find("'MD2' is not supported"), std::string::npos);
  EXPECT_EQ(issues({{"column.mask.hash.SHA-256", "a"}}).size(), 1u);
  EXPECT_EQ(issues({{"column.mask.foo", "a"}}).size(), 1u);
  EXPECT_EQ(issues({{"column.truncate.to.x.chars", "a"}}).size(), 1u);
  EXPECT_EQ(issues({{"column.truncate.to.5", "a"}}).size(), 1u);
  EXPECT_EQ(issues({{"column.truncate.to.5.chars", ""}}).size(), 1u);
  EXPECT_EQ(issues({{"column.truncate.to.5.chars", "(unclosed"}}).size(), 1u);
  EXPECT_EQ(issues({{"message.key.columns", "public.t"}}).size(), 1u);
  EXPECT_EQ(issues({{"message.key.columns", "public.t:"}}).size(), 1u);
  EXPECT_EQ(issues({{"message.key.columns", ";"}}).size(), 1u);
  bad = issues({{"message.key.columns", "public.t:c"}}, "postgres");
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_NE(bad[0].message.find("database sink"), std::string::npos) << bad[0].message;
  EXPECT_EQ(issues({{"message.key.columns", "public.t:c"}}, "mysql").size(), 1u);
  EXPECT_TRUE(issues({{"message.key.columns", "public.t:c"}}, "file").empty());
}

TEST(ColumnPolicyConfig, ConfigDefDeclaresTheKeys) {
  ConfigDef def;
  def.AddAll(CommonConfigKeys());
  auto ok = Config({{"column.mask.with.3.chars", "public\\.t\\.c"},
                    {"column.include.list", "public\\.t\\..*"},
                    {"message.key.columns", "public\\.t:c"}});
  EXPECT_TRUE(def.Validate(ok).ok()) << def.Validate(ok).message();
  auto both = Config({{"column.include.list", "a\\.b\\.c"}, {"column.exclude.list", "a\\.b\\.d"}});
  auto status = def.Validate(both);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("mutually exclusive"), std::string::npos) << status.message();
  EXPECT_FALSE(def.Validate(Config({{"column.mask.with.x.chars", "a"}})).ok());
}

TEST(ColumnPlan, KeyColumnsReplaceThePrimaryKeyInTableOrder) {
  auto policy = Policy({{"message.key.columns", "other\\.t:x;public\\.cust.*:region,email"}});
  auto plan = PlanColumns(policy, Customers());
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->schema->key, (std::vector<uint32_t>{1, 4}));
  EXPECT_FALSE(plan->rewrites_values);
  // A keyless table gets a key.
  auto keyless = MakeSchema("public", "customers", Customers()->columns, {});
  EXPECT_EQ(PlanColumns(policy, keyless)->schema->key, (std::vector<uint32_t>{1, 4}));
  // A table no entry matches keeps its schema object.
  auto other = MakeSchema("shop", "orders", Customers()->columns);
  EXPECT_EQ(PlanColumns(policy, other)->schema, other);
  auto missing = PlanColumns(Policy({{"message.key.columns", "public\\.customers:nope"}}),
                             Customers());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("'nope'"), std::string::npos);
}

TEST(ColumnPlan, RefusesNonCharacterColumnsOverlapsAndKeyRewritesForDatabaseSinks) {
  auto typed = PlanColumns(Policy({{"column.mask.with.3.chars", "public\\.customers\\.id"}}),
                           Customers());
  ASSERT_FALSE(typed.ok());
  EXPECT_NE(typed.status().message().find("character columns only"), std::string::npos);
  auto twice = PlanColumns(Policy({{"column.mask.with.3.chars", "public\\.customers\\.name"},
                                   {"column.truncate.to.2.chars", ".*\\.name"}}),
                           Customers());
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("matched by both"), std::string::npos);
  auto keyed = MakeSchema("public", "customers", Customers()->columns, {1});
  auto db = PlanColumns(Policy({{"column.mask.hash.SHA-256.with.salt.s", ".*\\.email"}}, "postgres"),
                        keyed);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("key column"), std::string::npos);
  EXPECT_TRUE(PlanColumns(Policy({{"column.mask.hash.SHA-256.with.salt.s", ".*\\.email"}}), keyed)
                  .ok());
}

class RewriterTest : public ::testing::Test {
 protected:
  uint32_t Row(EventBatch& batch, std::vector<std::optional<std::string>> values,
               int unchanged = -1) {
    uint32_t row = batch.BeginRow();
    for (size_t i = 0; i < values.size(); ++i) {
      if (static_cast<int>(i) == unchanged) {
        batch.AppendUnchanged();
      } else if (values[i]) {
        batch.AppendValue(*values[i]);
      } else {
        batch.AppendNull();
      }
    }
    batch.EndRow();
    return row;
  }
};

TEST_F(RewriterTest, MasksHashesAndTruncatesEveryRowOfTheTable) {
  ColumnRewriter rewriter(Policy({{"column.mask.with.4.chars", "public\\.customers\\.name"},
                                  {"column.mask.hash.SHA-256.with.salt.CzQMA0cB5K",
                                   "public\\.customers\\.(email|code)"},
                                  {"column.truncate.to.3.chars", "public\\.customers\\.region"},
                                  {"message.key.columns", "public\\.customers:email"}}));
  auto schema = Customers();
  EventBatch in;
  uint32_t txn = in.AddTxn({});
  in.AnnounceTable(schema);
  uint32_t before = Row(in, {"1", "hello", "Ann", "hello", "Europe"});
  uint32_t after = Row(in, {"1", std::nullopt, std::nullopt, "x", "Asia"}, 2);
  in.AddBoundary({0, true, 42, 100, 1700000000000, ""});
  in.AddEvent({Op::kUpdate, before, after, txn, schema});
  in.AddBoundary({1, false, 42, 200, 1700000000001, ""});
  // A logical decoding message after the change, in its transaction.
  in.AddLogicalMessage({.event_index = 1, .txn = txn, .transactional = true, .lsn = 150}, "audit",
                       std::string("\xff\x00\x80", 3));
  in.set_checkpoint({"pos"});

  auto out = rewriter.Apply(in);
  ASSERT_TRUE(out.ok()) << out.status().message();
  const EventBatch& b = **out;
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b.checkpoint().value, "pos");
  // The message survives the rewrite at its place, with its bytes.
  ASSERT_EQ(b.logical_messages().size(), 1u);
  EXPECT_EQ(b.logical_messages()[0].event_index, 1u);
  EXPECT_EQ(b.logical_messages()[0].lsn, 150u);
  EXPECT_TRUE(b.logical_messages()[0].transactional);
  EXPECT_EQ(b.message_prefix(b.logical_messages()[0]), "audit");
  EXPECT_EQ(b.message_content(b.logical_messages()[0]), std::string("\xff\x00\x80", 3));
  // The transaction's BEGIN and COMMIT survive the rewrite (transaction metadata needs them).
  ASSERT_EQ(b.boundaries().size(), 2u);
  EXPECT_TRUE(b.boundaries()[0].begin);
  EXPECT_EQ(b.boundaries()[0].event_index, 0u);
  EXPECT_FALSE(b.boundaries()[1].begin);
  EXPECT_EQ(b.boundaries()[1].event_index, 1u);
  EXPECT_EQ(b.boundaries()[1].lsn, 200u);
  ASSERT_EQ(b.announced_tables().size(), 1u);
  EXPECT_EQ(b.announced_tables()[0], b.events()[0].table);
  EXPECT_EQ(b.events()[0].table->key, (std::vector<uint32_t>{1}));
  // Debezium's mappers mark the field schemas.
  using Params = std::vector<std::pair<std::string, std::string>>;
  const auto& columns = b.events()[0].table->columns;
  EXPECT_EQ(columns[0].schema_parameters, Params{});
  EXPECT_EQ(columns[1].schema_parameters, (Params{{"masked", "true"}}));
  EXPECT_EQ(columns[2].schema_parameters, (Params{{"masked", "true"}}));
  EXPECT_EQ(columns[4].schema_parameters, (Params{{"truncateLength", "3"}}));
  std::string field;
  AppendFieldSchemaJson(field, columns[4], ValueModes{});
  EXPECT_NE(field.find("\"parameters\":{\"truncateLength\":\"3\"}"), std::string::npos) << field;
  // With column.propagate.source.type matching it, the source type follows the mapper's.
  field.clear();
  AppendFieldSchemaJson(field, columns[4], ValueModes{}, DebeziumSourceTypeName(columns[4], false));
  EXPECT_NE(field.find("\"parameters\":{\"truncateLength\":\"3\",\"__debezium.source.column.type\""),
            std::string::npos)
      << field;
  RowView r0 = b.row(b.events()[0].before);
  EXPECT_EQ(r0.text(0), "1");
  EXPECT_EQ(r0.text(1), "b4d39ab0d198fb4cac8b2f023da74f670bcaf192dcc79b5d6361b7ae6b2fafdf");
  EXPECT_EQ(r0.text(2), "****");
  EXPECT_EQ(r0.text(3), "b4d39ab0");  // cut to varchar(8)
  EXPECT_EQ(r0.text(4), "Eur");
  RowView r1 = b.row(b.events()[0].after);
  EXPECT_TRUE(r1.is_null(1));        // a null is not hashed
  EXPECT_EQ(r1.text(2), "****");     // the mask replaces an unchanged value too
  EXPECT_EQ(r1.text(4), "Asi");

  // A second batch reuses the plan: the same output schema object.
  TableSchemaPtr first = b.events()[0].table;
  auto again = rewriter.Apply(in);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->events()[0].table, first);
}

TEST_F(RewriterTest, ACustomKeyColumnTheOldImageLacksBecomesNull) {
  // A PostgreSQL delete under the default replica identity: only the primary key was sent.
  ColumnRewriter rewriter(Policy({{"message.key.columns", "public\\.customers:email"}}));
  EventBatch in;
  uint32_t txn = in.AddTxn({});
  uint32_t before = in.BeginRow();
  in.AppendValue("7");
  for (int i = 0; i < 4; ++i) in.AppendUnchanged();
  in.EndRow();
  in.AddEvent({Op::kDelete, before, kNoRow, txn, Customers()});
  auto out = rewriter.Apply(in);
  ASSERT_TRUE(out.ok()) << out.status().message();
  RowView row = (*out)->row((*out)->events()[0].before);
  EXPECT_TRUE(row.is_null(1));       // the key column: null, not the unavailable placeholder
  EXPECT_TRUE(row.is_unchanged(2));  // other columns as the source sent them
}

TEST_F(RewriterTest, LeavesUntouchedBatchesAsTheyAre) {
  ColumnRewriter rewriter(Policy({{"column.mask.with.4.chars", "other\\.t\\.c"}}));
  EventBatch in;
  uint32_t txn = in.AddTxn({});
  in.AddEvent({Op::kCreate, kNoRow, Row(in, {"1", "a", "b", "c", "d"}), txn, Customers()});
  auto out = rewriter.Apply(in);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, &in);
}

TEST_F(RewriterTest, RefusesACutThroughASurrogatePair) {
  ColumnRewriter rewriter(Policy({{"column.truncate.to.3.chars", ".*\\.name"}}));
  EventBatch in;
  uint32_t txn = in.AddTxn({});
  in.AddEvent({Op::kCreate, kNoRow, Row(in, {"1", "a", "ab\xF0\x9F\x98\x80", "c", "d"}), txn,
               Customers()});
  auto out = rewriter.Apply(in);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("public.customers.name"), std::string::npos);
}

TEST(ColumnPolicySink, EmptyPolicyReturnsTheSinkItself) {
  class NullSink : public Sink {
   public:
    Status Open() override { return Status::Ok(); }
    Result<std::optional<SourcePosition>> LoadCommittedPosition() override {
      return std::optional<SourcePosition>();
    }
    Status Write(const EventBatch&) override { return Status::Ok(); }
    Result<std::optional<SourcePosition>> Flush() override {
      return std::optional<SourcePosition>();
    }
    Status Reset() override { return Status::Ok(); }
    Status Check() override { return Status::Ok(); }
    void Close() override {}
  };
  auto sink = std::make_unique<NullSink>();
  Sink* raw = sink.get();
  EXPECT_EQ(WithColumnPolicy(ColumnPolicy(), std::move(sink)).get(), raw);
  auto wrapped = WithColumnPolicy(Policy({{"column.mask.with.1.chars", "a\\.b\\.c"}}),
                                  std::make_unique<NullSink>());
  EXPECT_TRUE(wrapped->Open().ok());
}

TEST(TableFilterLists, ColumnIncludeAndSchemaLists) {
  auto filter = TableFilter::FromConfig(Config({{"column.include.list", "public\\.t\\.(a|b)"},
                                                {"schema.exclude.list", "audit"}}));
  ASSERT_TRUE(filter.ok());
  EXPECT_TRUE(filter->IncludesColumn({"public", "t"}, "a"));
  EXPECT_FALSE(filter->IncludesColumn({"public", "t"}, "c"));
  EXPECT_EQ(filter->ColumnExcludedBy({"public", "t"}, "c"), "column.include.list");
  EXPECT_FALSE(filter->IncludesColumn({"public", "u"}, "a"));
  EXPECT_TRUE(filter->IncludesTable({"public", "t"}));
  EXPECT_FALSE(filter->IncludesTable({"audit", "t"}));
  auto only = TableFilter::FromConfig(Config({{"schema.include.list", "sales|hr"},
                                              {"table.exclude.list", "hr\\.secret"}}));
  ASSERT_TRUE(only.ok());
  EXPECT_TRUE(only->IncludesTable({"sales", "orders"}));
  EXPECT_TRUE(only->IncludesTable({"hr", "people"}));
  EXPECT_FALSE(only->IncludesTable({"hr", "secret"}));
  EXPECT_FALSE(only->IncludesTable({"public", "orders"}));
  EXPECT_EQ(only->ColumnExcludedBy({"sales", "orders"}, "x"), "");
  EXPECT_EQ(TableFilterIssues(Config({{"schema.include.list", "a"}, {"schema.exclude.list", "b"}}))
                .size(),
            1u);
  EXPECT_NE(ExcludedKeyColumnMessage({"public", "t"}, "id", "column.exclude.list")
                .find("public.t.id is part of the table's key"),
            std::string::npos);
}

}  // namespace
}  // namespace sluice::core
