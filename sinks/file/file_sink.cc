#include "sinks/file/file_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/clock.h"
#include "core/status.h"

namespace sluice::sinks {

namespace {

constexpr size_t kWriteThreshold = 1 << 20;

core::Status ErrnoError(const std::string& what) {
  int err = errno;
  std::string msg = what + ": " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) return core::ResourceExhaustedError(msg + "; free disk space");
  if (err == EACCES || err == EPERM || err == EROFS) return core::PermissionDeniedError(msg);
  if (err == EINTR || err == EAGAIN || err == EIO) return core::UnavailableError(msg);
  return core::InternalError(msg);
}

// File names keep letters, digits and "._-"; anything else is percent-encoded so that a table
// named "a/b" or ".." cannot escape the directory.
std::string SafeName(const std::string& name) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '_' || c == '-' || (c == '.' && !out.empty())) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::vector<core::ConfigKey> FileSinkConfigKeys() {
  core::ConfigKey fsync;
  fsync.name = "sink.file.fsync";
  fsync.type = core::ConfigType::kBool;
  fsync.default_value = "true";
  fsync.doc = "fdatasync on every flush (false trades durability for speed)";
  return {fsync, core::SkippedOperationsConfigKey()};
}

core::Result<std::unique_ptr<core::Sink>> MakeFileSink(const core::ConnectorContext& context) {
  const core::ConnectorConfig& config = context.config;
  std::string dir = config.Get("sink.url");
  if (dir.starts_with("file://")) dir = dir.substr(7);
  if (dir.empty()) {
    return core::InvalidArgumentError("sink.url must name the output directory for sink.type=file");
  }
  SLUICE_ASSIGN_OR_RETURN(bool fsync, config.GetBool("sink.file.fsync", true));
  core::EnvelopeOptions options;
  options.connector = config.connector_class() == "mysql" ? "mysql" : "postgresql";
  options.name = config.Get("topic.prefix", "sluice");
  options.modes = core::kSluiceText;  // sluice's own representation (Debezium's keys are refused)
  SLUICE_ASSIGN_OR_RETURN(std::string skipped_ops, core::SkippedOperationsFromConfig(config));
  return std::unique_ptr<core::Sink>(new FileSink(dir, options, fsync, std::move(skipped_ops), context.logger));
}

FileSink::FileSink(std::string directory, core::EnvelopeOptions options, bool fsync,
                   std::string skipped_ops, std::shared_ptr<spdlog::logger> logger)
    : directory_(std::move(directory)),
      options_(std::move(options)),
      fsync_(fsync),
      skipped_ops_(std::move(skipped_ops)),
      logger_(logger ? std::move(logger) : spdlog::default_logger()) {}

FileSink::~FileSink() { Close(); }

std::string FileSink::PathFor(const core::TableId& table) const {
  return directory_ + "/" + SafeName(table.schema) + "." + SafeName(table.table) + ".jsonl";
}

core::Status FileSink::Open() {
  std::error_code ec;
  std::filesystem::create_directories(directory_, ec);
  if (ec) {
    return core::FailedPreconditionError("file sink: cannot create directory '" + directory_ +
                                         "': " + ec.message());
  }
  return core::Status::Ok();
}

core::Result<std::optional<core::SourcePosition>> FileSink::LoadCommittedPosition() {
  return std::optional<core::SourcePosition>();
}

core::Result<FileSink::TableFile*> FileSink::FileFor(const core::TableId& table) {
  auto it = files_.find(table);
  if (it != files_.end()) return &it->second;
  TableFile f;
  f.path = PathFor(table);
  f.fd = ::open(f.path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (f.fd < 0) return ErrnoError("file sink: open " + f.path);
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return ErrnoError("file sink: stat " + f.path);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  // A crash mid-write can leave a partial last line: cut the file back to its last newline.
  if (size > 0) {
    uint64_t end = size;
    char buf[4096];
    uint64_t good = 0;
    while (end > 0) {
      uint64_t start = end > sizeof buf ? end - sizeof buf : 0;
      ssize_t n = ::pread(f.fd, buf, end - start, static_cast<off_t>(start));
      if (n < 0) return ErrnoError("file sink: read " + f.path);
      bool found = false;
      for (ssize_t i = n - 1; i >= 0; --i) {
        if (buf[i] == '\n') {
          good = start + static_cast<uint64_t>(i) + 1;
          found = true;
          break;
        }
      }
      if (found) break;
      end = start;
    }
    if (good != size) {
      if (::ftruncate(f.fd, static_cast<off_t>(good)) != 0) {
        return ErrnoError("file sink: truncate partial line of " + f.path);
      }
      size = good;
    }
  }
  f.durable_size = f.written_size = size;
  if (::lseek(f.fd, static_cast<off_t>(size), SEEK_SET) < 0) return ErrnoError("file sink: seek " + f.path);
  // Make the new file's directory entry durable too.
  int dfd = ::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    if (fsync_) ::fsync(dfd);
    ::close(dfd);
  }
  return &files_.emplace(table, std::move(f)).first->second;
}

