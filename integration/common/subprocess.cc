#include "integration/common/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "integration/common/temp_dir.h"
#include "integration/common/test_env.h"

extern char** environ;

namespace sluice::itest {
namespace {

ExitStatus FromWaitStatus(int raw) {
  ExitStatus status;
  if (WIFEXITED(raw)) {
    status.exit_code = WEXITSTATUS(raw);
  } else if (WIFSIGNALED(raw)) {
    status.signal = WTERMSIG(raw);
  }
  return status;
}

std::string ResolveProgram(const std::string& program) {
  if (program.find('/') != std::string::npos) {
    if (access(program.c_str(), X_OK) != 0) {
      throw HarnessError("cannot execute " + program + ": " + strerror(errno));
    }
    return program;
  }
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  throw HarnessError("program '" + program + "' not found in PATH: run make deps");
}

std::vector<std::string> BuildEnvironment(const ProcessOptions& options) {
  std::map<std::string, std::string> merged;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string text = *entry;
    auto eq = text.find('=');
    if (eq != std::string::npos) merged[text.substr(0, eq)] = text.substr(eq + 1);
  }
  for (const auto& name : options.unset_env) merged.erase(name);
  for (const auto& [name, value] : options.env) merged[name] = value;
  std::vector<std::string> result;
  result.reserve(merged.size());
  for (const auto& [name, value] : merged) result.push_back(name + "=" + value);
  return result;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> result;
  for (auto& text : strings) result.push_back(text.data());
  result.push_back(nullptr);
  return result;
}

}  // namespace

std::string ExitStatus::Describe() const {
  if (signal != 0) {
    const char* name = strsignal(signal);
    return "killed by signal " + std::to_string(signal) + " (" + (name ? name : "?") + ")";
  }
  return "exit code " + std::to_string(exit_code);
}

Subprocess::Subprocess(ProcessOptions options) : argv_(options.argv) {
  if (argv_.empty()) throw HarnessError("Subprocess: empty argv");
  std::string program = ResolveProgram(argv_[0]);

  stdout_path_ = options.stdout_path;
  if (stdout_path_.empty()) {
    stdout_path_ = MakeTempFile("stdout");
    owned_files_.push_back(stdout_path_);
  }
  stderr_path_ = options.stderr_path;
  if (stderr_path_.empty()) {
    stderr_path_ = MakeTempFile("stderr");
    owned_files_.push_back(stderr_path_);
  }
  std::string stdin_path = options.stdin_path.empty() ? "/dev/null" : options.stdin_path.string();
  std::string out_path = stdout_path_.string();
  std::string err_path = stderr_path_.string();
  std::string work_dir = options.working_dir.string();

  // Everything the child needs is prepared before fork(): only async-signal-safe calls follow.
  std::vector<std::string> args = argv_;
  std::vector<std::string> env = BuildEnvironment(options);
  std::vector<char*> c_args = CStrings(args);
  std::vector<char*> c_env = CStrings(env);

  int exec_pipe[2];
  if (pipe2(exec_pipe, O_CLOEXEC) != 0) {
    throw HarnessError(std::string("pipe2: ") + strerror(errno));
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int error = errno;
    close(exec_pipe[0]);
    close(exec_pipe[1]);
    throw HarnessError(std::string("fork: ") + strerror(error));
  }
  if (pid == 0) {
    int report_fd = exec_pipe[1];
    auto fail = [&](int step) {
      int report[2] = {step, errno};
      (void)!write(report_fd, report, sizeof(report));
      _exit(127);
    };
    if (options.kill_with_parent) {
      if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(1);
      if (getppid() != parent) _exit(127);
    }
    // Own process group: a signal meant for the child never hits the test runner.
    setpgid(0, 0);
    // Keep the report pipe at fd 3 and close every other inherited descriptor below, so that
    // the child holds no socket or file of the test (a database connection the test closes
    // must really close).
    if (report_fd != 3) {
      if (dup3(report_fd, 3, O_CLOEXEC) < 0) fail(7);
      report_fd = 3;
    }
    int in = open(stdin_path.c_str(), O_RDONLY);
    if (in < 0 || dup2(in, 0) < 0) fail(2);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || dup2(out, 1) < 0) fail(3);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err < 0 || dup2(err, 2) < 0) fail(4);
    if (!work_dir.empty() && chdir(work_dir.c_str()) != 0) fail(5);
    if (close_range(4, ~0U, 0) != 0) {
      for (int fd = 4; fd < 4096; ++fd) close(fd);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(program.c_str(), c_args.data(), c_env.data());
    fail(6);
  }
  close(exec_pipe[1]);
  int report[2] = {0, 0};
  ssize_t got;
  do {
    got = read(exec_pipe[0], report, sizeof(report));
  } while (got < 0 && errno == EINTR);
  close(exec_pipe[0]);
  pid_ = pid;
  if (got > 0) {
    int raw = 0;
    waitpid(pid, &raw, 0);
    pid_ = -1;
    static const char* const kSteps[] = {"",            "prctl", "open stdin", "open stdout",
                                         "open stderr", "chdir", "execve",     "dup3"};
    const char* step = report[0] >= 1 && report[0] <= 7 ? kSteps[report[0]] : "?";
    throw HarnessError("cannot start " + CommandLine() + ": " + step + ": " +
                       strerror(report[1]));
  }
}

