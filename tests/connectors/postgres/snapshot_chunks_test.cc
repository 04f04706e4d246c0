// Which tables the PostgreSQL snapshot reads as ctid-range chunks (snapshot_reader.h,
// ReadInChunks): only where more than one connection shares them.
#include <gtest/gtest.h>

#include "connectors/postgres/snapshot_reader.h"

namespace sluice::pg {
namespace {

SnapshotOptions Options(int threads, uint64_t chunk_pages) {
  SnapshotOptions options;
  options.threads = threads;
  options.chunk_pages = chunk_pages;
  return options;
}

TEST(SnapshotChunks, LargeTableIsChunkedForSeveralReaders) {
  EXPECT_TRUE(ReadInChunks(Options(2, 16384), 32787, false));
  EXPECT_FALSE(ReadInChunks(Options(2, 16384), 16384, false));  // not larger than one chunk
}

TEST(SnapshotChunks, OneReaderReadsEveryTableWhole) {
  EXPECT_FALSE(ReadInChunks(Options(1, 16384), 32787, false));
  EXPECT_FALSE(ReadInChunks(Options(1, 1), 1000000, false));
}

TEST(SnapshotChunks, ZeroChunkPagesOrAnOverrideReadsWhole) {
  EXPECT_FALSE(ReadInChunks(Options(4, 0), 32787, false));
  EXPECT_FALSE(ReadInChunks(Options(4, 16384), 32787, true));
}

}  // namespace
}  // namespace sluice::pg
