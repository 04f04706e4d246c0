// The Poll loop that interleaves incremental-snapshot chunks with a source's stream; where a
// chunk goes in the stream is each source's own rule (its incremental_snapshot.h).
//
// Thread-safety: the source thread only.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>

#include "core/incremental_snapshot.h"
#include "core/source.h"
#include "core/status.h"

namespace sluice::core {

// The stream Poll of a source while incremental snapshots run (the PostgreSQL and MySQL/MariaDB
// sources'). `Incremental` has holding(), Busy(), Prepare(stream, batch) -> Result<bool> (read
// the next chunk when none is held; true: it already handed a chunk over into `batch`, the Poll
// is done), AfterPoll(stream, batch) -> bool (hand a held chunk over at the batch's end once its
// point has passed; true when it appended) and PollFailed(); `Stream` has Poll(batch, limits).
// While more than a chunk's worth of events waits for the sink, the next chunk waits (up to
// ChunkPacer::kMaxDefer) and the stream goes on meanwhile, so that the stream's changes do not
// queue behind several chunks. A held or deferred chunk bounds the stream's wait to
// kHeldChunkWait: it waits for the next transaction, a keepalive or the sink, not for the full
// idle wait. A failure while `stop` is set reads as kIdle (the source is stopping).
inline constexpr std::chrono::milliseconds kHeldChunkWait{10};

template <typename Incremental, typename Stream>
Result<PollStatus> PollWithIncremental(Incremental& incremental, ChunkPacer& pacer, Stream& stream,
                                       EventBatch& batch, const PollLimits& limits,
                                       const std::atomic<bool>& stop) {
  const bool defer = !incremental.holding() && !pacer.ReadNow(limits.sink_backlog_events);
  if (!defer) {
    Result<bool> handed_over = incremental.Prepare(stream, batch);
    if (!handed_over.ok()) {
      if (stop.load()) return PollStatus::kIdle;
      return handed_over.status();
    }
    if (*handed_over) {
      incremental.AfterPoll(stream, batch);
      return PollStatus::kHaveMore;
    }
  }
  PollLimits bounded = limits;
  if (incremental.holding() || defer) bounded.max_wait = std::min(limits.max_wait, kHeldChunkWait);
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

}  // namespace sluice::core
