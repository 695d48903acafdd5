// A plugin that claims a route http-api already serves (GET /{token}/get/{pin},
// with other parameter names): the server must refuse to start, naming both.
// Alone it serves /route-clash/ping, and two routes for the kernel's handler
// timeout: /route-clash/never keeps its responder without answering (the
// kernel answers 504 after http.request_timeout), /route-clash/release then
// answers every kept responder late (the kernel must drop those answers).
#include <blynk/plugin.hpp>

#include <string>
#include <vector>

namespace {

struct RouteClash : blynk::Plugin {
    std::vector<blynk::Responder> held;  // route handlers run on the kernel thread only

    RouteClash() {
        route("GET", "/{auth}/get/{which}",
              [](const blynk::HttpRequest&, const blynk::Responder& r) { r.text(200, "mine"); });
        route("GET", "/route-clash/ping",
              [](const blynk::HttpRequest&, const blynk::Responder& r) { r.text(200, "pong"); });
        route("GET", "/route-clash/never",
              [this](const blynk::HttpRequest&, const blynk::Responder& r) { held.push_back(r); });
        route("GET", "/route-clash/release", [this](const blynk::HttpRequest&, const blynk::Responder& r) {
            for (auto& h : held)
                h.text(200, "late");
            r.text(200, "released " + std::to_string(held.size()));
            held.clear();
        });
    }
};

}  // namespace

BLYNK_PLUGIN(RouteClash, "route-clash", "0.1.0")