Subprocess::~Subprocess() { Release(); }

void Subprocess::Release() {
  if (pid_ > 0 && !status_) {
    kill(pid_, SIGKILL);
    int raw = 0;
    while (waitpid(pid_, &raw, 0) < 0 && errno == EINTR) {
    }
  }
  std::error_code ignored;
  for (const auto& file : owned_files_) std::filesystem::remove(file, ignored);
  owned_files_.clear();
  pid_ = -1;
}

Subprocess::Subprocess(Subprocess&& other) noexcept
    : argv_(std::move(other.argv_)),
      pid_(std::exchange(other.pid_, -1)),
      status_(std::move(other.status_)),
      stdout_path_(std::move(other.stdout_path_)),
      stderr_path_(std::move(other.stderr_path_)),
      owned_files_(std::move(other.owned_files_)) {
  other.owned_files_.clear();
}

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  if (this != &other) {
    Release();
    argv_ = std::move(other.argv_);
    pid_ = std::exchange(other.pid_, -1);
    status_ = std::move(other.status_);
    stdout_path_ = std::move(other.stdout_path_);
    stderr_path_ = std::move(other.stderr_path_);
    owned_files_ = std::move(other.owned_files_);
    other.owned_files_.clear();
  }
  return *this;
}

std::string Subprocess::CommandLine() const {
  std::string line;
  for (const auto& arg : argv_) {
    if (!line.empty()) line += ' ';
    line += arg;
  }
  return line;
}

bool Subprocess::IsRunning() {
  if (status_ || pid_ <= 0) return false;
  int raw = 0;
  pid_t done = waitpid(pid_, &raw, WNOHANG);
  if (done == pid_) {
    status_ = FromWaitStatus(raw);
    return false;
  }
  return true;
}

std::optional<ExitStatus> Subprocess::WaitFor(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  while (IsRunning()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
  return status_;
}

ExitStatus Subprocess::Wait() {
  if (!status_ && pid_ > 0) {
    int raw = 0;
    pid_t done;
    do {
      done = waitpid(pid_, &raw, 0);
    } while (done < 0 && errno == EINTR);
    status_ = done == pid_ ? FromWaitStatus(raw) : ExitStatus{};
  }
  return status_.value_or(ExitStatus{});
}

void Subprocess::Signal(int signal) {
  if (IsRunning()) kill(pid_, signal);
}

ExitStatus Subprocess::Stop(std::chrono::milliseconds grace) {
  Signal(SIGTERM);
  if (auto status = WaitFor(grace)) return *status;
  return Kill();
}

ExitStatus Subprocess::Kill() {
  Signal(SIGKILL);
  return Wait();
}

std::string Subprocess::Stdout() const { return ReadFile(stdout_path_); }
std::string Subprocess::Stderr() const { return ReadFile(stderr_path_); }

std::string CommandResult::Describe(const std::vector<std::string>& argv) const {
  std::string line;
  for (const auto& arg : argv) {
    if (!line.empty()) line += ' ';
    line += arg.size() > 200 ? arg.substr(0, 200) + "..." : arg;
  }
  std::string text = "`" + line + "` ";
  text += timed_out ? "timed out" : "failed: " + status.Describe();
  if (!err.empty()) text += "; stderr:\n" + err;
  return text;
}

CommandResult RunCommand(const std::vector<std::string>& argv, const RunOptions& options) {
  std::filesystem::path stdin_file;
  if (!options.stdin_data.empty()) {
    stdin_file = MakeTempFile("stdin");
    WriteFile(stdin_file, options.stdin_data);
  }
  struct RemoveOnExit {
    std::filesystem::path path;
    ~RemoveOnExit() {
      std::error_code ignored;
      if (!path.empty()) std::filesystem::remove(path, ignored);
    }
  } remove_stdin{stdin_file};

  Subprocess process(ProcessOptions{.argv = argv,
                                    .env = options.env,
                                    .unset_env = options.unset_env,
                                    .stdin_path = stdin_file,
                                    .working_dir = options.working_dir});
  CommandResult result;
  if (auto status = process.WaitFor(options.timeout)) {
    result.status = *status;
  } else {
    result.timed_out = true;
    result.status = process.Kill();
  }
  result.out = process.Stdout();
  result.err = process.Stderr();
  return result;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string TailFile(const std::filesystem::path& path, int lines) {
  std::string text = ReadFile(path);
  size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (int i = 0; i < lines && pos != std::string::npos && pos > 0; ++i) {
    pos = text.rfind('\n', pos - 1);
  }
  return pos == std::string::npos || pos == 0 ? text : text.substr(pos + 1);
}

void WriteFile(const std::filesystem::path& path, std::string_view contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  if (!out) throw HarnessError("cannot write " + path.string());
}

}  // namespace sluice::itest
