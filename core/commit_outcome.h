// CommitOutcome: what a database sink knows about its last commit when the connection broke
// while COMMIT was on its way. The server may have committed (and stored the checkpoint) before
// the reply was lost; the pipeline then resets the sink and writes the same batches again. For
// rows with a key that replay is harmless; rows of a keyless table would be inserted twice. A
// sink records each commit here and, after reconnecting, reads the position the target holds:
// when it is the failed commit's checkpoint, the commit went through and the replayed batches
// must not be applied again (their checkpoint is returned by the next Flush as it is).
//
// A commit without a checkpoint cannot be told apart this way; its replay stays as before.
// Not thread-safe: the sink thread only.
#pragma once

#include <optional>
#include <string>

#include "core/event.h"

namespace sluice::core {

class CommitOutcome {
 public:
  // The position the target holds (at start, or after a commit that succeeded).
  void Committed(const std::optional<SourcePosition>& position) {
    if (position) committed_ = position->value;
    unsure_.reset();
  }
  // A commit carrying `checkpoint` failed: it may or may not have happened.
  void Failed(const std::optional<SourcePosition>& checkpoint) {
    if (checkpoint) unsure_ = checkpoint->value;
  }
  // A failed commit waits to be checked with Resolve().
  bool unsure() const { return unsure_.has_value(); }
  // After reconnecting, with the position the target now holds: true when the failed commit
  // went through. Either way the doubt is settled.
  bool Resolve(const std::optional<std::string>& stored) {
    if (!unsure_) return false;
    std::string unsure = std::move(*unsure_);
    unsure_.reset();
    if (!stored || *stored != unsure || (committed_ && *committed_ == unsure)) return false;
    committed_ = std::move(unsure);
    return true;
  }

 private:
  std::optional<std::string> committed_;
  std::optional<std::string> unsure_;
};

}  // namespace sluice::core
