// `blynkd import-legacy DATA_FOLDER [--overwrite]`: a legacy server's users,
// dashboards, devices with their tokens, pin values and clone codes, into
// this server's storage (docs/operator-guide.md, "Moving from a legacy
// server"). With the server stopped it writes through the storage plugin, as
// `user add` does; while it runs, through the operator API
// (PUT /api/v1/users/{email}/profile), so imported devices log in at once.
#pragma once

#include <cstdint>
#include <string>

#include "app/operator_client.hpp"
#include "host/storage_client.hpp"

namespace blynk::app {

struct ImportOptions {
    std::string folder;    // the legacy data folder
    std::string data_dir;  // ours (clone codes go there)
    bool overwrite = false;
    uint32_t hash_iterations = 0;
};

// Prints the summary on standard output (a progress bar on standard error
// when it is a terminal). Returns 0 when every file was imported or was
// already, 1 when some were skipped (each named with its reason).
int run_import_legacy(const ImportOptions& o, const host::StorageClient& st, const OperatorClient* running);

}  // namespace blynk::app
