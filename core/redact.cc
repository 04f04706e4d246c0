#include "core/redact.h"

#include <algorithm>
#include <cctype>

#include "core/config.h"
#include "core/config_providers.h"
#include "core/text_codec.h"

namespace sluice::core {

namespace {

// A password inside a text: [begin, end) to replace.
struct Span {
  size_t begin;
  size_t end;
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool IsKeywordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.';
}

// URL form: "scheme://user:PASSWORD@host". The authority runs to the next whitespace; the
// userinfo ends at its last '@', so an unencoded '@' or '/' inside a password is still hidden
// (libpq and our MySQL URL parser would reject such a URL, and their errors quote pieces of it).
void UrlPasswordSpans(std::string_view text, std::vector<Span>& out) {
  size_t pos = 0;
  while ((pos = text.find("://", pos)) != std::string_view::npos) {
    size_t start = pos + 3;
    size_t end = start;
    while (end < text.size() && !IsSpace(text[end])) ++end;
    std::string_view authority = text.substr(start, end - start);
    size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
      size_t colon = authority.find(':');
      if (colon != std::string_view::npos && colon < at) {
        out.push_back({start + colon + 1, start + at});
      }
    }
    pos = end;
  }
}

// Keyword form: "password = value" as libpq parses it (whitespace around '=', the value either
// single-quoted with backslash escapes or running to the next whitespace, backslash escapes
// allowed), and "?password=value&…" in a URL query, where the value also ends at '&' or '#'.
// Any keyword ending in "password" counts (sslpassword), in any case.
void KeywordPasswordSpans(std::string_view text, std::vector<Span>& out) {
  constexpr std::string_view kWord = "password";
  for (size_t i = 0; i + kWord.size() <= text.size(); ++i) {
    bool word = true;
    for (size_t k = 0; k < kWord.size() && word; ++k) {
      word = std::tolower(static_cast<unsigned char>(text[i + k])) == kWord[k];
    }
    if (!word) continue;
    // The keyword's start, looked for at most 64 bytes back: a long run of keyword characters
    // ("passwordpassword…" in a hostile log line) must not make this quadratic.
    size_t key_begin = i;
    while (key_begin > 0 && i - key_begin < 64 && IsKeywordChar(text[key_begin - 1])) --key_begin;
    const bool query = key_begin > 0 && (text[key_begin - 1] == '?' || text[key_begin - 1] == '&');
    size_t j = i + kWord.size();
    while (j < text.size() && IsSpace(text[j])) ++j;
    if (j >= text.size() || text[j] != '=') continue;
    ++j;
    while (j < text.size() && IsSpace(text[j])) ++j;
    if (j < text.size() && text[j] == '\'') {
      size_t begin = ++j;
      while (j < text.size() && text[j] != '\'') j += text[j] == '\\' ? 2 : 1;
      j = std::min(j, text.size());  // unterminated: hide the rest
      out.push_back({begin, j});
    } else {
      size_t begin = j;
      while (j < text.size() && !IsSpace(text[j]) &&
             !(query && (text[j] == '&' || text[j] == '#'))) {
        j += text[j] == '\\' ? 2 : 1;
      }
      j = std::min(j, text.size());
      if (j > begin) out.push_back({begin, j});
    }
    i = j > i ? j - 1 : i;
  }
}

// Every span, sorted and merged where they overlap.
std::vector<Span> PasswordSpans(std::string_view text) {
  std::vector<Span> spans;
  UrlPasswordSpans(text, spans);
  KeywordPasswordSpans(text, spans);
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
  // A password written as a ${env:…}/${file:…} reference is not a secret: it stays readable.
  std::erase_if(spans, [&](const Span& s) {
    return IsOnlyConfigReferences(text.substr(s.begin, s.end - s.begin));
  });
  std::vector<Span> merged;
  for (const Span& s : spans) {
    if (!merged.empty() && s.begin <= merged.back().end) {
      merged.back().end = std::max(merged.back().end, s.end);
    } else {
      merged.push_back(s);
    }
  }
  return merged;
}

std::string Unescaped(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out += s[i];
  }
  return out;
}

