// Captured pgoutput messages under tests/testdata/pgoutput/ (basic.hex from capture.sh,
// stream.hex from capture_stream.sh): one message a line, "LSN<TAB>hex bytes".
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/postgres/pgoutput_decoder.h"

namespace sluice::pg {

struct Captured {
  uint64_t lsn;
  std::string bytes;
};

inline std::string FromHex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return out;
}

// `name` is a file under tests/testdata/pgoutput/ ($SLUICE_TESTDATA, set by ctest).
inline std::vector<Captured> LoadCapture(const std::string& name) {
  const char* dir = std::getenv("SLUICE_TESTDATA");
  std::string path = std::string(dir ? dir : "tests/testdata") + "/pgoutput/" + name;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::vector<Captured> out;
  std::string line;
  while (std::getline(in, line)) {
    auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    Captured c;
    EXPECT_TRUE(ParseLsn(line.substr(0, tab), c.lsn)) << line;
    c.bytes = FromHex(line.substr(tab + 1));
    out.push_back(std::move(c));
  }
  return out;
}

// A Message as PostgreSQL 15 sends it for pg_logical_emit_message(true, 'audit', '\xff0080'::bytea)
// (55.9: Byte1('M') Int8 flags Int64 lsn String prefix Int32 length Byte(n) content).
// The message's LSN is 0/16A2B40.
inline std::string LogicalMessageBytes(uint8_t flags, std::string_view prefix,
                                       std::string_view content) {
  std::string b = "M";
  b += static_cast<char>(flags);
  b += std::string("\x00\x00\x00\x00\x01\x6a\x2b\x40", 8);
  b += prefix;
  b += '\0';
  uint32_t n = static_cast<uint32_t>(content.size());
  for (int i = 3; i >= 0; --i) b += static_cast<char>((n >> (i * 8)) & 0xff);
  b += content;
  return b;
}

}  // namespace sluice::pg
