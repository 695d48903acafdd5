// blynkd plugin SDK, C++ layer: strings, errors, settings and the field-size rule
// Part of blynk/plugin.hpp (include that one); header-only, compiled into the
// plugin.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#ifndef BLYNK_CPP_BASE_HPP
#define BLYNK_CPP_BASE_HPP

#include <blynk/plugin.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace blynk {
inline std::string_view view(blynk_str s) {
    return s.data ? std::string_view(s.data, s.size) : std::string_view();
}
inline blynk_str slice(std::string_view s) {
    return blynk_str{s.data(), s.size()};
}

inline void set_error(blynk_error* err, std::string_view msg) {
    if (!err) return;
    size_t n = msg.size() < BLYNK_ERROR_CAPACITY - 1 ? msg.size() : BLYNK_ERROR_CAPACITY - 1;
    std::memcpy(err->message, msg.data(), n);
    err->message[n] = '\0';
}

// Thrown by a plugin for an invalid setting; the message should name the key
// and say what is allowed.
struct SettingsError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A storage failure with its status code (BLYNK_NOT_FOUND, BLYNK_CONFLICT, ...).
struct StorageError : std::runtime_error {
    int status;
    StorageError(int st, const std::string& what) : std::runtime_error(what), status(st) {}
};

// The plugin's config table, flattened to dotted keys.
class Settings {
public:
    struct Value {
        std::string text;
        uint32_t type;
    };
    Settings() = default;
    Settings(const blynk_setting* s, size_t n) {
        for (size_t i = 0; i < n; ++i)
            values_[std::string(view(s[i].key))] = {std::string(view(s[i].value)), s[i].type};
    }
    void set(const std::string& key, std::string text, uint32_t type) { values_[key] = {std::move(text), type}; }
    bool has(const std::string& key) const { return values_.count(key) != 0; }
    const std::map<std::string, Value>& all() const { return values_; }

    std::string get_string(const std::string& key, const std::string& def) const {
        auto it = values_.find(key);
        if (it == values_.end()) return def;
        if (it->second.type != BLYNK_SETTING_STRING) throw SettingsError("'" + key + "' must be a string");
        return it->second.text;
    }
    int64_t get_int(const std::string& key, int64_t def, int64_t min, int64_t max) const {
        auto it = values_.find(key);
        if (it == values_.end()) return def;
        if (it->second.type != BLYNK_SETTING_INTEGER)
            throw SettingsError("'" + key + "' must be an integer between " + std::to_string(min) + " and " +
                                std::to_string(max));
        errno = 0;
        char* end = nullptr;
        long long v = std::strtoll(it->second.text.c_str(), &end, 10);
        if (errno || !end || *end != '\0' || v < min || v > max)
            throw SettingsError("'" + key + "' is " + it->second.text + "; allowed: " + std::to_string(min) + " to " +
                                std::to_string(max));
        return v;
    }
    bool get_bool(const std::string& key, bool def) const {
        auto it = values_.find(key);
        if (it == values_.end()) return def;
        if (it->second.type != BLYNK_SETTING_BOOL) throw SettingsError("'" + key + "' must be true or false");
        return it->second.text == "true";
    }
    // Throws for any key not in `known` (so typos are caught at start).
    void reject_unknown(const std::set<std::string>& known) const {
        for (auto& kv : values_)
            if (!known.count(kv.first)) {
                std::string allowed;
                for (auto& k : known)
                    allowed += (allowed.empty() ? "" : ", ") + k;
                throw SettingsError("unknown key '" + kv.first +
                                    "'; known keys: " + (allowed.empty() ? "none" : allowed));
            }
    }

private:
    std::map<std::string, Value> values_;
};

// Reading a field of a record is allowed only if it lies within the size the
// writer gave; a newer writer's extra fields are ignored, an older writer's
// missing fields stay defaulted.
#define BLYNK_HAS_FIELD(rec, field) \
    ((rec)->size >= offsetof(std::remove_pointer_t<decltype(rec)>, field) + sizeof((rec)->field))

namespace detail {
// Carries a std::function through a C callback (fn, arg) pair; runs it once.
inline void run_boxed(void* arg) {
    std::unique_ptr<std::function<void()>> f(static_cast<std::function<void()>*>(arg));
    try {
        (*f)();
    } catch (...) {
    }
}
}  // namespace detail

}  // namespace blynk

#endif  // BLYNK_CPP_BASE_HPP
