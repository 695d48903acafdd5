#include "host/accounts.hpp"

#include <chrono>

#include "core/secrets.hpp"

namespace blynk::host {

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

NewAccount prepare_account(const std::string& email, const std::string& name, std::string password, bool admin,
                           uint32_t iterations) {
    NewAccount a;
    a.password = password.empty() ? core::generate_password() : std::move(password);
    blynk::User& u = a.user;
    u.email = email;
    u.name = name.empty() ? email.substr(0, email.find('@')) : name;
    u.pass_hash = core::slow_hash(core::legacy_pass_hash(email, a.password), iterations);
    u.is_admin = admin;
    return a;
}

void store_account(const StorageClient& st, const NewAccount& account) {
    blynk::User u = account.user;
    u.created_at_ms = now_ms();
    st.put_user(u, true);
}

std::string create_user(const StorageClient& st, const std::string& email, const std::string& name,
                        std::string password, bool admin, uint32_t iterations) {
    NewAccount a = prepare_account(email, name, std::move(password), admin, iterations);
    store_account(st, a);
    return a.password;
}

bool user_exists(const StorageClient& st, const std::string& email) {
    core::LoadedData data;
    return st.load_user(email, data) && !data.users.empty();
}

void set_pass_hash(const StorageClient& st, const std::string& email, const std::string& pass_hash) {
    core::LoadedData data;
    if (!st.load_user(email, data) || data.users.empty()) return;  // removed meanwhile
    // Every stored field as it is (the app's settings and energy too): only the hash changes.
    blynk::User u = StorageClient::snapshot(*data.users.front());
    u.pass_hash = pass_hash;
    st.put_user(u, false);
}

NewDevice add_device(const StorageClient& st, const std::string& email, const std::string& name,
                     const std::string& board, int32_t dash_id, const NewAccount* if_missing) {
    NewDevice out;
    out.dash_id = dash_id;
    core::LoadedData data;
    if (!st.load_user(email, data)) {
        if (!if_missing) throw StorageFailure(BLYNK_NOT_FOUND, "no user " + email);
        store_account(st, *if_missing);
        out.user_password = if_missing->password;
        st.load_user(email, data);
    }
    core::User* user = data.users.empty() ? nullptr : data.users.front().get();
    if (!user) throw StorageFailure(BLYNK_ERROR, "storage did not return user " + email);
    if (!user->find_dash(dash_id)) {
        blynk::Dash dash;
        dash.email = email;
        dash.dash_id = dash_id;
        dash.name = "My Dashboard";
        dash.is_active = true;
        dash.created_at_ms = now_ms();
        st.put_dash(dash);
    }
    int32_t next_id = 0;
    for (auto& d : user->devices)
        if (d->dash_id == dash_id && d->id >= next_id) next_id = d->id + 1;
    blynk::Device dev;
    dev.email = email;
    dev.dash_id = dash_id;
    dev.device_id = next_id;
    dev.name = name;
    dev.board_type = board;
    dev.created_at_ms = now_ms();
    for (int attempt = 0;; ++attempt) {
        dev.token = core::generate_token();
        try {
            st.put_device(dev);
            break;
        } catch (const StorageFailure& e) {
            if (e.status != BLYNK_CONFLICT || attempt >= 4) throw;
        }
    }
    out.token = dev.token;
    out.device_id = next_id;
    return out;
}

std::optional<blynk::Device> find_device(const StorageClient& st, const std::string& token) {
    core::LoadedData data;
    if (token.empty() || !st.load_by_token(token, data)) return std::nullopt;
    for (auto& u : data.users)
        for (auto& d : u->devices)
            if (d->token == token) return StorageClient::snapshot(*d);
    return std::nullopt;
}

std::optional<blynk::Device> remove_device(const StorageClient& st, const std::string& token) {
    auto d = find_device(st, token);
    if (d) st.remove_device(d->email, d->dash_id, d->device_id);
    return d;
}

std::optional<blynk::Device> rotate_token(const StorageClient& st, const std::string& token) {
    auto d = find_device(st, token);
    if (!d) return std::nullopt;
    for (int attempt = 0;; ++attempt) {
        d->token = core::generate_token();
        try {
            st.put_device(*d);
            return d;
        } catch (const StorageFailure& e) {
            if (e.status != BLYNK_CONFLICT || attempt >= 4) throw;
        }
    }
}

}  // namespace blynk::host
