#include "connectors/mysql/incremental_window.h"

#include <algorithm>
#include <cctype>

#include "core/parse_number.h"

namespace sluice::mysql {
namespace {

bool IsTextType(std::string_view t) {
  return t == "char" || t == "varchar" || t == "tinytext" || t == "text" || t == "mediumtext" ||
         t == "longtext" || t == "enum" || t == "set";
}

bool Contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

void AppendFolded(std::string& out, std::string_view v, KeyFold fold) {
  if (fold == KeyFold::kCaseAndPad) {
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  }
  const std::string len = std::to_string(v.size());
  out += len;
  out += ':';
  if (fold == KeyFold::kExact) {
    out += v;
    return;
  }
  for (char c : v) out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

core::Result<SnapshotConsistency> ParseSnapshotConsistency(std::string_view value) {
  if (value.empty() || value == "auto") return SnapshotConsistency::kAuto;
  if (value == "exact") return SnapshotConsistency::kExact;
  if (value == "window") return SnapshotConsistency::kWindow;
  return core::InvalidArgumentError(std::string(kSnapshotConsistencyKey) + ": '" +
                                    std::string(value) +
                                    "' is not accepted; use auto, exact or window");
}

bool HasBinlogSnapshotStatus(const std::map<std::string, std::string>& status) {
  int names = 0;
  for (const auto& [name, value] : status) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    names += lower == "binlog_snapshot_file" || lower == "binlog_snapshot_position";
  }
  return names == 2;
}

core::Result<bool> UseWindow(SnapshotConsistency wanted, bool has_snapshot_status) {
  switch (wanted) {
    case SnapshotConsistency::kWindow:
      return true;
    case SnapshotConsistency::kAuto:
      return !has_snapshot_status;
    case SnapshotConsistency::kExact:
      if (has_snapshot_status) return false;
      return core::FailedPreconditionError(
          "the server has no binlog_snapshot_file/binlog_snapshot_position status variables "
          "(MariaDB's binlog position of a consistent snapshot; MySQL 8 has none), so a chunk "
          "cannot be placed exactly in the binlog, and incremental.snapshot.consistency=exact "
          "refuses the window method; set it to auto or window (DBLog's window de-duplication, "
          "no writes to the source)");
  }
  return false;
}

KeyFold KeyFoldFor(std::string_view data_type, std::string_view collation) {
  if (!IsTextType(data_type) || collation.empty()) return KeyFold::kExact;
  const size_t n = collation.size();
  const bool ci = n > 3 && collation.substr(n - 3) == "_ci";
  if (!ci || Contains(collation, "turkish") || Contains(collation, "azeri")) return KeyFold::kExact;
  // MariaDB's *_nopad_* and MySQL 8's *_0900_* collations compare trailing spaces.
  const bool no_pad = Contains(collation, "nopad") || Contains(collation, "_0900_");
  return no_pad ? KeyFold::kCase : KeyFold::kCaseAndPad;
}

core::Result<BinlogPoint> ParseBinlogEnd(const std::vector<std::optional<std::string>>* row) {
  if (row == nullptr || row->size() < 2 || !(*row)[0] || (*row)[0]->empty() || !(*row)[1]) {
    return core::FailedPreconditionError(
        "the server shows no binary log status (SHOW MASTER STATUS / SHOW BINARY LOG STATUS is "
        "empty): binary logging is off; start it with log_bin and binlog_format=ROW");
  }
  BinlogPoint out;
  out.file = *(*row)[0];
  SLUICE_ASSIGN_OR_RETURN(out.pos, core::ParseNumber<uint64_t>(*(*row)[1], "binlog position"));
  return out;
}

std::string KeyFingerprint(const std::vector<std::string_view>& values,
                           const std::vector<bool>& nulls, const std::vector<KeyFold>& folds) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i < nulls.size() && nulls[i]) {
      out += '\x01';
      continue;
    }
    AppendFolded(out, values[i], i < folds.size() ? folds[i] : KeyFold::kExact);
  }
  return out;
}

