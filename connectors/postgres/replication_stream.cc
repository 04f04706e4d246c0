#include "connectors/postgres/replication_stream.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sluice::pg {
namespace {

// Wakeups while a backlog streams in. The walsender sends every pgoutput message on its own
// (a few hundred bytes); a reader that sleeps in poll() after each read is woken for each, and
// every such wakeup costs the walsender a cross-CPU wakeup — on a small machine most of the
// walsender's time, which bounds the whole stream. In bulk mode the socket's SO_RCVLOWAT makes
// the kernel wake the reader only once kBulkLowat bytes are queued, or at the latest after
// kBulkWait (poll timeout, then whatever is there is read). A wait that brings nothing means
// the stream is idle: the threshold goes back to one byte, so the next change wakes the reader
// at once. Added latency: at most kBulkWait, only while data is flowing.
constexpr int kBulkLowat = 64 * 1024;
constexpr int kBulkWaitMs = 2;

}  // namespace

PgReplicationStream::PgReplicationStream(std::unique_ptr<PgConnection> conn, std::string slot)
    : conn_(std::move(conn)), slot_(std::move(slot)) {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

PgReplicationStream::~PgReplicationStream() {
  buffer_.reset();
  if (wake_fd_ >= 0) close(wake_fd_);
}

core::Status PgReplicationStream::Start(const std::string& command) {
  PgResultPtr res(PQexec(conn_->raw(), command.c_str()));
  if (PQresultStatus(res.get()) != PGRES_COPY_BOTH) {
    return StatusFromPg(conn_->raw(), res.get(), "postgres START_REPLICATION on slot " + slot_);
  }
  return core::Status::Ok();
}

core::Result<bool> PgReplicationStream::TryRead(std::string_view& message) {
  buffer_.reset();
  char* buf = nullptr;
  int n = PQgetCopyData(conn_->raw(), &buf, 1);
  if (n > 0) {
    buffer_.reset(buf);
    message = std::string_view(buf, static_cast<size_t>(n));
    return true;
  }
  if (n == 0) return false;
  if (n == -1) {
    PgResultPtr res(PQgetResult(conn_->raw()));
    return core::UnavailableError("postgres replication stream of slot " + slot_ +
                                  " ended: " + conn_->LastError());
  }
  return core::UnavailableError("postgres replication connection of slot " + slot_ +
                                " lost: " + conn_->LastError());
}

core::Result<bool> PgReplicationStream::Wait(std::chrono::milliseconds timeout) {
  int timeout_ms = static_cast<int>(std::clamp<int64_t>(timeout.count(), 0, 1 << 30));
  if (bulk_) timeout_ms = std::min(timeout_ms, kBulkWaitMs);
  int fd = PQsocket(conn_->raw());
  pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  int r = ::poll(fds, 2, timeout_ms);
  if (r < 0 && errno != EINTR) {
    return core::UnavailableError("postgres replication connection of slot " + slot_ +
                                  ": poll failed: " + std::strerror(errno));
  }
  if (fds[1].revents & POLLIN) {  // a Wake(): drain the eventfd
    uint64_t count = 0;
    ssize_t ignored = read(wake_fd_, &count, sizeof(count));
    (void)ignored;
  }
  int queued = 0;
  if (ioctl(fd, FIONREAD, &queued) != 0) queued = 0;
  if (queued > 0 && !bulk_) {
    SetBulk(true);
  } else if (queued == 0 && bulk_ && !fds[0].revents) {
    SetBulk(false);  // a wait without data: idle
  }
  if (fds[0].revents || queued > 0) {
    if (PQconsumeInput(conn_->raw()) != 1) {
      return core::UnavailableError("postgres replication connection of slot " + slot_ +
                                    " lost: " + conn_->LastError());
    }
  }
  // In bulk mode a short wait ends with whatever is queued: that counts as data too.
  return r > 0 || queued > 0;
}

void PgReplicationStream::Wake() {
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    ssize_t ignored = write(wake_fd_, &one, sizeof(one));
    (void)ignored;
  }
}

core::Status PgReplicationStream::Send(std::string_view message) {
  if (PQputCopyData(conn_->raw(), message.data(), static_cast<int>(message.size())) != 1 ||
      PQflush(conn_->raw()) != 0) {
    return core::UnavailableError("postgres standby status update on slot " + slot_ + ": " +
                                  conn_->LastError());
  }
  return core::Status::Ok();
}

void PgReplicationStream::SetBulk(bool on) {
  int lowat = on ? kBulkLowat : 1;
  if (setsockopt(PQsocket(conn_->raw()), SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof(lowat)) == 0) {
    bulk_ = on;
  }
}

}  // namespace sluice::pg
