#include "api/incremental_signal_file.h"

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include <spdlog/spdlog.h>

namespace sluice::api {
namespace {

constexpr std::chrono::milliseconds kPollInterval{500};

}  // namespace

IncrementalSignalFile::IncrementalSignalFile(std::string path,
                                             std::shared_ptr<core::IncrementalSnapshots> snapshots,
                                             std::shared_ptr<spdlog::logger> logger)
    : path_(std::move(path)), snapshots_(std::move(snapshots)), logger_(std::move(logger)) {
  thread_ = std::jthread([this](std::stop_token stop) { Loop(stop); });
}

IncrementalSignalFile::~IncrementalSignalFile() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

void IncrementalSignalFile::Loop(std::stop_token stop) {
  std::mutex mu;
  std::condition_variable_any cv;
  while (!stop.stop_requested()) {
    try {
      Take();
    } catch (const std::exception& e) {
      logger_->error("snapshot signal file {}: {}", path_, e.what());
    }
    std::unique_lock lock(mu);
    cv.wait_for(lock, stop, kPollInterval, [] { return false; });
  }
}

void IncrementalSignalFile::Take() {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path_, ec)) return;
  // Claimed by renaming first: a writer still writing keeps its own inode; we read what we took.
  const std::string taken = path_ + ".taken";
  fs::rename(path_, taken, ec);
  if (ec) return;
  std::ifstream in(taken, std::ios::binary);
  std::stringstream body;
  body << in.rdbuf();
  core::Status status;
  if (!snapshots_) {
    status = core::InvalidArgumentError("this connector's source has no incremental snapshots");
  } else {
    auto request = core::ParseIncrementalSnapshotRequest(body.str());
    status = request.ok() ? snapshots_->Request(*request) : request.status();
  }
  if (status.ok()) {
    logger_->info("incremental snapshot requested through {}: {}", path_, body.str());
    fs::rename(taken, path_ + ".accepted", ec);
    return;
  }
  logger_->error("incremental snapshot request in {} refused: {}", path_, status.message());
  std::ofstream(path_ + ".error") << status.message() << "\n";
  fs::remove(taken, ec);
}

}  // namespace sluice::api
