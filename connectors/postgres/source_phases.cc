#include "connectors/postgres/source_phases.h"

#include <thread>

#include <spdlog/spdlog.h>

#include "connectors/postgres/pg_position.h"

namespace sluice::pg {

SourcePhases::SourcePhases(PhaseIo* io, const std::atomic<bool>* stop,
                           std::shared_ptr<spdlog::logger> logger)
    : io_(io), stop_(stop), logger_(std::move(logger)) {}

core::Status SourcePhases::Begin(const StartDecision& decision, bool resumed, bool initial_only) {
  Close();
  initial_only_ = initial_only;
  switch (decision.action) {
    case StartAction::kSnapshotNow:
      return BeginSnapshot(decision.restarted);
    case StartAction::kAnnounceSnapshot:
      // A new snapshot (no stored position, or snapshot.mode=when_needed replacing a lost slot)
      // is first announced: Poll emits an empty batch checkpointed with a "snapshot running"
      // position and waits until the pipeline acknowledges it (it is durable) before the slot is
      // created. Without this, a crash between creating the slot and the first durable
      // checkpoint would leave a slot behind and no stored position (a restart then reports a
      // slot clash) or, for when_needed, a new slot under an old streaming position (a restart
      // would stream from the new slot and miss the snapshot). With it, any restart after the
      // slot exists resumes from a "running" position: the slot is dropped and the snapshot
      // restarts with truncates.
      // Fail early (before anything is written) when the publication cannot be made.
      SLUICE_RETURN_IF_ERROR(io_->PreparePublication());
      announce_ = Announce::kPending;
      announce_restarted_ = decision.restarted;
      announce_acked_.store(false);
      announce_started_ = std::chrono::steady_clock::now();
      return core::Status::Ok();
    case StartAction::kStream:
      // The stored position is where the last committed transaction ended: Debezium's
      // lsn_commit, which its "sequence" starts with until the next commit.
      return io_->OpenStream(StreamFrom::kStoredPosition, decision.lsn, resumed ? decision.lsn : 0);
    case StartAction::kStreamNewSlot:
      return io_->OpenStream(StreamFrom::kNewSlot, 0, 0);
  }
  return core::InternalError("postgres: unknown start decision");
}

core::Status SourcePhases::BeginSnapshot(bool restarted) {
  SLUICE_ASSIGN_OR_RETURN(PhaseIo::OpenedSnapshot opened, io_->OpenSnapshot(restarted));
  snapshot_.Open(std::move(opened));
  return core::Status::Ok();
}

core::Result<core::PollStatus> SourcePhases::Poll(core::EventBatch& batch,
                                                  const core::PollLimits& limits) {
  if (stop_->load()) return core::PollStatus::kIdle;
  if (finished_) return core::PollStatus::kFinished;
  if (announce_ != Announce::kNone) {
    SLUICE_ASSIGN_OR_RETURN(bool ready, PollAnnounce(batch, limits));
    if (!ready) {
      return batch.checkpoint().empty() ? core::PollStatus::kIdle : core::PollStatus::kHaveMore;
    }
  }
  if (snapshot_.open()) {
    SLUICE_RETURN_IF_ERROR(io_->SnapshotSlotHealthy());
    SLUICE_ASSIGN_OR_RETURN(core::SnapshotStep step, snapshot_.Next(batch, limits, *stop_));
    if (step == core::SnapshotStep::kStopped) return core::PollStatus::kIdle;
    if (step == core::SnapshotStep::kMore) return core::PollStatus::kHaveMore;
    if (initial_only_) {
      io_->SnapshotOnlyFinished();
      finished_ = true;
      return core::PollStatus::kFinished;
    }
    // The snapshot is complete: from here on a restart streams from the consistent point.
    PgPosition pos;
    pos.lsn = snapshot_.position();
    pos.slot = io_->slot();
    batch.set_checkpoint(pos.ToSource());
    SLUICE_RETURN_IF_ERROR(io_->OpenStream(StreamFrom::kSnapshotEnd, pos.lsn, 0));
    return core::PollStatus::kHaveMore;
  }
  return io_->PollStream(batch, limits);
}

core::Result<bool> SourcePhases::PollAnnounce(core::EventBatch& batch,
                                              const core::PollLimits& limits) {
  if (announce_ == Announce::kPending) {
    PgPosition pos;
    pos.slot = io_->slot();
    pos.snapshot_running = true;
    batch.set_checkpoint(pos.ToSource());
    announce_ = Announce::kSent;
    return false;
  }
  auto deadline = std::chrono::steady_clock::now() + limits.max_wait;
  while (!announce_acked_.load() && !stop_->load() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (stop_->load()) return false;
  if (!announce_acked_.load()) {
    // A sink that never reports positions would wait forever: go ahead after a while.
    if (std::chrono::steady_clock::now() - announce_started_ < std::chrono::seconds(30)) {
      return false;
    }
    logger_->warn("postgres: the snapshot's start position was not acknowledged within 30 s; "
                  "starting anyway");
  }
  announce_ = Announce::kNone;
  SLUICE_RETURN_IF_ERROR(BeginSnapshot(announce_restarted_));
  return true;
}

void SourcePhases::Close() {
  snapshot_.Close();
  finished_ = false;
  announce_ = Announce::kNone;
}

}  // namespace sluice::pg
