#include "net/operator_api.hpp"
#include "net/operator_auth.hpp"
#include "net/operator_json.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/ip/address.hpp>
#include <boost/json.hpp>

#include <cstring>
#include <memory>
#include <stdexcept>

#include "core/model.hpp"
#include "core/secrets.hpp"
#include "host/accounts.hpp"
#include "host/http_routes.hpp"
#include "net/operator_import.hpp"

namespace blynk::net {

namespace json = boost::json;

Cidr parse_cidr(std::string_view text) {
    Cidr c;
    std::string s(text);
    size_t slash = s.find('/');
    std::string addr = s.substr(0, slash);
    boost::system::error_code ec;
    auto a = boost::asio::ip::make_address(addr, ec);
    if (ec) throw std::invalid_argument("'" + s + "' is not an IP address or range (e.g. 192.168.0.0/16, ::1/128)");
    c.v6 = a.is_v6();
    if (c.v6) {
        auto b = a.to_v6().to_bytes();
        std::memcpy(c.bytes, b.data(), 16);
    } else {
        auto b = a.to_v4().to_bytes();
        std::memcpy(c.bytes, b.data(), 4);
    }
    unsigned max = c.v6 ? 128 : 32;
    c.prefix = max;
    if (slash != std::string::npos) {
        std::string p = s.substr(slash + 1);
        if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos || std::stoul(p) > max)
            throw std::invalid_argument("'" + s + "' has a bad prefix length (0 to " + std::to_string(max) + ")");
        c.prefix = unsigned(std::stoul(p));
    }
    return c;
}

bool address_allowed(std::string_view peer, const std::vector<Cidr>& allowed) {
    std::string host;
    if (!peer.empty() && peer.front() == '[') {
        size_t end = peer.find(']');
        if (end == std::string_view::npos) return false;
        host = std::string(peer.substr(1, end - 1));
    } else {
        host = std::string(peer.substr(0, peer.rfind(':')));
    }
    boost::system::error_code ec;
    auto a = boost::asio::ip::make_address(host, ec);
    if (ec) return false;
    if (a.is_v6() && a.to_v6().is_v4_mapped())
        a = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
    unsigned char bytes[16] = {};
    bool v6 = a.is_v6();
    if (v6) {
        auto b = a.to_v6().to_bytes();
        std::memcpy(bytes, b.data(), 16);
    } else {
        auto b = a.to_v4().to_bytes();
        std::memcpy(bytes, b.data(), 4);
    }
    for (const Cidr& c : allowed) {
        if (c.v6 != v6) continue;
        unsigned full = c.prefix / 8, rest = c.prefix % 8;
        if (std::memcmp(bytes, c.bytes, full) != 0) continue;
        if (rest) {
            unsigned char mask = (unsigned char)(0xFF << (8 - rest));
            if ((bytes[full] & mask) != (c.bytes[full] & mask)) continue;
        }
        return true;
    }
    return false;
}

namespace {

std::string_view view(blynk_str s) {
    return s.data ? std::string_view(s.data, s.size) : std::string_view();
}

int status_for(const host::StorageFailure& e) {
    switch (e.status) {
        case BLYNK_NOT_FOUND:
            return 404;
        case BLYNK_CONFLICT:
            return 409;
        default:
            return 500;
    }
}

class Api : public std::enable_shared_from_this<Api> {
public:
    Api(OperatorBackend& b, std::shared_ptr<OperatorAuth> auth) : b_(b), o_(auth->options()), auth_(std::move(auth)) {}

    void authorize(const blynk_http_request& req, blynk_http_responder* r, OperatorAuth::Then then) {
        auth_->authorize(req, r, std::move(then));
    }

    // A storage change, then its effect on the model; storage errors become HTTP statuses.
    template <class Job, class Then>
    void change(blynk_http_responder* r, Job job, Then then) {
        auto failure = std::make_shared<std::pair<int, std::string>>(0, "");
        bool queued = b_.storage_job(
            [job, failure](const host::StorageClient& st) {
                try {
                    job(st);
                } catch (const host::StorageFailure& e) {
                    *failure = {status_for(e), e.what()};
                } catch (const std::exception& e) {
                    *failure = {500, e.what()};
                }
            },
            [this, r, failure, then] {
                if (failure->first) {
                    b_.answer(r, unsigned(failure->first), error_json(failure->second));
                    return;
                }
                then();
            });
        if (!queued) b_.answer(r, 503, error_json("The server is busy; try again."));
    }