std::vector<TouchedKey> TouchedKeys(const core::EventBatch& batch, size_t from, size_t to) {
  std::vector<TouchedKey> out;
  const auto& events = batch.events();
  to = std::min(to, events.size());
  for (size_t i = from; i < to; ++i) {
    const core::ChangeEvent& e = events[i];
    if (e.op == core::Op::kRead || !e.table || batch.txn(e.txn).snapshot) continue;
    if (e.op == core::Op::kTruncate) {
      out.push_back({e.table->id, true, {}});
      continue;
    }
    for (uint32_t image : {e.before, e.after}) {
      if (image == core::kNoRow) continue;
      core::RowView row = batch.row(image);
      TouchedKey t{e.table->id, false, {}};
      for (uint32_t k : e.table->key) {
        if (k >= row.size() || !row.is_present(k)) {
          t.key.emplace_back(std::nullopt);
        } else {
          t.key.emplace_back(std::string(row.text(k)));
        }
      }
      // An update that keeps its key touches it once.
      if (image == e.after && e.before != core::kNoRow && !out.empty() &&
          out.back().table == t.table && out.back().key == t.key) {
        continue;
      }
      out.push_back(std::move(t));
    }
  }
  return out;
}

ChunkWindow::ChunkWindow(core::TableId table, const core::EventBatch& rows,
                         const std::vector<uint32_t>& key_columns, std::vector<KeyFold> folds)
    : table_(std::move(table)), folds_(std::move(folds)), dropped_(rows.row_count(), false) {
  std::vector<std::string_view> values(key_columns.size());
  std::vector<bool> nulls(key_columns.size());
  for (uint32_t r = 0; r < rows.row_count(); ++r) {
    core::RowView row = rows.row(r);
    for (size_t k = 0; k < key_columns.size(); ++k) {
      const uint32_t c = key_columns[k];
      nulls[k] = c >= row.size() || !row.is_present(c);
      values[k] = nulls[k] ? std::string_view() : row.text(c);
    }
    rows_by_key_[KeyFingerprint(values, nulls, folds_)].push_back(r);
  }
}

core::EventBatch ChunkWindow::KeptRows(const core::EventBatch& rows) const {
  core::EventBatch out;
  for (uint32_t r = 0; r < rows.row_count(); ++r) {
    if (r < dropped_.size() && dropped_[r]) continue;
    out.AppendValuesOf(rows.row(r));
  }
  return out;
}

void ChunkWindow::DropAll() {
  for (size_t r = 0; r < dropped_.size(); ++r) {
    if (!dropped_[r]) ++dropped_count_;
    dropped_[r] = true;
  }
  rows_by_key_.clear();
}

bool ChunkWindow::ApplyOne(const TouchedKey& t) {
  if (t.table != table_) return true;
  if (t.truncate) {
    DropAll();  // every row deleted: deletes win
    return true;
  }
  if (t.key.size() != folds_.size()) return false;
  values_.assign(t.key.size(), std::string_view());
  nulls_.assign(t.key.size(), false);
  for (size_t k = 0; k < t.key.size(); ++k) {
    nulls_[k] = !t.key[k].has_value();
    if (t.key[k]) values_[k] = *t.key[k];
  }
  auto it = rows_by_key_.find(KeyFingerprint(values_, nulls_, folds_));
  if (it == rows_by_key_.end()) return true;
  for (uint32_t r : it->second) {
    if (!dropped_[r]) ++dropped_count_;
    dropped_[r] = true;
  }
  rows_by_key_.erase(it);
  return true;
}

bool ChunkWindow::Apply(const std::vector<TouchedKey>& touched) {
  for (const TouchedKey& t : touched) {
    if (!ApplyOne(t)) return false;
  }
  return true;
}

void ChunkWindow::Apply(const StreamTouches& touches) {
  // A seed of another key shape predates a DDL that changed the key: it names no current row.
  for (const TouchedKey& t : touches.recent()) ApplyOne(t);
  for (const TouchedKey& t : touches.open()) ApplyOne(t);
}

void StreamTouches::Record(std::vector<TouchedKey> touched, size_t open_from, bool continues,
                           TimePoint now) {
  open_from = std::min(open_from, touched.size());
  if (!continues) {
    for (TouchedKey& t : open_) {
      recent_.push_back(std::move(t));
      recent_at_.push_back(now);
    }
    open_.clear();
  }
  for (size_t i = 0; i < touched.size(); ++i) {
    if (i >= open_from) {
      open_.push_back(std::move(touched[i]));
    } else {
      recent_.push_back(std::move(touched[i]));
      recent_at_.push_back(now);
    }
  }
  Prune(now);
}

void StreamTouches::Prune(TimePoint now) {
  while (!recent_.empty() &&
         (now - recent_at_.front() > kTouchLookback || recent_.size() > kTouchLookbackKeys)) {
    recent_.pop_front();
    recent_at_.pop_front();
  }
}

void StreamTouches::Clear() {
  recent_.clear();
  recent_at_.clear();
  open_.clear();
}

}  // namespace sluice::mysql
