#include "connectors/postgres/incremental_xid.h"

#include <gtest/gtest.h>

namespace sluice::pg {
namespace {

TEST(PgSnapshotXidsTest, ParsesAndJudgesVisibility) {
  auto s = PgSnapshotXids::Parse("100:105:101,103");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(s->Sees(99));    // below xmin: finished before
  EXPECT_TRUE(s->Sees(100));   // xmin itself is not in progress here
  EXPECT_FALSE(s->Sees(101));  // in progress
  EXPECT_TRUE(s->Sees(102));
  EXPECT_FALSE(s->Sees(103));
  EXPECT_TRUE(s->Sees(104));
  EXPECT_FALSE(s->Sees(105));  // at or past xmax: started after
  EXPECT_FALSE(s->Sees(5000));
}

TEST(PgSnapshotXidsTest, WidensAcrossTheEpoch) {
  // Epoch 1: full xids 2^32 + n. A streamed xid of 0xFFFFFFF0 is from epoch 0 (just before),
  // one of 5 from epoch 1.
  const uint64_t epoch1 = uint64_t{1} << 32;
  auto s = PgSnapshotXids::Parse(std::to_string(epoch1 + 3) + ":" + std::to_string(epoch1 + 10) + ":");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->Widen(0xFFFFFFF0u), epoch1 - 16);
  EXPECT_TRUE(s->Sees(0xFFFFFFF0u));
  EXPECT_EQ(s->Widen(5), epoch1 + 5);
  EXPECT_TRUE(s->Sees(5));
  EXPECT_FALSE(s->Sees(10));
  // Just before a wrap: xmax near 2^32, a streamed xid of 2 belongs to the next epoch.
  auto w = PgSnapshotXids::Parse(std::to_string(epoch1 - 20) + ":" + std::to_string(epoch1 - 10) + ":");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->Widen(2), epoch1 + 2);
  EXPECT_FALSE(w->Sees(2));
  EXPECT_TRUE(w->Sees(static_cast<uint32_t>(epoch1 - 30)));
}

TEST(PgSnapshotXidsTest, RefusesMalformedText) {
  for (const char* text : {"", "1", "1:2", "a:2:", "5:3:", "1:5:7", "1:5:x"}) {
    EXPECT_FALSE(PgSnapshotXids::Parse(text).ok()) << text;
  }
}

}  // namespace
}  // namespace sluice::pg
