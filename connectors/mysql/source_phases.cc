#include "connectors/mysql/source_phases.h"

#include <spdlog/spdlog.h>

#include "connectors/mysql/start_decision.h"

namespace sluice::mysql {

SourcePhases::SourcePhases(PhaseIo* io, const std::atomic<bool>* stop,
                           std::shared_ptr<spdlog::logger> logger)
    : io_(io), stop_(stop), logger_(std::move(logger)) {}

core::Status SourcePhases::Begin(const std::optional<BinlogPosition>& stored,
                                 core::SnapshotMode mode) {
  Close();
  initial_only_ = mode == core::SnapshotMode::kInitialOnly;
  bool file_on_server = false;
  if (stored && !stored->snapshot_running) {
    SLUICE_ASSIGN_OR_RETURN(file_on_server, io_->BinlogFileOnServer(stored->file));
  }
  SLUICE_ASSIGN_OR_RETURN(StartDecision d, DecideStart(stored, file_on_server, mode));
  if (!d.warning.empty()) logger_->warn("{}", d.warning);
  switch (d.action) {
    case StartAction::kSnapshot:
      return BeginSnapshot(d.restarted);
    case StartAction::kStream: {
      core::Status st = OpenStream(StreamFrom::kStoredPosition, d.from);
      if (st.code() != core::StatusCode::kFailedPrecondition ||
          mode != core::SnapshotMode::kWhenNeeded) {
        return st;
      }
      // Purged since the look-up above: decide again with the file gone.
      SLUICE_ASSIGN_OR_RETURN(bool still_there, io_->BinlogFileOnServer(d.from.file));
      if (still_there) return st;
      SLUICE_ASSIGN_OR_RETURN(d, DecideStart(stored, false, mode));
      logger_->warn("{}", d.warning);
      return BeginSnapshot(d.restarted);
    }
    case StartAction::kStreamFromServer: {
      SLUICE_ASSIGN_OR_RETURN(BinlogPosition at, io_->ServerPosition());
      return OpenStream(StreamFrom::kServerPosition, at);
    }
  }
  return core::InternalError("mysql: unknown start decision");
}

core::Status SourcePhases::BeginSnapshot(bool restarted) {
  SLUICE_ASSIGN_OR_RETURN(PhaseIo::OpenedSnapshot opened, io_->OpenSnapshot(restarted));
  snapshot_.Open(std::move(opened));
  return core::Status::Ok();
}

core::Status SourcePhases::OpenStream(StreamFrom from, const BinlogPosition& at) {
  SLUICE_RETURN_IF_ERROR(io_->OpenStream(from, at));
  streaming_ = true;
  return core::Status::Ok();
}

core::Result<core::PollStatus> SourcePhases::Poll(core::EventBatch& batch,
                                                  const core::PollLimits& limits) {
  if (stop_->load()) return core::PollStatus::kIdle;
  if (finished_) return core::PollStatus::kFinished;
  if (snapshot_.open()) {
    SLUICE_ASSIGN_OR_RETURN(core::SnapshotStep step, snapshot_.Next(batch, limits, *stop_));
    if (step == core::SnapshotStep::kStopped) return core::PollStatus::kIdle;
    if (step == core::SnapshotStep::kMore) return core::PollStatus::kHaveMore;
    const BinlogPosition& at = snapshot_.position();
    logger_->info("mysql snapshot finished at {}:{}{}", at.file, at.pos,
                  at.gtid.empty() ? "" : " (GTID " + at.gtid + ")");
    // The snapshot is complete: from here on a restart streams from its position.
    batch.set_checkpoint({at.ToJson()});
    if (initial_only_) {
      io_->SnapshotOnlyFinished();
      finished_ = true;
      return core::PollStatus::kFinished;
    }
    SLUICE_RETURN_IF_ERROR(OpenStream(StreamFrom::kSnapshotEnd, at));
    return core::PollStatus::kHaveMore;
  }
  if (!streaming_) return core::UnavailableError("mysql source is not started");
  return io_->PollStream(batch, limits);
}

void SourcePhases::Close() {
  snapshot_.Close();
  finished_ = false;
  streaming_ = false;
}

}  // namespace sluice::mysql
