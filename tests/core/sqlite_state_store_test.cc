// What only the SQLite store promises beyond the StateStore contract (that part is
// state_store_conformance_test.cc): crash safety of the file, refusal of a foreign file, and
// owner-only file modes.
#include "core/sqlite_state_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>

namespace sluice::core {
namespace {

class SqliteStateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-state-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "state.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(SqliteStateStoreTest, KilledWriterLeavesTheLastCommittedPosition) {
  // A child process saves increasing positions as fast as it can and is killed with SIGKILL
  // mid-way; the store must reopen cleanly with one of the positions it wrote.
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto s = SqliteStateStore::Open(path_);
    if (!s.ok()) ::_exit(3);
    for (int i = 0;; ++i) {
      if (!(*s)->SavePosition("a", {std::to_string(i)}).ok()) ::_exit(4);
      if (!(*s)->AppendStatus("a", {0, "RUNNING", std::string(100, 'x')}).ok()) ::_exit(5);
    }
  }
  ::usleep(300 * 1000);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
  auto s = SqliteStateStore::Open(path_);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto pos = (*s)->LoadPosition("a");
  ASSERT_TRUE(pos.ok()) << pos.status().ToString();
  ASSERT_TRUE(pos->has_value());
  EXPECT_GE(std::stoi((*pos)->value), 0);
}

// A position copy (SavePositionCopy: not waiting for the disk) survives a process crash: every
// copy the killed writer saw committed is there when the store is reopened.
TEST_F(SqliteStateStoreTest, KilledWriterKeepsEveryCopyItSawCommitted) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    auto s = SqliteStateStore::Open(path_);
    if (!s.ok()) ::_exit(3);
    for (uint32_t i = 0;; ++i) {
      if (!(*s)->SavePositionCopy("a", {std::to_string(i)}).ok()) ::_exit(4);
      if (i % 10 == 0 && !(*s)->SavePosition("b", {std::to_string(i)}).ok()) ::_exit(5);
      if (::write(fds[1], &i, sizeof i) != static_cast<ssize_t>(sizeof i)) ::_exit(6);
    }
  }
  ::close(fds[1]);
  uint32_t last = 0;
  bool any = false;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  while (std::chrono::steady_clock::now() < until) {
    uint32_t i = 0;
    if (::read(fds[0], &i, sizeof i) != static_cast<ssize_t>(sizeof i)) break;
    last = i;
    any = true;
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(fds[0]);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
  ASSERT_TRUE(any);
  auto s = SqliteStateStore::Open(path_);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto pos = (*s)->LoadPosition("a");
  ASSERT_TRUE(pos.ok() && pos->has_value());
  EXPECT_GE(std::stoul((*pos)->value), last);
}

TEST_F(SqliteStateStoreTest, RejectsAFileThatIsNotAStateStore) {
  {
    FILE* f = std::fopen(path_.c_str(), "w");
    std::fputs("this is not sqlite, just some text that is long enough to look like a header", f);
    std::fclose(f);
  }
  auto s = SqliteStateStore::Open(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("not a Sluice state file"), std::string::npos)
      << s.status().message();
}

// The state file holds configs with their passwords: created 0600 whatever the umask, its WAL
// and shared-memory files too.
mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

TEST_F(SqliteStateStoreTest, NewStateFileAndItsWalAreOwnerOnly) {
  mode_t old_umask = ::umask(022);
  {
    auto s = SqliteStateStore::Open(path_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_TRUE((*s)->PutConnector({"a", "{\"database.password\":\"pw\"}", "RUNNING", 0}).ok());
    EXPECT_EQ(ModeOf(path_), 0600u);
    ASSERT_TRUE(std::filesystem::exists(path_ + "-wal"));
    EXPECT_EQ(ModeOf(path_ + "-wal"), 0600u);
    ASSERT_TRUE(std::filesystem::exists(path_ + "-shm"));
    EXPECT_EQ(ModeOf(path_ + "-shm"), 0600u);
  }
  ::umask(old_umask);
}

TEST_F(SqliteStateStoreTest, ExistingReadableStateFileIsNarrowedTo0600) {
  {
    auto s = SqliteStateStore::Open(path_);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->PutConnector({"a", "{}", "RUNNING", 0}).ok());
  }
  ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
  // A left-over companion file from an older, laxer Sluice.
  { std::ofstream(path_ + "-journal") << ""; }
  ASSERT_EQ(::chmod((path_ + "-journal").c_str(), 0666), 0);
  auto s = SqliteStateStore::Open(path_);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(ModeOf(path_), 0600u);
  EXPECT_EQ(ModeOf(path_ + "-journal"), 0600u);
  auto list = (*s)->ListConnectors();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);  // the data is untouched
}

// A state path that is a symlink to a file not yet created: SQLite creates the target, and Open
// still leaves it owner-only.
TEST_F(SqliteStateStoreTest, StateFileBehindADanglingSymlinkIsOwnerOnly) {
  mode_t old_umask = ::umask(022);
  const std::string target = (dir_ / "real.db").string();
  std::filesystem::create_symlink(target, path_);
  {
    auto s = SqliteStateStore::Open(path_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_TRUE((*s)->PutConnector({"a", "{}", "RUNNING", 0}).ok());
    EXPECT_EQ(ModeOf(target), 0600u);
    ASSERT_TRUE(std::filesystem::exists(target + "-wal"));
    EXPECT_EQ(ModeOf(target + "-wal"), 0600u);
  }
  ::umask(old_umask);
}

}  // namespace
}  // namespace sluice::core
