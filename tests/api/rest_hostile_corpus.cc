#include "tests/api/rest_hostile_corpus.h"

#include <random>
#include <utility>

// With RE2 behind the user's regexes (core/user_regex.h), patterns that overflow std::regex's
// recursive parser (the 20,000 nested groups) are part of the corpus.
#if __has_include("core/user_regex.h")
#define SLUICE_HOSTILE_DEEP_REGEX 1
#else
#define SLUICE_HOSTILE_DEEP_REGEX 0
#endif

namespace sluice::testing {

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

std::string Repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

// A JSON string literal: quotes, backslashes and control characters escaped, every other byte
// (invalid UTF-8 included) sent as it is.
std::string JsonString(const std::string& s) {
  static const char* kHex = "0123456789abcdef";
  std::string out = "\"";
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string PercentEncode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

// Raw request bytes. Adds Host unless given, Content-Type application/json when there is a body
// and no Content-Type was given, Content-Length (unless `chunked`), Connection: close.
std::string Raw(const std::string& method, const std::string& target, const std::string& body,
                Headers headers = {}, bool chunked = false) {
  bool has_host = false, has_type = false;
  for (const auto& [k, v] : headers) {
    if (k == "Host") has_host = true;
    if (k == "Content-Type") has_type = true;
  }
  std::string out = method + " " + target + " HTTP/1.1\r\n";
  if (!has_host) out += "Host: 127.0.0.1\r\n";
  if (!body.empty() && !has_type) out += "Content-Type: application/json\r\n";
  for (const auto& [k, v] : headers) out += k + ": " + v + "\r\n";
  if (chunked) {
    out += "Transfer-Encoding: chunked\r\n";
  } else if (!body.empty()) {
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return out + "Connection: close\r\n\r\n" + body;
}

std::string Chunked(const std::string& body, size_t chunk) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < body.size(); i += chunk) {
    std::string part = body.substr(i, chunk);
    std::string size;
    for (size_t n = part.size(); n > 0; n /= 16) size.insert(size.begin(), kHex[n % 16]);
    out += size + "\r\n" + part + "\r\n";
  }
  return out + "0\r\n\r\n";
}

class Generator {
 public:
  explicit Generator(const HostileCorpusOptions& o) : o_(o), rng_(o.seed) {}

  std::vector<HostileRequest> Run() {
    RoutesTimesMethods();
    Names();
    MalformedBodies();
    HugeAndChunkedBodies();
    Traversal();
    Regexes();
    ContentTypes();
    OriginsAndHosts();
    InvalidUtf8();
    MalformedHttp();
    RandomMutations();
    return std::move(out_);
  }

 private:
  void Add(const std::string& family, std::string bytes, bool head = false, bool silent = false) {
    out_.push_back({family, std::move(bytes), head, silent});
  }

  std::string Config(const std::string& extra = "") { return HarmlessConfig(o_.sink_dir, extra); }
  std::string Create(const std::string& name_json, const std::string& extra = "") {
    return "{\"name\":" + name_json + ",\"config\":" + Config(extra) + "}";
  }

  void RoutesTimesMethods() {
    const std::vector<std::string> routes = {
        "/", "/healthz", "/metrics", "/connectors", "/connectors?expand=status",
        "/connectors?expand=info&expand=status", "/connectors/victim", "/connectors/victim/config",
        "/connectors/victim/status", "/connectors/victim/pause", "/connectors/victim/resume",
        "/connectors/victim/stop", "/connectors/victim/restart",
        "/connectors/victim/restart?includeTasks=true&onlyFailed=false",
        "/connectors/victim/tasks", "/connectors/victim/tasks/0/status",
        "/connectors/victim/tasks/0/restart", "/connectors/victim/tasks/1/status",
        "/connectors/victim/offsets", "/connector-plugins", "/connector-plugins/postgres/config",
        "/connector-plugins/postgres/config/validate", "/connector-plugins/nope/config/validate",
        "/syncs", "/syncs/sync_000000000000", "/nowhere", "/connectors/victim/snapshots"};
    const std::vector<std::string> methods = {"GET",     "HEAD",  "POST",    "PUT",     "PATCH",
                                              "DELETE",  "OPTIONS", "TRACE", "PROPFIND", "BREW"};
    const std::vector<std::string> bodies = {"", Config(), "{\"a\":", Create("\"victim\"")};
    for (const auto& route : routes) {
      for (const auto& method : methods) {
        for (const auto& body : bodies) {
          Add("route x method", Raw(method, route, body), method == "HEAD");
        }
      }
    }
  }

