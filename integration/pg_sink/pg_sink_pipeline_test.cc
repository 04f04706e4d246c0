// The PostgreSQL sink under the real core::Pipeline with a scripted source: a crash at every
// step of the commit protocol, then a restart that resumes from the position stored in the
// target (no state store). A keyless append-only table makes any duplicate visible: exactly-once
// means every event is in the target exactly once.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "core/logging.h"
#include "core/metrics.h"
#include "core/pipeline.h"
#include "integration/common/itest.h"
#include "sinks/postgres/postgres_sink.h"
#include "tests/common/schema_builders.h"

namespace sluice::sinks {
namespace {

using core::Op;
using namespace std::chrono_literals;

using sluice::testing::Col;

core::TableSchemaPtr Table(std::string name, bool keyed) {
  auto s = std::make_shared<core::TableSchema>();
  s->id = {"public", std::move(name)};
  s->columns = {Col("id", core::LogicalType::kInt64, "bigint"),
                Col("v", core::LogicalType::kString, "text")};
  if (keyed) s->key = {0};
  return s;
}

// Events 0..total-1 in transactions of 5: the first `snapshot` are snapshot rows of `snap`; the
// rest alternate an append to the keyless `log` and an upsert of key (i % 37) in `kv`.
// Checkpoint = index of the last event of the transaction; Start(resume) continues after it.
class ScriptedSource : public core::Source {
 public:
  ScriptedSource(int total, int snapshot) : total_(total), snapshot_(snapshot) {}

  core::Status Start(const std::optional<core::SourcePosition>& resume) override {
    next_ = resume ? std::stoi(resume->value) + 1 : 0;
    return core::Status::Ok();
  }
  core::Result<core::PollStatus> Poll(core::EventBatch& batch,
                                      const core::PollLimits& limits) override {
    while (next_ < total_ && batch.size() + 5 <= limits.max_events) {
      uint32_t txn = batch.AddTxn({});
      int end = std::min(next_ + 5, total_);
      for (; next_ < end; ++next_) {
        uint32_t row = batch.BeginRow();
        batch.AppendValue(std::to_string(next_ < snapshot_ || next_ % 2 == 0 ? next_ : next_ % 37));
        batch.AppendValue("v" + std::to_string(next_));
        batch.EndRow();
        if (next_ < snapshot_) {
          batch.AddEvent({Op::kRead, core::kNoRow, row, txn, snap_});
        } else if (next_ % 2 == 0) {
          batch.AddEvent({Op::kCreate, core::kNoRow, row, txn, log_});
        } else {
          batch.AddEvent({Op::kUpdate, core::kNoRow, row, txn, kv_});
        }
      }
      batch.set_checkpoint({std::to_string(next_ - 1)});
    }
    return next_ >= total_ ? core::PollStatus::kFinished : core::PollStatus::kHaveMore;
  }
  void Acknowledge(const core::SourcePosition&) override {}
  void RequestStop() override {}
  void Close() override {}
  core::Status Check() override { return core::Status::Ok(); }

 private:
  int total_;
  int snapshot_;
  int next_ = 0;
  core::TableSchemaPtr snap_ = Table("snap", true);
  core::TableSchemaPtr log_ = Table("log", false);
  core::TableSchemaPtr kv_ = Table("kv", true);
};

class PgSinkPipelineTest : public ::testing::TestWithParam<core::PipelineOptions::Step> {
 protected:
  void SetUp() override { db_ = itest::CreateScratchPgDatabase("pg_sink_pipe"); }
  void TearDown() override {
    itest::DropPgDatabase(db_);
  }

  std::unique_ptr<core::Pipeline> MakePipeline(core::PipelineOptions options) {
    core::ConnectorContext context;
    context.config = core::ConnectorConfig(
        "pipe", {{"connector.class", "postgres"},
                 {"sink.type", "postgres"},
                 {"sink.url", itest::PgClient(db_).Url()}});
    context.logger = core::ConnectorLogger("pipe");
    auto sink = MakePostgresSink(context);
    if (!sink.ok()) throw itest::HarnessError(sink.status().ToString());
    return std::make_unique<core::Pipeline>(
        "pipe", std::make_unique<ScriptedSource>(kTotal, kSnapshot), std::move(*sink), nullptr,
        std::move(options), &metrics_, nullptr);
  }

  static core::PipelineOptions Options() {
    core::PipelineOptions o;
    o.batch_events = 200;
    o.batch_wait = 5ms;
    o.poll.max_events = 60;
    o.retry_initial = 1ms;
    o.retry_max_backoff = 20ms;
    o.retry_max_total = 20s;
    return o;
  }

  static constexpr int kTotal = 4000;
  static constexpr int kSnapshot = 1500;
  std::string db_;
  core::MetricsRegistry metrics_;
};

TEST_P(PgSinkPipelineTest, CrashAtEveryStepThenResumeExactlyOnce) {
  const auto crash_step = GetParam();
  int crashes = 0;
  for (int attempt = 0; attempt < 4; ++attempt) {
    core::PipelineOptions o = Options();
    auto hits = std::make_shared<std::atomic<int>>(0);
    o.fault_hook = [crash_step, hits](core::PipelineOptions::Step step) {
      if (step == crash_step && ++*hits == 4) return core::InternalError("simulated crash");
      return core::Status::Ok();
    };
    auto p = MakePipeline(o);
    p->Start();
    core::Status s = p->Wait();
    if (s.ok()) break;
    ASSERT_EQ(s.message(), "simulated crash") << s.ToString();
    ++crashes;
  }
  EXPECT_GT(crashes, 0);
  auto p = MakePipeline(Options());
  p->Start();
  core::Status s = p->Wait();
  ASSERT_TRUE(s.ok()) << s.ToString();

  itest::PgClient sql(db_);
  // The expected target, computed by the test in SQL.
  sql.Exec(
      "CREATE TABLE ref_snap AS SELECT i::bigint AS id, 'v' || i AS v FROM generate_series(0, " +
      std::to_string(kSnapshot - 1) + ") i;"
      "CREATE TABLE ref_log AS SELECT i::bigint AS id, 'v' || i AS v FROM generate_series(" +
      std::to_string(kSnapshot) + ", " + std::to_string(kTotal - 1) + ") i WHERE i % 2 = 0;"
      "CREATE TABLE ref_kv AS SELECT DISTINCT ON (i % 37) (i % 37)::bigint AS id, 'v' || i AS v "
      "FROM generate_series(" + std::to_string(kSnapshot) + ", " + std::to_string(kTotal - 1) +
      ") i WHERE i % 2 = 1 ORDER BY i % 37, i DESC");
  itest::ExpectTablesEqual(sql.Query("SELECT * FROM ref_snap"), sql.Query("SELECT * FROM snap"));
  itest::ExpectTablesEqual(sql.Query("SELECT * FROM ref_log"), sql.Query("SELECT * FROM log"));
  itest::ExpectTablesEqual(sql.Query("SELECT * FROM ref_kv"), sql.Query("SELECT * FROM kv"));
  EXPECT_EQ(sql.QueryValue("SELECT position FROM sluice_offsets WHERE connector = 'pipe'"),
            std::to_string(kTotal - 1));
}

INSTANTIATE_TEST_SUITE_P(EveryStep, PgSinkPipelineTest,
                         ::testing::Values(core::PipelineOptions::Step::kAfterWrite,
                                           core::PipelineOptions::Step::kAfterFlush,
                                           core::PipelineOptions::Step::kAfterSave,
                                           core::PipelineOptions::Step::kAfterAcknowledge));

}  // namespace
}  // namespace sluice::sinks
