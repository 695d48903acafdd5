// The legacy project JSON of a device's dashboard (GET /TOKEN/project of the
// HTTP API, through the SDK host table's project_json): the dashboard's id,
// name, creation time and state, no widgets, and its devices.
#pragma once

#include <string>

#include "core/model.hpp"

namespace blynk::host {

std::string project_json(const core::Device& d);

}  // namespace blynk::host
