// replica.identity.autoset.values: parsing and the statement each table gets.
#include "connectors/postgres/replica_identity.h"

#include <gtest/gtest.h>

namespace sluice::pg {
namespace {

TableEntry Table(const std::string& schema, const std::string& table, char replident) {
  TableEntry t;
  t.id = core::TableId{schema, table};
  t.replident = replident;
  return t;
}

TEST(ReplicaIdentityTest, FirstMatchingRuleDecidesAndAnIdentityAlreadySetIsLeftAlone) {
  auto rules = ParseReplicaIdentityRules(
      "public\\.orders:full, public\\..*:DEFAULT,inv\\.items:INDEX items_sku_key,audit\\..*:nothing");
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  ASSERT_EQ(rules->size(), 4u);
  EXPECT_EQ(ReplicaIdentityStatement(*rules, Table("public", "orders", 'd')).value_or(""),
            "ALTER TABLE \"public\".\"orders\" REPLICA IDENTITY FULL");
  EXPECT_FALSE(ReplicaIdentityStatement(*rules, Table("public", "orders", 'f')).has_value());
  EXPECT_EQ(ReplicaIdentityStatement(*rules, Table("public", "Other", 'f')).value_or(""),
            "ALTER TABLE \"public\".\"Other\" REPLICA IDENTITY DEFAULT");
  EXPECT_EQ(ReplicaIdentityStatement(*rules, Table("inv", "items", 'i')).value_or(""),
            "ALTER TABLE \"inv\".\"items\" REPLICA IDENTITY USING INDEX \"items_sku_key\"")
      << "which index holds cannot be told from relreplident: set each start";
  EXPECT_EQ(ReplicaIdentityStatement(*rules, Table("audit", "log", 'd')).value_or(""),
            "ALTER TABLE \"audit\".\"log\" REPLICA IDENTITY NOTHING");
  EXPECT_FALSE(ReplicaIdentityStatement(*rules, Table("other", "t", 'd')).has_value());
  EXPECT_TRUE(ParseReplicaIdentityRules("")->empty());
}

TEST(ReplicaIdentityTest, MalformedEntriesAreRefusedNamingTheKeyAndTheEntry) {
  for (const char* bad : {"public\\.t", ":FULL", "public\\.t:SOME", "public\\.t:INDEX ",
                          "public\\.t:FULL,,x:FULL", "(unclosed:FULL"}) {
    auto r = ParseReplicaIdentityRules(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), core::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("replica.identity.autoset.values"), std::string::npos)
        << r.status().message();
  }
}

}  // namespace
}  // namespace sluice::pg
