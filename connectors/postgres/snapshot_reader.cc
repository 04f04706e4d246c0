#include "connectors/postgres/snapshot_reader.h"

#include <chrono>
#include <cstring>

#include <spdlog/spdlog.h>

#include "connectors/postgres/pg_binary.h"
#include "connectors/postgres/pg_position.h"
#include "core/clock.h"

namespace sluice::pg {
namespace {

uint32_t BigEndian(const char* p, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}

// COPY text format escapes (PostgreSQL documentation, COPY, "Text Format").
bool UnescapeCopy(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= in.size()) return false;
    c = in[i];
    switch (c) {
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case 'x': {
        int v = 0, n = 0;
        while (n < 2 && i + 1 < in.size() && std::isxdigit(static_cast<unsigned char>(in[i + 1]))) {
          char h = in[++i];
          v = v * 16 + (h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
          ++n;
        }
        if (n == 0) return false;
        out += static_cast<char>(v);
        break;
      }
      default:
        if (c >= '0' && c <= '7') {
          int v = c - '0';
          for (int n = 1; n < 3 && i + 1 < in.size() && in[i + 1] >= '0' && in[i + 1] <= '7'; ++n) {
            v = v * 8 + (in[++i] - '0');
          }
          out += static_cast<char>(v);
        } else {
          out += c;
        }
    }
  }
  return true;
}

}  // namespace

SnapshotReader::SnapshotReader(ConnectionParams params, std::vector<SnapshotTable> tables,
                               std::string snapshot_name, uint64_t consistent_lsn,
                               std::string slot, SnapshotOptions options,
                               std::shared_ptr<spdlog::logger> logger,
                               core::ProgressTracker* progress, core::MetricsRegistry* metrics,
                               std::string connector)
    : params_(std::move(params)),
      tables_(std::move(tables)),
      snapshot_name_(std::move(snapshot_name)),
      lsn_(consistent_lsn),
      slot_(std::move(slot)),
      options_(options),
      logger_(std::move(logger)),
      progress_(progress),
      metrics_(metrics),
      connector_(std::move(connector)) {}

SnapshotReader::~SnapshotReader() {
  Cancel();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
}

bool ReadInChunks(const SnapshotOptions& options, uint64_t pages, bool overridden) {
  // One connection reads the chunks one after the other anyway: a plain COPY of the whole table
  // reads the same rows and costs the server less than ctid-range COPY (SELECT …) queries
  // (0.43 against 0.59 CPU-s for 2 M pgbench rows, integration/bench/pg_sync/timeline.sh).
  return options.threads > 1 && options.chunk_pages > 0 && pages > options.chunk_pages &&
         !overridden;
}

core::Status SnapshotReader::ConnectWorkers(int threads, std::unique_ptr<PgConnection> first) {
  conns_.clear();
  if (first) conns_.push_back(std::move(first));
  const size_t have = conns_.size();
  if (have >= static_cast<size_t>(threads)) return core::Status::Ok();
  // Each connection costs the server a backend start (5-10 ms on a busy 2-core machine): open
  // them side by side rather than one after the other, since the first COPY waits for them all.
  // Every one of them has imported the snapshot when this returns (the threads are joined), so
  // the exporting connection's next command cannot come first.
  const size_t more = static_cast<size_t>(threads) - have;
  std::vector<std::unique_ptr<PgConnection>> opened(more);
  std::vector<core::Status> results(more, core::Status::Ok());
  auto connect = [this, &opened, &results](size_t i) {
    try {
      auto conn = std::make_unique<PgConnection>();
      core::Status s = conn->Connect(params_, false);
      if (s.ok()) s = conn->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      if (s.ok()) {
        s = conn->Exec("SET TRANSACTION SNAPSHOT " + QuoteLiteral(snapshot_name_))
                .WithContext("importing the slot's exported snapshot");
      }
      results[i] = s;
      if (s.ok()) opened[i] = std::move(conn);
    } catch (...) {  // nothing may escape a thread
      results[i] = core::ExceptionToStatus("postgres snapshot: connecting a reader",
                                           std::current_exception());
    }
  };
  std::vector<std::thread> connecting;
  for (size_t i = 1; i < more; ++i) {
    try {
      connecting.emplace_back(connect, i);
    } catch (...) {  // no thread to spare: this one connects it
      connect(i);
    }
  }
  connect(0);  // one of them on this thread
  for (auto& t : connecting) t.join();
  for (size_t i = 0; i < more; ++i) {
    SLUICE_RETURN_IF_ERROR(results[i]);
    conns_.push_back(std::move(opened[i]));
  }
  return core::Status::Ok();
}

