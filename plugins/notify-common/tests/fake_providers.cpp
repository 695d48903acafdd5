#include "fake_providers.hpp"

#include <curl/curl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>

namespace notify_test {

namespace {

constexpr int kStartTimeoutMs = 20000;  // openssl and an RSA key: a few seconds on a busy machine

size_t append(char* data, size_t size, size_t count, void* out) {
    static_cast<std::string*>(out)->append(data, size * count);
    return size * count;
}

// One line from the child's stdout, waiting at most timeout_ms in all.
bool read_line(FILE* f, std::string& line, int timeout_ms) {
    int fd = fileno(f);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    char c;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, int(left.count())) <= 0) return false;
        ssize_t n = read(fd, &c, 1);
        if (n <= 0) return false;
        if (c == '\n') return true;
        line += c;
    }
}

}  // namespace

FakeProviders::FakeProviders() {
    if (std::system("command -v node >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1") != 0) {
        why_not_ = "node or openssl is not installed";
        return;
    }
    std::string cmd = "exec node '" BLYNK_FAKE_PROVIDERS "' '" + dir_.path() + "'";
    pipe_ = popen(cmd.c_str(), "r");
    std::string line;
    if (!pipe_ || !read_line(pipe_, line, kStartTimeoutMs)) {
        why_not_ = "the fake providers did not start (node " BLYNK_FAKE_PROVIDERS ")";
        return;
    }
    auto info = boost::json::parse(line).as_object();
    pid_ = int(info["pid"].as_int64());
    port_ = int(info["port"].as_int64());
    ca_ = std::string(info["ca"].as_string());
    service_account_ = std::string(info["serviceAccount"].as_string());
}

FakeProviders::~FakeProviders() {
    if (pid_ > 0) kill(pid_, SIGTERM);
    if (pipe_) pclose(pipe_);  // waits for node to end: SIGTERM ends it at once
}

std::string FakeProviders::control(const std::string& what, const std::string& body) {
    CURL* c = curl_easy_init();
    std::string out;
    std::string url = base_url() + "/_control/" + what;
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_CAINFO, ca_.c_str());
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    if (!body.empty()) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, long(body.size()));
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) throw std::runtime_error("fake providers' control " + what + ": " + curl_easy_strerror(rc));
    return out;
}

void FakeProviders::script(const std::string& json) {
    control("script", json);
}

void FakeProviders::revoke_tokens() {
    control("revoke", "{}");
}

boost::json::object FakeProviders::state() {
    return boost::json::parse(control("state", "")).as_object();
}

}  // namespace notify_test
