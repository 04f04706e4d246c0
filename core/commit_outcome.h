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
#include "core/status.h"

namespace sluice::core {

class CommitOutcome {
 public:
  // The position the target holds (at start, or after a commit that succeeded); a replay of a
  // committed transaction (see replaying()) ends here too.
  void Committed(const std::optional<SourcePosition>& position) {
    if (position) committed_ = position->value;
    unsure_.reset();
    replaying_ = false;
  }
  // A commit carrying `checkpoint` failed: it may or may not have happened.
  void Failed(const std::optional<SourcePosition>& checkpoint) {
    if (checkpoint) unsure_ = checkpoint->value;
  }
  // A failed commit waits to be checked with Resolve().
  bool unsure() const { return unsure_.has_value(); }
  // After reconnecting, with the position the target now holds: true when the failed commit
  // went through, and the sink is then replaying() until the next Committed(). Either way the
  // doubt is settled.
  bool Resolve(const std::optional<std::string>& stored) {
    replaying_ = false;
    if (!unsure_) return false;
    std::string unsure = std::move(*unsure_);
    unsure_.reset();
    if (!stored || *stored != unsure || (committed_ && *committed_ == unsure)) return false;
    committed_ = std::move(unsure);
    replaying_ = true;
    return true;
  }
  // The sink's step after it reconnected: when a commit was in doubt, reads the position the
  // target holds with `load_stored` and settles it (Resolve). Returns that position when the
  // commit went through (log it), nullopt otherwise; errors of `load_stored` as they are.
  template <typename LoadStored>
  Result<std::optional<std::string>> SettleAfterReconnect(LoadStored&& load_stored) {
    replaying_ = false;
    if (!unsure_) return std::optional<std::string>();
    SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> stored, load_stored());
    if (!Resolve(stored)) return std::optional<std::string>();
    return stored;
  }
  // True after a commit that went through was found (Resolve): the batches the pipeline writes
  // again must not be applied; their checkpoint is what the next Flush returns.
  bool replaying() const { return replaying_; }

 private:
  std::optional<std::string> committed_;
  std::optional<std::string> unsure_;
  bool replaying_ = false;
};

}  // namespace sluice::core