    // CPU-heavy work (a password hash) on the hashing pool, then `then` on the
    // kernel thread; a full pool answers 503 at once, a failed job 500.
    template <class Job, class Then>
    void hashed(blynk_http_responder* r, Job job, Then then) {
        auto failed = std::make_shared<bool>(false);
        bool queued = b_.hash_job(
            [job, failed] {
                try {
                    job();
                } catch (const std::exception& e) {
                    spdlog::error("operator API: hashing a password failed: {}", e.what());
                    *failed = true;
                }
            },
            [this, r, failed, then] {
                if (*failed) return b_.answer(r, 500, error_json("Internal error."));
                then();
            });
        if (!queued) b_.answer(r, 503, error_json("The server is busy; try again."));
    }

    void list_users(blynk_http_responder* r) {
        auto data = std::make_shared<core::LoadedData>();
        change(
            r, [data](const host::StorageClient& st) { st.load_all(*data); },
            [this, r, data] {
                json::array out;
                for (auto& u : data->users)
                    out.push_back(json::object{{"email", u->email},
                                               {"name", u->name},
                                               {"admin", u->is_admin},
                                               {"devices", u->devices.size()},
                                               {"createdAt", u->created_ms}});
                b_.answer(r, 200, json::serialize(out));
            });
    }

    void add_user(blynk_http_responder* r, const std::string& body) {
        json::object in;
        if (!parse_object(r, body, in)) return;
        std::string email = core::lower(str(in, "email")), name = str(in, "name"), password = str(in, "password");
        bool admin = in.contains("admin") && in["admin"].is_bool() && in["admin"].as_bool();
        if (!core::valid_email(email)) return b_.answer(r, 400, error_json("'email' must be a valid e-mail address."));
        auto account = std::make_shared<host::NewAccount>();
        bool generated = password.empty();
        uint32_t iterations = o_.hash_iterations;
        hashed(
            r, [=] { *account = host::prepare_account(email, name, password, admin, iterations); },
            [this, r, email, account, generated] {
                change(
                    r, [account](const host::StorageClient& st) { host::store_account(st, *account); },
                    [this, r, email, account, generated] {
                        auth_->forget();
                        json::object out{{"email", email}};
                        if (generated) out["password"] = account->password;
                        b_.answer(r, 201, json::serialize(out));
                    });
            });
    }

    void remove_user(blynk_http_responder* r, const std::string& email_in) {
        std::string email = core::lower(email_in);
        change(
            r, [email](const host::StorageClient& st) { st.remove_user(email); },
            [this, r, email] {
                auth_->forget();                      // no cached credentials outlive an account
                auth_->sessions().close_user(email);  // nor browser sessions
                if (core::User* u = b_.model().find_user(email)) {
                    for (auto& d : u->devices)
                        b_.close_device(*d, "account removed");
                    b_.close_apps(*u, "account removed");
                }
                b_.model().remove_user(email);
                b_.answer(r, 200, json::serialize(json::object{{"removed", email}}));
            });
    }

    void import_profile(blynk_http_responder* r, const std::string& email, const std::string& body, bool overwrite) {
        auto auth = auth_;
        net::import_profile(b_, o_.hash_iterations, r, email, body, overwrite, [auth] { auth->forget(); });
    }

    void list_devices(blynk_http_responder* r, const std::string& email_in) {
        std::string email = core::lower(email_in);
        auto data = std::make_shared<core::LoadedData>();
        change(
            r,
            [data, email](const host::StorageClient& st) {
                if (email.empty())
                    st.load_all(*data);
                else if (!st.load_user(email, *data))
                    throw host::StorageFailure(BLYNK_NOT_FOUND, "no user " + email);
            },
            [this, r, data] {
                json::array out;
                for (auto& u : data->users)
                    for (auto& d : u->devices) {
                        // What is live comes from memory, the rest from storage.
                        const core::Device* live = b_.model().find_token(d->token);
                        json::object o = device_json(live ? *live : *d, true);
                        if (!live) o["email"] = u->email;
                        out.push_back(std::move(o));
                    }
                b_.answer(r, 200, json::serialize(out));
            });
    }

