// storage-postgres: the connection pool, its backoff, and the helpers every
// statement uses (see pg_storage.hpp).
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include "pg_storage.hpp"

#include <algorithm>
#include <cstdio>

namespace blynk_pg {

int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

std::string device_name(std::string_view email, int32_t dash_id, int32_t device_id) {
    return "device " + std::to_string(device_id) + " of dashboard " + std::to_string(dash_id) + " of user " +
           std::string(email);
}

// postgresql://user:secret@host/db -> postgresql://user:***@host/db, and
// password=secret (key=value form or URL parameter) -> password=***.
std::string redact_url(const std::string& url) {
    std::string out = url;
    size_t scheme = out.find("://");
    if (scheme != std::string::npos) {
        size_t start = scheme + 3;
        size_t at = out.find('@', start);
        size_t slash = out.find('/', start);
        if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
            size_t colon = out.find(':', start);
            if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
        }
    }
    for (size_t pos = 0; (pos = out.find("password=", pos)) != std::string::npos;) {
        pos += 9;
        size_t end = out.find_first_of("& ", pos);
        out.replace(pos, (end == std::string::npos ? out.size() : end) - pos, "***");
    }
    return out;
}

const std::string& text_param(const std::string& s, const char* what) {
    if (s.find('\0') != std::string::npos)
        throw blynk::StorageError(BLYNK_ERROR, std::string(what) + " holds a NUL byte, which PostgreSQL text cannot");
    return s;
}

std::string bytes_of(const pqxx::field& f) {
    if (f.is_null()) return std::string();
    pqxx::binarystring b(f);
    return b.str();
}

// ---------------------------------------------------------------- arrays
void ArrayParam::sep() {
    if (!body_.empty()) body_ += ',';
}

void ArrayParam::text(const std::string& v, const char* what) {
    text_param(v, what);
    sep();
    body_ += '"';
    for (char c : v) {
        if (c == '"' || c == '\\') body_ += '\\';
        body_ += c;
    }
    body_ += '"';
}

void ArrayParam::text_or_null(const std::string& v, const char* what) {
    if (v.empty()) {
        sep();
        body_ += "NULL";
    } else {
        text(v, what);
    }
}

void ArrayParam::bytes(const std::string& v) {
    static const char hex[] = "0123456789abcdef";
    sep();
    body_ += "\"\\\\x";  // the element \x... (bytea's hex input), its backslash escaped
    for (unsigned char c : v) {
        body_ += hex[c >> 4];
        body_ += hex[c & 15];
    }
    body_ += '"';
}

void ArrayParam::integer(int64_t v) {
    sep();
    body_ += std::to_string(v);
}

void ArrayParam::real(double v) {
    sep();
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);  // round-trips every double; nan and inf read as NaN, Infinity
    body_ += buf;
}

void ArrayParam::real_or_null(bool present, double v) {
    if (present) {
        real(v);
    } else {
        sep();
        body_ += "NULL";
    }
}

// ------------------------------------------------------------------ pool
// libpq's messages span lines ("...failed: Connection refused\n\tIs the server
// running..."): one line each, for the log and for error answers.
std::string one_line(const std::string& text) {
    std::string out;
    bool space = false;
    for (char c : text) {
        if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += c;
    }
    return out;
}

Pool::Pool(Options o, Log log) : o_(std::move(o)), log_(std::move(log)) {}

Pool::~Pool() {
    close_all();
}

void Pool::close_all() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ -= idle_.size();
    idle_.clear();
}

bool Pool::down() const {
    std::lock_guard<std::mutex> lock(mu_);
    return lost_;
}

[[noreturn]] void Pool::unreachable(const char* what, const std::string& reason) {
    throw blynk::StorageError(BLYNK_ERROR, std::string("cannot ") + what + ": the database is unreachable (" +
                                               one_line(reason) + "); storage-postgres reconnects with backoff");
}

