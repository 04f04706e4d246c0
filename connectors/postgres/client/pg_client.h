// The PostgreSQL client layer shared by the source (connectors/postgres) and the sink
// (sinks/postgres): RAII handles for libpq objects, quoting, the one SQLSTATE -> status code map,
// and the one COPY FROM STDIN end routine. It depends on core and libpq only; the sink links it
// without linking the source (arrows: sinks -> connectors/postgres/client -> core).
#pragma once

#include <libpq-fe.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::pg {

struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;

struct PgConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConnPtr = std::unique_ptr<PGconn, PgConnDeleter>;

// Quotes an SQL identifier: "a""b". Correct for any UTF-8 text; no server round trip.
std::string QuoteIdent(std::string_view ident);

// Quotes an SQL string literal so that it reads the same whatever the session's
// standard_conforming_strings says (no live connection needed): text without a backslash as
// '...' (quotes doubled; the form users see in the cleanup SQL we print), text with one as E'...'
// (quotes and backslashes doubled). Only for the SQL grammar: walsender commands take
// QuoteReplicationLiteral.
std::string QuoteLiteral(std::string_view text);

// Quotes a literal for a walsender (replication protocol) command such as START_REPLICATION's
// options: the replication grammar knows only '...' with '' for a quote (no E'', no escapes).
std::string QuoteReplicationLiteral(std::string_view text);

// The one SQLSTATE -> status code map, by what the caller should do:
//   a broken connection, no SQLSTATE (no server answer), class 08 (connection exception),
//   57P01..57P03 (admin/crash shutdown, cannot connect now)              -> kUnavailable (retry)
//   40001 serialization failure, 40P01 deadlock, 55P03 lock not available,
//   class 53 (insufficient resources: disk, memory, connections)          -> kAborted (replay)
//   57014 query cancelled (our own Cancel() or a statement_timeout)       -> kCancelled
//   42501 insufficient privilege and everything else (a rejected row, a
//   bad type, a missing table or column: classes 22, 23, 42)              -> kFailedPrecondition
// The pipeline retries kUnavailable and kAborted alike (Status::IsRetriable) on both the source
// and the sink side; everything else stops the pipeline with the server's message.
core::StatusCode ClassifySqlState(std::string_view sqlstate, bool connection_bad);

// The status for a failed result (or a broken connection when `res` is null):
// "<context>: <server message> (sqlstate XXXXX)", coded by ClassifySqlState. The SQLSTATE goes
// to *sqlstate when given.
core::Status StatusFromPg(PGconn* conn, const PGresult* res, std::string_view context,
                          std::string* sqlstate = nullptr);

// libpq's message for the connection, trailing newline removed.
std::string ConnectionMessage(PGconn* conn);

// Ends a COPY FROM STDIN (PQputCopyEnd) and drains every result: the first failure wins (the
// server's error with its SQLSTATE in *sqlstate, its context from `what(result)`, e.g. naming
// the rejected row); a connection lost without a result is kUnavailable. Once per COPY.
core::Status FinishCopyIn(PGconn* conn, const std::function<std::string(const PGresult*)>& what,
                          std::string* sqlstate = nullptr);

}  // namespace sluice::pg
