#include "core/config_providers.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "core/text_codec.h"

namespace sluice::core {

namespace {

// A secret file is small; a bound keeps a reference to /dev/zero or a huge log from eating memory.
constexpr size_t kMaxReferencedFileBytes = 1 << 20;

bool IsProviderNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

bool IsPropertiesSpace(char c) { return c == ' ' || c == '\t' || c == '\f'; }

// Reads four hex digits at s[i..i+4); -1 when they are not there.
int32_t Hex4(std::string_view s, size_t i) {
  if (i + 4 > s.size()) return -1;
  int32_t v = 0;
  for (size_t k = 0; k < 4; ++k) {
    int h = HexDigitValue(s[i + k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

// java.util.Properties escapes: \t \n \r \f, \uXXXX (surrogate pairs combined), any other
// escaped character stands for itself.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    char c = s[++i];
    switch (c) {
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 'f': out += '\f'; break;
      case 'u': {
        int32_t cp = Hex4(s, i + 1);
        if (cp < 0) {
          out += 'u';  // malformed: Java throws; keep the text rather than lose it
          break;
        }
        i += 4;
        if (cp >= 0xd800 && cp <= 0xdbff && i + 2 < s.size() && s[i + 1] == '\\' && s[i + 2] == 'u') {
          int32_t low = Hex4(s, i + 3);
          if (low >= 0xdc00 && low <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
            i += 6;
          }
        }
        AppendUtf8(out, static_cast<uint32_t>(cp));
        break;
      }
      default: out += c;
    }
  }
  return out;
}

// Natural lines, split at \n, \r\n or \r.
std::vector<std::string_view> NaturalLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' || text[i] == '\r') {
      lines.push_back(text.substr(start, i - start));
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

std::string_view SkipLeadingSpace(std::string_view s) {
  while (!s.empty() && IsPropertiesSpace(s.front())) s.remove_prefix(1);
  return s;
}

bool EndsWithOddBackslashes(std::string_view s) {
  size_t n = 0;
  while (n < s.size() && s[s.size() - 1 - n] == '\\') ++n;
  return n % 2 == 1;
}

Result<std::string> ReadSmallFile(std::string_view where, const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return InvalidArgumentError(std::string(where) + ": cannot read file '" + path + "' (" +
                                std::strerror(errno) + ")");
  }
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgumentError(std::string(where) + ": '" + path + "' is not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxReferencedFileBytes) {
    return InvalidArgumentError(std::string(where) + ": file '" + path + "' is larger than " +
                                std::to_string(kMaxReferencedFileBytes) + " bytes");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return InvalidArgumentError(std::string(where) + ": cannot read file '" + path + "' (" +
                                std::strerror(errno) + ")");
  }
  std::string content(kMaxReferencedFileBytes + 1, '\0');
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  content.resize(static_cast<size_t>(in.gcount()));
  if (content.size() > kMaxReferencedFileBytes) {
    return InvalidArgumentError(std::string(where) + ": file '" + path + "' is larger than " +
                                std::to_string(kMaxReferencedFileBytes) + " bytes");
  }
  return content;
}

std::string_view TrimAll(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// The value of one reference; `where` is "config key 'k': ${…}" for error messages.
Result<std::string> ResolveReference(const std::string& where, std::string_view provider,
                                     std::string_view args) {
  if (provider == "env") {
    if (args.empty()) return InvalidArgumentError(where + ": names no environment variable");
    const std::string name(args);
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) {
      return InvalidArgumentError(where + ": the environment variable " + name +
                                  " is not set; set it for the sluice process");
    }
    return std::string(value);
  }
  if (provider == "file") {
    std::string path(args);
    std::string key;
    bool whole_file = true;
    if (size_t colon = args.rfind(':'); colon != std::string_view::npos) {
      path = std::string(args.substr(0, colon));
      key = std::string(args.substr(colon + 1));
      whole_file = false;
    }
    if (path.empty() || path.front() != '/') {
      return InvalidArgumentError(where + ": the file must be an absolute path");
    }
    if (!whole_file && key.empty()) {
      return InvalidArgumentError(where + ": names no key after the file ('${file:/path:key}')");
    }
    SLUICE_ASSIGN_OR_RETURN(std::string content, ReadSmallFile(where, path));
    if (whole_file) return std::string(TrimAll(content));
    auto properties = ParseJavaProperties(content);
    auto it = properties.find(key);
    if (it == properties.end()) {
      return InvalidArgumentError(where + ": file '" + path + "' has no key '" + key +
                                  "' (expected a 'key=value' line)");
    }
    return it->second;
  }
  return InvalidArgumentError(where + ": unknown config provider '" + std::string(provider) +
                              "'; use ${env:NAME}, ${file:/path:key} or ${file:/path}");
}

// The next reference in `value` at or after `from`: [begin, end) of "${provider:args}".
struct Reference {
  size_t begin = std::string_view::npos;
  size_t end = 0;
  std::string_view provider;
  std::string_view args;
};

Reference FindReference(std::string_view value, size_t from) {
  while (true) {
    size_t open = value.find("${", from);
    if (open == std::string_view::npos) return {};
    size_t close = value.find('}', open + 2);
    if (close == std::string_view::npos) return {};
    std::string_view inner = value.substr(open + 2, close - open - 2);
    size_t colon = inner.find(':');
    bool named = colon != std::string_view::npos && colon > 0;
    for (size_t i = 0; named && i < colon; ++i) named = IsProviderNameChar(inner[i]);
    if (named) return {open, close + 1, inner.substr(0, colon), inner.substr(colon + 1)};
    from = open + 2;  // "${schema}" and the like: not a reference
  }
}

}  // namespace

std::map<std::string, std::string> ParseJavaProperties(std::string_view text) {
  std::map<std::string, std::string> out;
  std::vector<std::string_view> lines = NaturalLines(text);
  for (size_t n = 0; n < lines.size(); ++n) {
    std::string_view first = SkipLeadingSpace(lines[n]);
    if (first.empty() || first.front() == '#' || first.front() == '!') continue;
    std::string logical(first);
    while (EndsWithOddBackslashes(logical) && n + 1 < lines.size()) {
      logical.pop_back();
      logical += SkipLeadingSpace(lines[++n]);
    }
    if (EndsWithOddBackslashes(logical)) logical.pop_back();  // continuation at end of file
    std::string_view line = logical;
    size_t i = 0;
    while (i < line.size() && line[i] != '=' && line[i] != ':' && !IsPropertiesSpace(line[i])) {
      i += line[i] == '\\' ? 2 : 1;
    }
    i = std::min(i, line.size());
    std::string_view key = line.substr(0, i);
    while (i < line.size() && IsPropertiesSpace(line[i])) ++i;
    if (i < line.size() && (line[i] == '=' || line[i] == ':')) ++i;
    while (i < line.size() && IsPropertiesSpace(line[i])) ++i;
    out[Unescape(key)] = Unescape(line.substr(i));
  }
  return out;
}

bool HasConfigReference(std::string_view value) {
  return FindReference(value, 0).begin != std::string_view::npos;
}

bool IsOnlyConfigReferences(std::string_view value) {
  size_t pos = 0;
  for (Reference ref = FindReference(value, 0); ref.begin != std::string_view::npos;
       ref = FindReference(value, pos)) {
    if (ref.begin != pos) return false;
    pos = ref.end;
  }
  return pos > 0 && pos == value.size();
}

Result<std::string> ResolveConfigValue(std::string_view key, std::string_view value) {
  std::string out;
  size_t pos = 0;
  for (Reference ref = FindReference(value, 0); ref.begin != std::string_view::npos;
       ref = FindReference(value, pos)) {
    out.append(value.substr(pos, ref.begin - pos));
    const std::string where = "config key '" + std::string(key) + "': " +
                              std::string(value.substr(ref.begin, ref.end - ref.begin));
    SLUICE_ASSIGN_OR_RETURN(std::string resolved, ResolveReference(where, ref.provider, ref.args));
    out += resolved;
    pos = ref.end;
  }
  out.append(value.substr(pos));
  return out;
}

Result<ConnectorConfig> ResolveConfigProviders(const ConnectorConfig& config) {
  ConnectorConfig out = config;
  for (auto& [key, value] : out.mutable_values()) {
    if (!HasConfigReference(value)) continue;
    SLUICE_ASSIGN_OR_RETURN(value, ResolveConfigValue(key, value));
  }
  return out;
}

}  // namespace sluice::core
