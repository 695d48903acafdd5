// `blynkd migrate-config`: the Java properties reader, and the translation of a
// full legacy configuration (tests/data/legacy/, every key of
// docs/reference/server-behaviour.md section 2) into a blynk.toml that loads.
#include "app/migrate_config.hpp"
#include "app/config.hpp"
#include "app/java_properties.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "temp_dir.hpp"

using namespace blynk::app;

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string legacy(const std::string& name) {
    return std::string(BLYNK_SOURCE_DIR) + "/tests/data/legacy/" + name;
}

std::vector<Property> legacy_properties() {
    std::vector<Property> all;
    for (const char* f : {"server.properties", "mail.properties", "sms.properties"}) {
        auto more = parse_properties(read_file(legacy(f)), f);
        all.insert(all.end(), more.begin(), more.end());
    }
    return all;
}

// Every key the reference lists in section 2 (the first column of its tables).
std::set<std::string> reference_keys() {
    std::string doc = read_file(std::string(BLYNK_SOURCE_DIR) + "/docs/reference/server-behaviour.md");
    size_t from = doc.find("## 2. server.properties");
    size_t to = doc.find("## 3.", from);
    std::string section = doc.substr(from, to - from);
    std::set<std::string> keys;
    std::istringstream lines(section);
    std::string line;
    // Each `key` in the first column (a plain scan: std::regex trips a GCC
    // false positive, maybe-uninitialized, in the sanitizer build).
    auto key_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.'; };
    while (std::getline(lines, line)) {
        if (line.rfind("| `", 0) != 0) continue;
        std::string first = line.substr(0, line.find('|', 1));
        for (size_t open = first.find('`'); open != std::string::npos; open = first.find('`', open + 1)) {
            size_t close = first.find('`', open + 1);
            if (close == std::string::npos) break;
            std::string k = first.substr(open + 1, close - open - 1);
            if (!k.empty() && std::all_of(k.begin(), k.end(), key_char)) keys.insert(k);
            open = close;
        }
    }
    return keys;
}

std::string value_of(const std::vector<Property>& props, const std::string& key) {
    for (auto& p : props)
        if (p.key == key) return p.value;
    return "<absent>";
}

}  // namespace