std::unique_ptr<pqxx::connection> Pool::connect(const char* what) {
    std::unique_lock<std::mutex> lock(mu_);
    int64_t now = now_ms();
    if (lost_ && now < next_try_ms_) {
        // Not the time to try yet: give the reserved slot back and fail at once, with the
        // same message as the last attempt (the kernel logs a repeated error once).
        std::string reason = last_error_;
        --open_;
        cv_.notify_one();
        lock.unlock();
        unreachable(what, reason);
    }
    lock.unlock();
    try {
        auto c = std::make_unique<pqxx::connection>(o_.url);
        pqxx::nontransaction n(*c);
        n.exec("SET statement_timeout = " + std::to_string(o_.statement_timeout_ms));
        n.exec("SET application_name = 'blynkd'");
        lock.lock();
        if (lost_) {
            log_(BLYNK_LOG_INFO, "the database is back after " + std::to_string((now_ms() - lost_at_ms_) / 1000) +
                                     " s; writing what waited");
            lost_ = false;
        }
        backoff_ms_ = 0;
        return c;
    } catch (const std::exception& e) {
        std::string reason = e.what();
        while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' '))
            reason.pop_back();
        lock.lock();
        backoff_ms_ = std::clamp(backoff_ms_ * 2, o_.backoff_min_ms, o_.backoff_max_ms);
        next_try_ms_ = now_ms() + backoff_ms_;
        last_error_ = reason;
        if (!lost_) {
            lost_ = true;
            lost_at_ms_ = now_ms();
            log_(BLYNK_LOG_ERROR, "cannot reach the database: " + reason +
                                      "; serving from memory and retrying with backoff up to " +
                                      std::to_string(o_.backoff_max_ms) + " ms");
        }
        --open_;
        cv_.notify_one();
        lock.unlock();
        unreachable(what, reason);
    }
}

std::unique_ptr<pqxx::connection> Pool::acquire(const char* what) {
    std::unique_lock<std::mutex> lock(mu_);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(o_.acquire_timeout_ms);
    for (;;) {
        if (!idle_.empty()) {
            auto c = std::move(idle_.back());
            idle_.pop_back();
            return c;
        }
        if (open_ < o_.size) {
            ++open_;  // reserved; connect() gives it back on failure
            lock.unlock();
            return connect(what);
        }
        if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() && open_ >= o_.size)
            throw blynk::StorageError(BLYNK_ERROR, std::string("cannot ") + what + ": all " + std::to_string(o_.size) +
                                                       " connections stayed busy for " +
                                                       std::to_string(o_.acquire_timeout_ms) +
                                                       " ms; raise pool_size or acquire_timeout_ms");
    }
}

void Pool::release(std::unique_ptr<pqxx::connection> c, bool broken) {
    std::lock_guard<std::mutex> lock(mu_);
    if (broken || !c || !c->is_open()) {
        // The others were opened to the same server: a restart broke them too.
        --open_;
        open_ -= idle_.size();
        idle_.clear();
        if (!lost_) {
            lost_ = true;
            lost_at_ms_ = now_ms();
            last_error_ = "the connection broke";
            log_(BLYNK_LOG_ERROR, "lost the connection to the database; serving from memory and reconnecting");
        }
    } else {
        idle_.push_back(std::move(c));
    }
    cv_.notify_one();
}

void Pool::with(const char* what, const std::function<void(pqxx::connection&)>& fn) {
    auto c = acquire(what);
    try {
        fn(*c);
    } catch (const pqxx::broken_connection& e) {
        release(std::move(c), true);
        unreachable(what, e.what());
    } catch (const pqxx::in_doubt_error& e) {
        release(std::move(c), true);
        throw blynk::StorageError(BLYNK_ERROR, std::string("cannot ") + what +
                                                   ": the connection broke during the commit; it may or may not "
                                                   "have been written (" +
                                                   e.what() + ")");
    } catch (...) {
        bool broken = !c->is_open();
        release(std::move(c), broken);
        if (broken) unreachable(what, "the connection broke");
        throw;
    }
    release(std::move(c), false);
}

}  // namespace blynk_pg
