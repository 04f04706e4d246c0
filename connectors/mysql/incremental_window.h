// DBLog's window de-duplication for incremental-snapshot chunks of a MySQL/MariaDB source whose
// server cannot tell the binlog position of a consistent snapshot (MySQL 8 has no
// binlog_snapshot_file/_position; incremental.snapshot.consistency=window forces it anywhere),
// as pure logic without a server (issue #17). Nothing is written to the source.
//
// Per chunk, on the chunk connection:
//   START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY; SELECT <chunk>; COMMIT
//   H = the binlog end (SHOW MASTER STATUS, or SHOW BINARY LOG STATUS on MySQL 8.4+)
// L, the binlog end when the read begins, is DBLog's low mark; it is not read from the server,
// since the window starts earlier anyway:
// The window starts at W, where the stream stood when the chunk read began: the start of the
// transaction it was inside, else the end of the last one it read (W <= L). The chunk is held;
// every row of a streamed transaction handed over in [W, H) — before the chunk — removes from
// the chunk each row whose key equals the key of its before or after image (an update that
// changes a key touches both keys; a TRUNCATE touches every key). What remains is handed over
// at H with the exact method's rule (incremental_placement.h): before the first transaction
// that starts at or after H, or at the end of a Poll between transactions at or past H.
//
// Why this is correct. The read view lies somewhere in [W, H]: every transaction it saw was
// written to the binlog before H (InnoDB commits after the binlog write, and H is read after
// the SELECT); every transaction the stream read before W is taken to be visible to it (but
// see "Before W" below). Take a key k of the chunk's range.
//  - k not touched in [W, H): no transaction written in [W, H) changed k, so k had one value
//    from W to H, and the chunk read exactly that value; at H it is the current value, and every
//    later change arrives from the stream after the chunk.
//  - k touched in [W, H): the chunk may hold an older or a newer value than the one the stream
//    handed over before H (a transaction written between W and L whose InnoDB commit was not
//    yet visible to the read view is one way to get an older one), so its row is dropped. The
//    stream already handed over k's newest value as of H, whole: row images are FULL (the
//    source refuses MINIMAL/NOBLOB at start-up), so an update carries every column. A delete
//    in the window drops the row, so deletes win; an insert of a key the chunk had not seen
//    arrives from the stream anyway.
// Dropping a row too many is therefore harmless whenever the stream handed over that key's
// newest image; dropping one too few is not. Key comparison is accordingly conservative: text
// keys under a case-insensitive (_ci) collation compare ASCII case-folded, and under a PAD SPACE
// collation without trailing spaces, so 'a' and 'A ' match where the server says they are the
// same key (KeyFoldFor). A fold never equates two keys the collation tells apart.
//
// Before W: a transaction the stream read before the chunk read began was written to the binlog
// before its InnoDB commit, so in a narrow race its commit may not be visible to the read view
// yet. StreamTouches keeps the keys of what the stream handed over during the last
// kTouchLookback (at most kTouchLookbackKeys keys) and seeds each window with them: such a key's
// newest image was handed over by the stream, so dropping it is safe. A stall longer than that
// between a binlog write and its InnoDB commit is not covered (README.md, limits).
//
// Thread-safety: value types, source thread only; the functions are pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "connectors/mysql/incremental_placement.h"
#include "core/event.h"
#include "core/status.h"