core::Status SnapshotReader::Open(std::unique_ptr<PgConnection> first) {
  started_ms_ = core::NowUnixMs();
  last_progress_log_ms_.store(started_ms_);
  for (size_t t = 0; t < tables_.size(); ++t) {
    const TableEntry& e = tables_[t].entry;
    size_t before = chunks_.size();
    // A table read with its own SELECT (snapshot.select.statement.overrides) is one chunk.
    if (ReadInChunks(options_, e.pages, options_.select_overrides.contains(e.id))) {
      for (uint64_t from = 0; from < e.pages; from += options_.chunk_pages) {
        uint64_t to = from + options_.chunk_pages;
        // The last chunk is open-ended: pages added since pg_relation_size() was read are
        // scanned too (their rows are invisible to the snapshot anyway).
        chunks_.push_back({t, from, to >= e.pages ? 0 : to, false});
      }
    } else {
      chunks_.push_back({t, 0, 0, true});
    }
    counts_.AddTable(chunks_.size() - before);
    std::string name = e.id.ToString();
    const auto& generated = tables_[t].relation.schema->generated;
    if (!generated.empty()) {
      std::string names;
      for (const auto& g : generated) names += (names.empty() ? "" : ", ") + g.name;
      logger_->warn("postgres table {}: generated columns ({}) are not in the change events "
                    "(PostgreSQL's logical replication does not send them); a PostgreSQL target "
                    "creates them with the same expression, other targets do not have them",
                    name, names);
    }
    if (progress_) {
      if (options_.emit_truncates) progress_->ResetTable(name);
      progress_->AddTable(name, e.estimated_rows);
    }
    if (metrics_) {
      metrics_->GetGauge("sluice_snapshot_rows_estimated", "estimated rows of a table to snapshot",
                         {{"connector", connector_}, {"table", name}})
          .Set(static_cast<double>(e.estimated_rows));
    }
  }
  if (progress_) progress_->SetPhase("snapshot");
  int threads = std::max(1, std::min<int>(options_.threads, static_cast<int>(chunks_.size())));
  SLUICE_RETURN_IF_ERROR(ConnectWorkers(threads, std::move(first)));
  // Binary COPY where every column has a binary decoder (pg_binary.h), else text COPY.
  size_t binary_tables = 0;
  binary_.assign(tables_.size(), options_.binary);
  for (size_t t = 0; t < tables_.size(); ++t) {
    for (const ColumnCodec& codec : tables_[t].relation.codecs) {
      if (codec.binary == BinaryKind::kNone) binary_[t] = false;
    }
    binary_tables += binary_[t];
  }
  logger_->info("postgres snapshot: {} tables in {} chunks on {} connections, consistent point {}, "
                "binary COPY for {} of {} tables",
                tables_.size(), chunks_.size(), threads, LsnToString(lsn_), binary_tables,
                tables_.size());
  batches_ = std::make_unique<core::SnapshotBatches>(threads, std::max<size_t>(2, threads * 2));
  for (int i = 0; i < threads; ++i) workers_.emplace_back([this, i] { Worker(i); });
  return core::Status::Ok();
}

