#include "smtp_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>

namespace mail_smtp {

struct SmtpClient::Handle {
    CURL* curl = curl_easy_init();
    ~Handle() {
        if (curl) curl_easy_cleanup(curl);
    }
};

namespace {

struct Reader {
    const std::string* text;
    size_t at = 0;
};

size_t read_message(char* out, size_t size, size_t n, void* arg) {
    auto* r = static_cast<Reader*>(arg);
    size_t len = std::min(size * n, r->text->size() - r->at);
    std::memcpy(out, r->text->data() + r->at, len);
    r->at += len;
    return len;
}

}  // namespace

SmtpClient::SmtpClient(SmtpSettings s) : s_(std::move(s)) {
    std::string host = s_.host.find(':') != std::string::npos ? "[" + s_.host + "]" : s_.host;
    url_ = std::string(s_.tls == TlsMode::Implicit ? "smtps://" : "smtp://") + host + ":" + std::to_string(s_.port);
}

SmtpClient::~SmtpClient() = default;

std::unique_ptr<SmtpClient::Handle> SmtpClient::take() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!idle_.empty()) {
            auto h = std::move(idle_.back());
            idle_.pop_back();
            return h;
        }
    }
    return std::make_unique<Handle>();
}

void SmtpClient::give_back(std::unique_ptr<Handle> h) {
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.push_back(std::move(h));
}

SmtpResult SmtpClient::send(const std::string& from, const std::string& to, const std::string& message,
                            std::chrono::milliseconds timeout) {
    SmtpResult r;
    auto h = take();
    CURL* c = h->curl;
    if (!c) {
        r.error = "libcurl could not make a handle";
        return r;
    }
    // Options are set again on a kept handle: curl_easy_reset would also
    // drop the connection it keeps, which is the point of keeping it.
    Reader reader{&message};
    curl_slist* rcpt = curl_slist_append(nullptr, ("<" + to + ">").c_str());
    std::string mail_from = "<" + from + ">";
    char curl_error[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(c, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_error);
    curl_easy_setopt(c, CURLOPT_USE_SSL, long(s_.tls == TlsMode::None ? CURLUSESSL_NONE : CURLUSESSL_ALL));
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, s_.verify ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, s_.verify ? 2L : 0L);
    // TLS 1.2 or newer whatever the system OpenSSL configuration allows (docs/security.md).
    curl_easy_setopt(c, CURLOPT_SSLVERSION, long(CURL_SSLVERSION_TLSv1_2));
    if (!s_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, s_.ca_file.c_str());
    if (!s_.username.empty()) {
        curl_easy_setopt(c, CURLOPT_USERNAME, s_.username.c_str());
        curl_easy_setopt(c, CURLOPT_PASSWORD, s_.password.c_str());
    }
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, mail_from.c_str());
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_message);
    curl_easy_setopt(c, CURLOPT_READDATA, &reader);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, curl_off_t(message.size()));
    long ms = long(std::max<int64_t>(timeout.count(), 1));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.code);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, nullptr);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
    curl_slist_free_all(rcpt);
    if (rc == CURLE_OK && (r.code == 0 || (r.code >= 200 && r.code < 400))) {
        r.ok = true;
    } else {
        r.ok = false;
        r.error = std::string(curl_easy_strerror(rc));
        if (curl_error[0]) r.error += std::string(": ") + curl_error;
        if (r.code) r.error += " (server said " + std::to_string(r.code) + ")";
        // A curl success with an error reply (never seen, but cheap to rule out).
        if (rc == CURLE_OK) r.error = "the server answered " + std::to_string(r.code);
    }
    give_back(std::move(h));
    return r;
}

}  // namespace mail_smtp
