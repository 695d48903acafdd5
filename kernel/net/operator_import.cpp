#include "net/operator_import.hpp"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <memory>

#include "core/model.hpp"
#include "core/secrets.hpp"
#include "host/legacy_import.hpp"

namespace blynk::net {

namespace json = boost::json;

namespace {

std::string error_json(std::string_view message, std::string_view result = {}) {
    json::object o{{"error", message}};
    if (!result.empty()) o["result"] = result;
    return json::serialize(o);
}

// One import through its steps; kept alive by the jobs that hold it.
struct ProfileImport : std::enable_shared_from_this<ProfileImport> {
    OperatorBackend& b;
    uint32_t iterations;
    blynk_http_responder* r;
    std::string email, body;
    bool overwrite;
    std::function<void()> accounts_changed;

    host::LegacyUser user;
    host::ImportState state;
    host::ImportDecision decision;
    std::string error;
    int error_status = 0;
    core::LoadedData written;

    ProfileImport(OperatorBackend& b_, uint32_t it, blynk_http_responder* r_, std::string e, std::string bd, bool ow,
                  std::function<void()> changed)
        : b(b_),
          iterations(it),
          r(r_),
          email(std::move(e)),
          body(std::move(bd)),
          overwrite(ow),
          accounts_changed(std::move(changed)) {}

    void busy() { b.answer(r, 503, error_json("The server is busy; try again.")); }

    // A storage step; its failures become statuses.
    void storage(std::function<void(const host::StorageClient&)> job, std::function<void()> then) {
        auto self = shared_from_this();
        bool queued = b.storage_job(
            [self, job](const host::StorageClient& st) {
                try {
                    job(st);
                } catch (const host::StorageFailure& e) {
                    self->error_status = e.status == BLYNK_CONFLICT ? 409 : 500;
                    self->error = e.what();
                } catch (const std::exception& e) {
                    self->error_status = 500;
                    self->error = e.what();
                }
            },
            [self, then] {
                if (self->error_status)
                    return self->b.answer(self->r, unsigned(self->error_status), error_json(self->error));
                then();
            });
        if (!queued) busy();
    }

    void start() {
        auto self = shared_from_this();
        // Parsing a profile of up to the HTTP body limit is CPU work: not on the kernel thread.
        bool queued = b.hash_job(
            [self] {
                std::string err;
                if (!host::parse_legacy_user(self->body, self->email, self->user, err)) self->error = err;
                self->body.clear();
            },
            [self] {
                if (!self->error.empty())
                    return self->b.answer(self->r, 400, error_json("Not a legacy profile: " + self->error + "."));
                self->read_state();
            });
        if (!queued) busy();
    }

    void read_state() {
        auto self = shared_from_this();
        storage([self](const host::StorageClient& st) { self->state = host::read_import_state(st, self->user); },
                [self] { self->decide(); });
    }

    void decide() {
        auto self = shared_from_this();
        bool queued = b.hash_job(
            [self] {
                self->decision = host::decide_import(self->user, self->state, self->overwrite, self->iterations);
            },
            [self] { self->write(); });
        if (!queued) busy();
    }

    void write() {
        auto self = shared_from_this();
        auto outcome = decision.outcome;
        if (outcome == host::ImportOutcome::Unchanged) return answer(200);
        if (outcome == host::ImportOutcome::Exists || outcome == host::ImportOutcome::TokenTaken)
            return b.answer(r, 409, error_json(decision.reason, host::outcome_name(outcome)));
        storage(
            [self](const host::StorageClient& st) {
                host::write_import(st, self->user, self->decision);
                st.load_user(self->user.user->email, self->written);
            },
            [self] { self->merge(); });
    }

    void merge() {
        core::Model& m = b.model();
        const std::string& e = user.user->email;
        if (decision.outcome == host::ImportOutcome::Replaced)
            if (core::User* old = m.find_user(e)) {
                for (auto& d : old->devices)
                    b.close_device(*d, "account replaced by an import");
                m.remove_user(e);
            }
        m.merge(std::move(written));
        if (accounts_changed) accounts_changed();
        spdlog::info("operator API: legacy account {} {}", e, host::outcome_name(decision.outcome));
        answer(decision.outcome == host::ImportOutcome::Imported ? 201 : 200);
    }

    void answer(unsigned status) {
        const core::User& u = *user.user;
        json::object o{{"email", u.email},
                       {"result", host::outcome_name(decision.outcome)},
                       {"dashboards", u.dashboards.size()},
                       {"devices", u.devices.size()},
                       {"pins", user.pins}};
        b.answer(r, status, json::serialize(o));
    }
};

}  // namespace

void import_profile(OperatorBackend& b, uint32_t hash_iterations, blynk_http_responder* r, const std::string& email,
                    std::string body, bool overwrite, std::function<void()> accounts_changed) {
    std::string e = core::lower(email);
    if (!core::valid_email(e)) return b.answer(r, 400, error_json("The path must name a valid e-mail address."));
    std::make_shared<ProfileImport>(b, hash_iterations, r, e, std::move(body), overwrite, std::move(accounts_changed))
        ->start();
}

}  // namespace blynk::net
