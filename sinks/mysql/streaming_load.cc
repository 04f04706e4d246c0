#include "sinks/mysql/streaming_load.h"

#include <mysql.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <utility>

#include "sinks/mysql/mysql_types.h"

namespace sluice::sinks::mysql_sink {

StreamingLoad::~StreamingLoad() { Abort(); }

void StreamingLoad::Attach(st_mysql* conn) {
  mysql_set_local_infile_handler(conn, &Init, &Read, &End, &Error, this);
}

void StreamingLoad::Start(st_mysql* conn, std::string sql) {
  Abort();  // never two at once; a caller that forgot Finish() loses that load, not the process
  {
    std::lock_guard lock(mu_);
    pieces_.clear();
    piece_ = offset_ = 0;
    active_ = true;
    closed_ = aborted_ = false;
  }
  outcome_ = Outcome{};
  thread_ = std::thread([this, conn, sql = std::move(sql)] {
    Outcome out;
    try {
      if (mysql_real_query(conn, sql.data(), sql.size()) != 0) {
        out.failed = true;
      } else if (MYSQL_RES* res = mysql_store_result(conn)) {
        mysql_free_result(res);
      } else if (mysql_errno(conn) != 0) {
        out.failed = true;
      }
      if (!out.failed) out.warnings = mysql_warning_count(conn);
    } catch (const std::exception& e) {
      out.failed = true;
      out.exception = e.what();
    } catch (...) {
      out.failed = true;
      out.exception = "unknown exception";
    }
    outcome_ = std::move(out);
  });
}

void StreamingLoad::Append(std::string_view piece) {
  if (piece.empty()) return;
  {
    std::lock_guard lock(mu_);
    pieces_.push_back(piece);
  }
  more_.notify_one();
}

StreamingLoad::Outcome StreamingLoad::Finish() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  more_.notify_one();
  return Join();
}

void StreamingLoad::Abort() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    aborted_ = true;
  }
  more_.notify_one();
  Join();
}

StreamingLoad::Outcome StreamingLoad::Join() {
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  active_ = false;
  pieces_.clear();
  return std::move(outcome_);
}

int StreamingLoad::Init(void** ptr, const char* file, void* userdata) {
  auto* self = static_cast<StreamingLoad*>(userdata);
  *ptr = self;
  std::lock_guard lock(self->mu_);
  self->refused_ = !self->active_ || file == nullptr || std::string_view(file) != kLoadDataFile;
  return self->refused_ ? 1 : 0;
}

// Called by libmariadb on the load's thread: the next bytes of the file, 0 at its end, -1 to
// end it with an error. Waits for the sink to append more while the load is open.
int StreamingLoad::Read(void* ptr, char* buf, unsigned int len) {
  auto* self = static_cast<StreamingLoad*>(ptr);
  std::unique_lock lock(self->mu_);
  self->more_.wait(lock, [self] {
    return self->aborted_ || self->closed_ || self->piece_ < self->pieces_.size();
  });
  if (self->aborted_) return -1;
  if (self->piece_ == self->pieces_.size()) return 0;  // closed, everything read
  std::string_view piece = self->pieces_[self->piece_];
  size_t n = std::min<size_t>(len, piece.size() - self->offset_);
  std::memcpy(buf, piece.data() + self->offset_, n);
  self->offset_ += n;
  if (self->offset_ == piece.size()) {
    ++self->piece_;
    self->offset_ = 0;
  }
  return static_cast<int>(n);
}

void StreamingLoad::End(void*) {}

int StreamingLoad::Error(void* ptr, char* buf, unsigned int len) {
  auto* self = static_cast<StreamingLoad*>(ptr);
  std::lock_guard lock(self->mu_);
  std::snprintf(buf, len, "%s",
                self->refused_   ? "sluice refuses LOAD DATA LOCAL INFILE requests it did not make"
                : self->aborted_ ? "LOAD DATA LOCAL INFILE aborted by sluice (the batch failed)"
                                 : "LOAD DATA LOCAL INFILE failed");
  return 2000;  // CR_UNKNOWN_ERROR
}

}  // namespace sluice::sinks::mysql_sink
