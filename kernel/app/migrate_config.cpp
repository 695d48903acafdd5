#include "app/migrate_config.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <ostream>
#include <sstream>

#include "core/secrets.hpp"
#include "core/throttle.hpp"
#include "platform/platform.hpp"

namespace blynk::app {

namespace {

// How a legacy value becomes ours.
enum class Kind { Text, Integer, Boolean, LogLevel, AddressList, LatestTls, Email };

struct Translation {
    const char* legacy;
    const char* section;  // ours: "server", "plugins.mail-smtp", ...
    const char* key;
    Kind kind;
    int64_t min = 0, max = 0;  // for Integer
};

// Bounds are those kernel/app/config.cpp enforces, so the file passes `config check`.
const Translation kTranslations[] = {
    {"http.port", "server", "hardware_port", Kind::Integer, 0, 65535},
    {"https.port", "server", "tls_port", Kind::Integer, 0, 65535},
    {"listen.address", "server", "listen_address", Kind::Text},
    {"server.host", "server", "host", Kind::Text},
    {"server.ssl.cert", "tls", "cert", Kind::Text},
    {"server.ssl.key", "tls", "key", Kind::Text},
    {"latest.tls", "tls", "min_version", Kind::LatestTls},
    {"hard.socket.idle.timeout", "hardware", "idle_timeout", Kind::Integer, 0, 86400},
    // The legacy quota held for every connection, devices' and apps' alike.
    {"user.message.quota.limit", "hardware", "message_quota", Kind::Integer, 0, 1000000},
    {"user.message.quota.limit", "app", "message_quota", Kind::Integer, 0, 1000000},
    {"app.socket.idle.timeout", "app", "idle_timeout", Kind::Integer, 0, 86400},
    {"hourly.registrations.limit", "app", "registrations_per_hour", Kind::Integer, 0, 1000000},
    {"user.dashboard.max.limit", "app", "max_dashboards", Kind::Integer, 1, 100000},
    {"user.devices.limit", "app", "max_devices", Kind::Integer, 1, 100000},
    // The legacy server read it but never enforced it; blynkd does.
    {"user.tags.limit", "app", "max_tags", Kind::Integer, 0, 100000},
    {"user.widget.max.size.limit", "app", "max_widget_kb", Kind::Integer, 1, 65536},
    {"user.profile.max.size", "app", "max_profile_kb", Kind::Integer, 1, 65536},
    {"initial.energy", "app", "energy", Kind::Integer, 0, int64_t(1) << 40},
    {"web.request.max.size", "http", "max_body", Kind::Integer, 1024, 1 << 30},
    {"logs.folder", "logging", "folder", Kind::Text},
    {"log.level", "logging", "level", Kind::LogLevel},
    {"admin.email", "admin", "email", Kind::Email},
    {"allowed.administrator.ips", "admin", "allowed_ips", Kind::AddressList},
    // The pool that ran the legacy mail and push jobs is the pool of plugins' blocking jobs.
    {"blocking.processor.thread.pool.limit", "plugins", "worker_threads", Kind::Integer, 1, 64},
    {"notifications.queue.limit", "plugins", "worker_queue", Kind::Integer, 1, 1000000},
    // Read by the notifier plugins (they land with the notifier issue).
    {"mail.smtp.host", "plugins.mail-smtp", "host", Kind::Text},
    {"mail.smtp.port", "plugins.mail-smtp", "port", Kind::Integer, 1, 65535},
    {"mail.smtp.username", "plugins.mail-smtp", "username", Kind::Text},
    {"mail.smtp.password", "plugins.mail-smtp", "password", Kind::Text},
    {"mail.from", "plugins.mail-smtp", "from", Kind::Text},
    {"mail.smtp.auth", "plugins.mail-smtp", "auth", Kind::Boolean},
    {"mail.smtp.starttls.enable", "plugins.mail-smtp", "starttls", Kind::Boolean},
    {"mail.smtp.starttls.required", "plugins.mail-smtp", "starttls_required", Kind::Boolean},
    {"mail.smtp.ssl.enable", "plugins.mail-smtp", "implicit_tls", Kind::Boolean},
    {"mail.smtp.connectiontimeout", "plugins.mail-smtp", "connect_timeout_ms", Kind::Integer, 0, 3600000},
    {"mail.smtp.timeout", "plugins.mail-smtp", "timeout_ms", Kind::Integer, 0, 3600000},
    {"nexmo.api.key", "plugins.sms-nexmo", "api_key", Kind::Text},
    {"nexmo.api.secret", "plugins.sms-nexmo", "api_secret", Kind::Text},
};

struct NoEquivalent {
    const char* legacy;
    const char* reason;
};

const char* const kNoSetting = "blynkd has no setting for it";
const char* const kHistory = "history and reporting land with the history issue";
const char* const kNotifier = "notifications land with the notifier issue (as plugins)";
const char* const kWebhooks = "blynkd has no webhooks yet";
const char* const kAcme = "Let's Encrypt lands as a plugin with the certificate (ACME) change";

const NoEquivalent kNoEquivalents[] = {
    {"hardware.mqtt.port", "blynkd has no MQTT listener"},
    {"force.port.80.for.csv", "blynkd has no CSV export (history issue)"},
    {"force.port.80.for.redirect", "blynkd advertises [server] host with the listener's own port"},
    {"server.ssl.key.pass",
     "blynkd reads unencrypted keys only; decrypt it once (openssl pkey -in KEY -out key.pem) and keep that file "
     "owner-only"},
    {"data.folder",
     "the legacy folder holds JSON profiles, not blynkd's store; import them with `blynkd import-legacy FOLDER`; "
     "[server] data_dir keeps its default"},
    {"notifications.frequency.user.quota.limit", kNotifier},
    {"webhooks.frequency.user.quota.limit", kWebhooks},
    {"webhooks.response.size.limit", kWebhooks},
    {"webhooks.failure.count.limit", kWebhooks},
    {"terminal.strings.pool.size", kNoSetting},
    {"map.strings.pool.size", kNoSetting},
    {"lcd.strings.pool.size", "the legacy server ignored it too (fixed at 6)"},
    {"table.rows.pool.size", kNoSetting},
    {"profile.save.worker.period",
     "account changes are stored before they are acknowledged; pin values follow [storage] pin_flush_interval_ms"},
    {"stats.print.worker.period", "blynkd logs no periodic statistics; metrics are served on /metrics"},
    {"csv.export.data.points.max", kHistory},
    {"store.minute.record.days", kHistory},
    {"store.export.csv.report.days", kHistory},
    {"enable.db", "PostgreSQL storage lands with the history issue"},
    {"enable.raw.db.data.store", "PostgreSQL storage lands with the history issue"},
    {"async.logger.ring.buffer.size", "a log4j2 setting; blynkd's logger has no ring buffer to size"},
    {"allow.reading.widget.without.active.app", kNoSetting},
    {"allow.store.ip", "not configurable in blynkd"},
    {"admin.rootPath", "the admin web UI is a plugin of its own (in progress); the operator API is /api/v1"},
    {"admin.pass",
     "blynkd generates the first administrator's password at first start and stores only a slow hash; the value "
     "is not copied"},
    {"restore.host", "password-reset mails land with the notifier issue"},
    {"product.name", kNotifier},
    {"vendor.email", kNotifier},
    {"contact.email", kAcme},
    {"renewal.disabled", kAcme},
    {"net.interface", "blynkd does not guess its address from an interface; set [server] host"},
    {"server.worker.threads", "blynkd serves every connection from one event-loop thread"},
    {"region", "blynkd is one server; there are no regions"},
    {"mail.transport.protocol", "the mail plugin speaks SMTP; use implicit_tls for SMTPS"},
    {"mail.smtp.ssl.trust", "the mail plugin checks the server's certificate against the system's CA store"},
};

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\f\r\n");
    if (b == std::string::npos) return "";
    size_t e = s.find_last_not_of(" \t\f\r\n");
    return s.substr(b, e - b + 1);
}

std::string toml_string(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\f':
                out += "\\f";
                break;
            case '\b':
                out += "\\b";
                break;
            default:
                if (c < 0x20 || c == 0x7F) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04X", unsigned(c));
                    out += buf;
                } else {
                    out.push_back(char(c));
                }
        }
    }
    return out + "\"";
}

