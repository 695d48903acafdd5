// `blynkd migrate-config`: a legacy server's server.properties, mail.properties
// and sms.properties turned into a blynk.toml. Every key read is either
// translated to a key of ours or reported with the reason it has none.
#pragma once

#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include "app/java_properties.hpp"

namespace blynk::app {

struct MigrationNote {
    std::string key;
    std::string where;       // "server.properties:12"
    std::string reason;      // why it has no equivalent, or why its value was not taken
    bool bad_value = false;  // the key has an equivalent, but this value could not be used
};

struct Migration {
    std::string toml;
    // Legacy key -> the key of ours it became ("server.hardware_port").
    std::map<std::string, std::string> translated;
    std::vector<MigrationNote> notes;
};

// Translates the properties of the legacy files (any mix of the three; a key
// says which file it belongs to). Secret values go only into `toml`.
Migration migrate_properties(const std::vector<Property>& props);

// The command: reads `files` (server.properties first), writes the TOML to
// `output` (owner-only: it may hold the mail password) or to `out` when
// `output` is empty, and one line per key without equivalent to `err`.
// Returns the exit status: 0, or 2 when a file cannot be read or written.
int run_migrate_config(const std::vector<std::string>& files, const std::string& output, std::ostream& out,
                       std::ostream& err);

}  // namespace blynk::app
