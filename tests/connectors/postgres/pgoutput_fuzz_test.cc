// Randomised robustness of the pgoutput decoder: mutated captured messages (byte flips, cuts,
// insertions, length fields set to huge values) and random bytes behind every message type must
// decode or fail with kDataLoss naming the LSN, never crash or read out of bounds (run this test
// under the sanitizer build to check the latter). Deterministic seed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "connectors/postgres/pgoutput_decoder.h"

namespace sluice::pg {
namespace {

std::vector<std::pair<uint64_t, std::string>> Captured() {
  const char* dir = std::getenv("SLUICE_TESTDATA");
  std::ifstream in(std::string(dir ? dir : "tests/testdata") + "/pgoutput/basic.hex");
  EXPECT_TRUE(in.good());
  std::vector<std::pair<uint64_t, std::string>> out;
  std::string line;
  while (std::getline(in, line)) {
    auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    uint64_t lsn = 0;
    EXPECT_TRUE(ParseLsn(line.substr(0, tab), lsn));
    std::string bytes;
    for (size_t i = tab + 1; i + 1 < line.size(); i += 2) {
      bytes += static_cast<char>(std::stoi(line.substr(i, 2), nullptr, 16));
    }
    out.emplace_back(lsn, std::move(bytes));
  }
  return out;
}

void ExpectCleanResult(const std::string& bytes, uint64_t lsn, PgoutputMessage& m) {
  core::Status st = DecodePgoutput(bytes, lsn, m);
  if (st.ok()) return;
  ASSERT_EQ(st.code(), core::StatusCode::kDataLoss) << st.ToString();
  ASSERT_NE(st.message().find(LsnToString(lsn)), std::string::npos) << st.message();
}

TEST(PgoutputFuzz, MutatedCapturedMessagesNeverCrash) {
  auto msgs = Captured();
  ASSERT_FALSE(msgs.empty());
  std::mt19937_64 rng(20261123);
  PgoutputMessage m;
  for (int iter = 0; iter < 20000; ++iter) {
    const auto& [lsn, original] = msgs[rng() % msgs.size()];
    std::string b = original;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !b.empty(); ++e) {
      size_t at = rng() % b.size();
      switch (rng() % 5) {
        case 0: b[at] = static_cast<char>(rng()); break;
        case 1: b.resize(at); break;
        case 2: b.insert(at, 1 + rng() % 8, static_cast<char>(rng())); break;
        case 3:  // a length or count field turned huge
          for (size_t i = at; i < b.size() && i < at + 4; ++i) b[i] = '\x7f';
          break;
        case 4: b.erase(at, 1 + rng() % 4); break;
      }
    }
    ExpectCleanResult(b, lsn, m);
    if (HasFatalFailure()) return;
  }
}

TEST(PgoutputFuzz, RandomBytesAfterEveryMessageType) {
  std::mt19937_64 rng(7);
  PgoutputMessage m;
  CopyDataFrame f;
  for (char type : std::string("BCORYIUDTMwkZ")) {
    for (int iter = 0; iter < 3000; ++iter) {
      std::string b(1, type);
      size_t n = rng() % 64;
      for (size_t i = 0; i < n; ++i) {
        // Mostly small values and tuple kinds, so decoding gets past the headers.
        static const char kPool[] = {'\0', '\x01', '\x02', 'n', 'u', 't', 'b', 'N', 'K', 'O', 'a'};
        b += rng() % 3 ? kPool[rng() % sizeof(kPool)] : static_cast<char>(rng());
      }
      ExpectCleanResult(b, 0x1234ABCDull, m);
      if (HasFatalFailure()) return;
      (void)DecodeCopyData(b, f);
    }
  }
}

}  // namespace
}  // namespace sluice::pg