    void add_device(blynk_http_responder* r, const std::string& body) {
        json::object in;
        if (!parse_object(r, body, in)) return;
        std::string email = core::lower(str(in, "email")), name = str(in, "name"), board = str(in, "board");
        int32_t dash = 1;
        if (in.contains("dashId")) {
            if (!in["dashId"].is_int64() || in["dashId"].as_int64() < 0 || in["dashId"].as_int64() > 1000000)
                return b_.answer(r, 400, error_json("'dashId' must be a number from 0 to 1000000."));
            dash = int32_t(in["dashId"].as_int64());
        }
        if (!core::valid_email(email)) return b_.answer(r, 400, error_json("'email' must be a valid e-mail address."));
        if (name.empty() || name.size() > 50)
            return b_.answer(r, 400, error_json("'name' must be 1 to 50 characters."));
        // A new user's password is hashed on the hashing pool first: the
        // storage thread only stores.
        auto exists = std::make_shared<bool>(false);
        change(
            r, [email, exists](const host::StorageClient& st) { *exists = host::user_exists(st, email); },
            [this, r, exists, email, name, board, dash] {
                if (*exists) return store_device(r, email, name, board, dash, nullptr);
                auto account = std::make_shared<host::NewAccount>();
                uint32_t iterations = o_.hash_iterations;
                hashed(
                    r, [=] { *account = host::prepare_account(email, "", "", false, iterations); },
                    [this, r, email, name, board, dash, account] {
                        store_device(r, email, name, board, dash, account);
                    });
            });
    }

    void store_device(blynk_http_responder* r, const std::string& email, const std::string& name,
                      const std::string& board, int32_t dash, std::shared_ptr<host::NewAccount> account) {
        auto made = std::make_shared<host::NewDevice>();
        auto data = std::make_shared<core::LoadedData>();
        change(
            r,
            [=](const host::StorageClient& st) {
                *made = host::add_device(st, email, name, board, dash, account.get());
                st.load_by_token(made->token, *data);
            },
            [this, r, made, data, email, name] {
                b_.model().merge(std::move(*data));
                json::object out{{"token", made->token},
                                 {"email", email},
                                 {"dashId", made->dash_id},
                                 {"id", made->device_id},
                                 {"name", name}};
                if (!made->user_password.empty()) out["userPassword"] = made->user_password;
                b_.answer(r, 201, json::serialize(out));
            });
    }

    void remove_device(blynk_http_responder* r, const std::string& token) {
        auto gone = std::make_shared<std::optional<blynk::Device>>();
        change(
            r, [token, gone](const host::StorageClient& st) { *gone = host::remove_device(st, token); },
            [this, r, token, gone] {
                if (!*gone) return b_.answer(r, 404, error_json("No device has this token."));
                if (core::Device* d = b_.model().find_token(token)) {
                    b_.close_device(*d, "device removed");
                    b_.model().evict(*d);
                }
                b_.answer(r, 200,
                          json::serialize(json::object{{"removed", json::object{{"email", (*gone)->email},
                                                                                {"dashId", (*gone)->dash_id},
                                                                                {"id", (*gone)->device_id}}}}));
            });
    }

    void rotate(blynk_http_responder* r, const std::string& token) {
        auto dev = std::make_shared<std::optional<blynk::Device>>();
        change(
            r, [token, dev](const host::StorageClient& st) { *dev = host::rotate_token(st, token); },
            [this, r, token, dev] {
                if (!*dev) return b_.answer(r, 404, error_json("No device has this token."));
                if (core::Device* d = b_.model().find_token(token)) {
                    // Connections logged in with the old token end; the new one works at once.
                    b_.close_device(*d, "token rotated");
                    b_.model().retoken(*d, (*dev)->token);
                }
                b_.answer(r, 200, json::serialize(json::object{{"token", (*dev)->token}}));
            });
    }

