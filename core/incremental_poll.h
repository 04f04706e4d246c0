// The Poll loop that interleaves incremental-snapshot chunks with a source's stream, and the
// streaming Poll around it that both sources share; where a chunk goes in the stream is each
// source's own rule (its incremental_snapshot.h).
//
// Thread-safety: the source thread only.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <string_view>

#include "core/clock.h"
#include "core/config.h"
#include "core/heartbeat_action.h"
#include "core/incremental_snapshot.h"
#include "core/source.h"
#include "core/status.h"

namespace sluice::core {

// The stream Poll of a source while incremental snapshots run (the PostgreSQL and MySQL/MariaDB
// sources'). `Incremental` has holding(), can_read_ahead(), Busy(),
// Prepare(stream, batch, may_read) -> Result<bool> (reads the next chunk when `may_read` and it
// has room for one; true: it already handed a chunk over into `batch`, the Poll is done),
// AfterPoll(stream, batch) -> bool (hand a held chunk over at the batch's end once its point has
// passed; true when it appended) and PollFailed(); `Stream` has Poll(batch, limits).
// While more than a chunk's worth of events waits for the sink, the next chunk waits (up to
// ChunkPacer::kMaxDefer when none is held; a read ahead of a held chunk waits for the sink as
// long as it takes) and the stream goes on meanwhile, so that the stream's changes do not queue
// behind several chunks. The stream's wait is bounded: to zero while the next chunk may be read
// ahead (the held chunk's keepalive arrives while it is read); to kHeldChunkWait while a chunk
// is held (it waits for the next transaction or the keepalive it asked for, not the full idle
// wait); to kDeferredChunkWait while a read is deferred (the sink takes a chunk in a few
// milliseconds). A failure while `stop` is set reads as kIdle (the source is stopping).
inline constexpr std::chrono::milliseconds kHeldChunkWait{10};
inline constexpr std::chrono::milliseconds kDeferredChunkWait{2};

template <typename Incremental, typename Stream>
Result<PollStatus> PollWithIncremental(Incremental& incremental, ChunkPacer& pacer, Stream& stream,
                                       EventBatch& batch, const PollLimits& limits,
                                       const std::atomic<bool>& stop) {
  const bool holding = incremental.holding();
  const bool may_read = holding ? pacer.ReadAheadNow(limits.sink_backlog_events)
                                : pacer.ReadNow(limits.sink_backlog_events);
  const bool defer = !holding && !may_read;
  Result<bool> handed_over = incremental.Prepare(stream, batch, may_read);
  if (!handed_over.ok()) {
    if (stop.load()) return PollStatus::kIdle;
    return handed_over.status();
  }
  if (*handed_over) {
    incremental.AfterPoll(stream, batch);
    return PollStatus::kHaveMore;
  }
  PollLimits bounded = limits;
  if (incremental.can_read_ahead() && pacer.ReadAheadNow(limits.sink_backlog_events)) {
    // Take what the stream has and come back to read the next chunk: the held one's keepalive
    // arrives meanwhile, so reading overlaps the wait for it.
    bounded.max_wait = std::chrono::milliseconds(0);
  } else if (incremental.holding()) {
    bounded.max_wait = std::min(limits.max_wait, kHeldChunkWait);
  } else if (defer) {
    bounded.max_wait = std::min(limits.max_wait, kDeferredChunkWait);
  }
  Result<PollStatus> polled = stream.Poll(batch, bounded);
  if (!polled.ok()) {
    incremental.PollFailed();
    if (stop.load()) return PollStatus::kIdle;
    return polled;
  }
  if (incremental.AfterPoll(stream, batch)) return PollStatus::kHaveMore;
  if (incremental.Busy() && *polled == PollStatus::kIdle) return PollStatus::kHaveMore;
  return polled;
}

// What a streaming source runs around its stream's Poll besides incremental snapshots.
struct StreamExtras {
  HeartbeatAction* heartbeat = nullptr;                 // heartbeat.action.query, when set
  const std::optional<TableId>* signal_table = nullptr;  // signal.data.collection, when set
  spdlog::logger* logger = nullptr;                      // for the signals' log lines
  std::string_view source;                               // "postgres", "mysql"
};

// One streaming Poll, the same in every source: heartbeat.action.query when due (its failure
// fails the Poll), the stream (through PollWithIncremental while incremental snapshots run), then
// the signalling table's 'execute-snapshot' rows among the batch's events are requested.
// `Incremental` is as PollWithIncremental's, with tracker(). A failure while `stop` is set reads
// as kIdle (the source is stopping).
template <typename Incremental, typename Stream>
Result<PollStatus> PollStreaming(Incremental& incremental, ChunkPacer& pacer, Stream& stream,
                                 const StreamExtras& extras, Clock::TimePoint now,
                                 EventBatch& batch, const PollLimits& limits,
                                 const std::atomic<bool>& stop) {
  if (extras.heartbeat) {
    if (Status beat = extras.heartbeat->MaybeRun(now); !beat.ok()) {
      if (stop.load()) return PollStatus::kIdle;
      return beat;
    }
  }
  Result<PollStatus> res = incremental.Busy()
                               ? PollWithIncremental(incremental, pacer, stream, batch, limits, stop)
                               : stream.Poll(batch, limits);
  if (!res.ok() && stop.load()) return PollStatus::kIdle;
  if (res.ok() && extras.signal_table && extras.signal_table->has_value()) {
    TakeSnapshotSignals(*incremental.tracker(), batch, **extras.signal_table, *extras.logger,
                        extras.source);
  }
  return res;
}

// Every streaming checkpoint carries the incremental snapshots' progress and the table filter,
// so that they are durable exactly with the chunks they count. `Position` has
// Parse(text) -> Result<Position>, snapshot_running and incremental; `to_source` turns it back
// into a SourcePosition. A "snapshot running" checkpoint is left as it is.
template <typename Position, typename Incremental, typename ToSource>
void CarryIncrementalState(EventBatch& batch, const Incremental& incremental,
                           const ConnectorConfig& config, ToSource to_source) {
  if (batch.checkpoint().empty()) return;
  auto pos = Position::Parse(batch.checkpoint().value);
  if (!pos.ok() || pos->snapshot_running) return;
  pos->incremental = incremental.PositionField(config);
  batch.set_checkpoint(to_source(*pos));
}

}  // namespace sluice::core
