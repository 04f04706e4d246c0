#include "integration/common/temp_dir.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <random>
#include <utility>

#include "integration/common/test_env.h"

namespace sluice::itest {
namespace {

std::filesystem::path TempRoot() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? std::filesystem::path(tmp) : "/tmp";
}

std::string Sanitize(std::string_view prefix, size_t max_length) {
  std::string name;
  for (char c : prefix) {
    if (name.size() >= max_length) break;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    name += keep ? c : '_';
  }
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) name.insert(0, "t");
  return name;
}

}  // namespace

TempDir::TempDir(std::string_view prefix) {
  std::string pattern = (TempRoot() / (Sanitize(prefix, 40) + "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw HarnessError("mkdtemp " + pattern + ": " + strerror(errno));
  }
  path_ = pattern;
  std::filesystem::permissions(path_, std::filesystem::perms(0755));
}

TempDir::~TempDir() { Release(); }

void TempDir::Release() {
  if (path_.empty()) return;
  const char* keep = std::getenv("SLUICE_ITEST_KEEP_TMP");
  // A test body that throws unwinds (and releases its directories) before GoogleTest records
  // the failure: an exception in flight counts as a failure too.
  if ((keep != nullptr && std::string(keep) == "1") || ::testing::Test::HasFailure() ||
      std::uncaught_exceptions() > 0) {
    std::cerr << "[itest] kept " << path_.string() << " for inspection\n";
  } else {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  path_.clear();
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    Release();
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

std::filesystem::path MakeTempFile(std::string_view prefix) {
  std::string pattern = (TempRoot() / ("sluice-" + Sanitize(prefix, 40) + "-XXXXXX")).string();
  int fd = mkstemp(pattern.data());
  if (fd < 0) throw HarnessError("mkstemp " + pattern + ": " + strerror(errno));
  close(fd);
  return pattern;
}

std::string UniqueName(std::string_view prefix) {
  static std::atomic<unsigned> counter{0};
  static const unsigned salt = std::random_device{}() % 1000000u;
  std::string suffix = "_" + std::to_string(getpid()) + "_" + std::to_string(salt) + "_" +
                       std::to_string(counter.fetch_add(1));
  return Sanitize(prefix, 60 - suffix.size()) + suffix;
}

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw HarnessError(std::string("socket: ") + strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t length = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    int error = errno;
    close(fd);
    throw HarnessError(std::string("cannot find a free port: ") + strerror(error));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace sluice::itest
