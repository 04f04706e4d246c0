#include "integration/common/sql_client.h"

#include <chrono>
#include <thread>

#include "integration/common/subprocess.h"
#include "integration/common/temp_dir.h"
#include "integration/common/test_env.h"

namespace sluice::itest {
namespace {

constexpr char kFieldSeparator = '\x1f';  // ASCII unit separator
constexpr char kNullMarker[] = "\x1a";    // ASCII substitute: what psql prints for NULL
constexpr auto kSqlTimeout = std::chrono::minutes(5);

std::string Truncated(std::string_view sql) {
  constexpr size_t kMax = 300;
  return sql.size() <= kMax ? std::string(sql) : std::string(sql.substr(0, kMax)) + "...";
}

std::string SingleValue(const SqlRows& rows, std::string_view sql) {
  if (rows.size() != 1 || rows[0].size() != 1 || !rows[0][0]) {
    throw HarnessError("expected one non-NULL value from `" + Truncated(sql) + "`, got " +
                       std::to_string(rows.size()) + " row(s)");
  }
  return *rows[0][0];
}

std::string UrlWithCredentials(std::string_view scheme, const std::string& user,
                               const std::string& password, const std::string& host, int port,
                               const std::string& dbname) {
  std::string url = std::string(scheme) + "://" + user;
  if (!password.empty()) url += ":" + password;
  return url + "@" + host + ":" + std::to_string(port) + "/" + dbname;
}

void AppendXmlText(std::string_view text, std::string& out) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out += text[i];
      continue;
    }
    size_t end = text.find(';', i);
    if (end == std::string_view::npos) {
      out += text.substr(i);
      return;
    }
    std::string_view entity = text.substr(i + 1, end - i - 1);
    if (entity == "lt") {
      out += '<';
    } else if (entity == "gt") {
      out += '>';
    } else if (entity == "amp") {
      out += '&';
    } else if (entity == "quot") {
      out += '"';
    } else if (entity == "apos") {
      out += '\'';
    } else if (!entity.empty() && entity[0] == '#') {
      bool hex = entity.size() > 1 && (entity[1] == 'x' || entity[1] == 'X');
      unsigned long code = std::stoul(std::string(entity.substr(hex ? 2 : 1)), nullptr, hex ? 16 : 10);
      // UTF-8 encode.
      if (code < 0x80) {
        out += static_cast<char>(code);
      } else if (code < 0x800) {
        out += static_cast<char>(0xC0 | (code >> 6));
        out += static_cast<char>(0x80 | (code & 0x3F));
      } else if (code < 0x10000) {
        out += static_cast<char>(0xE0 | (code >> 12));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
      } else {
        out += static_cast<char>(0xF0 | (code >> 18));
        out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
      }
    } else {
      out += text.substr(i, end - i + 1);
    }
    i = end;
  }
}

}  // namespace

SqlRows ParsePsqlOutput(std::string_view output) {
  SqlRows rows;
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find('\0', start);
    if (end == std::string_view::npos) end = output.size();  // tolerate a missing terminator
    std::string_view record = output.substr(start, end - start);
    SqlRow row;
    size_t field_start = 0;
    for (;;) {
      size_t field_end = record.find(kFieldSeparator, field_start);
      std::string_view field = record.substr(
          field_start, field_end == std::string_view::npos ? std::string_view::npos
                                                           : field_end - field_start);
      if (field == kNullMarker) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(field));
      }
      if (field_end == std::string_view::npos) break;
      field_start = field_end + 1;
    }
    rows.push_back(std::move(row));
    start = end + 1;
  }
  return rows;
}

SqlRows ParseMysqlXml(std::string_view output) {
  SqlRows rows;
  size_t pos = 0;
  while ((pos = output.find("<row>", pos)) != std::string_view::npos) {
    size_t row_end = output.find("</row>", pos);
    if (row_end == std::string_view::npos) throw HarnessError("truncated mariadb --xml output");
    SqlRow row;
    size_t field = pos;
    while ((field = output.find("<field name=\"", field)) != std::string_view::npos &&
           field < row_end) {
      size_t name_end = output.find('"', field + 13);
      if (name_end == std::string_view::npos) throw HarnessError("bad mariadb --xml output");
      std::string_view rest = output.substr(name_end + 1);
      if (rest.starts_with(" xsi:nil=\"true\" />")) {
        row.emplace_back(std::nullopt);
        field = name_end + 1;
        continue;
      }
      if (rest.starts_with(" />")) {  // an empty value
        row.emplace_back(std::string());
        field = name_end + 1;
        continue;
      }
      if (!rest.starts_with(">")) throw HarnessError("bad mariadb --xml output near a field");
      size_t value_start = name_end + 2;
      size_t value_end = output.find("</field>", value_start);
      if (value_end == std::string_view::npos) throw HarnessError("truncated mariadb --xml output");
      std::string value;
      AppendXmlText(output.substr(value_start, value_end - value_start), value);
      row.emplace_back(std::move(value));
      field = value_end + 8;
    }
    rows.push_back(std::move(row));
    pos = row_end + 6;
  }
  return rows;
}

PgClient::PgClient(std::string dbname)
    : PgClient(std::move(dbname), TestEnv::PgUser(), "") {}

PgClient::PgClient(std::string dbname, std::string user, std::string password)
    : PgClient(TestEnv::PgHost(), TestEnv::PgPort(), std::move(dbname), std::move(user),
            std::move(password)) {}

