// The app side's way off the loop thread (core::AppBackend): storage calls on
// the storage thread, in the order asked, with their status posted back;
// password hashes on the hashing pool the operator API uses.
#include <blynk/plugin.h>
#include <spdlog/spdlog.h>

#include <memory>

#include "codec/deflate.hpp"
#include "core/app_graph.hpp"
#include "core/app_json.hpp"
#include "core/secrets.hpp"
#include "host/clone_codes.hpp"
#include "host/storage_client.hpp"
#include "host/work_queue.hpp"
#include "net/server_context.hpp"
#include "net/services.hpp"

namespace blynk::net {

bool AppServices::stored(std::function<int(const host::StorageClient&)> job, std::function<void(int)> done) {
    ServerContext* ctx = &ctx_;
    return ctx_.storage_queue.post([ctx, job = std::move(job), done = std::move(done)] {
        int rc = BLYNK_OK;
        try {
            rc = job(ctx->storage);
        } catch (const host::StorageFailure& e) {
            rc = e.status == BLYNK_OK ? BLYNK_ERROR : e.status;
            if (rc != BLYNK_CONFLICT) spdlog::error("storage: an app's change was not stored: {}", e.what());
        } catch (const std::exception& e) {
            rc = BLYNK_ERROR;
            spdlog::error("storage: an app's change was not stored: {}", e.what());
        }
        ctx->defer([done, rc] { done(rc); });
    });
}

bool AppServices::load_user(std::string email, std::function<void(core::LoadResult)> done) {
    ServerContext* ctx = &ctx_;
    return ctx_.storage_queue.post([ctx, email = std::move(email), done = std::move(done)] {
        auto data = std::make_shared<core::LoadedData>();
        core::LoadResult r = core::LoadResult::Unknown;
        try {
            if (ctx->storage.load_user(email, *data) && !data->users.empty()) r = core::LoadResult::Found;
        } catch (const std::exception& e) {
            spdlog::error("storage: loading {} for an app login failed: {}", email, e.what());
            r = core::LoadResult::Failed;
        }
        ctx->defer([ctx, data, r, done] {
            if (r == core::LoadResult::Found) ctx->model.merge(std::move(*data));
            done(r);
        });
    });
}

bool AppServices::verify_password(std::string client_hash, std::string stored, std::function<void(bool)> done) {
    auto match = std::make_shared<bool>(false);
    return hashing_.hash_job([match, client_hash = std::move(client_hash),
                              stored = std::move(stored)] { *match = core::verify_slow_hash(client_hash, stored); },
                             [match, done = std::move(done)] { done(*match); });
}

bool AppServices::hash_password(std::string client_hash, std::function<void(std::string)> done) {
    auto hash = std::make_shared<std::string>();
    uint32_t iterations = ctx_.opt.password_hash_iterations;
    return hashing_.hash_job(
        [hash, client_hash = std::move(client_hash), iterations] { *hash = core::slow_hash(client_hash, iterations); },
        [hash, done = std::move(done)] { done(std::move(*hash)); });
}

bool AppServices::save_user(const core::User& u, bool create, std::function<void(int)> done) {
    return stored(
        [rec = host::StorageClient::snapshot(u), create](const host::StorageClient& st) {
            st.put_user(rec, create);
            return BLYNK_OK;
        },
        std::move(done));
}

bool AppServices::save_dash(const core::User& u, const core::Dashboard& dash, std::function<void(int)> done) {
    return stored(
        [rec = host::StorageClient::snapshot(u, dash)](const host::StorageClient& st) {
            st.put_dash(rec);
            return BLYNK_OK;
        },
        std::move(done));
}

bool AppServices::remove_dash(const core::User& u, int32_t dash_id, std::function<void(int)> done) {
    return stored(
        [email = u.email, dash_id](const host::StorageClient& st) {
            try {
                st.remove_dash(email, dash_id);
            } catch (const host::StorageFailure& e) {
                if (e.status != BLYNK_NOT_FOUND) throw;  // never stored (an implicit dashboard)
            }
            return BLYNK_OK;
        },
        std::move(done));
}

bool AppServices::save_device(const core::Device& d, std::function<void(int)> done) {
    return stored(
        [rec = host::StorageClient::snapshot(d)](const host::StorageClient& st) {
            st.put_device(rec);
            return BLYNK_OK;
        },
        std::move(done));
}

bool AppServices::remove_device(const core::Device& d, std::function<void(int)> done) {
    return stored(
        [email = d.user->email, dash_id = d.dash_id, id = d.id](const host::StorageClient& st) {
            try {
                st.remove_device(email, dash_id, id);
            } catch (const host::StorageFailure& e) {
                if (e.status != BLYNK_NOT_FOUND) throw;
            }
            return BLYNK_OK;
        },
        std::move(done));
}

bool AppServices::remove_history(const core::User& u, int32_t dash_id, int32_t device_id, std::vector<uint16_t> pins,
                                 std::function<void(int)> done) {
    return stored(
        [email = u.email, dash_id, device_id, pins = std::move(pins)](const host::StorageClient& st) {
            if (!st.keeps_history()) return BLYNK_OK;  // nothing kept, nothing to delete
            blynk::HistoryScope scope;
            scope.email = email;
            scope.dash_id = dash_id;
            scope.device_id = device_id;
            if (pins.empty()) st.remove_history(scope);
            for (uint16_t key : pins) {
                scope.pin_type = core::key_type(key);
                scope.pin = core::key_pin(key);
                st.remove_history(scope);
            }
            return BLYNK_OK;
        },
        std::move(done));
}

bool AppServices::read_graph(core::GraphRequest req, std::function<void(int, std::string)> done) {
    ServerContext* ctx = &ctx_;
    // LIVE reads the newest raw values when they are kept, else the newest minutes.
    bool raw = ctx_.opt.history.raw_data;
    return ctx_.storage_queue.post([ctx, raw, req = std::move(req), done = std::move(done)] {
        int rc = BLYNK_OK;
        std::string body;
        try {
            if (!ctx->storage.keeps_history()) throw host::StorageFailure(BLYNK_NOT_FOUND, "no history");
            uint32_t g = req.live ? uint32_t(raw ? BLYNK_GRANULARITY_RAW : BLYNK_GRANULARITY_MINUTE) : req.granularity;
            std::vector<std::vector<core::GraphPoint>> streams;
            bool any = false;
            for (const auto& sr : req.streams) {
                std::vector<std::vector<core::GraphPoint>> per_device;
                for (int32_t device_id : sr.device_ids) {
                    blynk::HistoryQuery q;
                    q.email = req.email;
                    q.dash_id = req.dash_id;
                    q.device_id = device_id;
                    q.pin_type = core::key_type(sr.pin_key);
                    q.pin = core::key_pin(sr.pin_key);
                    q.granularity = blynk::Granularity(g);
                    q.limit = req.points;
                    q.skip = req.skip;
                    auto& points = per_device.emplace_back();
                    for (const auto& row : ctx->storage.read_history(q))
                        if (row.count > 0) points.push_back({row.average(), row.at_ms});  // raw text: not charted
                }
                streams.push_back(per_device.empty() ? std::vector<core::GraphPoint>{}
                                                     : core::merge_stream(per_device, sr.function));
                any = any || !streams.back().empty();
            }
            if (any)
                body = codec::zlib_deflate(core::graph_body(req.dash_id, streams));
            else
                rc = BLYNK_NOT_FOUND;
        } catch (const host::StorageFailure& e) {
            rc = e.status == BLYNK_NOT_FOUND ? BLYNK_NOT_FOUND : BLYNK_ERROR;
            if (rc == BLYNK_ERROR) spdlog::error("storage: reading a chart of {} failed: {}", req.email, e.what());
        } catch (const std::exception& e) {
            rc = BLYNK_ERROR;
            spdlog::error("storage: reading a chart of {} failed: {}", req.email, e.what());
        }
        ctx->defer([done, rc, body = std::move(body)]() mutable { done(rc, std::move(body)); });
    });
}

bool AppServices::save_clone(std::string json, std::function<void(std::string)> done) {
    ServerContext* ctx = &ctx_;
    return ctx_.storage_queue.post([ctx, json = std::move(json), done = std::move(done)] {
        std::string code = core::generate_token();
        try {
            host::store_clone_code(ctx->opt.data_dir, code, json, false);
        } catch (const std::exception& e) {
            spdlog::error("clone codes: {}", e.what());
            code.clear();
        }
        ctx->defer([code, done] { done(code); });
    });
}

bool AppServices::load_clone(std::string code, std::function<void(std::string)> done) {
    ServerContext* ctx = &ctx_;
    return ctx_.storage_queue.post([ctx, code = std::move(code), done = std::move(done)] {
        std::string json;
        try {
            json = host::load_clone_code(ctx->opt.data_dir, code).value_or(std::string());
        } catch (const std::exception& e) {
            spdlog::error("clone codes: {}", e.what());
        }
        ctx->defer([json = std::move(json), done] { done(json); });
    });
}

void AppServices::close_device(core::Device& d, std::string_view why) {
    while (d.online)
        d.online->out->close(why);
}

}  // namespace blynk::net
