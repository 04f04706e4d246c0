#include "core/event.h"

#include <gtest/gtest.h>

#include <cstring>

namespace sluice::core {
namespace {

TEST(EventBatchTest, RowsHoldValuesNullsAndUnchanged) {
  EventBatch b;
  uint32_t r = b.BeginRow();
  b.AppendValue("42");
  b.AppendNull();
  b.AppendUnchanged();
  b.AppendValue(std::string_view("a\0b", 3));
  b.EndRow();
  RowView row = b.row(r);
  ASSERT_EQ(row.size(), 4u);
  EXPECT_EQ(row.text(0), "42");
  EXPECT_TRUE(row.is_null(1));
  EXPECT_TRUE(row.is_unchanged(2));
  EXPECT_EQ(row.text(3), std::string_view("a\0b", 3));
}

TEST(EventBatchTest, ValuesWrittenInPlaceAndExtended) {
  EventBatch b;
  b.BeginRow();
  char* p = b.AppendValueSpace(10);
  std::memcpy(p, "hello", 5);
  b.ShrinkLastValue(5);
  b.ExtendLastValue(" world");
  b.EndRow();
  EXPECT_EQ(b.row(0).text(0), "hello world");
}

TEST(EventBatchTest, AbandonedRowLeavesNoTrace) {
  EventBatch b;
  b.BeginRow();
  b.AppendValue("keep");
  b.EndRow();
  b.BeginRow();
  b.AppendValue("drop-me");
  b.AbandonRow();
  uint32_t r = b.BeginRow();
  b.AppendValue("next");
  b.EndRow();
  EXPECT_EQ(b.row_count(), 2u);
  EXPECT_EQ(b.row(r).text(0), "next");
  EXPECT_EQ(b.row(0).text(0), "keep");
}

TEST(EventBatchTest, ValuesOfAnotherBatchsRowAreCopiedNullForTheRest) {
  EventBatch from;
  from.BeginRow();
  from.AppendValue("first");
  from.EndRow();
  from.BeginRow();
  from.AppendValue("");
  from.AppendNull();
  from.AppendUnchanged();
  from.AppendValue(std::string_view("x\0y", 3));
  from.EndRow();
  EventBatch to;
  EXPECT_EQ(to.AppendValuesOf(from.row(0)), 0u);
  EXPECT_EQ(to.AppendValuesOf(from.row(1)), 1u);
  RowView r = to.row(1);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_TRUE(r.is_present(0));
  EXPECT_EQ(r.text(0), "");
  EXPECT_TRUE(r.is_null(1));
  EXPECT_TRUE(r.is_null(2)) << "an unchanged cell is copied as NULL";
  EXPECT_EQ(r.text(3), std::string_view("x\0y", 3));
  EXPECT_EQ(to.row(0).text(0), "first");
}

TEST(EventBatchTest, ClearKeepsNothingButCapacity) {
  EventBatch b;
  b.AddTxn({});
  b.BeginRow();
  b.AppendValue("x");
  b.EndRow();
  b.AddEvent({Op::kCreate, kNoRow, 0, 0, nullptr});
  b.set_checkpoint({"p"});
  EXPECT_GT(b.ByteSize(), 0u);
  b.Clear();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.row_count(), 0u);
  EXPECT_TRUE(b.checkpoint().empty());
  EXPECT_TRUE(b.txns().empty());
}

TEST(EventBatchTest, LogicalMessagesKeepPrefixContentAndPlace) {
  EventBatch b;
  uint32_t txn = b.AddTxn({});
  uint32_t row = b.BeginRow();
  b.AppendValue("1");
  b.EndRow();
  b.AddEvent({Op::kCreate, kNoRow, row, txn, nullptr});
  const std::string binary("\xff\x00\x80", 3);
  b.AddLogicalMessage({.event_index = 1, .txn = txn, .transactional = true, .lsn = 42}, "audit",
                      binary);
  b.AddLogicalMessage({.event_index = 1, .txn = txn, .lsn = 43}, "", "");
  ASSERT_EQ(b.logical_messages().size(), 2u);
  const LogicalMessage& m = b.logical_messages()[0];
  EXPECT_EQ(b.message_prefix(m), "audit");
  EXPECT_EQ(b.message_content(m), binary);
  EXPECT_TRUE(m.transactional);
  EXPECT_EQ(m.event_index, 1u);
  EXPECT_EQ(m.lsn, 42u);
  EXPECT_EQ(b.message_prefix(b.logical_messages()[1]), "");
  EXPECT_FALSE(b.logical_messages()[1].transactional);
  EXPECT_EQ(b.row(row).text(0), "1");  // the row's value is untouched
  b.Clear();
  EXPECT_TRUE(b.logical_messages().empty());
}

TEST(LogicalTypeTest, NamesRoundTrip) {
  for (int i = 0; i <= static_cast<int>(LogicalType::kUnknown); ++i) {
    auto t = static_cast<LogicalType>(i);
    EXPECT_EQ(LogicalTypeFromName(LogicalTypeName(t)), t);
  }
  EXPECT_EQ(LogicalTypeFromName("varchar"), std::nullopt);
}

TEST(TableSchemaTest, FindColumn) {
  TableSchema s;
  s.columns = {{"a"}, {"b"}};
  EXPECT_EQ(s.FindColumn("b"), 1);
  EXPECT_EQ(s.FindColumn("c"), -1);
}

}  // namespace
}  // namespace sluice::core