struct Value {
    std::string rendered;  // TOML text
    std::string legacy, where;
};

// One value converted, or the reason it cannot be (returns false).
bool convert(const Translation& t, const std::string& raw, std::string& rendered, std::string& why) {
    std::string v = trim(raw);
    switch (t.kind) {
        case Kind::Text:
            rendered = toml_string(v);
            return true;
        case Kind::Integer: {
            if (v.empty()) return why = "empty; blynkd's default is kept", false;
            int64_t n = 0;
            size_t used = 0;
            try {
                n = std::stoll(v, &used);
            } catch (...) {
                used = 0;
            }
            if (used != v.size()) return why = "\"" + v + "\" is not a whole number", false;
            if (n < t.min || n > t.max)
                return why = std::to_string(n) + " is outside blynkd's range " + std::to_string(t.min) + " to " +
                             std::to_string(t.max),
                       false;
            rendered = std::to_string(n);
            return true;
        }
        case Kind::Boolean:
            // As Java's Boolean.parseBoolean: "true" in any case is true, anything else false.
            rendered = core::lower(v) == "true" ? "true" : "false";
            return true;
        case Kind::LatestTls:
            // TLS 1.0 and 1.1 are never accepted by blynkd: both legacy choices mean 1.2.
            rendered = "\"1.2\"";
            return true;
        case Kind::LogLevel: {
            std::string l = core::lower(v);
            if (l == "fatal") l = "error";
            if (l == "all") l = "trace";
            static const char* const ours[] = {"trace", "debug", "info", "warn", "error", "off"};
            if (std::find(std::begin(ours), std::end(ours), l) == std::end(ours))
                return why = "\"" + v + "\" is not a log level (trace, debug, info, warn, error, off)", false;
            rendered = toml_string(l);
            return true;
        }
        case Kind::Email:
            if (v.find('@') == std::string::npos) return why = "\"" + v + "\" is not an e-mail address", false;
            rendered = toml_string(v);
            return true;
        case Kind::AddressList: {
            std::string list, dropped;
            std::stringstream parts(v);
            std::string item;
            while (std::getline(parts, item, ',')) {
                item = trim(item);
                if (item.empty()) continue;
                core::AddressRange range;
                std::string error;
                // The legacy default opened the admin page to every address; the operator API
                // gives full control of the server, so "everyone" is never carried over.
                if (item == "0.0.0.0/0" || item == "::/0" || !core::parse_address_range(item, range, error)) {
                    dropped += (dropped.empty() ? "" : ", ") + item;
                    continue;
                }
                list += (list.empty() ? "" : ", ") + toml_string(item);
            }
            if (list.empty())
                return why = "no address of it is kept (" + (dropped.empty() ? std::string("empty") : dropped) +
                             "): the operator API stays loopback-only, as by default",
                       false;
            rendered = "[" + list + "]";
            if (!dropped.empty()) why = "left out " + dropped + " (every address, or not an address)";
            return true;
        }
    }
    return false;
}

