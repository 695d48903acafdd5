#include "acme_http.hpp"

#include <curl/curl.h>

#include <chrono>
#include <vector>

#include "acme_crypto.hpp"

namespace acme {

namespace {

// No ACME answer comes near this (a certificate chain is a few KB).
constexpr size_t kMaxBody = 1 << 20;
constexpr std::chrono::seconds kConnectTimeout{10};
constexpr std::chrono::seconds kTransferTimeout{30};

}  // namespace

Https::Https(std::string ca_file, std::string user_agent, const std::atomic<bool>& stop)
    : setup_{std::move(ca_file), std::move(user_agent), kMaxBody, &stop}, stop_(stop) {}

HttpReply Https::get(const std::string& url) const {
    return perform("GET", url, nullptr);
}

HttpReply Https::head(const std::string& url) const {
    return perform("HEAD", url, nullptr);
}

HttpReply Https::post_jose(const std::string& url, const std::string& body) const {
    return perform("POST", url, &body);
}

HttpReply Https::perform(const std::string& method, const std::string& url, const std::string* body) const {
    using Method = curl_common::HttpsRequest::Method;
    static const std::vector<std::string> jose = {"Content-Type: application/jose+json"};
    curl_common::HttpsRequest request;
    request.method = body ? Method::Post : method == "HEAD" ? Method::Head : Method::Get;
    request.url = &url;
    if (body) request.headers = &jose;
    request.body = body;
    request.connect_timeout = kConnectTimeout;
    request.timeout = kTransferTimeout;
    curl_common::HttpsResult r = curl_common::https_transfer(setup_, request);
    if (!r.started) throw Error("cannot start a transfer (curl_easy_init)");
    if (r.code != CURLE_OK) {
        if (stop_.load()) throw Error("stopped");
        if (r.too_large) throw Error(method + " " + url + ": the answer is larger than 1 MiB");
        throw Error(method + " " + url + ": " + r.error);
    }
    return std::move(r.reply);
}

}  // namespace acme
