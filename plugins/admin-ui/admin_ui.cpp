// admin-ui: the admin web UI (README.md). It serves its embedded pages under
// /admin; everything the pages show or change comes from the kernel's operator
// API (/api/v1/...), which decides who may call it. The kernel also applies
// the operator API's rules of origin to /admin itself (TLS only, [admin]
// allowed_ips), so another address gets a 403 before this plugin sees the
// request.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include <blynk/plugin.hpp>

#include "assets.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

// What a browser may do with these pages: load scripts, styles, images and
// connections only from this origin (no inline script or style, nothing from
// elsewhere), be framed by no one, send no referrer, sniff no types.
const Headers& page_headers() {
    static const Headers h{
        {"Content-Security-Policy",
         "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
         "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"},
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "no-referrer"},
        {"X-Frame-Options", "DENY"},
        {"Cross-Origin-Opener-Policy", "same-origin"},
        {"Cross-Origin-Resource-Policy", "same-origin"},
        {"Cache-Control", "no-cache"},
    };
    return h;
}

std::string_view type_of(std::string_view name) {
    auto ends = [&](std::string_view ext) {
        return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
    };
    if (ends(".html")) return "text/html;charset=utf-8";
    if (ends(".css")) return "text/css;charset=utf-8";
    if (ends(".js")) return "text/javascript;charset=utf-8";
    if (ends(".svg")) return "image/svg+xml";
    return "application/octet-stream";
}

class AdminUi : public blynk::Plugin {
public:
    AdminUi() {
        route("GET", "/admin", [](const blynk::HttpRequest&, const blynk::Responder& r) { serve(r, "index.html"); });
        route("GET", "/admin/{file}", [](const blynk::HttpRequest& q, const blynk::Responder& r) {
            serve(r, q.params.empty() ? std::string_view() : q.params[0]);
        });
    }

    void init(const blynk::Settings& settings) override {
        settings.reject_unknown({});  // nothing to set: who may use it is [admin]'s
    }

private:
    static void serve(const blynk::Responder& r, std::string_view name) {
        const auto& all = admin_ui::assets();
        auto it = all.find(name);
        if (it == all.end()) {
            r.respond(404, "text/plain;charset=utf-8", "Not found.", page_headers());
            return;
        }
        r.respond(200, type_of(name), it->second, page_headers());
    }
};

}  // namespace

BLYNK_PLUGIN(AdminUi, "admin-ui", "1.0.0")
