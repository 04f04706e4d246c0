// Sink: the interface every sink connector implements (file, PostgreSQL, MySQL, Kafka).
//
// Lifecycle, all on the sink thread:
//   Open() -> LoadCommittedPosition() -> (Write()* Flush())* -> Close()
// Write() may buffer or apply inside an open transaction; Flush() makes everything written so
// far durable and returns the position now durable (the checkpoint of the last batch written
// that had one). After a retriable error (kUnavailable/kAborted) the pipeline calls Reset() and
// writes again every batch since the last successful Flush(), so a sink must tolerate replays:
// database sinks upsert/delete by key, the file sink documents duplicates.
//
// Thread-safety: one thread at a time (the sink thread).
#pragma once

#include <optional>

#include "core/event.h"
#include "core/source.h"
#include "core/status.h"

namespace sluice::core {

class Sink {
 public:
  virtual ~Sink() = default;

  // Connects and prepares (offsets table, output directory). kUnavailable: retry with backoff.
  virtual Status Open() = 0;

  // Exactly-once sinks store the source position with the data; returns it (nullopt when none is
  // stored or the sink does not store positions). The pipeline resumes from it when present.
  virtual Result<std::optional<SourcePosition>> LoadCommittedPosition() = 0;

  // The sink stores every flushed position with the data (LoadCommittedPosition reads it back):
  // the state store's copy is then only a fallback and for status, saved without waiting for
  // the disk (PositionStore::SavePositionCopy; an fsync is ~4 ms per flush on a plain disk).
  virtual bool StoresPosition() const { return false; }

  // Applies or buffers the batch. The batch stays valid only during the call.
  virtual Status Write(const EventBatch& batch) = 0;

  // Makes everything written durable; returns the newest checkpoint now durable (nullopt if no
  // batch written since the last Flush carried one).
  virtual Result<std::optional<SourcePosition>> Flush() = 0;

  // Called by the pipeline when nothing is waiting to be flushed (at least every 200 ms while
  // idle): a sink that writes periodic records of its own (the Kafka sink's Debezium
  // heartbeats) writes and flushes them here. An error is handled as a Flush error.
  virtual Status Idle() { return Status::Ok(); }

  // A one-shot sync (`sluice sync`) over a target holding the position of an earlier run with
  // the same name (one that finished, or one killed mid-load): the copy starts from the
  // beginning, and a sink that keeps tables replaces the rows of every table the snapshot
  // announces (emptied before its first row), so that rows deleted at the source since that
  // run go too. Called after LoadCommittedPosition, before the first Write. Default: nothing
  // (a sink that appends records has nothing to replace).
  virtual void ReplaceSnapshotTables() {}

  // Discards unflushed work and reconnects if needed, after a retriable error.
  virtual Status Reset() = 0;

  // Connects and checks the target is usable without changing it (sluice validate).
  virtual Status Check() = 0;

  virtual void Close() = 0;
};

}  // namespace sluice::core
