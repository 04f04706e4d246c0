#include "connectors/postgres/verify_side.h"

#include <libpq-fe.h>

#include "core/parse_number.h"

namespace sluice::pg {

core::Result<ConnectionParams> ParamsFromUrl(const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (options == nullptr) {
    std::string message = error != nullptr ? error : "out of memory";
    if (error != nullptr) PQfreemem(error);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return core::InvalidArgumentError("sink.url is not a PostgreSQL connection string: " + message);
  }
  ConnectionParams params;
  params.application_name = "sluice_verify";
  core::Status status;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    std::string key = o->keyword, val = o->val;
    if (key == "host" || key == "hostaddr") params.host = val;
    if (key == "user") params.user = val;
    if (key == "password") params.password = val;
    if (key == "dbname") params.dbname = val;
    if (key == "sslmode") params.sslmode = val;
    if (key == "sslrootcert") params.sslrootcert = val;
    if (key == "sslcert") params.sslcert = val;
    if (key == "sslkey") params.sslkey = val;
    if (key == "sslpassword") params.sslpassword = val;
    if (key == "port") {
      auto port = core::ParseNumber<int>(val, "sink.url port");
      if (!port.ok()) status = port.status();
      else params.port = *port;
    }
  }
  PQconninfoFree(options);
  if (!status.ok()) return status;
  if (params.dbname.empty()) params.dbname = params.user;
  return params;
}

PgVerifySide::PgVerifySide(ConnectionParams params, core::TableFilter filter)
    : params_(std::move(params)), filter_(std::move(filter)) {}

core::Status PgVerifySide::Connect() {
  SLUICE_RETURN_IF_ERROR(conn_.Connect(params_, false));
  types_ = std::make_unique<TypeResolver>(&conn_);
  return core::Status::Ok();
}

core::Result<std::vector<core::TableId>> PgVerifySide::ListTables() {
  SLUICE_ASSIGN_OR_RETURN(auto entries, ListCapturedTables(conn_, filter_));
  std::vector<core::TableId> ids;
  for (const auto& e : entries) ids.push_back(e.id);
  return ids;
}

core::Result<RelationInfo> PgVerifySide::Load(const core::TableId& table) {
  SLUICE_ASSIGN_OR_RETURN(
      PgRows rows, conn_.Query("SELECT c.oid, c.relreplident FROM pg_class c JOIN pg_namespace n "
                               "ON n.oid = c.relnamespace WHERE n.nspname = " +
                               QuoteLiteral(table.schema) + " AND c.relname = " +
                               QuoteLiteral(table.table) + " AND c.relkind IN ('r', 'p')"));
  if (rows.empty()) return core::NotFoundError("postgres table " + table.ToString() + " does not exist");
  TableEntry entry;
  entry.id = table;
  SLUICE_ASSIGN_OR_RETURN(entry.relid,
                          core::ParseNumber<uint32_t>(rows[0][0].value_or(""), "pg_class.oid"));
  entry.replident = rows[0][1].value_or("d").empty() ? 'd' : (*rows[0][1])[0];
  return LoadRelation(conn_, *types_, entry, params_.dbname, filter_, cache_);
}

std::string PgVerifySide::HashSum(const RelationInfo& rel,
                                  const std::vector<uint32_t>& columns) const {
  std::string row = "ROW(";
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) row += ", ";
    row += Quote(rel.schema->columns[columns[i]].name);
  }
  row += ")::text";
  return "coalesce(sum(hashtextextended(" + row + ", 0)), 0)::text";
}

core::Status PgVerifySide::ReadRows(const core::TableId& table, const std::vector<uint32_t>& columns,
                                    uint32_t key, const core::KeyRange& range,
                                    core::EventBatch& out) {
  SLUICE_ASSIGN_OR_RETURN(const RelationInfo* rel, Described(table));
  const std::string select = SelectRows(table, *rel, columns, key, range);
  SLUICE_ASSIGN_OR_RETURN(PgResultPtr res, conn_.QueryRaw(select));
  const int n = PQntuples(res.get());
  std::string scratch;
  for (int r = 0; r < n; ++r) {
    out.BeginRow();
    for (size_t i = 0; i < columns.size(); ++i) {
      const int c = static_cast<int>(i);
      if (PQgetisnull(res.get(), r, c)) {
        out.AppendNull();
        continue;
      }
      std::string_view text(PQgetvalue(res.get(), r, c),
                            static_cast<size_t>(PQgetlength(res.get(), r, c)));
      if (!AppendCanonical(out, rel->codecs[columns[i]], text, scratch)) {
        return core::DataLossError("postgres verify of " + table.ToString() + ": column " +
                                   rel->schema->columns[columns[i]].name +
                                   " holds a value its type's decoder rejects");
      }
    }
    out.EndRow();
  }
  return core::Status::Ok();
}

}  // namespace sluice::pg