namespace sluice::mysql {

// incremental.snapshot.consistency.
enum class SnapshotConsistency {
  kAuto,    // exact when the server has binlog_snapshot_file/_position, else window
  kExact,   // refuse on a server without them
  kWindow,  // always the window method
};
inline constexpr const char* kSnapshotConsistencyKey = "incremental.snapshot.consistency";
// kInvalidArgument naming the key, the value and the accepted values.
core::Result<SnapshotConsistency> ParseSnapshotConsistency(std::string_view value);
// True when SHOW STATUS LIKE 'binlog_snapshot_%' (name, in any case -> value) has both
// binlog_snapshot_file and binlog_snapshot_position (MariaDB; even empty, with binary logging
// off); MySQL has neither.
bool HasBinlogSnapshotStatus(const std::map<std::string, std::string>& status);
// The method a table is read with: `has_snapshot_status` says whether the server reports
// binlog_snapshot_file/_position. kFailedPrecondition for kExact on a server without them.
core::Result<bool> UseWindow(SnapshotConsistency wanted, bool has_snapshot_status);

// How one key column's text is compared (see the header comment).
enum class KeyFold {
  kExact,       // numbers, temporals, binary strings, _bin/_cs collations
  kCase,        // _ci, NO PAD: ASCII case-folded
  kCaseAndPad,  // _ci, PAD SPACE: ASCII case-folded, trailing spaces ignored
};
// From information_schema.COLUMNS' DATA_TYPE and COLLATION_NAME (empty: not a text column).
// Turkish and Azerbaijani collations fold 'i'/'I' differently from ASCII: compared exactly.
KeyFold KeyFoldFor(std::string_view data_type, std::string_view collation);

// The binlog end from a SHOW MASTER STATUS / SHOW BINARY LOG STATUS row (File, Position, ...).
// kFailedPrecondition when there is no row (binary logging is off).
core::Result<BinlogPoint> ParseBinlogEnd(const std::vector<std::optional<std::string>>* row);

// A key as comparable text under `folds` (one per key column, in key order): length-prefixed
// folded values, "\x01" for NULL.
std::string KeyFingerprint(const std::vector<std::string_view>& values,
                           const std::vector<bool>& nulls, const std::vector<KeyFold>& folds);

// The keys (raw, unfolded: one value per key column) a streamed row change touched, with the
// table it belongs to; a TRUNCATE has `truncate` set and no key.
struct TouchedKey {
  core::TableId table;
  bool truncate = false;
  std::vector<std::optional<std::string>> key;
};
// Every key the streamed changes of batch events [from, to) touch (before and after images of
// c/u/d; t as a truncate). Snapshot reads (op r, snapshot transactions) are skipped.
std::vector<TouchedKey> TouchedKeys(const core::EventBatch& batch, size_t from, size_t to);

class StreamTouches;

// One held chunk's window: which of its rows the stream touched.
class ChunkWindow {
 public:
  // `rows`: the chunk (one row per schema column), `key_columns`: indexes of the key columns in
  // those rows, `folds`: one per key column.
  ChunkWindow(core::TableId table, const core::EventBatch& rows,
              const std::vector<uint32_t>& key_columns, std::vector<KeyFold> folds);
  // Drops the chunk rows `touched` names (other tables ignored). False when a touched key of
  // this table has another number of columns than the chunk's key (the key changed by DDL in
  // the window): the chunk must be read again.
  bool Apply(const std::vector<TouchedKey>& touched);
  // The same for the keys `touches` keeps (the seeds of a new window), without copying them;
  // keys of another shape (from before a DDL that changed the key) are skipped.
  void Apply(const StreamTouches& touches);
  bool dropped(uint32_t row) const { return dropped_[row]; }
  // The rows of `rows` (the chunk this window was built on) not dropped, in order (a copy;
  // chunks are small).
  core::EventBatch KeptRows(const core::EventBatch& rows) const;
  uint64_t dropped_count() const { return dropped_count_; }
  const core::TableId& table() const { return table_; }

 private:
  void DropAll();
  bool ApplyOne(const TouchedKey& t);  // false: the key's shape differs
  core::TableId table_;
  std::vector<KeyFold> folds_;
  std::unordered_map<std::string, std::vector<uint32_t>> rows_by_key_;
  std::vector<bool> dropped_;
  std::vector<std::string_view> values_;  // ApplyOne's scratch
  std::vector<bool> nulls_;
  uint64_t dropped_count_ = 0;
};

// The keys the stream handed over recently, to seed a window with what was read just before W
// (see the header comment): those of the open transaction (kept until it commits, however long)
// and those of committed ones for kTouchLookback, at most kTouchLookbackKeys of them.
inline constexpr std::chrono::milliseconds kTouchLookback{1000};
inline constexpr size_t kTouchLookbackKeys = 200000;
class StreamTouches {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  // After a successful Poll: `touched` in stream order; `open_from`: the index in `touched`
  // from which the keys belong to a transaction still open at the Poll's end (touched.size()
  // when the stream is between transactions); `continues`: that transaction is the one open at
  // the previous Poll's end (no commit in between), whose keys then stay open too.
  void Record(std::vector<TouchedKey> touched, size_t open_from, bool continues, TimePoint now);
  // The stream was reopened: what it handed over is handed over again.
  void Clear();
  const std::deque<TouchedKey>& recent() const { return recent_; }
  const std::vector<TouchedKey>& open() const { return open_; }

 private:
  void Prune(TimePoint now);
  std::deque<TouchedKey> recent_;
  std::deque<TimePoint> recent_at_;
  std::vector<TouchedKey> open_;
};

}  // namespace sluice::mysql
