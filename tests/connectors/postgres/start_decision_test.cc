// The PostgreSQL source's start decisions (start_decision.h) for every snapshot.mode against the
// stored position and the slot's state, without a server.
#include "connectors/postgres/start_decision.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::pg {
namespace {

using core::SnapshotMode;

constexpr SnapshotMode kAllModes[] = {SnapshotMode::kInitial, SnapshotMode::kInitialOnly,
                                      SnapshotMode::kNever, SnapshotMode::kNoData,
                                      SnapshotMode::kWhenNeeded};

SlotState NoSlot() { return {}; }

SlotState Slot(const std::string& wal_status = "reserved", uint64_t confirmed = 0x5000) {
  SlotState s;
  s.exists = true;
  s.wal_status = wal_status;
  s.plugin = "pgoutput";
  s.database = "shop";
  s.confirmed_flush = confirmed;
  return s;
}

PgPosition Streaming(uint64_t lsn) {
  PgPosition p;
  p.lsn = lsn;
  p.slot = "sluice_c";
  return p;
}

PgPosition SnapshotRunning() {
  PgPosition p;
  p.slot = "sluice_c";
  p.snapshot_running = true;
  return p;
}

core::Result<StartDecision> Decide(const std::optional<PgPosition>& stored, const SlotState& slot,
                                   SnapshotMode mode) {
  return DecideStart(stored, slot, mode, "sluice_c", "c");
}

TEST(StartDecision, NoStoredPositionAndNoSlotAnnouncesASnapshot) {
  for (SnapshotMode mode : {SnapshotMode::kInitial, SnapshotMode::kInitialOnly,
                            SnapshotMode::kWhenNeeded}) {
    auto d = Decide(std::nullopt, NoSlot(), mode);
    ASSERT_TRUE(d.ok()) << core::SnapshotModeName(mode);
    EXPECT_EQ(d->action, StartAction::kAnnounceSnapshot);
    EXPECT_FALSE(d->restarted);
    EXPECT_FALSE(d->drop_slot);
    EXPECT_TRUE(d->warning.empty());
  }
}

TEST(StartDecision, SlotWithoutStoredPositionIsRefusedUnlessNoSnapshotIsTaken) {
  for (SnapshotMode mode : {SnapshotMode::kInitial, SnapshotMode::kWhenNeeded}) {
    auto d = Decide(std::nullopt, Slot(), mode);
    ASSERT_FALSE(d.ok()) << core::SnapshotModeName(mode);
    EXPECT_EQ(d.status().code(), core::StatusCode::kFailedPrecondition);
    EXPECT_NE(d.status().message().find("pg_drop_replication_slot('sluice_c')"), std::string::npos)
        << d.status().message();
    EXPECT_NE(d.status().message().find("connector 'c' has no stored position"), std::string::npos)
        << d.status().message();
  }
  // initial_only snapshots on a TEMPORARY slot of its own (creating it reports a clash).
  auto once = Decide(std::nullopt, Slot(), SnapshotMode::kInitialOnly);
  ASSERT_TRUE(once.ok());
  EXPECT_EQ(once->action, StartAction::kAnnounceSnapshot);
}

TEST(StartDecision, NeverAndNoDataStreamFromTheSlotOrANewOne) {
  for (SnapshotMode mode : {SnapshotMode::kNever, SnapshotMode::kNoData}) {
    auto existing = Decide(std::nullopt, Slot("reserved", 0x7777), mode);
    ASSERT_TRUE(existing.ok());
    EXPECT_EQ(existing->action, StartAction::kStream);
    EXPECT_EQ(existing->lsn, 0x7777u);  // its confirmed_flush_lsn
    EXPECT_FALSE(existing->drop_slot);
    auto fresh = Decide(std::nullopt, NoSlot(), mode);
    ASSERT_TRUE(fresh.ok());
    EXPECT_EQ(fresh->action, StartAction::kStreamNewSlot);
  }
}

TEST(StartDecision, StoredPositionStreamsFromItInEveryMode) {
  for (SnapshotMode mode : kAllModes) {
    auto d = Decide(Streaming(0x9000), Slot("reserved", 0x5000), mode);
    ASSERT_TRUE(d.ok()) << core::SnapshotModeName(mode);
    EXPECT_EQ(d->action, StartAction::kStream);
    EXPECT_EQ(d->lsn, 0x9000u) << "the stored position, not the slot's";
    EXPECT_FALSE(d->drop_slot);
  }
}

TEST(StartDecision, MissingOrLostSlotUnderAStoredPositionIsAGapUnlessWhenNeeded) {
  for (SnapshotMode mode : {SnapshotMode::kInitial, SnapshotMode::kInitialOnly,
                            SnapshotMode::kNever, SnapshotMode::kNoData}) {
    auto missing = Decide(Streaming(0x9000), NoSlot(), mode);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.status().code(), core::StatusCode::kFailedPrecondition);
    EXPECT_NE(missing.status().message().find("does not exist"), std::string::npos);
    EXPECT_NE(missing.status().message().find("0/9000"), std::string::npos);
    EXPECT_NE(missing.status().message().find("snapshot.mode=when_needed"), std::string::npos);
    auto lost = Decide(Streaming(0x9000), Slot("lost"), mode);
    ASSERT_FALSE(lost.ok());
    EXPECT_EQ(lost.status().code(), core::StatusCode::kFailedPrecondition);
    EXPECT_NE(lost.status().message().find("invalidated"), std::string::npos);
  }
}