PgClient::PgClient(std::string host, int port, std::string dbname, std::string user,
                   std::string password)
    : host_(std::move(host)),
      port_(port),
      user_(std::move(user)),
      password_(std::move(password)),
      dbname_(std::move(dbname)) {}

SqlResult PgClient::TryQuery(std::string_view sql) const {
  std::vector<std::string> argv = {
      "psql",      "-X", "-q", "-A", "-t", "-0", "-w", "-F", std::string(1, kFieldSeparator),
      "--pset=null=" + std::string(kNullMarker), "-v", "ON_ERROR_STOP=1",
      "-h",        host_, "-p", std::to_string(port_), "-U", user_, "-d", dbname_, "-f", "-"};
  RunOptions options{.stdin_data = std::string(sql) + "\n",
                     .timeout = kSqlTimeout,
                     .env = {{"PGCONNECT_TIMEOUT", "10"},
                             {"PGAPPNAME", "sluice-itest"},
                             {"PGOPTIONS", ""}},
                     .unset_env = {"PGPASSWORD", "PGSERVICE", "PGSSLMODE", "PGDATABASE"}};
  if (!password_.empty()) {
    options.env["PGPASSWORD"] = password_;
    options.unset_env.clear();
  }
  CommandResult result = RunCommand(argv, options);
  SqlResult sql_result;
  sql_result.ok = result.Success();
  if (sql_result.ok) {
    sql_result.rows = ParsePsqlOutput(result.out);
  } else {
    sql_result.error = result.timed_out ? "psql timed out\n" + result.err : result.err;
  }
  return sql_result;
}

SqlRows PgClient::Query(std::string_view sql) const {
  SqlResult result = TryQuery(sql);
  if (!result.ok) {
    throw HarnessError("psql on " + dbname_ + " as " + user_ + " failed for `" + Truncated(sql) +
                       "`: " + result.error);
  }
  return std::move(result.rows);
}

std::string PgClient::QueryValue(std::string_view sql) const {
  return SingleValue(Query(sql), sql);
}

std::string PgClient::Url() const {
  return UrlWithCredentials("postgresql", user_, password_, host_, port_, dbname_);
}

MysqlClient::MysqlClient(std::string dbname)
    : MysqlClient(std::move(dbname), TestEnv::MysqlUser(), "") {}

MysqlClient::MysqlClient(std::string dbname, std::string user, std::string password)
    : MysqlClient(TestEnv::MysqlHost(), TestEnv::MysqlPort(), std::move(dbname), std::move(user),
            std::move(password)) {}

MysqlClient::MysqlClient(std::string host, int port, std::string dbname, std::string user,
                         std::string password)
    : host_(std::move(host)),
      port_(port),
      user_(std::move(user)),
      password_(std::move(password)),
      dbname_(std::move(dbname)) {}

SqlResult MysqlClient::TryQuery(std::string_view sql) const {
  std::vector<std::string> argv = {"mariadb",
                                   "--no-defaults",
                                   "--protocol=TCP",
                                   "--host=" + host_,
                                   "--port=" + std::to_string(port_),
                                   "--user=" + user_,
                                   "--xml",
                                   "--default-character-set=utf8mb4",
                                   "--connect-timeout=10",
                                   "--local-infile=1"};
  if (!password_.empty()) argv.push_back("--password=" + password_);
  if (!dbname_.empty()) argv.push_back("--database=" + dbname_);
  CommandResult result =
      RunCommand(argv, {.stdin_data = std::string(sql) + "\n", .timeout = kSqlTimeout});
  SqlResult sql_result;
  sql_result.ok = result.Success();
  if (sql_result.ok) {
    sql_result.rows = ParseMysqlXml(result.out);
  } else {
    sql_result.error = result.timed_out ? "mariadb timed out\n" + result.err : result.err;
  }
  return sql_result;
}

SqlRows MysqlClient::Query(std::string_view sql) const {
  SqlResult result = TryQuery(sql);
  if (!result.ok) {
    throw HarnessError("mariadb on " + (dbname_.empty() ? "(no database)" : dbname_) + " as " +
                       user_ + " failed for `" + Truncated(sql) + "`: " + result.error);
  }
  return std::move(result.rows);
}

std::string MysqlClient::QueryValue(std::string_view sql) const {
  return SingleValue(Query(sql), sql);
}

std::string MysqlClient::Url() const {
  return UrlWithCredentials("mysql", user_, password_, host_, port_, dbname_);
}

std::string CreateScratchPgDatabase(std::string_view name) {
  std::string db = UniqueName(name);
  PgClient admin("postgres");
  // CREATE DATABASE fails while another session uses template1 (another test creating its
  // own database at the same moment): retry briefly.
  for (int attempt = 1;; ++attempt) {
    SqlResult result = admin.TryQuery("CREATE DATABASE " + db);
    if (result.ok) return db;
    if (attempt >= 10 || result.error.find("is being accessed by other users") == std::string::npos) {
      throw HarnessError("cannot create PostgreSQL database " + db + ": " + result.error);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
  }
}

std::string CreateScratchMysqlDatabase(std::string_view name) {
  std::string db = UniqueName(name);
  MysqlClient().Exec("CREATE DATABASE `" + db + "` CHARACTER SET utf8mb4");
  return db;
}

}  // namespace sluice::itest
