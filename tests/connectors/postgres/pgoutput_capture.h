// Captured pgoutput messages under tests/testdata/pgoutput/ (basic.hex from capture.sh,
// stream.hex from capture_stream.sh): one message a line, "LSN<TAB>hex bytes".
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
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

}  // namespace sluice::pg
