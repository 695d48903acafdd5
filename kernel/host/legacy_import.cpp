#include "host/legacy_import.hpp"

#include "core/secrets.hpp"
#include "host/accounts.hpp"

namespace blynk::host {

const char* outcome_name(ImportOutcome o) {
    switch (o) {
        case ImportOutcome::Imported:
            return "imported";
        case ImportOutcome::Replaced:
            return "replaced";
        case ImportOutcome::Unchanged:
            return "unchanged";
        case ImportOutcome::Exists:
            return "exists";
        case ImportOutcome::TokenTaken:
            return "token-taken";
    }
    return "?";
}

ImportState read_import_state(const StorageClient& st, const LegacyUser& lu) {
    ImportState s;
    const core::User& u = *lu.user;
    core::LoadedData data;
    if (st.load_user(u.email, data) && !data.users.empty()) s.existing = std::move(data.users.front());
    for (auto& d : u.devices) {
        if (d->token.empty()) continue;
        core::LoadedData owner;
        if (!st.load_by_token(d->token, owner) || owner.users.empty()) continue;
        if (owner.users.front()->email == u.email) continue;  // ours already (imported before)
        s.token_owner = owner.users.front()->email;
        s.token_device = "device " + std::to_string(d->id) + " of dashboard " + std::to_string(d->dash_id);
        break;
    }
    return s;
}

namespace {

bool same_password(const LegacyUser& lu, const core::User& existing) {
    if (lu.client_hash.empty()) return existing.pass_hash.empty();
    return core::verify_slow_hash(lu.client_hash, existing.pass_hash);
}

}  // namespace

ImportDecision decide_import(const LegacyUser& lu, const ImportState& state, bool overwrite, uint32_t iterations) {
    ImportDecision d;
    if (!state.token_owner.empty()) {
        // Never taken from another account, not even with --overwrite: that
        // would silently move someone's board.
        d.outcome = ImportOutcome::TokenTaken;
        d.reason = "the token of " + state.token_device + " belongs to another account (" + state.token_owner + ")";
        return d;
    }
    if (state.existing) {
        // The fingerprint first: it is cheap, the hash check is not.
        if (import_fingerprint(*state.existing) == import_fingerprint(*lu.user) && same_password(lu, *state.existing)) {
            d.outcome = ImportOutcome::Unchanged;
            return d;
        }
        if (!overwrite) {
            d.outcome = ImportOutcome::Exists;
            d.reason =
                "an account with this email exists and differs (password, dashboards or devices); "
                "--overwrite replaces it";
            return d;
        }
        d.outcome = ImportOutcome::Replaced;
    }
    // No password (a legacy Facebook account): stored empty, which no login matches.
    if (!lu.client_hash.empty()) d.pass_hash = core::slow_hash(lu.client_hash, iterations);
    return d;
}

void write_import(const StorageClient& st, const LegacyUser& lu, const ImportDecision& d) {
    if (d.outcome != ImportOutcome::Imported && d.outcome != ImportOutcome::Replaced) return;
    const core::User& u = *lu.user;
    if (d.outcome == ImportOutcome::Replaced) {
        try {
            st.remove_user(u.email);
        } catch (const StorageFailure& e) {
            if (e.status != BLYNK_NOT_FOUND) throw;
        }
    }
    blynk::User rec = StorageClient::snapshot(u);
    rec.pass_hash = d.pass_hash;
    if (!rec.created_at_ms) rec.created_at_ms = now_ms();
    st.put_user(rec, true);  // a conflict: made meanwhile, nothing of ours written
    try {
        for (auto& dash : u.dashboards)
            st.put_dash(StorageClient::snapshot(u, dash));
        int64_t now = now_ms();
        std::vector<blynk::Pin> pins;
        for (auto& dev : u.devices) {
            st.put_device(StorageClient::snapshot(*dev));
            for (auto& p : dev->pins)
                pins.push_back(
                    {u.email, dev->dash_id, dev->id, core::key_type(p.key), core::key_pin(p.key), "", p.value, now});
            for (auto& p : dev->properties)
                pins.push_back({u.email, dev->dash_id, dev->id, core::key_type(p.key), core::key_pin(p.key), p.name,
                                p.value, now});
        }
        st.put_pins(pins);
    } catch (...) {
        // Never half-imported: what was written of the account goes.
        try {
            st.remove_user(u.email);
        } catch (...) {
        }
        throw;
    }
}

ImportDecision import_user(const StorageClient& st, const LegacyUser& lu, bool overwrite, uint32_t iterations) {
    ImportState state = read_import_state(st, lu);
    ImportDecision d = decide_import(lu, state, overwrite, iterations);
    write_import(st, lu, d);
    return d;
}

}  // namespace blynk::host
