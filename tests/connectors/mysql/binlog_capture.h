// Captured binlog files (tests/testdata/binlog/*.binlog) split into their events, for the
// decoder and stream reader tests.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "connectors/mysql/binlog_decoder.h"

namespace sluice::mysql::testing {

struct CapturedEvent {
  uint64_t pos;       // where the event starts in its file
  std::string bytes;  // header, body and checksum
};

// Every whole event of the file after the 4-byte magic; empty when the file is missing.
inline std::vector<CapturedEvent> LoadBinlog(const std::string& name) {
  const char* dir = std::getenv("SLUICE_TESTDATA");
  std::string path = std::string(dir ? dir : "tests/testdata") + "/binlog/" + name;
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string data = ss.str();
  std::vector<CapturedEvent> events;
  if (data.size() < 4 || data.compare(0, 4, "\xfe" "bin") != 0) return events;
  size_t pos = 4;
  while (pos + kEventHeaderSize <= data.size()) {
    uint32_t size = static_cast<uint8_t>(data[pos + 9]) | static_cast<uint8_t>(data[pos + 10]) << 8 |
                    static_cast<uint8_t>(data[pos + 11]) << 16 |
                    static_cast<uint32_t>(static_cast<uint8_t>(data[pos + 12])) << 24;
    if (size < kEventHeaderSize || pos + size > data.size()) break;
    events.push_back({pos, data.substr(pos, size)});
    pos += size;
  }
  return events;
}

}  // namespace sluice::mysql::testing
