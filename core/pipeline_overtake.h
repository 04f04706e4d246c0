// Which queued batch the sink thread takes next: the oldest, except that a batch of stream
// changes may overtake batches that hold nothing but snapshot rows (an incremental snapshot's
// chunks) of other tables, so that the stream's lag does not include the chunks' writes.
//
// The rule, and why it keeps every guarantee of the commit order (pipeline.h):
//   - Only whole batches move, and only past batches of op "r" rows alone (no change, schema
//     change, announcement, logical message or transaction boundary), none of whose tables the
//     overtaking batch touches; and the overtaking batch holds no snapshot rows, no schema change,
//     announcement or logical message, and ends at a transaction boundary (a checkpoint). So no
//     two changes are reordered, no change is reordered with a row of its own table (a chunk
//     never overwrites a newer streamed value, and per-key order is kept in every sink), and a
//     source transaction stays whole.
//   - The overtaking batch is committed without its checkpoint (Overtaking::Take clears it):
//     its position (and the incremental snapshot progress inside it) counts the chunks it
//     overtook, which are not durable yet. The commit returns the position of the batches
//     written before it, if any; the overtaken chunks commit later with their own. A crash in
//     between resumes before the overtaking changes: they are written again (a replay, which
//     sinks make harmless), and the chunks are read or replayed again. No row is lost.
//   - The sink thread commits the overtaking batch at once, so the stream's change is visible
//     after one write instead of after every chunk queued ahead of it.
//
// Thread-safety: pure functions; the caller holds the queue's lock (BoundedQueue::Pop's chooser).
#pragma once

#include <cstddef>
#include <vector>

#include "core/event.h"

namespace sluice::core {

// What the rule needs to know of a queued batch, computed once by the source thread when it
// queues the batch (one pass over its events).
struct OvertakeKind {
  bool chunk_only = false;  // snapshot rows alone: may be overtaken
  bool changes_only = false;  // stream changes ending at a checkpoint: may overtake
  // The tables of its events (each once; a batch touches few); empty unless one of the above.
  std::vector<const TableSchema*> tables;
};

inline OvertakeKind ClassifyForOvertaking(const EventBatch& batch) {
  OvertakeKind kind;
  if (batch.empty() || !batch.schema_changes().empty() || !batch.announced_tables().empty() ||
      !batch.logical_messages().empty()) {
    return kind;
  }
  bool reads = false, changes = false;
  const TableSchema* last = nullptr;
  for (const ChangeEvent& e : batch.events()) {
    (e.op == Op::kRead ? reads : changes) = true;
    const TableSchema* t = e.table.get();
    if (t == last || t == nullptr) continue;
    last = t;
    bool seen = false;
    for (const TableSchema* k : kind.tables) seen = seen || k->id == t->id;
    if (!seen) kind.tables.push_back(t);
  }
  kind.chunk_only = reads && !changes && batch.boundaries().empty();
  kind.changes_only = changes && !reads && !batch.checkpoint().empty();
  if (!kind.chunk_only && !kind.changes_only) kind.tables.clear();
  return kind;
}

// The index of the batch to take next among `n` queued, `at(i)` giving the i-th's OvertakeKind
// (0 is the oldest): the first batch of changes behind chunk-only batches alone, none of whose
// tables it touches; else 0.
template <typename At>
size_t ChooseOvertaking(size_t n, At at) {
  if (n < 2 || !at(0).chunk_only) return 0;
  for (size_t i = 1; i < n; ++i) {
    const OvertakeKind& k = at(i);
    if (k.changes_only) {
      for (size_t j = 0; j < i; ++j) {
        for (const TableSchema* a : at(j).tables) {
          for (const TableSchema* b : k.tables) {
            if (a->id == b->id) return 0;
          }
        }
      }
      return i;
    }
    if (!k.chunk_only) return 0;
  }
  return 0;
}

}  // namespace sluice::core
