// Test doubles for the service layer: a FakeSource that emits rows of one table (reporting
// snapshot progress) and then either finishes (snapshot.mode=initial_only) or idles until
// stopped, a MemorySink, and a builder that makes them, with failures on demand.
//
// Thread-safety: FakeWorld is shared by the test and the pipelines' threads (atomics + mutex).
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/plugins.h"
#include "core/clock.h"
#include "core/progress.h"
#include "core/sink.h"
#include "core/source.h"
#include "tests/common/schema_builders.h"

namespace sluice::testing {

// What the fakes do and saw, shared across every connector built by FakeBuilder().
struct FakeWorld {
  std::atomic<int> rows_per_run{50};
  // The next `fail_builds` builds fail with `build_error`.
  std::atomic<int> fail_builds{0};
  core::Status build_error = core::UnavailableError("target down");
  // Sources fail at Start with this (non-retriable) error while set.
  std::atomic<bool> fail_start{false};
  // Sources wait in Start while set (a slow slot creation), until cleared or asked to stop.
  std::atomic<bool> hold_start{false};
  std::atomic<int> starts{0};
  std::atomic<int> rows_written{0};
  std::mutex mu;
  std::vector<std::string> resumed_from;  // "" for a fresh start
};

inline core::TableSchemaPtr FakeSchema() {
  return sluice::testing::MakeSchema(
      "public", "items", {sluice::testing::Col("id", core::LogicalType::kInt64, "bigint", 0, 0, 0, false)});
}

class FakeSource : public core::Source {
 public:
  FakeSource(FakeWorld* world, bool one_shot, core::ProgressTracker* progress)
      : world_(world), one_shot_(one_shot), progress_(progress), schema_(FakeSchema()) {}

  core::Status Start(const std::optional<core::SourcePosition>& resume) override {
    ++world_->starts;
    {
      std::lock_guard lock(world_->mu);
      world_->resumed_from.push_back(resume ? resume->value : "");
    }
    while (world_->hold_start && !stop_) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (world_->fail_start) return core::FailedPreconditionError("wal_level is not logical");
    next_ = resume ? std::stoi(resume->value) + 1 : 0;
    total_ = world_->rows_per_run;
    if (progress_) {
      progress_->SetPhase("snapshot");
      progress_->AddTable("public.items", total_);
      // A source-specific status object (as the PostgreSQL source's "slot"); "name" may not
      // replace the status's own field.
      progress_->SetDetail("slot", R"({"name":"fake_slot","retained_bytes":42})");
      progress_->SetDetail("name", R"({"not":"shown"})");
      progress_->SetDetail("broken", "{not json");
    }
    return core::Status::Ok();
  }

  core::Result<core::PollStatus> Poll(core::EventBatch& batch,
                                      const core::PollLimits&) override {
    if (next_ >= total_) {
      if (progress_ && !marked_done_) {
        progress_->MarkDone("public.items");
        progress_->SetPhase(one_shot_ ? "finished" : "streaming");
        marked_done_ = true;
      }
      if (one_shot_) return core::PollStatus::kFinished;
      for (int i = 0; i < 10 && !stop_; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      return core::PollStatus::kIdle;
    }
    uint32_t txn = batch.AddTxn(core::TxnInfo{core::NowUnixMs(), true, false, 1, 0, "", 0, ""});
    int end = std::min(next_ + 10, total_);
    for (; next_ < end; ++next_) {
      uint32_t row = batch.BeginRow();
      batch.AppendValue(std::to_string(next_));
      batch.EndRow();
      batch.AddEvent({core::Op::kRead, core::kNoRow, row, txn, schema_});
    }
    batch.set_checkpoint({std::to_string(next_ - 1)});
    if (progress_) progress_->AddRows("public.items", 10, 80);
    return core::PollStatus::kHaveMore;
  }

  void Acknowledge(const core::SourcePosition&) override {}
  void RequestStop() override { stop_ = true; }
  void Close() override {}
  core::Status Check() override { return core::Status::Ok(); }

 private:
  FakeWorld* world_;
  bool one_shot_;
  core::ProgressTracker* progress_;
  core::TableSchemaPtr schema_;
  int next_ = 0;
  int total_ = 0;
  bool marked_done_ = false;
  std::atomic<bool> stop_{false};
};

class MemorySink : public core::Sink {
 public:
  explicit MemorySink(FakeWorld* world) : world_(world) {}
  core::Status Open() override { return core::Status::Ok(); }
  core::Result<std::optional<core::SourcePosition>> LoadCommittedPosition() override {
    return std::optional<core::SourcePosition>();
  }
  core::Status Write(const core::EventBatch& batch) override {
    world_->rows_written += static_cast<int>(batch.size());
    if (!batch.checkpoint().empty()) last_ = batch.checkpoint();
    return core::Status::Ok();
  }
  core::Result<std::optional<core::SourcePosition>> Flush() override {
    auto out = last_;
    last_.reset();
    return out;
  }
  core::Status Reset() override { return core::Status::Ok(); }
  core::Status Check() override { return core::Status::Ok(); }
  void Close() override {}

 private:
  FakeWorld* world_;
  std::optional<core::SourcePosition> last_;
};

inline api::ConnectorBuilder FakeBuilder(FakeWorld* world) {
  return [world](const core::ConnectorConfig& config, core::MetricsRegistry*,
                 core::ProgressTracker* progress) -> core::Result<api::BuiltConnector> {
    if (world->fail_builds > 0) {
      --world->fail_builds;
      return world->build_error;
    }
    api::BuiltConnector built;
    built.source = std::make_unique<FakeSource>(
        world, config.Get("snapshot.mode") == "initial_only", progress);
    built.sink = std::make_unique<MemorySink>(world);
    built.options.batch_wait = std::chrono::milliseconds(20);
    built.options.poll.max_wait = std::chrono::milliseconds(20);
    built.options.retry_max_total = std::chrono::milliseconds(100);
    return built;
  };
}

}  // namespace sluice::testing