void SnapshotReader::TableRowsDone(size_t table, uint64_t rows, uint64_t bytes) {
  counts_.AddRows(table, rows);
  const std::string name = tables_[table].entry.id.ToString();
  if (progress_) progress_->AddRows(name, rows, bytes);
  if (metrics_) {
    metrics_->GetGauge("sluice_snapshot_rows_done", "rows of a table read by the snapshot",
                       {{"connector", connector_}, {"table", name}})
        .Set(static_cast<double>(counts_.rows(table)));
  }
  // A progress line at most every kProgressLogMs, by whichever worker passes the mark first.
  int64_t now = core::NowUnixMs();
  int64_t last = last_progress_log_ms_.load();
  if (now - last >= kProgressLogMs && last_progress_log_ms_.compare_exchange_strong(last, now)) {
    const uint64_t done = counts_.rows(table);
    const uint64_t estimated = tables_[table].entry.estimated_rows;
    if (estimated > 0) {
      logger_->info("postgres snapshot of {}: {} of ~{} rows ({}%), {} s in", name, done,
                    estimated, std::min<uint64_t>(99, done * 100 / estimated),
                    (now - started_ms_) / 1000);
    } else {
      logger_->info("postgres snapshot of {}: {} rows, {} s in", name, done, (now - started_ms_) / 1000);
    }
  }
}

void SnapshotReader::Worker(size_t index) {
  PgConnection& conn = *conns_[index];
  uint32_t txn = 0;
  core::RunTableChunks(
      *batches_, next_chunk_, chunks_, counts_, stop_,
      [&](const Chunk& chunk, std::unique_ptr<core::EventBatch>& batch) {
        return ReadChunk(conn, chunk, batch, txn);
      },
      [&](size_t table) {
        const std::string name = tables_[table].entry.id.ToString();
        if (progress_) progress_->MarkDone(name);
        logger_->info("postgres snapshot of {}: {} rows (estimated {}), done", name,
                      counts_.rows(table), tables_[table].entry.estimated_rows);
      });
  conn.Exec("COMMIT").ok();
  batches_->WorkerExited();
}

