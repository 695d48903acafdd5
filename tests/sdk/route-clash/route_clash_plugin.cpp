// A plugin that claims a route http-api already serves (GET /{token}/get/{pin},
// with other parameter names): the server must refuse to start, naming both.
#include <blynk/plugin.hpp>

namespace {

struct RouteClash : blynk::Plugin {
    RouteClash() {
        route("GET", "/{auth}/get/{which}",
              [](const blynk::HttpRequest&, const blynk::Responder& r) { r.text(200, "mine"); });
        route("GET", "/route-clash/ping",
              [](const blynk::HttpRequest&, const blynk::Responder& r) { r.text(200, "pong"); });
    }
};

}  // namespace

BLYNK_PLUGIN(RouteClash, "route-clash", "0.1.0")
