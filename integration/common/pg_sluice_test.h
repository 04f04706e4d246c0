// A test fixture for suites that run one sluice process on a scratch PostgreSQL database: after
// each test the process is killed and the database dropped with its slots (DropPgSourceDatabase).
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "integration/common/sluice_process.h"
#include "integration/common/teardown.h"

namespace sluice::itest {

class PgSluiceTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (sluice_) sluice_->Kill();
    sluice_.reset();
    if (!db_.empty()) DropPgSourceDatabase(db_, /*terminate_active=*/true);
  }

  std::optional<SluiceProcess> sluice_;
  std::string db_;  // the scratch database, set by the test once created
};

}  // namespace sluice::itest
