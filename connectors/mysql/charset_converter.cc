#include "connectors/mysql/charset_converter.h"

#include <cerrno>
#include <map>

namespace sluice::mysql {
namespace {

struct CharsetEntry {
  std::string_view mysql;
  const char* iconv;
  bool ascii_compatible;
};

// MySQL/MariaDB character set names (SHOW CHARACTER SET) and glibc iconv's names for them.
// keybcs2 and swe7 have no glibc converter.
constexpr CharsetEntry kCharsets[] = {
    {"armscii8", "ARMSCII-8", true},  {"big5", "BIG5", true},
    {"cp1250", "CP1250", true},       {"cp1251", "CP1251", true},
    {"cp1256", "CP1256", true},       {"cp1257", "CP1257", true},
    {"cp850", "CP850", true},         {"cp852", "CP852", true},
    {"cp866", "CP866", true},         {"cp932", "CP932", true},
    {"dec8", "DEC-MCS", true},        {"eucjpms", "EUC-JP-MS", true},
    {"euckr", "EUC-KR", true},        {"gb2312", "GB2312", true},
    {"gbk", "GBK", true},             {"gb18030", "GB18030", true},
    {"geostd8", "GEORGIAN-PS", true}, {"greek", "ISO-8859-7", true},
    {"hebrew", "ISO-8859-8", true},   {"hp8", "HP-ROMAN8", true},
    {"koi8r", "KOI8-R", true},        {"koi8u", "KOI8-U", true},
    {"latin2", "ISO-8859-2", true},   {"latin5", "ISO-8859-9", true},
    {"latin7", "ISO-8859-13", true},  {"macce", "MAC-CENTRALEUROPE", true},
    {"macroman", "MACINTOSH", true},  {"sjis", "SJIS", true},
    {"tis620", "TIS-620", true},      {"ujis", "EUC-JP", true},
    {"ucs2", "UCS-2BE", false},       {"utf16", "UTF-16BE", false},
    {"utf16le", "UTF-16LE", false},   {"utf32", "UTF-32BE", false},
};

// Collation ids of the sets above (information_schema.COLLATIONS of MariaDB 10.11; MySQL uses
// the same ids for these sets).
struct CollationRange {
  uint32_t first, last;
  std::string_view charset;
};
constexpr CollationRange kCollations[] = {
    {1, 1, "big5"},       {2, 2, "latin2"},     {3, 3, "dec8"},       {4, 4, "cp850"},
    {6, 6, "hp8"},        {7, 7, "koi8r"},      {9, 9, "latin2"},     {12, 12, "ujis"},
    {13, 13, "sjis"},     {14, 14, "cp1251"},   {16, 16, "hebrew"},   {18, 18, "tis620"},
    {19, 19, "euckr"},    {20, 20, "latin7"},   {21, 21, "latin2"},   {22, 22, "koi8u"},
    {23, 23, "cp1251"},   {24, 24, "gb2312"},   {25, 25, "greek"},    {26, 26, "cp1250"},
    {27, 27, "latin2"},   {28, 28, "gbk"},      {29, 29, "cp1257"},   {30, 30, "latin5"},
    {32, 32, "armscii8"}, {34, 34, "cp1250"},   {35, 35, "ucs2"},     {36, 36, "cp866"},
    {38, 38, "macce"},    {39, 39, "macroman"}, {40, 40, "cp852"},    {41, 42, "latin7"},
    {43, 43, "macce"},    {44, 44, "cp1250"},   {50, 52, "cp1251"},   {53, 53, "macroman"},
    {54, 55, "utf16"},    {56, 56, "utf16le"},  {57, 57, "cp1256"},   {58, 59, "cp1257"},
    {60, 61, "utf32"},    {62, 62, "utf16le"},  {64, 64, "armscii8"}, {66, 66, "cp1250"},
    {67, 67, "cp1256"},   {68, 68, "cp866"},    {69, 69, "dec8"},     {70, 70, "greek"},
    {71, 71, "hebrew"},   {72, 72, "hp8"},      {74, 74, "koi8r"},    {75, 75, "koi8u"},
    {77, 77, "latin2"},   {78, 78, "latin5"},   {79, 79, "latin7"},   {80, 80, "cp850"},
    {81, 81, "cp852"},    {84, 84, "big5"},     {85, 85, "euckr"},    {86, 86, "gb2312"},
    {87, 87, "gbk"},      {88, 88, "sjis"},     {89, 89, "tis620"},   {90, 90, "ucs2"},
    {91, 91, "ujis"},     {92, 93, "geostd8"},  {95, 96, "cp932"},    {97, 98, "eucjpms"},
    {99, 99, "cp1250"},   {101, 124, "utf16"},  {128, 151, "ucs2"},   {159, 159, "ucs2"},
    {160, 183, "utf32"},  {248, 250, "gb18030"},
};

}  // namespace

CharsetConverter::CharsetConverter(std::string charset, iconv_t cd, bool ascii_compatible)
    : charset_(std::move(charset)), cd_(cd), ascii_compatible_(ascii_compatible) {}

CharsetConverter::~CharsetConverter() { iconv_close(cd_); }

bool CharsetConverter::Append(std::string& out, std::string_view bytes) const {
  if (ascii_compatible_) {
    bool ascii = true;
    for (char c : bytes) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
    if (ascii) {
      out.append(bytes);
      return true;
    }
  }
  const size_t start = out.size();
  // UTF-8 needs at most 4 bytes per source character and every source character is at least
  // one byte (3 bytes for a 1-byte character, 4 for 2-byte UTF-16 surrogate pairs' halves).
  out.resize(start + bytes.size() * 4 + 4);
  std::lock_guard lock(mu_);
  iconv(cd_, nullptr, nullptr, nullptr, nullptr);  // initial shift state
  char* in = const_cast<char*>(bytes.data());
  size_t in_left = bytes.size();
  char* dst = out.data() + start;
  size_t out_left = out.size() - start;
  size_t r = iconv(cd_, &in, &in_left, &dst, &out_left);
  if (r == static_cast<size_t>(-1) || iconv(cd_, nullptr, nullptr, &dst, &out_left) ==
                                          static_cast<size_t>(-1)) {
    out.resize(start);
    return false;
  }
  out.resize(static_cast<size_t>(dst - out.data()));
  return true;
}

core::Result<std::shared_ptr<const CharsetConverter>> ConverterForCharset(std::string_view name) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const CharsetConverter>, std::less<>> cache;
  std::lock_guard lock(mu);
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  for (const CharsetEntry& e : kCharsets) {
    if (e.mysql != name) continue;
    iconv_t cd = iconv_open("UTF-8", e.iconv);
    if (cd == reinterpret_cast<iconv_t>(-1)) break;
    auto converter = std::make_shared<const CharsetConverter>(std::string(name), cd, e.ascii_compatible);
    cache.emplace(std::string(name), converter);
    return std::shared_ptr<const CharsetConverter>(converter);
  }
  return core::InvalidArgumentError(
      "mysql: character set " + std::string(name) +
      " cannot be converted to UTF-8 (no iconv converter); convert the column to utf8mb4 or "
      "leave it out with column.exclude.list");
}

std::string_view CharsetNameForCollationId(uint32_t id) {
  if (id >= 1024 && id < 2048) id -= 1024;
  for (const CollationRange& c : kCollations) {
    if (id >= c.first && id <= c.last) return c.charset;
  }
  return {};
}

}  // namespace sluice::mysql
