#include "provider_https.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace notify {

namespace {

// Provider answers are small JSON documents; anything bigger is not one.
constexpr size_t kMaxBody = 256 * 1024;

bool certificate_problem(CURLcode rc) {
    return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM;
}

}  // namespace

ProviderHttps::ProviderHttps(std::string ca_file, std::string user_agent)
    : setup_{std::move(ca_file), std::move(user_agent), kMaxBody, &stop_} {
    curl_global_init(CURL_GLOBAL_DEFAULT);  // reference counted by libcurl
}

ProviderHttps::~ProviderHttps() {
    curl_global_cleanup();
}

void ProviderHttps::stop() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
}

bool ProviderHttps::pause(std::chrono::milliseconds d, SteadyClock::time_point deadline) const {
    if (SteadyClock::now() + d >= deadline) return false;
    std::unique_lock<std::mutex> lock(mutex_);
    return !wake_.wait_for(lock, d, [this] { return stop_.load(); });
}

HttpReply ProviderHttps::post(const std::string& url, const std::vector<std::string>& headers, const std::string& body,
                              SteadyClock::time_point deadline, const std::string& what) const {
    if (stop_) throw TransportError(what + ": the server is stopping", false);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0) throw TransportError(what + ": no time left within the timeout", false);
    curl_common::HttpsRequest request;
    request.method = curl_common::HttpsRequest::Method::Post;
    request.url = &url;
    request.headers = &headers;
    request.body = &body;
    request.connect_timeout = request.timeout = left;
    curl_common::HttpsResult r = curl_common::https_transfer(setup_, request);
    if (!r.started) throw TransportError(what + ": cannot start a transfer (curl_easy_init)", true);
    if (r.code != CURLE_OK) {
        if (stop_.load()) throw TransportError(what + ": the server is stopping", false);
        if (r.too_large) throw TransportError(what + ": the answer is larger than 256 KiB", false);
        if (r.code == CURLE_OPERATION_TIMEDOUT) throw TransportError(what + ": no answer within the timeout", false);
        throw TransportError(what + ": " + r.error, !certificate_problem(r.code));
    }
    return std::move(r.reply);
}

std::chrono::milliseconds backoff_delay(int attempt, const std::string& retry_after) {
    if (!retry_after.empty() &&
        std::all_of(retry_after.begin(), retry_after.end(), [](unsigned char ch) { return std::isdigit(ch) != 0; }) &&
        retry_after.size() < 7)
        return std::chrono::seconds(std::atol(retry_after.c_str()));
    return std::chrono::milliseconds(std::min(4000, 250 << std::min(attempt, 4)));
}

}  // namespace notify
