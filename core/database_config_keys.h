// Config keys that every database source (connectors/postgres, connectors/mysql) declares the
// same way, so that their documentation cannot drift apart.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"

namespace sluice::core {

// database.password and Debezium's database.initial.statements. `runs_on`: which connections
// run the statements ("every regular connection"); `session_settings`: what sluice sets on the
// session after them ("DateStyle, TimeZone").
inline std::vector<ConfigKey> DatabaseSessionConfigKeys(std::string_view runs_on,
                                                        std::string_view session_settings) {
  return {MakeConfigKey("database.password", ConfigType::kPassword, "",
                        "password of database.user"),
          MakeConfigKey("database.initial.statements", ConfigType::kString, "",
                        "statements separated by ';' (';;' for a ';' inside one) run on " +
                            std::string(runs_on) + " as it opens, before sluice sets its session (" +
                            std::string(session_settings) + ")")};
}

}  // namespace sluice::core
