// Fuzzes the parse-and-build step of `blynkd import-legacy`
// (host::parse_legacy_user): the input is the content of a legacy `.user`
// file (its first byte picks whether the file name gave an email, as the
// `u_<email>.user` form does). Bad input must be refused with a reason, never
// crash or be half-built; an account that parses must be whole and
// consistent, and survive the storage round trip of its dashboards.
#include <set>
#include <string>

#include "core/app_json.hpp"
#include "core/secrets.hpp"
#include "fuzz_util.hpp"
#include "host/legacy_user.hpp"
#include "host/storage_client.hpp"

using namespace blynk;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::Input in(data, size);
    uint8_t mode = in.byte();
    std::string_view hint = (mode & 1) ? "fuzz@example.com" : "";
    std::string_view text(reinterpret_cast<const char*>(data) + (size ? 1 : 0), size ? size - 1 : 0);

    host::LegacyUser lu;
    std::string err;
    if (!host::parse_legacy_user(text, hint, lu, err)) {
        FUZZ_CHECK(!err.empty());  // every refusal says why
        return 0;
    }
    FUZZ_CHECK(lu.user != nullptr);
    const core::User& u = *lu.user;
    FUZZ_CHECK(core::valid_email(u.email) && core::lower(u.email) == u.email);
    if (!hint.empty()) FUZZ_CHECK(u.email == hint);

    // Every device hangs off one of the account's dashboards, ids and tokens unique.
    std::set<std::pair<int32_t, int32_t>> ids;
    std::set<std::string> tokens;
    size_t pins = 0;
    for (auto& d : u.devices) {
        FUZZ_CHECK(d->user == &u);
        FUZZ_CHECK(d->id >= 0 && d->id < core::kFirstTagId);
        FUZZ_CHECK(ids.insert({d->dash_id, d->id}).second);
        if (!d->token.empty()) FUZZ_CHECK(tokens.insert(d->token).second);
        bool has_dash = false;
        for (auto& dash : u.dashboards)
            has_dash = has_dash || dash.id == d->dash_id;
        FUZZ_CHECK(has_dash);
        for (size_t i = 1; i < d->pins.size(); ++i)
            FUZZ_CHECK(d->pins[i - 1].key < d->pins[i].key);
        pins += d->pins.size() + d->properties.size();
    }
    FUZZ_CHECK(pins == lu.pins);

    // What storage keeps of a dashboard reads back to the same dashboard.
    for (auto& dash : u.dashboards) {
        blynk::Dash rec = host::StorageClient::snapshot(u, dash);
        core::Dashboard back;
        back.id = dash.id;
        FUZZ_CHECK(core::load_dashboard_blob(rec.json, back));
        FUZZ_CHECK(core::dashboard_blob(back) == rec.json);
        FUZZ_CHECK(back.widgets.size() == dash.widgets.size() && back.tags.size() == dash.tags.size());
        FUZZ_CHECK(back.share_token == dash.share_token);
    }
    // The views and the fingerprint are total on whatever parsed.
    (void)core::profile_json(u, core::JsonView::Owner);
    FUZZ_CHECK(host::import_fingerprint(u) == host::import_fingerprint(u));
    return 0;
}
