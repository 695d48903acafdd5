#include "provider_https.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>

namespace notify {

namespace {

// Provider answers are small JSON documents; anything bigger is not one.
constexpr size_t kMaxBody = 256 * 1024;

using curl_common::Free;
using curl_common::on_body;
using curl_common::on_header;
using curl_common::on_progress;
using curl_common::Transfer;

bool certificate_problem(CURLcode rc) {
    return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM;
}

}  // namespace

ProviderHttps::ProviderHttps(std::string ca_file, std::string user_agent)
    : ca_file_(std::move(ca_file)), user_agent_(std::move(user_agent)) {
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
    std::unique_ptr<CURL, Free<CURL, curl_easy_cleanup>> curl(curl_easy_init());
    if (!curl) throw TransportError(what + ": cannot start a transfer (curl_easy_init)", true);
    CURL* c = curl.get();
    Transfer t;
    t.max_body = kMaxBody;
    t.stop = &stop_;
    curl_slist* list = nullptr;
    for (auto& h : headers)
        list = curl_slist_append(list, h.c_str());
    std::unique_ptr<curl_slist, Free<curl_slist, curl_slist_free_all>> header_list(list);
    char error[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
#endif
    // Always verified: the request carries the provider account's keys.
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!ca_file_.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, ca_file_.c_str());
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, long(left.count()));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, long(left.count()));
    curl_easy_setopt(c, CURLOPT_USERAGENT, user_agent_.c_str());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, long(body.size()));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        if (stop_.load()) throw TransportError(what + ": the server is stopping", false);
        if (t.too_large) throw TransportError(what + ": the answer is larger than 256 KiB", false);
        if (rc == CURLE_OPERATION_TIMEDOUT) throw TransportError(what + ": no answer within the timeout", false);
        // curl's message names the host and the reason, never the request.
        throw TransportError(what + ": " + (error[0] ? error : curl_easy_strerror(rc)), !certificate_problem(rc));
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.reply.status);
    return std::move(t.reply);
}

std::chrono::milliseconds backoff_delay(int attempt, const std::string& retry_after) {
    if (!retry_after.empty() &&
        std::all_of(retry_after.begin(), retry_after.end(), [](unsigned char ch) { return std::isdigit(ch) != 0; }) &&
        retry_after.size() < 7)
        return std::chrono::seconds(std::atol(retry_after.c_str()));
    return std::chrono::milliseconds(std::min(4000, 250 << std::min(attempt, 4)));
}

}  // namespace notify
