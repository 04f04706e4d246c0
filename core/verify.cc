#include "core/verify.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <thread>
#include <unordered_map>

#include "core/verify_values.h"

namespace sluice::core {

std::string_view VerifyModeName(VerifyMode mode) {
  switch (mode) {
    case VerifyMode::kCount: return "count";
    case VerifyMode::kChecksum: return "checksum";
    case VerifyMode::kRows: return "rows";
  }
  return "checksum";
}

Result<VerifyMode> ParseVerifyMode(std::string_view text) {
  if (text == "count") return VerifyMode::kCount;
  if (text == "checksum") return VerifyMode::kChecksum;
  if (text == "rows") return VerifyMode::kRows;
  return InvalidArgumentError("verify mode \"" + std::string(text) +
                              "\" is not one of count, checksum, rows");
}

std::string_view DiffKindName(DiffKind kind) {
  switch (kind) {
    case DiffKind::kMissing: return "missing";
    case DiffKind::kExtra: return "extra";
    case DiffKind::kDifferent: return "different";
    case DiffKind::kDocumented: return "documented difference";
  }
  return "different";
}

namespace {

bool IsIntegerType(LogicalType t) {
  return t == LogicalType::kInt16 || t == LogicalType::kInt32 || t == LogicalType::kInt64;
}

// An integer column, or a decimal without fraction (an unsigned integer mapped to numeric(20,0)).
bool IsIntegralKey(const Column& c) {
  return IsIntegerType(c.type) || (c.type == LogicalType::kDecimal && c.precision > 0 && c.scale == 0);
}

bool SameName(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// The rows of one range, keyed for matching; diffs found there.
struct RangeDiffs {
  std::vector<RowDiff> diffs;
  std::vector<std::string> match_keys;  // per diff: kind + key form, for rechecks
  std::vector<uint32_t> rows_of;        // per diff: its row in `source` (extra: in `target`)
  uint64_t rows = 0;
  EventBatch source;
  EventBatch target;
};

class TableVerifier {
 public:
  TableVerifier(VerifySide& source, VerifySide& target, const VerifyOptions& options,
                TableReport& report)
      : source_(source), target_(target), options_(options), report_(report) {}

  Status Run() {
    SLUICE_ASSIGN_OR_RETURN(src_schema_, source_.Describe(report_.source));
    auto tgt = target_.Describe(report_.target);
    if (!tgt.ok()) {
      if (tgt.status().code() != StatusCode::kNotFound) return tgt.status();
      report_.problems.push_back("target table " + report_.target.ToString() + " does not exist");
      return Status::Ok();
    }
    tgt_schema_ = *tgt;
    MapColumns();
    if (!src_schema_->HasKey()) {
      report_.problems.push_back("source table has no primary key: only row counts compared");
    }
    SLUICE_RETURN_IF_ERROR(Cancelled());
    const bool by_key = src_schema_->HasKey() && key_pos_.size() == src_schema_->key.size();
    use_digest_ = by_key && options_.mode == VerifyMode::kChecksum &&
                  source_.engine() == target_.engine();
    if (use_digest_) {
      // One full-scan digest per side first (the cheapest proof of the common case, equal
      // tables); only a difference pays for ranges and bisection.
      SLUICE_ASSIGN_OR_RETURN(auto digests, BothDigests(KeyRange{}));
      if (digests.first && digests.second) {
        report_.source_rows = digests.first->rows;
        report_.target_rows = digests.second->rows;
        total_rows_ = std::max(report_.source_rows, report_.target_rows);
        if (*digests.first == *digests.second) {
          report_.ranges = 1;
          report_.rows_compared = digests.first->rows;
          Progress(digests.first->rows);
          return Status::Ok();
        }
      }
    }
    if (!use_digest_ || total_rows_ == 0) {
      auto source_count = std::async(std::launch::async, [&] {
        return source_.CountRows(report_.source, 0, KeyRange{});
      });
      auto target_count = target_.CountRows(report_.target, 0, KeyRange{});
      SLUICE_ASSIGN_OR_RETURN(report_.source_rows, source_count.get());
      SLUICE_ASSIGN_OR_RETURN(report_.target_rows, std::move(target_count));
      total_rows_ = std::max(report_.source_rows, report_.target_rows);
    }
    if (options_.mode == VerifyMode::kCount || !by_key) {
      if (report_.source_rows != report_.target_rows) {
        report_.problems.push_back("row counts differ: source " + std::to_string(report_.source_rows) +
                                   ", target " + std::to_string(report_.target_rows));
      }
      report_.rows_compared = 0;
      if (options_.progress) options_.progress(total_rows_, total_rows_);
      return Status::Ok();
    }
    SLUICE_ASSIGN_OR_RETURN(std::vector<KeyRange> ranges, PlanRanges());
    // The whole-table digests differed already: a table that is one range goes to its rows.
    const bool digest_ranges = use_digest_ && chunkable_;
    for (const KeyRange& range : ranges) {
      ++report_.ranges;
      const uint64_t before = report_.differences + report_.documented;
      SLUICE_RETURN_IF_ERROR(digest_ranges ? CompareByDigest(range) : CompareRows(range));
      if (report_.differences + report_.documented != before) ++report_.ranges_differing;
    }
    return Status::Ok();
  }

 private:
  void MapColumns() {
    for (uint32_t i = 0; i < src_schema_->columns.size(); ++i) {
      const std::string& name = src_schema_->columns[i].name;
      int found = tgt_schema_->FindColumn(name);
      if (found < 0) {
        for (uint32_t j = 0; j < tgt_schema_->columns.size(); ++j) {
          if (SameName(tgt_schema_->columns[j].name, name)) found = static_cast<int>(j);
        }
      }
      if (found < 0) {
        report_.problems.push_back("column " + name + " is missing in the target");
        continue;
      }
      bool is_key = std::find(src_schema_->key.begin(), src_schema_->key.end(), i) !=
                    src_schema_->key.end();
      if (is_key) key_pos_.push_back(static_cast<uint32_t>(src_cols_.size()));
      src_cols_.push_back(i);
      tgt_cols_.push_back(static_cast<uint32_t>(found));
    }
  }

  // Ranges of about chunk_rows rows over the single integer key; else the whole table.
  Result<std::vector<KeyRange>> PlanRanges() {
    std::vector<KeyRange> ranges;
    if (src_schema_->key.size() != 1 || !IsIntegerType(src_schema_->columns[src_schema_->key[0]].type) ||
        !IsIntegralKey(tgt_schema_->columns[tgt_cols_[key_pos_[0]]])) {
      ranges.push_back(KeyRange{});
      return ranges;
    }
    src_key_ = src_schema_->key[0];
    tgt_key_ = tgt_cols_[key_pos_[0]];
    chunkable_ = true;
    SLUICE_ASSIGN_OR_RETURN(auto sb, source_.KeyBounds(report_.source, src_key_));
    SLUICE_ASSIGN_OR_RETURN(auto tb, target_.KeyBounds(report_.target, tgt_key_));
    if (!sb && !tb) return ranges;  // both empty: nothing to compare
    int64_t lo = sb ? sb->first : tb->first, hi = sb ? sb->second : tb->second;
    if (tb) {
      lo = std::min(lo, tb->first);
      hi = std::max(hi, tb->second);
    }
    const uint64_t chunk = std::max<uint64_t>(1, options_.chunk_rows);
    const __int128 count = std::max<__int128>(1, (total_rows_ + chunk - 1) / chunk);
    const __int128 span = static_cast<__int128>(hi) - lo + 1;
    const __int128 width = std::max<__int128>(1, (span + count - 1) / count);
    for (__int128 start = lo; start <= hi; start += width) {
      __int128 end = std::min<__int128>(start + width - 1, hi);
      ranges.push_back(KeyRange{false, static_cast<int64_t>(start), static_cast<int64_t>(end)});
    }
    return ranges;
  }

  Status Cancelled() const {
    if (options_.cancel != nullptr && options_.cancel->load()) {
      return CancelledError("verification of " + report_.source.ToString() + " cancelled");
    }
    return Status::Ok();
  }

  void Progress(uint64_t rows) {
    rows_done_ += rows;
    if (options_.progress) options_.progress(std::min(rows_done_, total_rows_), total_rows_);
  }

  // Both sides' digests of `range`, computed by both servers at once (the source's query runs on
  // a helper thread).
  Result<std::pair<std::optional<RangeDigest>, std::optional<RangeDigest>>> BothDigests(
      const KeyRange& range) {
    auto source_digest = std::async(std::launch::async, [&] {
      return source_.Digest(report_.source, src_cols_, src_key_, range);
    });
    auto target_digest = target_.Digest(report_.target, tgt_cols_, tgt_key_, range);
    SLUICE_ASSIGN_OR_RETURN(auto sd, source_digest.get());
    SLUICE_ASSIGN_OR_RETURN(auto td, std::move(target_digest));
    return std::make_pair(std::move(sd), std::move(td));
  }

  Status CompareByDigest(const KeyRange& range) {
    SLUICE_RETURN_IF_ERROR(Cancelled());
    SLUICE_ASSIGN_OR_RETURN(auto digests, BothDigests(range));
    auto& sd = digests.first;
    auto& td = digests.second;
    if (!sd || !td) return CompareRows(range);
    if (*sd == *td) {
      report_.rows_compared += sd->rows;
      Progress(sd->rows);
      return Status::Ok();
    }
    const uint64_t rows = std::max(sd->rows, td->rows);
    if (!chunkable_ || range.whole || rows <= options_.leaf_rows || range.lo >= range.hi) {
      return CompareRows(range);
    }
    const int64_t mid = static_cast<int64_t>((static_cast<__int128>(range.lo) + range.hi) >> 1);
    SLUICE_RETURN_IF_ERROR(CompareByDigest(KeyRange{false, range.lo, mid}));
    return CompareByDigest(KeyRange{false, mid + 1, range.hi});
  }

  Status Diff(const KeyRange& range, RangeDiffs& out) {
    EventBatch& s = out.source;
    EventBatch& t = out.target;
    auto source_read = std::async(std::launch::async, [&] {
      return source_.ReadRows(report_.source, src_cols_, src_key_, range, s);
    });
    Status target_read = target_.ReadRows(report_.target, tgt_cols_, tgt_key_, range, t);
    SLUICE_RETURN_IF_ERROR(source_read.get());
    SLUICE_RETURN_IF_ERROR(target_read);
    std::unordered_map<std::string, uint32_t> target_rows;
    target_rows.reserve(t.row_count());
    std::string form;
    auto key_form = [&](const RowView& row, bool source_side) {
      form.clear();
      for (uint32_t k : key_pos_) {
        const Column& col = source_side ? src_schema_->columns[src_cols_[k]]
                                        : tgt_schema_->columns[tgt_cols_[k]];
        AppendKeyForm(form, col, row.state(k), row.text(k));
        form += '\0';
      }
      return form;
    };
    for (uint32_t r = 0; r < t.row_count(); ++r) target_rows.emplace(key_form(t.row(r), false), r);
    std::vector<bool> matched(t.row_count(), false);
    out.rows = std::max(s.row_count(), t.row_count());
    for (uint32_t r = 0; r < s.row_count(); ++r) {
      RowView sr = s.row(r);
      auto it = target_rows.find(key_form(sr, true));
      if (it == target_rows.end()) {
        Add(out, DiffKind::kMissing, sr, r, {}, "");
        continue;
      }
      matched[it->second] = true;
      RowView tr = t.row(it->second);
      std::vector<std::string> different, documented;
      std::string detail;
      for (uint32_t i = 0; i < src_cols_.size(); ++i) {
        const Column& sc = src_schema_->columns[src_cols_[i]];
        CellMatch m = CompareCells(sc, sr.state(i), sr.text(i),
                                   tgt_schema_->columns[tgt_cols_[i]], tr.state(i), tr.text(i));
        if (m == CellMatch::kEqual) continue;
        (m == CellMatch::kDifferent ? different : documented).push_back(sc.name);
        if (!detail.empty()) detail += "; ";
        detail += sc.name + ": source " + Shown(sr, i) + ", target " + Shown(tr, i);
      }
      if (!different.empty()) {
        Add(out, DiffKind::kDifferent, sr, r, std::move(different), detail);
      } else if (!documented.empty()) {
        Add(out, DiffKind::kDocumented, sr, r, std::move(documented), detail);
      }
    }
    for (uint32_t r = 0; r < t.row_count(); ++r) {
      if (!matched[r]) Add(out, DiffKind::kExtra, t.row(r), r, {}, "");
    }
    return Status::Ok();
  }

  std::string Shown(const RowView& row, uint32_t i) const {
    if (!row.is_present(i)) return "NULL";
    return "\"" + Truncated(row.text(i), options_.max_value_chars) + "\"";
  }

  void Add(RangeDiffs& out, DiffKind kind, const RowView& row, uint32_t row_index,
           std::vector<std::string> columns, std::string detail) {
    out.rows_of.push_back(row_index);
    RowDiff d;
    d.kind = kind;
    std::string match = std::string(DiffKindName(kind)) + '\0';
    for (uint32_t k : key_pos_) {
      if (!d.key.empty()) d.key += ", ";
      d.key += src_schema_->columns[src_cols_[k]].name + "=";
      d.key += row.is_present(k) ? Truncated(row.text(k), options_.max_value_chars) : "NULL";
      AppendKeyForm(match, src_schema_->columns[src_cols_[k]], row.state(k), row.text(k));
      match += '\0';
    }
    d.columns = std::move(columns);
    d.detail = std::move(detail);
    out.diffs.push_back(std::move(d));
    out.match_keys.push_back(std::move(match));
  }

  Status CompareRows(const KeyRange& range) {
    SLUICE_RETURN_IF_ERROR(Cancelled());
    RangeDiffs found;
    SLUICE_RETURN_IF_ERROR(Diff(range, found));
    // While replication runs a difference may be a change in flight: read the range again later
    // and keep only what every reading shows.
    for (int i = 0; i < options_.rechecks && !found.diffs.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(options_.recheck_delay_ms));
      SLUICE_RETURN_IF_ERROR(Cancelled());
      RangeDiffs again;
      SLUICE_RETURN_IF_ERROR(Diff(range, again));
      std::vector<RowDiff> diffs;
      std::vector<std::string> keys;
      std::vector<uint32_t> rows_of;
      for (size_t d = 0; d < again.diffs.size(); ++d) {
        auto pos = std::find(found.match_keys.begin(), found.match_keys.end(), again.match_keys[d]);
        if (pos == found.match_keys.end()) continue;
        diffs.push_back(std::move(again.diffs[d]));
        keys.push_back(again.match_keys[d]);
        rows_of.push_back(again.rows_of[d]);
      }
      again.diffs = std::move(diffs);
      again.match_keys = std::move(keys);
      again.rows_of = std::move(rows_of);
      found = std::move(again);
    }
    if (options_.repairer != nullptr) SLUICE_RETURN_IF_ERROR(Repair(range, found));
    report_.rows_compared += found.rows;
    Progress(found.rows);
    for (RowDiff& d : found.diffs) {
      if (d.kind == DiffKind::kDocumented) {
        ++report_.documented;
      } else {
        ++report_.differences;
      }
      if (report_.diffs.size() < options_.max_reported) report_.diffs.push_back(std::move(d));
    }
    return Status::Ok();
  }

  // Writes the differing rows of `found` through the repairer, then compares the range again;
  // `found` becomes what still differs.
  Status Repair(const KeyRange& range, RangeDiffs& found) {
    size_t to_repair = 0;
    for (const RowDiff& d : found.diffs) to_repair += d.kind != DiffKind::kDocumented;
    if (to_repair == 0) return Status::Ok();
    if (src_cols_.size() != src_schema_->columns.size()) {
      report_.problems.push_back("not repaired: the target lacks columns of the source");
      return Status::Ok();
    }
    EventBatch batch;
    const uint32_t txn = batch.AddTxn(TxnInfo{});
    for (size_t d = 0; d < found.diffs.size(); ++d) {
      const DiffKind kind = found.diffs[d].kind;
      if (kind == DiffKind::kDocumented) continue;
      const bool extra = kind == DiffKind::kExtra;
      RowView row = extra ? found.target.row(found.rows_of[d]) : found.source.row(found.rows_of[d]);
      const uint32_t r = batch.AppendValuesOf(row);
      if (extra) {
        batch.AddEvent({Op::kDelete, r, kNoRow, txn, src_schema_});
      } else {
        batch.AddEvent({Op::kCreate, kNoRow, r, txn, src_schema_});
      }
    }
    SLUICE_RETURN_IF_ERROR(options_.repairer->Apply(batch).WithContext(
        "repair of " + report_.target.ToString()));
    RangeDiffs after;
    SLUICE_RETURN_IF_ERROR(Diff(range, after));
    size_t left = 0;
    for (const RowDiff& d : after.diffs) left += d.kind != DiffKind::kDocumented;
    report_.repaired += to_repair > left ? to_repair - left : 0;
    for (RowDiff& d : found.diffs) {
      if (d.kind != DiffKind::kDocumented && report_.repairs.size() < options_.max_reported) {
        report_.repairs.push_back(std::move(d));
      }
    }
    found = std::move(after);
    return Status::Ok();
  }

  VerifySide& source_;
  VerifySide& target_;
  const VerifyOptions& options_;
  TableReport& report_;
  TableSchemaPtr src_schema_;
  TableSchemaPtr tgt_schema_;
  std::vector<uint32_t> src_cols_;  // compared columns, source indexes
  std::vector<uint32_t> tgt_cols_;  // the same columns, target indexes
  std::vector<uint32_t> key_pos_;   // key columns: positions in src_cols_
  uint32_t src_key_ = 0;
  uint32_t tgt_key_ = 0;
  bool chunkable_ = false;
  bool use_digest_ = false;
  uint64_t total_rows_ = 0;
  uint64_t rows_done_ = 0;
};

}  // namespace

Result<TableReport> VerifyTable(VerifySide& source, VerifySide& target, const TableId& source_table,
                                const TableId& target_table, const VerifyOptions& options) {
  TableReport report;
  report.source = source_table;
  report.target = target_table;
  TableVerifier verifier(source, target, options, report);
  Status st = verifier.Run();
  if (!st.ok()) return st.WithContext("verify " + source_table.ToString());
  return report;
}

}  // namespace sluice::core
