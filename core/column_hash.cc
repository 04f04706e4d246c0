#include "core/column_hash.h"

#include <openssl/evp.h>

#include <array>
#include <cctype>
#include <utility>

namespace sluice::core {
namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 14> kDigests = {{
    {"MD5", "MD5"},
    {"SHA", "SHA1"},
    {"SHA1", "SHA1"},
    {"SHA-1", "SHA1"},
    {"SHA-224", "SHA224"},
    {"SHA-256", "SHA256"},
    {"SHA-384", "SHA384"},
    {"SHA-512", "SHA512"},
    {"SHA-512/224", "SHA512-224"},
    {"SHA-512/256", "SHA512-256"},
    {"SHA3-224", "SHA3-224"},
    {"SHA3-256", "SHA3-256"},
    {"SHA3-384", "SHA3-384"},
    {"SHA3-512", "SHA3-512"},
}};

// One code point decoded from `s` at `i`; advances `i`. nullopt for invalid UTF-8.
std::optional<uint32_t> NextCodePoint(std::string_view s, size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  size_t n = 0;
  uint32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4;
    cp = b0 & 0x07;
  } else {
    return std::nullopt;
  }
  if (i + n > s.size()) return std::nullopt;
  for (size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  i += n;
  return cp;
}

// Java's modified UTF-8 of one UTF-16 code unit.
void AppendModifiedUtf8(uint32_t unit, std::string& out) {
  if (unit != 0 && unit < 0x80) {
    out += static_cast<char>(unit);
  } else if (unit < 0x800) {
    out += static_cast<char>(0xC0 | (unit >> 6));
    out += static_cast<char>(0x80 | (unit & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (unit >> 12));
    out += static_cast<char>(0x80 | ((unit >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (unit & 0x3F));
  }
}

}  // namespace

std::optional<std::string> DigestNameForJava(std::string_view java_name) {
  std::string upper;
  for (char c : java_name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const auto& [java, openssl] : kDigests) {
    if (java == upper) return std::string(openssl);
  }
  return std::nullopt;
}

Status JavaSerializedString(std::string_view utf8, std::string& out) {
  out.clear();
  // ObjectOutputStream: STREAM_MAGIC, STREAM_VERSION, then the string object (Java Object
  // Serialization Specification, 6.4.2: TC_STRING with a 2-byte length, or TC_LONGSTRING with
  // an 8-byte one when the modified UTF-8 is longer than 65535 bytes).
  out.append("\xAC\xED\x00\x05\x74\x00\x00", 7);
  for (size_t i = 0; i < utf8.size();) {
    auto cp = NextCodePoint(utf8, i);
    if (!cp) return InvalidArgumentError("the value is not valid UTF-8");
    if (*cp >= 0x10000) {
      const uint32_t v = *cp - 0x10000;
      AppendModifiedUtf8(0xD800 | (v >> 10), out);
      AppendModifiedUtf8(0xDC00 | (v & 0x3FF), out);
    } else {
      AppendModifiedUtf8(*cp, out);
    }
  }
  const uint64_t len = out.size() - 7;
  if (len <= 0xFFFF) {
    out[5] = static_cast<char>(len >> 8);
    out[6] = static_cast<char>(len & 0xFF);
  } else {
    std::string wide(8, '\0');
    for (int k = 0; k < 8; ++k) wide[k] = static_cast<char>((len >> (56 - 8 * k)) & 0xFF);
    out[4] = '\x7C';
    out.replace(5, 2, wide);
  }
  return Status::Ok();
}

std::optional<std::string_view> Utf16Prefix(std::string_view utf8, size_t units) {
  size_t used = 0;
  size_t i = 0;
  while (i < utf8.size()) {
    size_t next = i;
    auto cp = NextCodePoint(utf8, next);
    if (!cp) next = i + 1;  // an invalid byte: one unit, as a replacement character would be
    const size_t width = cp && *cp >= 0x10000 ? 2 : 1;
    if (used + width > units) {
      if (used < units) return std::nullopt;  // only the high surrogate would fit
      break;
    }
    used += width;
    i = next;
  }
  return utf8.substr(0, i);
}

struct ColumnHasher::Context {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::string name;  // the digest `md` was looked up for
  const EVP_MD* md = nullptr;
  ~Context() { EVP_MD_CTX_free(ctx); }
};

ColumnHasher::ColumnHasher() : ctx_(std::make_unique<Context>()) {}
ColumnHasher::~ColumnHasher() = default;

Result<std::string_view> ColumnHasher::Hash(const std::string& digest, std::string_view salt,
                                            bool v2, std::string_view value) {
  if (digest != ctx_->name) {
    ctx_->md = EVP_get_digestbyname(digest.c_str());
    ctx_->name = digest;
  }
  const EVP_MD* md = ctx_->md;
  if (md == nullptr || ctx_->ctx == nullptr) {
    return InvalidArgumentError("hash algorithm " + digest + " is not available in OpenSSL");
  }
  std::string_view bytes = value;
  if (!v2) {
    SLUICE_RETURN_IF_ERROR(JavaSerializedString(value, serialized_));
    bytes = serialized_;
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  if (EVP_DigestInit_ex(ctx_->ctx, md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx_->ctx, salt.data(), salt.size()) != 1 ||
      EVP_DigestUpdate(ctx_->ctx, bytes.data(), bytes.size()) != 1 ||
      EVP_DigestFinal_ex(ctx_->ctx, out, &out_len) != 1) {
    return InvalidArgumentError("hash algorithm " + digest + " failed in OpenSSL");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  hex_.resize(out_len * 2);
  for (unsigned int k = 0; k < out_len; ++k) {
    hex_[2 * k] = kHex[out[k] >> 4];
    hex_[2 * k + 1] = kHex[out[k] & 0xF];
  }
  return std::string_view(hex_);
}

}  // namespace sluice::core