TEST(JavaProperties, SeparatorsCommentsContinuationsAndEscapes) {
    auto p = parse_properties(
        "# comment\n! another\n\n  a=1\nb : 2\nc 3\nd\te = 4\n"
        "long = one, \\\n       two\nkey\\ with\\:odd\\=chars = v\n"
        "esc = tab\\there\\nnewline \\\\ back\n"
        "uni = \\u00e9\\u20AC\\uD83D\\uDE00\n"
        "empty=\nonlykey\nodd\\\\\ncrlf=x\r\nlast=y\\\n",
        "f");
    std::map<std::string, std::string> m;
    for (auto& x : p)
        m[x.key] = x.value;
    EXPECT_EQ(m["a"], "1");
    EXPECT_EQ(m["b"], "2");
    EXPECT_EQ(m["c"], "3");
    EXPECT_EQ(m["d"], "e = 4");  // the first blank ends the key
    EXPECT_EQ(m["long"], "one, two");
    EXPECT_EQ(m["key with:odd=chars"], "v");
    EXPECT_EQ(m["esc"], "tab\there\nnewline \\ back");
    EXPECT_EQ(m["uni"], "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
    EXPECT_EQ(m["empty"], "");
    ASSERT_TRUE(m.count("onlykey"));
    EXPECT_EQ(m["onlykey"], "");
    EXPECT_EQ(m["odd\\"], "");  // an even number of backslashes does not continue the line
    EXPECT_EQ(m["crlf"], "x");
    EXPECT_EQ(m["last"], "y");
    EXPECT_EQ(p[0].line, 4);
    EXPECT_EQ(p[0].file, "f");
}

TEST(MigrateConfig, EveryLegacyKeyIsTranslatedOrReported) {
    auto props = legacy_properties();
    Migration m = migrate_properties(props);

    std::map<std::string, const MigrationNote*> noted;
    for (auto& n : m.notes)
        noted[n.key] = &n;
    auto keys = reference_keys();
    ASSERT_GE(keys.size(), 55u) << "the reference's section 2 was not found or not parsed";
    for (const char* k :
         {"mail.smtp.auth", "mail.smtp.starttls.enable", "mail.smtp.host", "mail.smtp.port", "mail.smtp.username",
          "mail.smtp.password", "mail.smtp.connectiontimeout", "mail.smtp.timeout", "mail.from",
          "mail.smtp.starttls.required", "mail.transport.protocol", "nexmo.api.key", "nexmo.api.secret"})
        keys.insert(k);
    for (auto& k : keys) {
        EXPECT_NE(value_of(props, k), "<absent>") << k << " is missing from tests/data/legacy/";
        bool translated = m.translated.count(k) != 0;
        bool reported = noted.count(k) && !noted[k]->reason.empty();
        EXPECT_TRUE(translated || reported) << k << " is neither translated nor reported";
        // A key of the legacy server has a reason of its own, not the one of unknown keys.
        if (reported) {
            EXPECT_EQ(noted[k]->reason.find("not a key of the legacy server"), std::string::npos) << k;
        }
        if (reported && !translated) {
            EXPECT_NE(m.toml.find("#   " + k + " ("), std::string::npos) << k;
        }
    }
    EXPECT_TRUE(noted.count("some.typo.key"));
    EXPECT_TRUE(noted.count("mail.debug"));

    EXPECT_EQ(m.translated["http.port"], "server.hardware_port");
    EXPECT_EQ(m.translated["https.port"], "server.tls_port");
    // The legacy quota held for devices and apps alike.
    EXPECT_EQ(m.translated["user.message.quota.limit"], "hardware.message_quota, app.message_quota");
    EXPECT_EQ(m.translated["mail.smtp.password"], "plugins.mail-smtp.password");
    EXPECT_EQ(m.translated["nexmo.api.secret"], "plugins.sms-nexmo.api_secret");
    // The secrets that have no equivalent are not copied anywhere.
    EXPECT_EQ(m.toml.find("KeyPassSecret1"), std::string::npos);
    EXPECT_EQ(m.toml.find("AdminPassSecret2"), std::string::npos);
    for (auto& n : m.notes)
        for (const char* secret : {"Secret1", "Secret2", "Secret3", "Secret4", "Secret5"})
            EXPECT_EQ(n.reason.find(secret), std::string::npos) << n.key;
}

TEST(MigrateConfig, TheResultLoadsAsOurConfigWithTheLegacyValues) {
    blynk::testing::TempDir dir("blynkd-migrate");
    std::string file = (dir.path / "blynk.toml").string();
    std::ofstream(file) << migrate_properties(legacy_properties()).toml;

    Config c = load_config(file);
    EXPECT_EQ(c.hardware_port, 8081);
    EXPECT_EQ(c.tls_port, 9444);
    EXPECT_EQ(c.listen_address, "");
    EXPECT_EQ(c.host, "blynk.example.org");
    EXPECT_EQ(c.tls_cert, "/etc/blynk/my cert.crt");
    EXPECT_EQ(c.tls_key, "/etc/blynk/key.pem");
    EXPECT_EQ(c.tls_min_version, "1.2");
    EXPECT_EQ(c.idle_timeout, 15u);
    EXPECT_EQ(c.message_quota, 150u);
    EXPECT_EQ(c.app_message_quota, 150u);
    EXPECT_EQ(c.app_idle_timeout, 200u);
    EXPECT_EQ(c.app_registrations_per_hour, 1000u);
    EXPECT_EQ(c.app_max_dashboards, 100u);
    EXPECT_EQ(c.app_max_devices, 40u);
    EXPECT_EQ(c.app_max_tags, 100u);
    EXPECT_EQ(c.app_max_widget_kb, 20u);
    EXPECT_EQ(c.app_max_profile_kb, 256u);
    EXPECT_EQ(c.app_energy, 5000);
    EXPECT_EQ(c.http_max_body, 524288u);
    EXPECT_EQ(c.log_folder, "/var/log/blynk");
    EXPECT_EQ(c.log_level, "error");  // log4j's FATAL
    EXPECT_EQ(c.admin_email, "root@example.org");
    // "Every address" is never carried over to the operator API.
    EXPECT_EQ(c.admin_allowed_ips, (std::vector<std::string>{"192.168.1.0/24", "10.1.2.3"}));
    EXPECT_EQ(c.plugin_worker_threads, 6u);
    EXPECT_EQ(c.plugin_worker_queue, 2000u);
    EXPECT_EQ(c.data_dir, "./data");  // not the legacy folder: it holds another format

    auto& mail = c.plugin_settings.at("mail-smtp");
    auto get = [](const blynk::Settings& s, const char* k) {
        for (auto& [key, v] : s.all())
            if (key == k) return v.text;
        return std::string("<absent>");
    };
    EXPECT_EQ(get(mail, "host"), "smtp.example.org");
    EXPECT_EQ(get(mail, "port"), "587");
    EXPECT_EQ(get(mail, "username"), "sender@example.org");
    EXPECT_EQ(get(mail, "password"), "Mail=Pass\\Secret3\"q");  // escapes undone, then quoted for TOML
    EXPECT_EQ(get(mail, "from"), "Blynk <sender@example.org>");
    EXPECT_EQ(get(mail, "starttls"), "true");
    EXPECT_EQ(get(mail, "starttls_required"), "true");
    auto& sms = c.plugin_settings.at("sms-nexmo");
    EXPECT_EQ(get(sms, "api_key"), "NexmoKeySecret4");
    EXPECT_EQ(get(sms, "api_secret"), "NexmoSecretSecret5");
    EXPECT_EQ(get(sms, "base_url"), "https://rest.nexmo.com/sms/json");
}

TEST(MigrateConfig, BadValuesAreReportedNotWritten) {
    auto props = parse_properties(
        "http.port=80a\nhttps.port=70000\nlog.level=verbose\nadmin.email=nobody\nserver.ssl.cert=/c.pem\n"
        "allowed.administrator.ips=0.0.0.0/0\nhard.socket.idle.timeout=\n",
        "server.properties");
    auto more = parse_properties("mail.smtp.password=\nnexmo.api.key=\n", "mail.properties");
    props.insert(props.end(), more.begin(), more.end());
    Migration m = migrate_properties(props);
    EXPECT_TRUE(m.translated.empty()) << m.toml;
    std::map<std::string, std::string> why;
    for (auto& n : m.notes) {
        EXPECT_TRUE(n.bad_value) << n.key;
        why[n.key] = n.reason;
    }
    EXPECT_NE(why["http.port"].find("not a whole number"), std::string::npos);
    EXPECT_NE(why["https.port"].find("outside blynkd's range 0 to 65535"), std::string::npos);
    EXPECT_NE(why["log.level"].find("not a log level"), std::string::npos);
    EXPECT_NE(why["admin.email"].find("not an e-mail address"), std::string::npos);
    EXPECT_NE(why["server.ssl.cert"].find("must be set together"), std::string::npos);
    EXPECT_NE(why["allowed.administrator.ips"].find("loopback-only"), std::string::npos);
    EXPECT_NE(why["hard.socket.idle.timeout"].find("default is kept"), std::string::npos);
    EXPECT_NE(why["mail.smtp.password"].find("empty"), std::string::npos);
    EXPECT_EQ(m.toml.find("[plugins.mail-smtp]"), std::string::npos);
    EXPECT_EQ(m.toml.find("[plugins.sms-nexmo]"), std::string::npos);

    blynk::testing::TempDir dir("blynkd-migrate-bad");
    std::string file = (dir.path / "blynk.toml").string();
    std::ofstream(file) << m.toml;
    Config c = load_config(file);  // what was written still loads: defaults everywhere
    EXPECT_EQ(c.hardware_port, 8080);
}
