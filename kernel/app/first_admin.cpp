#include "app/first_admin.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>

#include "core/secrets.hpp"
#include "host/accounts.hpp"
#include "host/storage_client.hpp"
#include "platform/platform.hpp"

namespace blynk::app {

namespace fs = std::filesystem;

namespace {

constexpr const char* kEmailLine = "email: ";
constexpr const char* kPasswordLine = "password: ";

void write_password_file(const std::string& file, const std::string& email, const std::string& password) {
    std::FILE* f = platform::open_private_file(file);
    if (!f) throw std::runtime_error("cannot write the administrator password file " + file);
    std::string text =
        "# The administrator account blynkd created at its first start. Note the\n"
        "# password somewhere safe, then delete this file; blynkd deletes it itself\n"
        "# once the password no longer opens this account.\n" +
        std::string(kEmailLine) + email + "\n" + kPasswordLine + password + "\n";
    bool ok = std::fputs(text.c_str(), f) >= 0;
    ok = std::fclose(f) == 0 && ok;
    if (!ok) {
        std::error_code ec;
        fs::remove(file, ec);
        throw std::runtime_error("cannot write the administrator password file " + file);
    }
}

// The file of an earlier first start: kept while it is right, removed once stale.
void review_password_file(const std::string& file, const core::Model& model) {
    std::ifstream in(file);
    if (!in) return;
    std::string line, email, password;
    while (std::getline(in, line)) {
        if (line.rfind(kEmailLine, 0) == 0) email = line.substr(std::char_traits<char>::length(kEmailLine));
        if (line.rfind(kPasswordLine, 0) == 0) password = line.substr(std::char_traits<char>::length(kPasswordLine));
    }
    in.close();
    const core::User* u = email.empty() ? nullptr : model.find_user(email);
    if (u && u->is_admin && !password.empty() &&
        core::verify_slow_hash(core::legacy_pass_hash(email, password), u->pass_hash)) {
        spdlog::warn("{} still holds the password of the administrator {}; note it somewhere safe and delete the file",
                     file, email);
        return;
    }
    std::error_code ec;
    fs::remove(file, ec);
    if (ec)
        spdlog::warn("{} no longer holds a valid administrator password but could not be removed: {}", file,
                     ec.message());
    else
        spdlog::info("removed {}: the password in it no longer opens an administrator account", file);
}

}  // namespace

std::string admin_password_file(const std::string& data_dir) {
    return (fs::path(data_dir) / "initial-admin-password.txt").string();
}

void ensure_admin(const Config& cfg, const std::string& data_dir, core::Model& model, const host::StorageClient& st) {
    std::string file = admin_password_file(data_dir);
    review_password_file(file, model);
    bool any = false;
    model.for_each_user([&](const core::User& u) { any |= u.is_admin; });
    if (any) return;
    std::string email = core::lower(cfg.admin_email);
    if (model.find_user(email)) {
        spdlog::warn(
            "no administrator account exists and {} is a regular user; create one with `blynkd user add --admin`",
            email);
        return;
    }
    std::string password = core::generate_password();
    bool terminal = platform::stdout_is_terminal();
    // Written before the account exists: if the file cannot be written, no
    // account is left behind with a password nobody has.
    if (!terminal) write_password_file(file, email, password);
    // Generated, and seen on a terminal or in a file: the admin web UI asks for
    // a new one at the first login (core::must_change).
    host::NewAccount account = host::prepare_account(email, "admin", password, true, cfg.password_hash_iterations);
    account.user.pass_hash = core::mark_must_change(account.user.pass_hash);
    try {
        host::store_account(st, account);
    } catch (const host::StorageFailure& e) {
        if (e.status != BLYNK_CONFLICT) throw;
        // Another server sharing this store (PostgreSQL) created it at the same
        // moment: use that one; the password written here opens nothing.
        std::error_code ec;
        fs::remove(file, ec);
        core::LoadedData data;
        st.load_user(email, data);
        model.merge(std::move(data));
        spdlog::info(
            "administrator account {} was created by another server sharing this store at the same time; its "
            "password is where that server put it",
            email);
        return;
    }
    core::LoadedData data;
    st.load_user(email, data);
    model.merge(std::move(data));
    if (terminal) {
        // Straight to the terminal, never into the log.
        std::cout << "\n  Administrator account created: " << email << "\n  Password (shown only once): " << password
                  << "\n\n"
                  << std::flush;
        spdlog::info("administrator account {} created; its password was shown on the terminal", email);
    } else {
        spdlog::warn(
            "administrator account {} created; stdout is not a terminal, so its password was written to {} "
            "(owner-only): note it and delete the file",
            email, file);
    }
}

}  // namespace blynk::app
