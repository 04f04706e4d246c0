#include "integration/common/sluice_process.h"

#include <utility>

#include "integration/common/test_env.h"

namespace sluice::itest {
namespace {

std::filesystem::path WriteConfig(const TempDir& dir, const nlohmann::json& config) {
  std::filesystem::path path = dir / "config.json";
  WriteFile(path, config.dump(2) + "\n");
  return path;
}

}  // namespace

SluiceProcess::SluiceProcess(TempDir dir, std::vector<std::string> args)
    : dir_(std::move(dir)), args_(std::move(args)) {}

SluiceProcess::~SluiceProcess() {
  if (process_) process_->Kill();
}

SluiceProcess SluiceProcess::Run(const nlohmann::json& config, std::vector<std::string> extra_args) {
  return StartWithConfig("run", config, std::move(extra_args));
}

SluiceProcess SluiceProcess::StartWithConfig(std::string_view command, const nlohmann::json& config,
                                             std::vector<std::string> extra_args) {
  TempDir dir("sluice");
  std::filesystem::path config_path = WriteConfig(dir, config);
  std::vector<std::string> args = {std::string(command), config_path.string()};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  SluiceProcess process(std::move(dir), std::move(args));
  process.config_path_ = config_path;
  process.Launch();
  return process;
}

SluiceProcess SluiceProcess::Start(std::vector<std::string> args) {
  SluiceProcess process(TempDir("sluice"), std::move(args));
  process.Launch();
  return process;
}

CommandResult SluiceProcess::RunToCompletion(std::string_view command, const nlohmann::json& config,
                                             std::chrono::milliseconds timeout,
                                             std::vector<std::string> extra_args) {
  TempDir dir("sluice");
  std::filesystem::path config_path = WriteConfig(dir, config);
  std::vector<std::string> argv = {TestEnv::SluiceBin().string(), std::string(command),
                                   config_path.string()};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  return RunCommand(argv, {.timeout = timeout, .working_dir = dir.path()});
}

void SluiceProcess::Launch() {
  ++generation_;
  std::vector<std::string> argv = {TestEnv::SluiceBin().string()};
  argv.insert(argv.end(), args_.begin(), args_.end());
  std::string suffix = "." + std::to_string(generation_) + ".log";
  process_.emplace(ProcessOptions{.argv = argv,
                                  .stdout_path = dir_ / ("stdout" + suffix),
                                  .stderr_path = dir_ / ("stderr" + suffix),
                                  .working_dir = dir_.path()});
}

ExitStatus SluiceProcess::Stop(std::chrono::milliseconds grace) { return process_->Stop(grace); }

void SluiceProcess::Restart() {
  if (process_ && process_->IsRunning()) {
    throw HarnessError("SluiceProcess::Restart: the previous run (pid " +
                       std::to_string(process_->pid()) + ") still runs; Stop() or Kill() it first");
  }
  Launch();
}

void SluiceProcess::RewriteConfig(const nlohmann::json& config) {
  if (config_path_.empty()) throw HarnessError("SluiceProcess::RewriteConfig: started without a config");
  WriteConfig(dir_, config);
}

std::string SluiceProcess::LogTail(int lines) const {
  return process_->CommandLine() + "\n--- stderr (" +
         process_->stderr_path().string() + ") ---\n" + TailFile(process_->stderr_path(), lines) +
         "--- stdout ---\n" + TailFile(process_->stdout_path(), lines);
}

::testing::AssertionResult RefusedAtStart(const nlohmann::json& config,
                                          const std::vector<std::string>& says,
                                          std::chrono::milliseconds timeout) {
  CommandResult r = SluiceProcess::RunToCompletion("run", config, timeout);
  const std::string text = r.out + r.err;
  if (r.timed_out) {
    return ::testing::AssertionFailure() << "still running (retrying?) after " << timeout.count()
                                         << " ms:\n" << text;
  }
  if (r.Success()) return ::testing::AssertionFailure() << "it succeeded:\n" << text;
  for (const std::string& phrase : says) {
    if (text.find(phrase) == std::string::npos) {
      return ::testing::AssertionFailure() << "the output does not say '" << phrase << "':\n"
                                           << text;
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace sluice::itest