core::Status SnapshotReader::ReadChunk(PgConnection& conn, const Chunk& chunk,
                                       std::unique_ptr<core::EventBatch>& batch_ptr, uint32_t& txn) {
  const SnapshotTable& table = tables_[chunk.table];
  const core::TableSchema& schema = *table.relation.schema;
  const auto& codecs = table.relation.codecs;
  const bool binary = binary_[chunk.table];
  std::string cols;
  for (const auto& c : schema.columns) {
    if (!cols.empty()) cols += ", ";
    cols += QuoteIdent(c.name);
  }
  std::string rel = QuoteIdent(schema.id.schema) + "." + QuoteIdent(schema.id.table);
  std::string sql;
  std::string typed;  // each column cast to its type: the decoders expect exactly that type
  for (const auto& c : schema.columns) {
    if (!typed.empty()) typed += ", ";
    typed += QuoteIdent(c.name) + "::" + c.source_type;
  }
  if (std::string query = core::OverrideQuery(options_.select_overrides, schema.id, typed);
      !query.empty()) {
    sql = "COPY (" + query + ") TO STDOUT";
  } else if (chunk.whole) {
    sql = "COPY " + rel + " (" + cols + ") TO STDOUT";
  } else {
    sql = "COPY (SELECT " + cols + " FROM " + rel + " WHERE ctid >= '(" +
          std::to_string(chunk.from_page) + ",0)'::tid";
    if (chunk.to_page) sql += " AND ctid < '(" + std::to_string(chunk.to_page) + ",0)'::tid";
    sql += ") TO STDOUT";
  }
  if (binary) sql += " (FORMAT binary)";
  std::string context = "postgres snapshot of " + schema.id.ToString();
  auto started = conn.QueryRaw(sql);
  if (!started.ok() && options_.select_overrides.contains(schema.id)) {
    return started.status().WithContext(
        context + " with snapshot.select.statement.overrides." + schema.id.ToString() +
        " (the statement must return every captured column by name)");
  }
  SLUICE_ASSIGN_OR_RETURN(PgResultPtr res, std::move(started));
  if (PQresultStatus(res.get()) != PGRES_COPY_OUT) {
    return core::InternalError(context + ": COPY did not start");
  }
  res.reset();
  std::string unescaped, scratch;
  uint64_t rows = 0, bytes = 0;
  const size_t ncols = schema.columns.size();
  core::TableSchemaPtr schema_ptr = table.relation.schema;
  auto ensure_batch = [&]() {
    if (batch_ptr) return;
    batch_ptr = batches_->Acquire();
    core::TxnInfo info;
    // Debezium's snapshot source ts_ms is when the row was read: here its batch's first row.
    info.ts_ms = core::NowUnixMs();
    info.snapshot = true;
    info.lsn = lsn_;
    txn = batch_ptr->AddTxn(info);
  };
  // Ends the row that BeginRow() returned as `row`; hands the batch on when it is full.
  auto end_row = [&](uint32_t row, uint64_t row_bytes) -> bool {
    core::EventBatch& batch = *batch_ptr;
    batch.EndRow();
    batch.AddEvent({core::Op::kRead, core::kNoRow, row, txn, schema_ptr});
    ++rows;
    bytes += row_bytes;
    if (batch.size() >= options_.batch_events || batch.ByteSize() >= options_.batch_bytes) {
      TableRowsDone(chunk.table, rows, bytes);
      rows = bytes = 0;
      if (!batches_->Push(std::move(batch_ptr), false)) return false;
      batch_ptr.reset();
    }
    return true;
  };
  auto malformed = [&](size_t column) {
    return core::DataLossError(context + ": malformed value of column " +
                               schema.columns[column].name + " (" +
                               schema.columns[column].source_type + ")");
  };
  // Binary format (PostgreSQL documentation, "COPY — Binary Format"): the server sends the
  // header with the first tuple and one tuple per CopyData message, but nothing in the protocol
  // promises that, so a tuple cut across messages is carried over to the next.
  std::string carry;
  bool header_done = false, trailer_seen = false;
  while (true) {
    char* buf = nullptr;
    int n = PQgetCopyData(conn.raw(), &buf, 0);
    if (n == -1) break;
    if (n == -2) {
      return core::UnavailableError(context + ": " + conn.LastError());
    }
    std::unique_ptr<char, void (*)(void*)> hold(buf, PQfreemem);
    if (stop_.load()) return core::CancelledError(context + ": stopped");
    if (!binary) {
      ensure_batch();
      core::EventBatch& batch = *batch_ptr;
      std::string_view line(buf, n);
      if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
      uint32_t row = batch.BeginRow();
      size_t pos = 0;
      for (size_t i = 0; i < ncols; ++i) {
        if (pos > line.size()) {
          batch.AbandonRow();
          return core::DataLossError(context + ": a COPY row has fewer columns than expected");
        }
        size_t tab = line.find('\t', pos);
        if (tab == std::string_view::npos) tab = line.size();
        std::string_view field = line.substr(pos, tab - pos);
        pos = tab + 1;
        if (field.size() == 2 && field[0] == '\\' && field[1] == 'N') {
          batch.AppendNull();
          continue;
        }
        bool ok;
        if (std::memchr(field.data(), '\\', field.size()) == nullptr) {
          ok = AppendCanonical(batch, codecs[i], field, scratch);
        } else {
          ok = UnescapeCopy(field, unescaped) && AppendCanonical(batch, codecs[i], unescaped, scratch);
        }
        if (!ok) {
          batch.AbandonRow();
          return malformed(i);
        }
      }
      if (!end_row(row, static_cast<uint64_t>(n))) return core::CancelledError(context + ": stopped");
      continue;
    }
    std::string_view data(buf, static_cast<size_t>(n));
    if (!carry.empty()) {
      carry.append(buf, static_cast<size_t>(n));
      data = carry;
    }
    size_t pos = 0;
    if (!header_done) {
      int64_t header = CopyBinaryHeaderLength(data);
      if (header < 0) return core::DataLossError(context + ": not a COPY BINARY stream");
      header_done = header > 0;
      pos = static_cast<size_t>(header);
    }
    while (header_done && pos < data.size()) {
      if (trailer_seen) return core::DataLossError(context + ": data after the COPY BINARY trailer");
      if (data.size() - pos < 2) break;
      int16_t fields = static_cast<int16_t>(BigEndian(data.data() + pos, 2));
      if (fields == -1) {
        trailer_seen = true;
        pos += 2;
        continue;
      }
      if (fields != static_cast<int16_t>(ncols)) {
        return core::DataLossError(context + ": a COPY BINARY tuple has " + std::to_string(fields) +
                                   " fields, expected " + std::to_string(ncols));
      }
      ensure_batch();
      core::EventBatch& batch = *batch_ptr;
      uint32_t row = batch.BeginRow();
      size_t p = pos + 2;
      bool complete = true;
      for (size_t i = 0; i < ncols; ++i) {
        if (data.size() - p < 4) {
          complete = false;
          break;
        }
        int32_t len = static_cast<int32_t>(BigEndian(data.data() + p, 4));
        p += 4;
        if (len == -1) {
          batch.AppendNull();
          continue;
        }
        if (len < 0) {
          batch.AbandonRow();
          return malformed(i);
        }
        if (data.size() - p < static_cast<size_t>(len)) {
          complete = false;
          break;
        }
        if (!AppendBinaryValue(batch, codecs[i].binary, data.substr(p, static_cast<size_t>(len)))) {
          batch.AbandonRow();
          return malformed(i);
        }
        p += static_cast<size_t>(len);
      }
      if (!complete) {
        batch.AbandonRow();
        break;
      }
      if (!end_row(row, p - pos)) return core::CancelledError(context + ": stopped");
      pos = p;
    }
    if (pos < data.size()) {
      carry = std::string(data.substr(pos));
    } else {
      carry.clear();
    }
  }
  PgResultPtr end(PQgetResult(conn.raw()));
  if (PQresultStatus(end.get()) != PGRES_COMMAND_OK) {
    return StatusFromPg(conn.raw(), end.get(), context);
  }
  while (PGresult* extra = PQgetResult(conn.raw())) PQclear(extra);
  if (binary && (!carry.empty() || !trailer_seen)) {
    return core::DataLossError(context + ": the COPY BINARY stream ended inside a tuple");
  }
  TableRowsDone(chunk.table, rows, bytes);
  return core::Status::Ok();
}