void AddSecret(std::vector<std::string>& out, std::string secret) {
  if (secret.empty()) return;
  if (std::find(out.begin(), out.end(), secret) == out.end()) out.push_back(std::move(secret));
}

}  // namespace

std::string RedactConnectionStrings(std::string_view text) {
  std::string out;
  size_t pos = 0;
  for (const Span& s : PasswordSpans(text)) {
    out.append(text.substr(pos, s.begin - pos));
    out.append(kRedactedText);
    pos = s.end;
  }
  out.append(text.substr(pos));
  return out;
}

std::vector<std::string> ConnectionStringSecrets(std::string_view value) {
  std::vector<std::string> out;
  for (const Span& s : PasswordSpans(value)) {
    std::string_view raw = value.substr(s.begin, s.end - s.begin);
    AddSecret(out, std::string(raw));
    AddSecret(out, Unescaped(raw));
    // Percent-decoded as a URL parser would, or unchanged when it holds a malformed escape.
    AddSecret(out, PercentDecode(raw).value_or(std::string(raw)));
  }
  return out;
}

std::vector<std::string> ConfigSecrets(const ConnectorConfig& config) {
  std::vector<std::string> out;
  auto add = [&](const std::string& key, const std::string& value) {
    if (IsSecretKey(key)) {
      AddSecret(out, value);
    } else {
      for (auto& secret : ConnectionStringSecrets(value)) AddSecret(out, std::move(secret));
    }
  };
  for (const auto& [key, value] : config.values()) {
    // A stored config keeps ${env:…}/${file:…} references: the reference is not a secret (an
    // error naming it must stay readable); what a running pipeline may quote is the resolved
    // value.
    if (!HasConfigReference(value)) {
      add(key, value);
    } else if (auto resolved = ResolveConfigValue(key, value); resolved.ok()) {
      add(key, *resolved);
    }
  }
  return out;
}

std::string RedactSecrets(std::string_view text, const std::vector<std::string>& secrets) {
  std::string out = RedactConnectionStrings(text);
  std::vector<const std::string*> longest_first;
  for (const auto& s : secrets) {
    if (s.size() >= kMinRedactedSecretBytes) longest_first.push_back(&s);
  }
  std::sort(longest_first.begin(), longest_first.end(),
            [](const std::string* a, const std::string* b) { return a->size() > b->size(); });
  for (const std::string* secret : longest_first) {
    size_t pos = 0;
    while ((pos = out.find(*secret, pos)) != std::string::npos) {
      out.replace(pos, secret->size(), kRedactedText);
      pos += kRedactedText.size();
    }
  }
  // Client libraries and URL parsers quote the token they choke on (libpq's "invalid integer
  // value \"pa\" for connection option \"port\"" for postgresql://u:pa/ss@h): a quoted token,
  // in double or single quotes, that is a piece of a secret is hidden too, however short.
  for (char quote : {'"', '\''}) {
    std::string result;
    size_t pos = 0;
    while (pos < out.size()) {
      size_t open = out.find(quote, pos);
      size_t close = open == std::string::npos ? std::string::npos : out.find(quote, open + 1);
      if (close == std::string::npos) break;
      std::string_view token(out.data() + open + 1, close - open - 1);
      bool piece = !token.empty() && token != kRedactedText &&
                   std::any_of(secrets.begin(), secrets.end(), [&](const std::string& s) {
                     return s.find(token) != std::string::npos;
                   });
      result.append(out, pos, open + 1 - pos);
      result.append(piece ? kRedactedText : token);
      result += quote;
      pos = close + 1;
    }
    result.append(out, std::min(pos, out.size()), std::string::npos);
    out = std::move(result);
  }
  return out;
}

std::string RedactSecrets(std::string_view text, const ConnectorConfig& config) {
  return RedactSecrets(text, ConfigSecrets(config));
}

}  // namespace sluice::core
