#include "acme_http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "acme_crypto.hpp"

namespace acme {

namespace {

// No ACME answer comes near this (a certificate chain is a few KB).
constexpr size_t kMaxBody = 1 << 20;
constexpr long kConnectTimeoutS = 10;
constexpr long kTransferTimeoutS = 30;

using curl_common::Free;
using curl_common::on_body;
using curl_common::on_header;
using curl_common::on_progress;
using curl_common::Transfer;

}  // namespace

Https::Https(std::string ca_file, std::string user_agent, const std::atomic<bool>& stop)
    : ca_file_(std::move(ca_file)), user_agent_(std::move(user_agent)), stop_(stop) {}

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
    std::unique_ptr<CURL, Free<CURL, curl_easy_cleanup>> curl(curl_easy_init());
    if (!curl) throw Error("cannot start a transfer (curl_easy_init)");
    CURL* c = curl.get();
    Transfer t;
    t.max_body = kMaxBody;
    t.stop = &stop_;
    curl_slist* headers = nullptr;
    if (body) headers = curl_slist_append(headers, "Content-Type: application/jose+json");
    std::unique_ptr<curl_slist, Free<curl_slist, curl_slist_free_all>> header_list(headers);
    char error[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
#endif
    // Verification stays on whatever the configuration: the CA's answers
    // decide what certificate the server serves.
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!ca_file_.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, ca_file_.c_str());
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutS);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, kTransferTimeoutS);
    curl_easy_setopt(c, CURLOPT_USERAGENT, user_agent_.c_str());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
    if (method == "HEAD") curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data());
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, long(body->size()));
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        if (stop_.load()) throw Error("stopped");
        if (t.too_large) throw Error(method + " " + url + ": the answer is larger than 1 MiB");
        throw Error(method + " " + url + ": " + (error[0] ? error : curl_easy_strerror(rc)));
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.reply.status);
    return std::move(t.reply);
}

}  // namespace acme
