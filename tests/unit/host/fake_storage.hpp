// A storage plugin table in memory for host/ unit tests: records what the
// kernel stores, answers token lookups from a list of devices, and fails on
// demand with a given message (as a storage plugin reports an I/O error).
#pragma once

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <blynk/plugin.hpp>

#include "host/storage_client.hpp"

namespace blynk::test {

struct FakeStorage {
    std::vector<blynk::Device> devices;       // what load_by_token finds (one user per email)
    std::vector<blynk::Pin> stored_pins;      // every pin record put_pins received, in order
    std::vector<blynk::Device> updated;       // every device record update_devices received
    std::vector<std::string> missing_tokens;  // update_devices reports these as removed
    std::string fail;                         // non-empty: every call fails with this message
    int put_pins_calls = 0, lookups = 0;
    // History (ABI 1.4): every point put_points received, with its keep_raw
    // flag per call; every trim's cutoffs.
    std::vector<blynk::Point> stored_points;
    std::vector<bool> keep_raw_flags;
    std::vector<blynk::HistoryCutoffs> trims;
    int put_points_calls = 0;
    // Runs at the start of each put_points call (given its number, from 1)
    // before `fail` is looked at: a test sets `fail` there for one call, or
    // acts as the loop meanwhile.
    std::function<void(int)> before_put_points;

    blynk_storage_v1 table{};
    host::StorageClient client{&table, this};

    FakeStorage() {
        table.size = sizeof table;
        table.put_pins = put_pins;
        table.update_devices = update_devices;
        table.load_by_token = load_by_token;
        table.put_points = put_points;
        table.read_history = [](void*, const blynk_history_query*, const blynk_history_sink*, blynk_error*) {
            return int(BLYNK_OK);
        };
        table.remove_history = [](void*, const blynk_history_scope*, blynk_error*) { return int(BLYNK_OK); };
        table.trim_history = trim_history;
    }
    FakeStorage(const FakeStorage&) = delete;
    FakeStorage& operator=(const FakeStorage&) = delete;

private:
    static FakeStorage& me(void* self) { return *static_cast<FakeStorage*>(self); }
    static int failed(const FakeStorage& s, blynk_error* err) {
        std::strncpy(err->message, s.fail.c_str(), sizeof err->message - 1);
        return BLYNK_ERROR;
    }
    static int put_pins(void* self, const blynk_pin_rec* recs, size_t count, blynk_error* err) {
        auto& s = me(self);
        ++s.put_pins_calls;
        if (!s.fail.empty()) return failed(s, err);
        for (size_t i = 0; i < count; ++i)
            s.stored_pins.push_back(blynk::from_c(&recs[i]));
        return BLYNK_OK;
    }
    static int update_devices(void* self, const blynk_device_rec* recs, size_t count, uint8_t* missing,
                              blynk_error* err) {
        auto& s = me(self);
        if (!s.fail.empty()) return failed(s, err);
        for (size_t i = 0; i < count; ++i) {
            blynk::Device d = blynk::from_c(&recs[i]);
            missing[i] = 0;
            for (auto& t : s.missing_tokens)
                if (t == d.token) missing[i] = 1;
            s.updated.push_back(std::move(d));
        }
        return BLYNK_OK;
    }
    static int put_points(void* self, const blynk_point_rec* recs, size_t count, uint32_t flags, blynk_error* err) {
        auto& s = me(self);
        ++s.put_points_calls;
        if (s.before_put_points) s.before_put_points(s.put_points_calls);
        if (!s.fail.empty()) return failed(s, err);
        for (size_t i = 0; i < count; ++i)
            s.stored_points.push_back(blynk::from_c(&recs[i]));
        s.keep_raw_flags.push_back((flags & BLYNK_POINTS_KEEP_RAW) != 0);
        return BLYNK_OK;
    }
    static int trim_history(void* self, const int64_t before[BLYNK_GRANULARITY_COUNT], uint64_t* removed,
                            blynk_error* err) {
        auto& s = me(self);
        if (!s.fail.empty()) return failed(s, err);
        blynk::HistoryCutoffs c{};
        for (size_t g = 0; g < c.size(); ++g)
            c[g] = before[g];
        s.trims.push_back(c);
        if (removed) *removed = 0;
        return BLYNK_OK;
    }
    static int load_by_token(void* self, blynk_str token, const blynk_storage_sink* sink, blynk_error* err) {
        auto& s = me(self);
        ++s.lookups;
        if (!s.fail.empty()) return failed(s, err);
        for (auto& d : s.devices) {
            if (d.token != std::string(token.data, token.size)) continue;
            blynk::User u;
            u.email = d.email;
            auto ur = blynk::to_c(u);
            sink->user(sink->ctx, &ur);
            auto dr = blynk::to_c(d);
            sink->device(sink->ctx, &dr);
            return BLYNK_OK;
        }
        return BLYNK_NOT_FOUND;
    }
};

}  // namespace blynk::test
