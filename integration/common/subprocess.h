// Running programs (sluice, psql, mariadb, kcat) as child processes with captured output.
#ifndef SLUICE_INTEGRATION_COMMON_SUBPROCESS_H_
#define SLUICE_INTEGRATION_COMMON_SUBPROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sluice::itest {

// How a child process ended.
struct ExitStatus {
  int exit_code = -1;  // meaningful when signal == 0
  int signal = 0;      // the signal that ended the process, 0 when it exited

  bool Success() const { return signal == 0 && exit_code == 0; }
  // "exit code 3" or "killed by signal 9 (Killed)".
  std::string Describe() const;
};

struct ProcessOptions {
  // argv[0] is looked up in PATH unless it contains a '/'.
  std::vector<std::string> argv;
  // Added to (or replacing values of) the inherited environment.
  std::map<std::string, std::string> env;
  std::vector<std::string> unset_env;
  // stdin is read from this file; empty means /dev/null.
  std::filesystem::path stdin_path;
  // stdout/stderr are written to these files (truncated); empty means a temporary file that
  // is removed with the Subprocess.
  std::filesystem::path stdout_path;
  std::filesystem::path stderr_path;
  std::filesystem::path working_dir;  // empty: the current directory
  // Linux delivers SIGKILL to the child when the *thread* that started it exits, so that a
  // crashed or timed-out test leaves nothing behind. Start long-lived children from the test's
  // own thread, or turn this off.
  bool kill_with_parent = true;
};

// One started child process. The constructor starts it (throws HarnessError when the program
// is missing or cannot be executed); the destructor kills it with SIGKILL and reaps it if it
// still runs. Movable, not copyable. Not thread-safe: use one object from one thread at a time.
class Subprocess {
 public:
  explicit Subprocess(ProcessOptions options);
  ~Subprocess();
  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  // The command line, for messages.
  std::string CommandLine() const;

  // True until the process has ended (reaps it when it has).
  bool IsRunning();
  // The exit status once the process ends within `timeout`, else nullopt (it keeps running).
  std::optional<ExitStatus> WaitFor(std::chrono::milliseconds timeout);
  // Blocks until the process ends.
  ExitStatus Wait();
  // Sends `signal` if the process still runs.
  void Signal(int signal);
  // SIGTERM, then SIGKILL if it has not ended after `grace`; returns how it ended.
  ExitStatus Stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // SIGKILL (kill -9) and reap.
  ExitStatus Kill();

  const std::filesystem::path& stdout_path() const { return stdout_path_; }
  const std::filesystem::path& stderr_path() const { return stderr_path_; }
  // Everything written so far.
  std::string Stdout() const;
  std::string Stderr() const;

 private:
  void Release();

  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
  std::filesystem::path stdout_path_;
  std::filesystem::path stderr_path_;
  std::vector<std::filesystem::path> owned_files_;
};

struct RunOptions {
  std::string stdin_data;  // written to a temporary file that becomes stdin
  std::chrono::milliseconds timeout = std::chrono::seconds(120);
  std::map<std::string, std::string> env;
  std::vector<std::string> unset_env;
  std::filesystem::path working_dir;
};

struct CommandResult {
  ExitStatus status;
  std::string out;
  std::string err;
  bool timed_out = false;  // the process was killed after RunOptions::timeout

  bool Success() const { return !timed_out && status.Success(); }
  // "`cmd` failed: exit code 1; stderr: ..." for error messages.
  std::string Describe(const std::vector<std::string>& argv) const;
};

// Runs a program to completion (SIGKILL after the timeout) and returns its output. Throws
// HarnessError only when the program cannot be started. Thread-safe.
CommandResult RunCommand(const std::vector<std::string>& argv, const RunOptions& options = {});

// Reads a whole file ("" when it does not exist).
std::string ReadFile(const std::filesystem::path& path);
// The last `lines` lines of a file, for failure messages.
std::string TailFile(const std::filesystem::path& path, int lines = 30);
// Writes a file, replacing it. Throws HarnessError on failure.
void WriteFile(const std::filesystem::path& path, std::string_view contents);

}  // namespace sluice::itest

#endif  // SLUICE_INTEGRATION_COMMON_SUBPROCESS_H_
