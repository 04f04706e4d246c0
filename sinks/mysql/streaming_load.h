// StreamingLoad: one LOAD DATA LOCAL INFILE whose rows are still being rendered while the server
// loads the first ones.
//
// Why: LOAD DATA LOCAL is a pull protocol. The server asks for the "file", and libmariadb reads
// it through the connection's local-infile handler inside mysql_real_query(), on the calling
// thread. Run on the sink thread, the statement can only start once every row of the load is
// rendered, and the sink renders nothing while the server loads: the two take turns, and the
// server idles while the sink turns the next batches into text. Here the statement runs on a
// thread of its own and the handler hands the server each piece as the sink appends it, so
// the server loads rows while the sink renders the next ones (and the source reads on).
//
// Pieces are borrowed: their bytes stay with the caller, unchanged, until Finish() or Abort()
// returns (the caller keeps them anyway, to write the rows again as INSERTs when the load
// comes back with warnings). A piece must end at a row boundary, so that an aborted load never
// hands the server half a line.
//
// Serving files: the handler serves kLoadDataFile while a load is open and refuses any other
// name, or any request outside a load, so a server can never read a file of this machine.
//
// Lifecycle: Start() -> Append()* -> Finish() or Abort(), then Start() again. While a load is
// open nobody else may use the connection (the statement runs on it). The destructor aborts an
// open load.
// Thread-safety: Start/Append/Finish/Abort from one thread (the sink thread); the handler runs
// on the load's thread and meets them under `mu_`.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

struct st_mysql;  // MYSQL of libmariadb (mysql.h)

namespace sluice::sinks::mysql_sink {

class StreamingLoad {
 public:
  // What the statement returned, read by Finish()'s caller after the thread ended.
  struct Outcome {
    bool failed = false;        // mysql_errno(conn) holds the error (the connection's own)
    unsigned int warnings = 0;  // the statement's warning count when it succeeded
    std::string exception;      // an exception that escaped the client library (not expected)
  };

  StreamingLoad() = default;
  ~StreamingLoad();
  StreamingLoad(const StreamingLoad&) = delete;
  StreamingLoad& operator=(const StreamingLoad&) = delete;

  // Registers the local-infile handler on `conn` (once per connection).
  void Attach(st_mysql* conn);

  // Starts `sql` (a LOAD DATA LOCAL INFILE of kLoadDataFile) on `conn` on the load's thread.
  // The server gets rows as they are appended.
  void Start(st_mysql* conn, std::string sql);
  bool open() const { return thread_.joinable(); }
  // Hands over `piece` (whole rows); its bytes must stay valid until Finish()/Abort() returns.
  void Append(std::string_view piece);
  // Ends the file and waits for the statement's reply.
  Outcome Finish();
  // Ends the load early: the handler reports a read error, so the statement stops with an error
  // (rows it loaded so far stay in the open transaction, which the caller rolls back).
  void Abort();

 private:
  static int Init(void** ptr, const char* file, void* userdata);
  static int Read(void* ptr, char* buf, unsigned int len);
  static void End(void* ptr);
  static int Error(void* ptr, char* buf, unsigned int len);
  Outcome Join();

  std::mutex mu_;
  std::condition_variable more_;
  std::vector<std::string_view> pieces_;  // guarded by mu_
  size_t piece_ = 0;                      // the piece the server reads next, and where in it
  size_t offset_ = 0;
  bool active_ = false;   // a load is open: the handler serves kLoadDataFile
  bool closed_ = false;   // no more pieces: the file ends after the last one
  bool aborted_ = false;  // the file ends with a read error
  bool refused_ = false;  // the server asked for something else (handler's own state)

  std::thread thread_;
  Outcome outcome_;  // written by the thread, read after joining it
};

}  // namespace sluice::sinks::mysql_sink