core::Result<bool> SnapshotReader::Next(core::EventBatch& batch, const core::PollLimits& limits) {
  PgPosition pos;
  pos.lsn = lsn_;
  pos.slot = slot_;
  pos.snapshot_running = true;
  if (!announced_) {
    // Every table first, empty ones included, so that sinks that create tables create them
    // all (and before the restarted snapshot's truncates).
    announced_ = true;
    for (const auto& t : tables_) batch.AnnounceTable(t.relation.schema);
    batch.set_checkpoint(pos.ToSource());
    if (!options_.emit_truncates || truncates_sent_) return false;
  }
  if (options_.emit_truncates && !truncates_sent_) {
    truncates_sent_ = true;
    core::TxnInfo info;
    info.ts_ms = started_ms_;
    info.snapshot = true;
    info.lsn = lsn_;
    uint32_t txn = batch.AddTxn(info);
    for (const auto& t : tables_) {
      batch.AddEvent({core::Op::kTruncate, core::kNoRow, core::kNoRow, txn, t.relation.schema});
    }
    batch.set_checkpoint(pos.ToSource());
    return false;
  }
  SLUICE_ASSIGN_OR_RETURN(core::SnapshotBatches::State state, batches_->Next(batch, limits.max_wait));
  if (state == core::SnapshotBatches::State::kBatch) {
    batch.set_checkpoint(pos.ToSource());
    return false;
  }
  if (state == core::SnapshotBatches::State::kFinished) {
    logger_->info("postgres snapshot done in {} ms", core::NowUnixMs() - started_ms_);
    return true;
  }
  return false;
}

void SnapshotReader::Cancel() {
  stop_.store(true);
  if (batches_) batches_->Stop();
  for (auto& c : conns_) c->Cancel();
}

}  // namespace sluice::pg
