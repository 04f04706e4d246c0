// The PostgreSQL sink's integration fixture: a scratch database, sinks opened through the
// core::Sink interface, and hand-built EventBatches. Results are read back with the independent
// `psql` client. The suites: pg_sink_test.cc (values and apply order), pg_sink_recovery_test.cc
// (offsets, retries, rejected rows), pg_sink_schema_test.cc (keys built after the load, schema
// changes) and pg_sink_pipeline_test.cc (crashes at every commit step).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/event.h"
#include "core/logging.h"
#include "integration/common/itest.h"
#include "sinks/postgres/postgres_sink.h"
#include "tests/common/schema_builders.h"

namespace sluice::sinks::pg_sink_itest {


using core::Column;
using core::LogicalType;
using core::Op;
using itest::SqlRows;

// A value in a hand-built row: nullptr is NULL, kU marks an unchanged (TOAST) value.
inline const char* const kU = "\x01unchanged";
using Values = std::vector<std::string_view>;
inline const std::string_view kNull{};  // data() == nullptr

using sluice::testing::Col;

inline core::TableSchemaPtr Schema(std::string schema, std::string table, std::vector<Column> columns,
                            std::vector<uint32_t> key, uint64_t version = 1) {
  auto s = std::make_shared<core::TableSchema>();
  s->id = {std::move(schema), std::move(table)};
  s->database = "src";
  s->columns = std::move(columns);
  s->key = std::move(key);
  s->version = version;
  return s;
}

inline uint32_t AddRow(core::EventBatch& batch, const Values& values) {
  uint32_t row = batch.BeginRow();
  for (std::string_view v : values) {
    if (v.data() == nullptr) {
      batch.AppendNull();
    } else if (v.data() == kU) {
      batch.AppendUnchanged();
    } else {
      batch.AppendValue(v);
    }
  }
  batch.EndRow();
  return row;
}

inline void Event(core::EventBatch& batch, Op op, const core::TableSchemaPtr& schema,
           const Values& before, const Values& after) {
  if (batch.txns().empty()) batch.AddTxn(core::TxnInfo{});
  core::ChangeEvent e;
  e.op = op;
  e.table = schema;
  e.before = before.empty() ? core::kNoRow : AddRow(batch, before);
  e.after = after.empty() ? core::kNoRow : AddRow(batch, after);
  batch.AddEvent(e);
}

class PgSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = itest::CreateScratchPgDatabase("pg_sink");
    sql_ = itest::PgClient(db_);
  }
  void TearDown() override {
    sinks_.clear();
    itest::DropPgDatabase(db_);
  }

  core::Sink& OpenSink(std::map<std::string, std::string> extra = {},
                       std::string name = "itest") {
    std::map<std::string, std::string> values = {
        {"connector.class", "postgres"}, {"sink.type", "postgres"}, {"sink.url", sql_.Url()}};
    for (auto& [k, v] : extra) values[k] = v;
    core::ConnectorContext context;
    context.config = core::ConnectorConfig(name, values);
    context.logger = core::ConnectorLogger(name);
    auto sink = MakePostgresSink(context);
    if (!sink.ok()) throw itest::HarnessError(sink.status().ToString());
    core::Status s = (*sink)->Open();
    if (!s.ok()) throw itest::HarnessError(s.ToString());
    sinks_.push_back(std::move(*sink));
    return *sinks_.back();
  }

  static void WriteAndFlush(core::Sink& sink, const core::EventBatch& batch) {
    core::Status s = sink.Write(batch);
    ASSERT_TRUE(s.ok()) << s.ToString();
    auto flushed = sink.Flush();
    ASSERT_TRUE(flushed.ok()) << flushed.status().ToString();
  }

  // What the pipeline does: write the batches and flush; on a retriable error Reset() and write
  // every batch since the last flush again. Returns the final status.
  static core::Status WriteAndFlushLikeThePipeline(core::Sink& sink,
                                                   const std::vector<const core::EventBatch*>& batches,
                                                   int* retries = nullptr) {
    core::Status s;
    for (int attempt = 0; attempt < 5; ++attempt) {
      if (attempt > 0) {
        if (retries) ++*retries;
        s = sink.Reset();
        if (!s.ok()) return s;
      }
      s = core::Status::Ok();
      for (const core::EventBatch* b : batches) {
        s = sink.Write(*b);
        if (!s.ok()) break;
      }
      if (s.ok()) s = sink.Flush().status();
      if (s.ok() || !s.IsRetriable()) return s;
    }
    return s;
  }

  SqlRows Query(const std::string& sql) const { return sql_.Query(sql); }
  std::string Value(const std::string& sql) const { return sql_.QueryValue(sql); }

  std::string db_;
  itest::PgClient sql_;
  std::vector<std::unique_ptr<core::Sink>> sinks_;
};


// Rows from..to-1 of a two-column (id, v) table as `op` events, ending at `checkpoint`.
inline core::EventBatch NumberedRows(const core::TableSchemaPtr& schema, Op op, int from, int to,
                              std::string checkpoint) {
  core::EventBatch b;
  for (int i = from; i < to; ++i) {
    Event(b, op, schema, {}, {std::to_string(i), "v" + std::to_string(i)});
  }
  b.set_checkpoint({std::move(checkpoint)});
  return b;
}

// The table most scenarios use: items(id bigint key, v text).
inline core::TableSchemaPtr Items() {
  return Schema("public", "items",
                {Col("id", LogicalType::kInt64, "bigint", 0, 0, 0, false),
                 Col("v", LogicalType::kString, "text")},
                {0});
}

}  // namespace sluice::sinks::pg_sink_itest