// The order of config/blynk.toml; a section missing here is written after these, never dropped.
const char* const kSectionOrder[] = {
    "server",           "tls", "hardware", "http", "app", "logging", "admin", "plugins", "plugins.mail-smtp",
    "plugins.sms-nexmo"};

void header(std::ostream& os, const std::vector<std::string>& files) {
    os << "# blynk.toml written by `blynkd migrate-config` from";
    for (auto& f : files)
        os << " " << f;
    os << ".\n"
          "# Only the keys the legacy files set are here; every other key has blynkd's default\n"
          "# (config/blynk.toml documents them all). Check it with:\n"
          "#   blynkd --config THIS_FILE config check\n";
}

}  // namespace

Migration migrate_properties(const std::vector<Property>& props) {
    Migration m;
    // The last occurrence of a key wins, as in Java.
    std::map<std::string, const Property*> last;
    std::vector<std::string> order;
    for (auto& p : props) {
        if (!last.count(p.key)) order.push_back(p.key);
        last[p.key] = &p;
    }
    std::map<std::string, std::vector<std::pair<std::string, Value>>> sections;
    auto where = [](const Property& p) { return p.file + ":" + std::to_string(p.line); };

    for (auto& key : order) {
        const Property& p = *last[key];
        // A legacy key may become several of ours (one per target).
        std::vector<const Translation*> targets;
        for (auto& t : kTranslations)
            if (key == t.legacy) targets.push_back(&t);
        if (!targets.empty()) {
            std::string rendered, why;
            bool plugin = std::string(targets[0]->section).rfind("plugins.", 0) == 0;
            if (plugin && trim(p.value).empty()) {
                m.notes.push_back({key, where(p), "empty in the legacy file; left out", true});
                continue;
            }
            if (!convert(*targets[0], p.value, rendered, why)) {
                m.notes.push_back({key, where(p), why, true});
                continue;
            }
            if (!why.empty()) m.notes.push_back({key, where(p), why, true});
            std::string ours;
            for (auto* t : targets) {
                sections[t->section].push_back({t->key, {rendered, key, where(p)}});
                ours += (ours.empty() ? "" : ", ") + std::string(t->section) + "." + t->key;
            }
            m.translated[key] = ours;
            continue;
        }
        auto n = std::find_if(std::begin(kNoEquivalents), std::end(kNoEquivalents),
                              [&](const NoEquivalent& x) { return key == x.legacy; });
        if (n != std::end(kNoEquivalents)) {
            m.notes.push_back({key, where(p), n->reason});
        } else if (key.rfind("mail.", 0) == 0) {
            m.notes.push_back({key, where(p), "a JavaMail setting the mail plugin has no key for"});
        } else {
            m.notes.push_back({key, where(p), "not a key of the legacy server (a typo, or from a newer version?)"});
        }
    }

    // [tls] cert and key go together (config check refuses one alone).
    auto& tls = sections["tls"];
    auto has = [&](const char* k) {
        return std::any_of(tls.begin(), tls.end(),
                           [&](auto& e) { return e.first == k && e.second.rendered != "\"\""; });
    };
    if (has("cert") != has("key")) {
        for (auto& e : tls)
            if (e.first == "cert" || e.first == "key") {
                m.notes.push_back({e.second.legacy, e.second.where,
                                   "server.ssl.cert and server.ssl.key must be set together; left out (a "
                                   "certificate is generated)",
                                   true});
                m.translated.erase(e.second.legacy);
            }
        tls.erase(std::remove_if(tls.begin(), tls.end(), [](auto& e) { return e.first == "cert" || e.first == "key"; }),
                  tls.end());
    }
    // The legacy server sent SMS through this fixed Nexmo endpoint.
    if (sections.count("plugins.sms-nexmo"))
        sections["plugins.sms-nexmo"].push_back({"base_url", {toml_string("https://rest.nexmo.com/sms/json"), "", ""}});

    std::ostringstream os;
    std::vector<std::string> section_order(std::begin(kSectionOrder), std::end(kSectionOrder));
    for (auto& [name, entries] : sections)
        if (std::find(section_order.begin(), section_order.end(), name) == section_order.end())
            section_order.push_back(name);
    for (const std::string& name : section_order) {
        auto it = sections.find(name);
        if (it == sections.end() || it->second.empty()) continue;
        os << "\n[" << name << "]\n";
        if (name == "plugins.mail-smtp")
            os << "# Read by the mail-smtp plugin (lands with the notifier issue); add \"mail-smtp\" to\n"
                  "# [plugins] enabled once it is installed. Keep this file readable by blynkd only.\n";
        if (name == "plugins.sms-nexmo")
            os << "# Read by the sms-nexmo plugin (lands with the notifier issue); add \"sms-nexmo\" to\n"
                  "# [plugins] enabled once it is installed.\n";
        for (auto& [key, v] : it->second) {
            os << key << " = " << v.rendered;
            if (!v.legacy.empty()) os << "  # " << v.legacy << " (" << v.where << ")";
            os << "\n";
        }
    }
    if (!m.notes.empty()) {
        os << "\n# Legacy keys not carried over, and why:\n";
        for (auto& n : m.notes)
            os << "#   " << n.key << " (" << n.where << "): " << n.reason << "\n";
    }
    m.toml = os.str();
    return m;
}