core::Status FileSink::WriteBuffer(TableFile& f) {
  size_t done = 0;
  while (done < f.buffer.size()) {
    ssize_t n = ::write(f.fd, f.buffer.data() + done, f.buffer.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("file sink: write " + f.path);
    }
    done += static_cast<size_t>(n);
  }
  f.written_size += f.buffer.size();
  f.buffer.clear();
  f.dirty = true;
  return core::Status::Ok();
}

core::Status FileSink::WriteMessages(const core::EventBatch& batch, size_t& next,
                                     size_t before_event, int64_t now_ns) {
  const auto& messages = batch.logical_messages();
  if (next >= messages.size()) return core::Status::Ok();
  SLUICE_ASSIGN_OR_RETURN(TableFile * file, FileFor(core::TableId{options_.name, "message"}));
  while (next < messages.size() && messages[next].event_index <= before_event) {
    core::AppendLogicalMessageValueJson(file->buffer, batch, messages[next], options_, now_ns);
    file->buffer += '\n';
    ++next;
  }
  if (file->buffer.size() >= kWriteThreshold) SLUICE_RETURN_IF_ERROR(WriteBuffer(*file));
  return core::Status::Ok();
}

core::Status FileSink::Write(const core::EventBatch& batch) {
  int64_t now_ns = core::EnvelopeNowNs();
  const core::TableSchema* last_schema = nullptr;
  TableFile* file = nullptr;
  size_t next_message = 0;
  for (size_t i = 0; i < batch.events().size(); ++i) {
    const core::ChangeEvent& event = batch.events()[i];
    SLUICE_RETURN_IF_ERROR(WriteMessages(batch, next_message, i, now_ns));
    if (core::SkipsOperation(skipped_ops_, event.op)) {
      std::string warning = core::SkippedSnapshotTruncateWarning(batch, event);
      if (!warning.empty()) logger_->warn("file sink: {}", warning);
      continue;
    }
    if (event.table.get() != last_schema) {
      SLUICE_ASSIGN_OR_RETURN(file, FileFor(event.table->id));
      last_schema = event.table.get();
    }
    size_t mark = file->buffer.size();
    if (!core::AppendEnvelopeJson(file->buffer, batch, event, options_, now_ns)) {
      file->buffer.resize(mark);  // never write a value other than the source's
      return core::EnvelopeValueError(batch, event, options_.modes).WithContext("file sink");
    }
    file->buffer += '\n';
    if (file->buffer.size() >= kWriteThreshold) SLUICE_RETURN_IF_ERROR(WriteBuffer(*file));
  }
  SLUICE_RETURN_IF_ERROR(WriteMessages(batch, next_message, batch.events().size(), now_ns));
  if (!batch.checkpoint().empty()) pending_checkpoint_ = batch.checkpoint();
  return core::Status::Ok();
}

core::Result<std::optional<core::SourcePosition>> FileSink::Flush() {
  for (auto& [table, f] : files_) {
    if (!f.buffer.empty()) SLUICE_RETURN_IF_ERROR(WriteBuffer(f));
    if (f.dirty) {
      if (fsync_ && ::fdatasync(f.fd) != 0) return ErrnoError("file sink: fdatasync " + f.path);
      f.dirty = false;
    }
    f.durable_size = f.written_size;
  }
  std::optional<core::SourcePosition> out = std::move(pending_checkpoint_);
  pending_checkpoint_.reset();
  return out;
}

core::Status FileSink::Reset() {
  pending_checkpoint_.reset();
  for (auto& [table, f] : files_) {
    f.buffer.clear();
    if (f.written_size != f.durable_size) {
      if (::ftruncate(f.fd, static_cast<off_t>(f.durable_size)) != 0) {
        return ErrnoError("file sink: truncate " + f.path);
      }
      ::lseek(f.fd, static_cast<off_t>(f.durable_size), SEEK_SET);
      f.written_size = f.durable_size;
    }
  }
  return core::Status::Ok();
}

core::Status FileSink::Check() {
  std::error_code ec;
  std::filesystem::path dir(directory_);
  std::filesystem::path probe_dir = dir;
  while (!probe_dir.empty() && !std::filesystem::exists(probe_dir, ec)) probe_dir = probe_dir.parent_path();
  if (probe_dir.empty()) probe_dir = ".";
  if (::access(probe_dir.c_str(), W_OK) != 0) {
    return core::PermissionDeniedError("file sink: directory '" + probe_dir.string() +
                                       "' is not writable");
  }
  return core::Status::Ok();
}

void FileSink::Close() {
  for (auto& [table, f] : files_) {
    if (f.fd >= 0) ::close(f.fd);
    f.fd = -1;
  }
  files_.clear();
}

}  // namespace sluice::sinks