TEST(StartDecision, WhenNeededReplacesAMissingOrLostSlotWithANewSnapshot) {
  auto missing = Decide(Streaming(0x9000), NoSlot(), SnapshotMode::kWhenNeeded);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->action, StartAction::kAnnounceSnapshot);
  EXPECT_TRUE(missing->restarted) << "the target must be truncated: it holds the old stream";
  EXPECT_FALSE(missing->drop_slot);
  EXPECT_NE(missing->warning.find("taking a new snapshot"), std::string::npos);

  auto lost = Decide(Streaming(0x9000), Slot("lost"), SnapshotMode::kWhenNeeded);
  ASSERT_TRUE(lost.ok());
  EXPECT_EQ(lost->action, StartAction::kAnnounceSnapshot);
  EXPECT_TRUE(lost->restarted);
  EXPECT_TRUE(lost->drop_slot) << "the invalidated slot is replaced";
}

TEST(StartDecision, UnfinishedSnapshotRestartsAtOnceWithTruncatesInEveryMode) {
  for (SnapshotMode mode : kAllModes) {
    auto with_slot = Decide(SnapshotRunning(), Slot(), mode);
    ASSERT_TRUE(with_slot.ok());
    EXPECT_EQ(with_slot->action, StartAction::kSnapshotNow);
    EXPECT_TRUE(with_slot->restarted);
    EXPECT_TRUE(with_slot->drop_slot) << "its exported snapshot died with the old connection";
    EXPECT_FALSE(with_slot->warning.empty());
    auto without = Decide(SnapshotRunning(), NoSlot(), mode);
    ASSERT_TRUE(without.ok());
    EXPECT_EQ(without->action, StartAction::kSnapshotNow);
    EXPECT_FALSE(without->drop_slot);
  }
}

TEST(StartDecision, AlwaysReplacesTheSlotAndSnapshotsWithTruncatesWhenAPositionIsStored) {
  for (const SlotState& slot : {Slot(), Slot("lost"), NoSlot()}) {
    auto d = Decide(Streaming(0x9000), slot, SnapshotMode::kAlways);
    ASSERT_TRUE(d.ok()) << slot.wal_status;
    EXPECT_EQ(d->action, StartAction::kAnnounceSnapshot);
    EXPECT_EQ(d->drop_slot, slot.exists);
    EXPECT_TRUE(d->restarted);
    EXPECT_NE(d->warning.find("snapshot.mode=always"), std::string::npos) << d->warning;
  }
  auto first = Decide(std::nullopt, NoSlot(), SnapshotMode::kAlways);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->action, StartAction::kAnnounceSnapshot);
  EXPECT_FALSE(first->restarted);
  // A slot without a stored position is someone else's (or a leftover): refused as for initial.
  EXPECT_EQ(Decide(std::nullopt, Slot(), SnapshotMode::kAlways).status().code(),
            core::StatusCode::kFailedPrecondition);
  // An unfinished snapshot restarts as in every mode.
  auto running = Decide(SnapshotRunning(), Slot(), SnapshotMode::kAlways);
  ASSERT_TRUE(running.ok());
  EXPECT_EQ(running->action, StartAction::kSnapshotNow);
}

}  // namespace
}  // namespace sluice::pg
