#include "host/accounts.hpp"

#include <chrono>

#include "core/secrets.hpp"

namespace blynk::host {

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string create_user(const StorageClient& st, const std::string& email, const std::string& name,
                        std::string password, bool admin) {
    if (password.empty()) password = core::generate_password();
    blynk::User u;
    u.email = email;
    u.name = name.empty() ? email.substr(0, email.find('@')) : name;
    u.pass_hash = core::slow_hash(core::legacy_pass_hash(email, password));
    u.is_admin = admin;
    u.created_at_ms = now_ms();
    st.put_user(u, true);
    return password;
}

NewDevice add_device(const StorageClient& st, const std::string& email, const std::string& name,
                     const std::string& board, int32_t dash_id) {
    NewDevice out;
    out.dash_id = dash_id;
    core::LoadedData data;
    if (!st.load_user(email, data)) {
        out.user_password = create_user(st, email, "", "", false);
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
