// https_transfer of curl_https.hpp.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include "curl_https.hpp"

#include <memory>

namespace curl_common {

HttpsResult https_transfer(const HttpsSetup& setup, const HttpsRequest& request) {
    HttpsResult result;
    std::unique_ptr<CURL, Free<CURL, curl_easy_cleanup>> curl(curl_easy_init());
    if (!curl) return result;
    result.started = true;
    CURL* c = curl.get();
    Transfer t;
    t.max_body = setup.max_body;
    t.stop = setup.stop;
    curl_slist* list = nullptr;
    if (request.headers)
        for (auto& h : *request.headers)
            list = curl_slist_append(list, h.c_str());
    std::unique_ptr<curl_slist, Free<curl_slist, curl_slist_free_all>> header_list(list);
    char error[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(c, CURLOPT_URL, request.url->c_str());
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
#endif
    // Always verified, whatever the configuration: requests carry account
    // keys, and a CA's answers decide which certificate the server serves.
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    // TLS 1.2 or newer whatever the system OpenSSL configuration allows (docs/security.md).
    curl_easy_setopt(c, CURLOPT_SSLVERSION, long(CURL_SSLVERSION_TLSv1_2));
    if (!setup.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, setup.ca_file.c_str());
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, long(request.connect_timeout.count()));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, long(request.timeout.count()));
    curl_easy_setopt(c, CURLOPT_USERAGENT, setup.user_agent.c_str());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
    if (request.method == HttpsRequest::Method::Head) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (request.method == HttpsRequest::Method::Post) {
        static const std::string none;
        const std::string& body = request.body ? *request.body : none;
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, long(body.size()));
    }
    if (list) curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    result.code = curl_easy_perform(c);
    if (result.code != CURLE_OK) {
        result.too_large = t.too_large;
        result.error = error[0] ? error : curl_easy_strerror(result.code);
        return result;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.reply.status);
    result.reply = std::move(t.reply);
    return result;
}

}  // namespace curl_common
