// http-api: the CSV export of GET /{token}/data/{pin} (http-api.md #11): a
// pin's minute averages as `value,timestampMs,deviceId` lines, gzip.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#pragma once

#include <blynk/plugin.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace http_api {

// The legacy export's row limit (csv.export.data.points.max: a month of minutes).
constexpr uint32_t kCsvMaxRows = 30 * 24 * 60;

// A double as Java's Double.toString wrote it in the legacy CSV: "20.0",
// "0.5", "-3.25"; below 1e-3 or from 1e7 on, "1.0E7", "2.5E-4".
std::string java_double(double v);

// One line per row with a count: its average, its time, the device.
std::string csv_lines(const std::vector<blynk::HistoryRow>& rows, int32_t device_id);

// `data` in a gzip stream (RFC 1952); empty if zlib fails.
std::string gzip(const std::string& data);

}  // namespace http_api