  static std::vector<std::string> HostileNames() {
    return {"crlf\r\nSet-Cookie: injected=1",
            "lf\nX-Injected: 1",
            "tab\tname",
            std::string("nul\0name", 8),
            "del\x7f",
            "c1\xc2\x85next",
            "bad\xff\xfe",
            "overlong\xc0\xaf",
            "surrogate\xed\xa0\x80",
            "beyond\xf4\x90\x80\x80",
            "truncated\xe2\x82",
            "..",
            ".",
            "a/b",
            "a\\b",
            "%2e%2e",
            "%2F",
            std::string(201, 'a'),
            std::string(70000, 'l'),
            "",
            "  ",
            "\xc3\xa9t\xc3\xa9",
            "\xe5\x90\x8d\xe5\x89\x8d",
            "<script>alert(1)</script>",
            "\"quoted\"",
            "'; DROP TABLE connectors; --",
            "${env:HOME}",
            "a?b=c&d",
            "a#frag",
            "emoji \xf0\x9f\x9a\x80",
            "ok-name"};
  }

  void Names() {
    for (const auto& name : HostileNames()) {
      std::string enc = PercentEncode(name);
      Add("names", Raw("POST", "/connectors", Create(JsonString(name))));
      Add("names", Raw("PUT", "/connectors/" + enc + "/config", Config()));
      Add("names", Raw("GET", "/connectors/" + enc, ""));
      Add("names", Raw("GET", "/connectors/" + enc + "/status", ""));
      Add("names", Raw("POST", "/connectors/" + enc + "/restart?includeTasks=true", ""));
      Add("names", Raw("DELETE", "/connectors/" + enc, ""));
      Add("names", Raw("POST", "/syncs", Create(JsonString(name))));
      Add("names", Raw("PUT", "/connector-plugins/postgres/config/validate",
                       Config(",\"name\":" + JsonString(name))));
      // The name's bytes as they are, in the target and inside the JSON string.
      Add("names raw", Raw("GET", "/connectors/" + name, ""));
      Add("names raw", Raw("POST", "/connectors", "{\"name\":\"" + name + "\",\"config\":{}}"));
    }
  }