    void online(blynk_http_responder* r) {
        json::array out;
        b_.model().for_each_user([&](const core::User& u) {
            for (auto& d : u.devices)
                if (d->online_count && !d->removed) out.push_back(device_json(*d, false));
        });
        b_.answer(r, 200, json::serialize(out));
    }

private:
    bool parse_object(blynk_http_responder* r, const std::string& body, json::object& out) {
        boost::system::error_code ec;
        json::value v = json::parse(body, ec);
        if (ec || !v.is_object()) {
            b_.answer(r, 400, error_json("The body must be a JSON object."));
            return false;
        }
        out = std::move(v.as_object());
        return true;
    }
    static std::string str(const json::object& o, const char* key) {
        auto it = o.find(key);
        return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : std::string();
    }

    OperatorBackend& b_;
    OperatorOptions o_;
    std::shared_ptr<OperatorAuth> auth_;
};

}  // namespace

void register_operator_api(host::HttpRoutes& routes, OperatorBackend& backend, OperatorOptions options) {
    auto auth = std::make_shared<OperatorAuth>(backend, std::move(options));
    auto api = std::make_shared<Api>(backend, auth);
    const std::string owner = kOperatorApiOwner;
    auto add = [&](const char* method, const char* pattern,
                   std::function<void(const blynk_http_request&, blynk_http_responder*)> fn) {
        routes.add(
            method, pattern, owner,
            [api, fn](const blynk_http_request& req, blynk_http_responder* r) {
                auto kept = KeptRequest::of(req);
                api->authorize(req, r, [fn, kept, r](const Caller&) { fn(kept->req, r); });
            },
            /*cross_origin=*/false);  // browser pages on other sites must not read it
    };
    auto param = [](const blynk_http_request& req, size_t i) {
        return i < req.param_count ? std::string(view(req.params[i])) : std::string();
    };
    // After authorize(), only body, query and the copied params are read.
    add("GET", "/api/v1/users", [api](const blynk_http_request&, blynk_http_responder* r) { api->list_users(r); });
    add("POST", "/api/v1/users",
        [api](const blynk_http_request& q, blynk_http_responder* r) { api->add_user(r, std::string(view(q.body))); });
    add("DELETE", "/api/v1/users/{email}",
        [api, param](const blynk_http_request& q, blynk_http_responder* r) { api->remove_user(r, param(q, 0)); });
    add("PUT", "/api/v1/users/{email}/profile", [api, param](const blynk_http_request& q, blynk_http_responder* r) {
        std::string overwrite = host::query_field(view(q.query), "overwrite");
        api->import_profile(r, param(q, 0), std::string(view(q.body)), overwrite == "1" || overwrite == "true");
    });
    add("GET", "/api/v1/devices", [api](const blynk_http_request& q, blynk_http_responder* r) {
        api->list_devices(r, host::query_field(view(q.query), "email"));
    });
    add("POST", "/api/v1/devices",
        [api](const blynk_http_request& q, blynk_http_responder* r) { api->add_device(r, std::string(view(q.body))); });
    add("DELETE", "/api/v1/devices/{token}",
        [api, param](const blynk_http_request& q, blynk_http_responder* r) { api->remove_device(r, param(q, 0)); });
    add("POST", "/api/v1/devices/{token}/token",
        [api, param](const blynk_http_request& q, blynk_http_responder* r) { api->rotate(r, param(q, 0)); });
    add("GET", "/api/v1/online", [api](const blynk_http_request&, blynk_http_responder* r) { api->online(r); });
    // The admin web UI's: its session, the server at a glance, the live feed
    // (net/operator_session_api.cpp); and its pages under /admin (served by
    // the admin-ui plugin) follow the operator API's rules of origin.
    register_session_routes(routes, backend, auth);
    routes.gate("/admin", [auth](const blynk_http_request& req, std::string& message) {
        return auth->check_origin(req, message);
    });
}

}  // namespace blynk::net