int run_migrate_config(const std::vector<std::string>& files, const std::string& output, std::ostream& out,
                       std::ostream& err) {
    if (files.empty() || files.size() > 3) {
        err << "blynkd: migrate-config needs server.properties [mail.properties] [sms.properties]\n";
        return 2;
    }
    std::vector<Property> props;
    for (auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        if (!in) {
            err << "blynkd: migrate-config: cannot read " << f << "\n";
            return 2;
        }
        std::ostringstream text;
        text << in.rdbuf();
        auto more = parse_properties(text.str(), f);
        props.insert(props.end(), more.begin(), more.end());
    }
    Migration m = migrate_properties(props);
    std::ostringstream doc;
    header(doc, files);
    doc << m.toml;
    if (output.empty()) {
        out << doc.str();
    } else {
        // Owner-only: the file may hold the mail password and the SMS secret.
        std::FILE* f = platform::open_private_file(output);
        bool ok = f && std::fputs(doc.str().c_str(), f) >= 0;
        ok = f && std::fclose(f) == 0 && ok;
        if (!ok) {
            err << "blynkd: migrate-config: cannot write " << output << "\n";
            return 2;
        }
    }
    for (auto& n : m.notes) {
        // No note quotes a secret: only numbers, log levels, e-mail addresses and address
        // lists are quoted when refused (convert()).
        if (n.bad_value)
            err << "not translated: " << n.key << " — " << n.reason << " (" << n.where << ")\n";
        else
            err << "no equivalent: " << n.key << " — " << n.reason << " (" << n.where << ")\n";
    }
    err << "migrate-config: " << m.translated.size() << " keys translated, " << m.notes.size() << " reported"
        << (output.empty() ? "" : "; wrote " + output) << "\n";
    return 0;
}

}  // namespace blynk::app