  void MalformedBodies() {
    std::string deep_array = Repeat("[", 50000) + Repeat("]", 50000);
    std::string deep_object = Repeat("{\"a\":", 20000) + "1" + Repeat("}", 20000);
    std::string many_keys = "{";
    for (int i = 0; i < 5000; ++i) many_keys += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":\"v\"";
    many_keys += "}";
    const std::vector<std::string> bodies = {
        "{", "}", "[", "null", "true", "1", "\"s\"", "[]", "{}", "{\"name\":}",
        "{\"name\":\"x\",\"config\":[]}", "{\"name\":\"x\",\"config\":{\"a\":{\"b\":1}}}",
        "{\"name\":\"x\",\"config\":{\"a\":[1,2]}}", "{\"name\":1,\"config\":{}}",
        Repeat("[", 100000), Repeat("{", 100000), deep_array, deep_object,
        "{\"a\":\"" + std::string(500000, 'x') + "\"}", "1e99999", "{\"a\":1e400}",
        "\xef\xbb\xbf{}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\xff\"}", std::string("{\"a\"\0:1}", 8),
        "{\"a\":\"\\u0000\"}", "{\"a\":\"1\",\"a\":\"2\"}", many_keys,
        "{\"" + std::string(100000, 'k') + "\":\"v\"}", std::string("\0\x01\x02", 3), "NaN",
        "Infinity", "{\"a\":01}", "[1,]", "{\"a\":1,}", "/* c */ {}", "{} x", "{\"a\":\"\r\n\"}",
        "{\"offsets\":[{\"partition\":{\"server\":\"victim\"},\"offset\":{\"position\":"
        "\"FFFFFFFF/FFFFFFFF\"}}]}",
        "{\"offsets\":[]}", "{\"offsets\":[1]}", "{\"offsets\":[{\"offset\":{\"position\":123}}]}",
        "{\"offsets\":[{\"partition\":{},\"offset\":{\"lsn\":\"FFFFFFFF/FFFFFFFF\",\"slot\":"
        "\"other\"}}]}",
        "{\"offsets\":[{\"partition\":{\"server\":\"victim\"},\"offset\":null}]}"};
    const std::vector<std::pair<std::string, std::string>> targets = {
        {"POST", "/connectors"},
        {"PUT", "/connectors/victim/config"},
        {"PATCH", "/connectors/victim/config"},
        {"PATCH", "/connectors/victim/offsets"},
        {"PUT", "/connector-plugins/postgres/config/validate"},
        {"POST", "/syncs"}};
    for (const auto& body : bodies) {
      for (const auto& [method, target] : targets) Add("malformed json", Raw(method, target, body));
    }
  }

