// Temporary files and directories, unique names and free ports for integration tests.
#ifndef SLUICE_INTEGRATION_COMMON_TEMP_DIR_H_
#define SLUICE_INTEGRATION_COMMON_TEMP_DIR_H_

#include <filesystem>
#include <string>
#include <string_view>

namespace sluice::itest {

// A fresh directory (mode 0755) under $TMPDIR or /tmp. The destructor removes it unless the
// running test has failed or SLUICE_ITEST_KEEP_TMP=1 is set; a kept directory's path is
// printed so that logs and configs can be inspected. Movable; not thread-safe.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "sluice-itest");
  ~TempDir();
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

 private:
  void Release();
  std::filesystem::path path_;
};

// Creates an empty file under $TMPDIR or /tmp and returns its path; the caller removes it.
// Thread-safe.
std::filesystem::path MakeTempFile(std::string_view prefix);

// A name unique across processes and calls: the lower-cased prefix (letters, digits and '_'
// kept, anything else becomes '_') plus a suffix, at most 60 characters. Valid unquoted as a
// PostgreSQL or MySQL identifier, a replication slot or a Kafka topic. Thread-safe.
std::string UniqueName(std::string_view prefix);

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0). Thread-safe.
int FreeLoopbackPort();

}  // namespace sluice::itest

#endif  // SLUICE_INTEGRATION_COMMON_TEMP_DIR_H_
