// SamePublicationTables (slot_manager.h): when an existing publication already lists the
// captured tables, so that a start runs no ALTER PUBLICATION (which needs its ownership).
#include <gtest/gtest.h>

#include "connectors/postgres/slot_manager.h"

namespace sluice::pg {
namespace {

TEST(SamePublicationTables, ComparesNamesNotQuotedSql) {
  // Names that quote_ident() leaves bare and QuoteIdent() always quotes, mixed case, a space
  // and a quote: the comparison is on the names themselves.
  std::vector<core::TableId> have = {{"public", "orders"}, {"Shop", "Line Items"},
                                     {"public", "we\"ird"}};
  std::vector<core::TableId> want = {{"Shop", "Line Items"}, {"public", "we\"ird"},
                                     {"public", "orders"}};
  EXPECT_TRUE(SamePublicationTables(have, want));
}

TEST(SamePublicationTables, IgnoresOrderAndDuplicates) {
  EXPECT_TRUE(SamePublicationTables({{"b", "t"}, {"a", "t"}, {"a", "t"}}, {{"a", "t"}, {"b", "t"}}));
}

TEST(SamePublicationTables, ADifferenceIsNotTheSame) {
  EXPECT_FALSE(SamePublicationTables({{"public", "orders"}}, {{"public", "Orders"}}));
  EXPECT_FALSE(SamePublicationTables({{"public", "orders"}}, {{"public", "orders"}, {"public", "x"}}));
  EXPECT_FALSE(SamePublicationTables({{"public", "orders"}, {"public", "x"}}, {{"public", "orders"}}));
  EXPECT_FALSE(SamePublicationTables({}, {{"public", "orders"}}));
  EXPECT_FALSE(SamePublicationTables({{"a", "b.c"}}, {{"a.b", "c"}}));
}

}  // namespace
}  // namespace sluice::pg