  void HugeAndChunkedBodies() {
    std::string over(o_.max_body_bytes + 1, ' ');
    Add("huge body", Raw("POST", "/connectors", over));
    Add("huge body", Raw("PUT", "/connectors/victim/config", std::string(2 * o_.max_body_bytes, '[')));
    Add("huge body", Raw("POST", "/syncs", Chunked(over, 65536), {}, true));
    // Declared far beyond the limit: refused from the headers alone.
    Add("huge body", "POST /connectors HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                     "application/json\r\nContent-Length: 10000000000\r\nConnection: close\r\n\r\n{}");
    Add("huge body", "POST /connectors HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                     "application/json\r\nContent-Length: 99999999999999999999999\r\n"
                     "Connection: close\r\n\r\n{}");
    std::string create = Create("\"chunky\"");
    for (size_t chunk : {1, 7, 64, 4096}) {
      Add("chunked", Raw("POST", "/connectors", Chunked(create, chunk), {}, true));
      Add("chunked", Raw("PUT", "/connector-plugins/postgres/config/validate",
                         Chunked(Config(), chunk), {}, true));
    }
    const std::string head = "POST /connectors HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                             "application/json\r\nTransfer-Encoding: chunked\r\nConnection: close"
                             "\r\n\r\n";
    for (const std::string& chunks :
         {std::string("zz\r\n{}\r\n0\r\n\r\n"), std::string("ffffffffffffffffff\r\n{}\r\n0\r\n\r\n"),
          std::string("2;ext=1\r\n{}\r\n0\r\n\r\n"), std::string("2\r\n{}\r\n0\r\nTrailer: x\r\n\r\n"),
          std::string("2\r\n{}\r\n"), std::string("5\r\n{}\r\n0\r\n\r\n"),
          std::string("-1\r\n{}\r\n0\r\n\r\n"), std::string("2\r\n{}0\r\n\r\n")}) {
      Add("chunked", head + chunks, false, true);
    }
    Add("chunked", "POST /connectors HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                   "Content-Length: 2\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
    Add("chunked", "POST /connectors HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip, "
                   "chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
    for (const char* expect : {"100-continue", "100-Continue", "200-ok", ""}) {
      Add("expect", Raw("POST", "/connectors", Create("\"expected\""), {{"Expect", expect}}));
      Add("expect", Raw("PUT", "/connectors/victim/pause", "", {{"Expect", expect}}));
      Add("expect", Raw("POST", "/syncs", over, {{"Expect", expect}}));
    }
  }

  void Traversal() {
    const std::vector<std::string> targets = {
        "/connectors/../..", "/connectors/..", "/connectors/%2e%2e", "/connectors/%2e%2e/%2e%2e",
        "/connectors/%2e%2e/%2e%2e/etc/passwd", "/connectors/..%2f..%2fetc%2fpasswd",
        "/connectors/victim/..", "/connectors/victim/../../syncs", "/..", "/../../etc/passwd",
        "//connectors", "/connectors//victim", "/connectors/%2f", "/connectors/a%2fb/status",
        "/connectors/%00", "/connectors/%", "/connectors/%zz", "/connectors/%f",
        "/connectors/victim%0d%0aSet-Cookie:%20x=1", "/connectors/victim\\..\\..", "*",
        "http://evil.example/connectors", "/connectors?expand=../../", "/connectors?expand=%00",
        "/connectors?%ff=%ff", "/connectors?expand", "/connectors?&&&=&=", "/ui/../../etc/passwd",
        "/connectors/%2e%2e%2f%2e%2e%2fsyncs", "/connectors/victim/tasks/../../../metrics",
        "/connectors/victim/tasks/-1/status", "/connectors/victim/tasks/99999999999999999999/status",
        "/connector-plugins/..%2f..%2f/config/validate", "/syncs/../connectors"};
    for (const auto& t : targets) {
      Add("traversal", Raw("GET", t, ""));
      Add("traversal", Raw("DELETE", t, ""));
      Add("traversal", Raw("PUT", t, Config()));
    }
  }

  void Regexes() {
    std::vector<std::string> patterns = {
        "(a+)+$", "(a|aa)*c", "(.*a){25}", "(x+x+)+y", Repeat("(", 200) + "x" + Repeat(")", 200),
        "[", "(", ")", "\\", "a{1000}", "(?=a)", "(?<n>x)", "\\p{L}", "[[:alpha:]]+",
        Repeat(".*", 200), "((a*)*)*b", "[^\\x00-\\x{10FFFF}]", "a**", "x{2,1}", "\xff\xfe",
        "public\\.orders\r\nevil", std::string(3000, 'a'), "^(([a-z])+.)+[A-Z]([a-z])+$"};
#if SLUICE_HOSTILE_DEEP_REGEX
    patterns.push_back(Repeat("(", 20000) + "x" + Repeat(")", 20000));
    patterns.push_back(Repeat("(", 20000));
    patterns.push_back("x{2147483647}");
    patterns.push_back("(a{1000}){1000}");
#endif
    int i = 0;
    for (const auto& p : patterns) {
      for (const char* key : {"table.include.list", "table.exclude.list", "column.exclude.list"}) {
        std::string extra = std::string(",\"") + key + "\":" + JsonString(p);
        std::string name = "\"rx-" + std::to_string(i++ % 4) + "\"";
        Add("regex", Raw("POST", "/connectors", Create(name, extra)));
        Add("regex", Raw("PUT", "/connector-plugins/postgres/config/validate", Config(extra)));
        Add("regex", Raw("POST", "/syncs", Create(name, extra)));
        Add("regex", Raw("PATCH", "/connectors/victim/config", "{" + extra.substr(1) + "}"));
      }
    }
  }

  void ContentTypes() {
    const std::vector<std::string> types = {
        "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
        "application/json-patch+json", "APPLICATION/JSON", "application/json; charset=utf-8",
        "application/jsonx", "", "text/plain\r\nX-Injected: 1", "application/\xff"};
    for (const auto& type : types) {
      Add("content type", Raw("POST", "/connectors", Create("\"typed\""), {{"Content-Type", type}}));
      Add("content type", Raw("PUT", "/connectors/victim/config", Config(), {{"Content-Type", type}}));
      Add("content type", Raw("PATCH", "/connectors/victim/config", "{\"a\":null}",
                              {{"Content-Type", type}}));
      Add("content type", Raw("POST", "/syncs", Config(), {{"Content-Type", type}}));
      Add("content type", Raw("PUT", "/connector-plugins/postgres/config/validate", Config(),
                              {{"Content-Type", type}}));
      Add("content type", Raw("PUT", "/connectors/victim/pause", "", {{"Content-Type", type}}));
    }
  }

  void OriginsAndHosts() {
    const std::vector<std::string> origins = {"http://evil.example", "null", "http://127.0.0.1:1",
                                              "https://127.0.0.1", "http://localhost.evil.example",
                                              "http://127.0.0.1\xff", "", "file://"};
    for (const auto& origin : origins) {
      Add("origin", Raw("POST", "/connectors", Create("\"csrf\""),
                        {{"Origin", origin}, {"Content-Type", "text/plain"}}));
      Add("origin", Raw("POST", "/connectors", Create("\"csrf\""), {{"Origin", origin}}));
      Add("origin", Raw("DELETE", "/connectors/victim", "", {{"Origin", origin}}));
      Add("origin", Raw("PUT", "/connectors/victim/stop", "", {{"Origin", origin}}));
      Add("origin", Raw("GET", "/connectors", "", {{"Origin", origin}}));
    }
    const std::vector<std::string> hosts = {"evil.example", "evil.example:8083", "10.0.0.1",
                                            "localhost.", "[::1", "127.0.0.1:99999", "",
                                            "h\xff", "127.0.0.1, evil.example"};
    for (const auto& host : hosts) {
      Add("host", Raw("GET", "/connectors", "", {{"Host", host}}));
      Add("host", Raw("POST", "/connectors", Create("\"rebound\""), {{"Host", host}}));
      Add("host", Raw("DELETE", "/connectors/victim", "", {{"Host", host}}));
      Add("host", Raw("GET", "/healthz", "", {{"Host", host}}));
    }
    Add("host", "GET /connectors HTTP/1.0\r\n\r\n");
    Add("host", "GET /connectors HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n");
  }

  void InvalidUtf8() {
    const std::vector<std::string> bad = {"\xff", "\xfe\xff", "\xc0\x80", "\xed\xbf\xbf",
                                          "\xf8\x88\x80\x80\x80", "\x80", "\xe2\x28\xa1"};
    for (const auto& b : bad) {
      std::string enc = PercentEncode(b);
      Add("utf-8", Raw("GET", "/connectors/" + enc, ""));
      Add("utf-8", Raw("GET", "/connectors?expand=" + enc, ""));
      Add("utf-8", Raw("GET", "/" + enc, ""));
      Add("utf-8", Raw("POST", "/connectors/" + enc + "/restart?onlyFailed=" + enc, ""));
      Add("utf-8", Raw("PUT", "/connector-plugins/" + enc + "/config/validate", Config()));
      Add("utf-8", Raw("POST", "/connectors", Create("\"v\"", ",\"k" + b + "\":\"v" + b + "\"")));
      Add("utf-8", Raw("PUT", "/connector-plugins/postgres/config/validate",
                       Config(",\"database.password\":\"" + b + "\"")));
      Add("utf-8", Raw("GET", "/connectors", "", {{"X-Bad", b}, {"Authorization", "Bearer " + b}}));
      Add("utf-8", Raw("GET", "/connectors/" + b, ""));
    }
  }

  void MalformedHttp() {
    const std::vector<std::string> raw = {
        "GARBAGE\r\n\r\n", "GET\r\n\r\n", "GET / HTTP/2.0\r\n\r\n", "GET / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n", "GET / HTTP/1.1\nHost: x\n\n",
        "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", std::string("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 24),
        "GET / HTTP/1.1\r\nX: " + std::string(70000, 'h') + "\r\n\r\n",
        "GET /" + std::string(70000, 'p') + " HTTP/1.1\r\n\r\n",
        "G\x01T / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\n: empty\r\n\r\n",
        "GET /connectors HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n",
        "GET /connectors HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "POST /connectors HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 50\r\n\r\n{}",
        "\r\n\r\nGET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\n",
        "GET / HTTP/1.1\r\nConnection: keep-alive\r\nHost: 127.0.0.1\r\n\r\nGARBAGE\r\n\r\n",
        "GET /connectors/\xff\xfe HTTP/1.1\r\n\r\n", "GET /a\tb HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX: \xc3\xa9\r\n\r\n", "GET / HTTP/9.9\r\n\r\n",
        "GET / http/1.1\r\n\r\n", "", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"};
    for (const auto& r : raw) Add("malformed http", r, false, true);
  }

  // Valid requests with random bytes replaced, inserted or cut: the server must answer each
  // with a 4xx or a 2xx, never fall over.
  void RandomMutations() {
    const std::vector<std::string> templates = {
        Raw("POST", "/connectors", "{\"name\":\"mut\",\"config\":{\"connector.class\":\"postgres\"}}"),
        Raw("PUT", "/connectors/mut/config", "{\"connector.class\":\"postgres\",\"bad\":1}"),
        Raw("PATCH", "/connectors/victim/offsets", "{\"offsets\":[{\"partition\":{\"server\":"
                                                   "\"victim\"},\"offset\":{\"position\":\"0/0\"}}]}"),
        Raw("GET", "/connectors?expand=status&expand=info", ""),
        Raw("POST", "/connectors/victim/restart?includeTasks=true&onlyFailed=true", ""),
        Raw("GET", "/connectors/victim/tasks/0/status", ""),
        Raw("DELETE", "/syncs/sync_0123456789ab", ""),
        Raw("PUT", "/connector-plugins/postgres/config/validate", "{\"table.include.list\":\"a\"}")};
    const std::string specials[] = {"\r\n", "\r", "\n", "\xff", std::string(1, '\0'), "%", "%ff",
                                    "\"", "{", "[", "\\", "/..", " ", "\t", ":", "\xc3"};
    std::uniform_int_distribution<int> op(0, 3);
    for (int i = 0; i < o_.random_mutations; ++i) {
      std::string bytes = templates[Pick(templates.size())];
      int edits = 1 + static_cast<int>(Pick(4));
      for (int e = 0; e < edits && !bytes.empty(); ++e) {
        size_t at = Pick(bytes.size());
        switch (op(rng_)) {
          case 0: bytes[at] = static_cast<char>(Pick(256)); break;
          case 1: bytes.insert(at, specials[Pick(std::size(specials))]); break;
          case 2: bytes.erase(at, 1 + Pick(8)); break;
          default: bytes.insert(at, std::string(1 + Pick(64), static_cast<char>(Pick(256)))); break;
        }
      }
      Add("random mutation", std::move(bytes), false, true);
    }
  }

  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  const HostileCorpusOptions& o_;
  std::mt19937 rng_;
  std::vector<HostileRequest> out_;
};

}  // namespace

std::string HarmlessConfig(const std::string& sink_dir, const std::string& extra) {
  return "{\"connector.class\":\"postgres\",\"database.hostname\":\"127.0.0.1\","
         "\"database.port\":\"1\",\"database.user\":\"u\",\"database.dbname\":\"d\","
         "\"connect.timeout.ms\":\"2000\",\"sink.type\":\"file\",\"sink.url\":" +
         JsonString(sink_dir) + extra + "}";
}

std::vector<HostileRequest> GenerateHostileCorpus(const HostileCorpusOptions& options) {
  return Generator(options).Run();
}

}  // namespace sluice::testing
