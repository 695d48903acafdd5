// Tests of the SDK's fake host (blynk/plugin_testing.hpp) itself: the version
// check it shares with blynkd's loader, and each recording behaviour its
// documentation promises, with a plugin linked into this test (its entry is
// called directly, no module file) and hand-made C tables.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include <blynk/plugin_testing.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using blynk::testing::FakeHost;
using blynk::testing::PluginUnderTest;

// A plugin that exercises every host function the fake host offers.
class Probe final : public blynk::Plugin {
public:
    Probe() {
        route("GET", "/{a}/{b}", [](const blynk::HttpRequest&, const blynk::Responder& r) { r.text(200, "params"); });
        route("GET", "/fixed/{b}", [](const blynk::HttpRequest& q, const blynk::Responder& r) {
            r.text(200, "literal " + std::string(q.params[0]));
        });
        // Answers twice; only the first answer counts.
        route("GET", "/twice", [](const blynk::HttpRequest&, const blynk::Responder& r) {
            r.text(200, "first");
            r.text(500, "second");
        });
        // Answers later, from another thread, with a copy of the query.
        route("GET", "/later", [this](const blynk::HttpRequest& q, const blynk::Responder& r) {
            std::string copy(q.query);
            worker_ = std::thread([r, copy] { r.text(200, copy); });
        });
        // Keeps a view into the request instead of a copy: a bug the host must expose.
        route("GET", "/dangling", [this](const blynk::HttpRequest& q, const blynk::Responder& r) {
            std::string_view kept = q.query;
            bool queued = host().submit([r, kept] { r.text(200, std::string(kept)); });
            if (!queued) r.text(503, "busy");
        });
    }
    ~Probe() override {
        if (worker_.joinable()) worker_.join();
    }
    void init(const blynk::Settings& s) override {
        s.reject_unknown({"name", "count"});
        host().warn("hello " + s.get_string("name", "nobody") + " x" + std::to_string(s.get_int("count", 1, 1, 9)));
        host().submit([this] { kernel().post([this] { kernel().pin_write("tok", 'v', 1, "posted"); }); });
    }
    unsigned subscriptions() const override { return blynk::kDeviceOnline | blynk::kLogin; }
    void on_device_online(const blynk::DeviceEvent& ev) override { host().info("online " + std::string(ev.peer)); }
    void on_login(const blynk::LoginEvent& ev) override { host().info("login " + std::string(ev.email)); }
    void join() {
        if (worker_.joinable()) worker_.join();
    }

private:
    std::thread worker_;
};

}  // namespace

BLYNK_PLUGIN(Probe, "probe", "1.2.3")

namespace {

struct Linked {
    FakeHost host{"/data", "9.9.9"};
    PluginUnderTest plugin{host};
    Linked() { plugin.load(blynk_plugin_entry); }
};
Linked& linked() {
    static Linked* l = new Linked;  // the plugin keeps the host table until the process ends
    return *l;
}

TEST(FakeHost, LoadsALinkedEntryAndOffersItsTable) {
    PluginUnderTest& p = linked().plugin;
    ASSERT_TRUE(p.loaded()) << p.error();
    EXPECT_EQ(p.name(), "probe");
    EXPECT_EQ(blynk::view(p.table()->version), "1.2.3");
    EXPECT_EQ(linked().host.table()->abi_major, BLYNK_ABI_MAJOR);
    EXPECT_EQ(blynk::view(linked().host.table()->data_dir), "/data");
    EXPECT_EQ(p.storage(), nullptr);
    EXPECT_FALSE(p.put_user(blynk::User{}, true).ok());  // no storage: an error, not a crash
}

TEST(FakeHost, SettingsLogsWorkAndPosts) {
    FakeHost& h = linked().host;
    PluginUnderTest& p = linked().plugin;
    h.reset_kernel();
    h.devices["tok"] = {};
    auto bad = p.init({{"nmae", "x"}});
    EXPECT_EQ(bad.status, BLYNK_ERROR);
    EXPECT_NE(bad.message.find("unknown key 'nmae'"), std::string::npos) << bad.message;
    EXPECT_EQ(p.init({{"count", "10", BLYNK_SETTING_INTEGER}}).status, BLYNK_ERROR);  // typed, range-checked
    h.clear_logs();
    ASSERT_TRUE(p.init({{"name", "ann"}, {"count", "3", BLYNK_SETTING_INTEGER}}).ok());
    ASSERT_EQ(h.logs().size(), 1u);
    EXPECT_EQ(h.logs()[0].level, BLYNK_LOG_WARN);
    EXPECT_EQ(h.logs()[0].message, "hello ann x3");
    // The submitted work and the post it makes wait for run_pending().
    EXPECT_EQ(h.pending(), 1u);
    EXPECT_TRUE(h.pin_writes.empty());
    EXPECT_EQ(h.run_pending(), 2u);
    ASSERT_EQ(h.pin_writes.size(), 1u);
    EXPECT_EQ(h.pin_writes[0].value, "posted");
    EXPECT_EQ((h.devices["tok"].pins[{'v', 1}]), "posted");
    // At once: both ran inside init.
    h.run_at_once = true;
    ASSERT_TRUE(p.init({}).ok());
    EXPECT_EQ(h.pending(), 0u);
    EXPECT_EQ(h.pin_writes.size(), 2u);
    h.run_at_once = false;
    h.refuse_work = true;
    ASSERT_TRUE(p.init({}).ok());
    EXPECT_EQ(h.pending(), 0u);
    h.refuse_work = false;
}

TEST(FakeHost, EventsReachOnlySubscribedCallbacks) {
    FakeHost& h = linked().host;
    PluginUnderTest& p = linked().plugin;
    h.clear_logs();
    EXPECT_TRUE(p.device_online({"a@b.c", 1, 2, "dev", "10.0.0.1:9", 5}));
    EXPECT_FALSE(p.device_offline({"a@b.c", 1, 2, "dev", "10.0.0.1:9", 6}));
    EXPECT_FALSE(p.pin_written({"a@b.c", 1, 2, 'v', 1, "x", 7}));
    EXPECT_TRUE(p.login({BLYNK_SESSION_APP, true, "a@b.c", 0, 0, "10.0.0.2:1", 8}));
    EXPECT_TRUE(h.logged("online 10.0.0.1:9"));
    EXPECT_TRUE(h.logged("login a@b.c"));
    EXPECT_EQ(h.logs().size(), 2u);
}

TEST(FakeHost, RoutesMatchAsTheKernelDoes) {
    PluginUnderTest& p = linked().plugin;
    EXPECT_EQ(p.routes(), (std::vector<std::string>{"GET /{a}/{b}", "GET /fixed/{b}", "GET /twice", "GET /later",
                                                    "GET /dangling"}));
    auto literal = p.call({"GET", "/fixed/x%2Fy"});
    ASSERT_TRUE(literal);
    EXPECT_EQ(literal->body, "literal x/y");  // more literal segments win; params are decoded
    auto params = p.call({"GET", "/f%69xed2/y"});
    ASSERT_TRUE(params);
    EXPECT_EQ(params->body, "params");
    EXPECT_EQ(p.call({"GET", "/fixed/%zz"}), nullptr);  // a bad escape: no route
    EXPECT_EQ(p.call({"GET", "/fixed/"}), nullptr);     // a {name} needs a non-empty segment
    EXPECT_EQ(p.call({"PUT", "/twice"}), nullptr);
    auto twice = p.call({"GET", "/twice"});
    EXPECT_EQ(twice->answers, 2);
    EXPECT_EQ(twice->status, 200);
    EXPECT_EQ(twice->body, "first");
    EXPECT_EQ(twice->content_type, "text/plain;charset=utf-8");
}

TEST(FakeHost, LateAnswersAreCapturedAndDanglingRequestsExposed) {
    FakeHost& h = linked().host;
    PluginUnderTest& p = linked().plugin;
    auto later = p.call({"GET", "/later?v=1"});
    ASSERT_TRUE(h.wait_answered(*later, std::chrono::seconds(10)));
    // self is the C++ layer's instance record (SDK 1.2: one per entry call); detail::self finds its Plugin.
    static_cast<Probe*>(blynk::detail::self(p.table()->self))->join();
    EXPECT_EQ(later->body, "v=1");
    h.reset_kernel();
    auto dangling = p.call({"GET", "/dangling?v=1"});
    EXPECT_EQ(dangling->answers, 0);
    h.run_pending();
    EXPECT_EQ(dangling->body, "###");  // what a handler sees of a request that is gone
    h.refuse_work = true;
    EXPECT_EQ(p.call({"GET", "/dangling"})->status, 503);
    h.refuse_work = false;
}

// Hand-made answers of an entry, checked as blynkd's loader checks them.
blynk_plugin_v1 g_table;
const blynk_plugin_v1* answer_table(const blynk_host_v1*) {
    return &g_table;
}
const blynk_plugin_v1* answer_null(const blynk_host_v1*) {
    return nullptr;
}
std::string refusal(blynk_plugin_v1 t) {
    g_table = t;
    FakeHost host;
    PluginUnderTest p(host);
    EXPECT_FALSE(p.load(answer_table));
    EXPECT_FALSE(p.loaded());
    return p.error();
}

TEST(FakeHost, RefusesWhatBlynkdRefuses) {
    blynk_plugin_v1 ok{};
    ok.size = sizeof ok;
    ok.abi_major = BLYNK_ABI_MAJOR;
    ok.abi_minor = BLYNK_ABI_MINOR;
    ok.name = blynk::slice("hand-made");
    g_table = ok;
    FakeHost host;
    PluginUnderTest loads(host);
    EXPECT_TRUE(loads.load(answer_table)) << loads.error();

    blynk_plugin_v1 newer = ok;
    newer.abi_minor = BLYNK_ABI_MINOR + 1;
    EXPECT_NE(refusal(newer).find("plugin 'hand-made': needs plugin ABI " + std::to_string(BLYNK_ABI_MAJOR) + "." +
                                  std::to_string(BLYNK_ABI_MINOR + 1) + ", newer than this host's"),
              std::string::npos);
    blynk_plugin_v1 small = ok;
    small.size = offsetof(blynk_plugin_v1, init);
    EXPECT_NE(refusal(small).find("too small for ABI 1.0"), std::string::npos);
    blynk_plugin_v1 malformed = ok;
    malformed.size = 4;
    EXPECT_NE(refusal(malformed).find("malformed table (size 4)"), std::string::npos);

    PluginUnderTest none(host);
    EXPECT_FALSE(none.load(answer_null));
    EXPECT_NE(none.error().find("refused to load"), std::string::npos);
    std::string why;
    EXPECT_EQ(blynk::testing::find_entry("/no/such/module.so", &why), nullptr);
    EXPECT_NE(why.find("cannot be loaded"), std::string::npos) << why;
}

TEST(FakeHost, TempDirIsRemovedWithItsContents) {
    std::string path;
    {
        blynk::testing::TempDir dir;
        path = dir.path();
        std::filesystem::create_directories(path + "/a/b");
        ASSERT_TRUE(std::filesystem::is_directory(path + "/a/b"));
    }
    EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace

// ------------------------------------------------------------------ SDK 1.2
// A second plugin class in this test, entered through make_entry directly (the
// file's one BLYNK_PLUGIN is Probe's): per-call instances, tokens in events,
// access-control hooks, profile_json.
namespace {

class Sdk12Probe final : public blynk::Plugin {
public:
    void init(const blynk::Settings& s) override { label = s.get_string("label", ""); }
    unsigned subscriptions() const override { return blynk::kPinWritten | blynk::kLogin; }
    void on_pin_written(const blynk::PinEvent& e) override { seen.push_back(label + " pin " + std::string(e.token)); }
    void on_login(const blynk::LoginEvent& e) override { seen.push_back(label + " login " + std::string(e.token)); }
    unsigned auth_hooks() const override { return blynk::kAuthLogin | blynk::kAuthPinWrite; }
    bool allow_login(const blynk::AuthLogin& rq) override { return rq.token != "bad"; }
    bool allow_pin_write(const blynk::AuthWrite& rq) override {
        if (rq.pin == 9) throw std::runtime_error("cannot decide");
        return rq.pin != 7;
    }
    std::string label;
    std::vector<std::string> seen;
};

const blynk_plugin_v1* sdk12_entry(const blynk_host_v1* host) {
    return blynk::detail::make_entry<Sdk12Probe>(host, "sdk12-probe", "1.2.0");
}

Sdk12Probe& probe_of(const PluginUnderTest& p) {
    return *static_cast<Sdk12Probe*>(blynk::detail::self(p.table()->self));
}

// Two hosts and two loads of one entry, kept for the process (the plugin keeps the host table).
struct TwoLoads {
    FakeHost host_a, host_b;
    PluginUnderTest a{host_a}, b{host_b};
    TwoLoads() {
        a.load(sdk12_entry);
        b.load(sdk12_entry);
    }
};
TwoLoads& two() {
    static TwoLoads* t = new TwoLoads;
    return *t;
}

}  // namespace

TEST(FakeHost12, EachEntryCallIsANewInstanceWithItsOwnSettingsAndEventsCarryTheToken) {
    PluginUnderTest& a = two().a;
    PluginUnderTest& b = two().b;
    ASSERT_TRUE(a.loaded()) << a.error();
    ASSERT_TRUE(b.loaded()) << b.error();
    EXPECT_NE(a.table(), b.table());
    EXPECT_NE(a.table()->self, b.table()->self);
    EXPECT_EQ(a.init({{"label", "A"}}).status, BLYNK_OK);
    EXPECT_EQ(b.init({{"label", "B"}}).status, BLYNK_OK);
    blynk::PinEvent pin{"a@b.c", 1, 2, 'v', 1, "x", 7};
    pin.token = "tok-1";
    EXPECT_TRUE(a.pin_written(pin));
    EXPECT_TRUE(b.login({BLYNK_SESSION_HARDWARE, true, "a@b.c", 1, 2, "10.0.0.2:1", 8, "tok-2"}));
    EXPECT_EQ(probe_of(a).seen, std::vector<std::string>{"A pin tok-1"});
    EXPECT_EQ(probe_of(b).seen, std::vector<std::string>{"B login tok-2"});
}

TEST(FakeHost12, AccessHooksAnswerAllowOrDenyAndAThrowingHookDenies) {
    PluginUnderTest& a = two().a;
    EXPECT_EQ(a.auth_login({"good", "a@b.c", 1, 2, "10.0.0.1:1"}), BLYNK_AUTH_ALLOW);
    EXPECT_EQ(a.auth_login({"bad", "a@b.c", 1, 2, "10.0.0.1:1"}), BLYNK_AUTH_DENY);
    EXPECT_EQ(a.auth_pin_write({"good", "a@b.c", 1, 2, 'v', 6, "1", BLYNK_WRITE_HARDWARE}), BLYNK_AUTH_ALLOW);
    EXPECT_EQ(a.auth_pin_write({"good", "a@b.c", 1, 2, 'v', 7, "1", BLYNK_WRITE_API}), BLYNK_AUTH_DENY);
    EXPECT_EQ(a.auth_pin_write({"good", "a@b.c", 1, 2, 'v', 9, "1", BLYNK_WRITE_API}), BLYNK_AUTH_DENY);
    EXPECT_TRUE(two().host_a.logged("cannot decide"));
    // A plugin without hooks has no auth table.
    EXPECT_FALSE(linked().plugin.auth_login({"good", "a@b.c", 1, 2, "10.0.0.1:1"}).has_value());
}

TEST(FakeHost12, ProfileJsonAnswersFromProfilesWithTokensOnlyWhenAsked) {
    FakeHost& h = two().host_a;
    h.profiles[{"a@b.c", 1}] = {"{\"id\":1}", "{\"id\":1,\"token\":\"t\"}"};
    h.profiles[{"a@b.c", BLYNK_PROFILE_ALL_DASHBOARDS}] = {"{\"dashBoards\":[]}", "{\"dashBoards\":[1]}"};
    blynk::Kernel k(h.table());
    EXPECT_EQ(k.profile_json("a@b.c", 1, false), std::optional<std::string>("{\"id\":1}"));
    EXPECT_EQ(k.profile_json("a@b.c", 1, true), std::optional<std::string>("{\"id\":1,\"token\":\"t\"}"));
    EXPECT_EQ(k.profile_json("a@b.c", BLYNK_PROFILE_ALL_DASHBOARDS, false),
              std::optional<std::string>("{\"dashBoards\":[]}"));
    EXPECT_EQ(k.profile_json("a@b.c", 2, false), std::nullopt);
    EXPECT_EQ(k.profile_json("x@b.c", 1, false), std::nullopt);
}

// ------------------------------------------------------------------ SDK 1.4
// The notifier table through PluginUnderTest: each channel reaches the
// plugin's C++ function with its fields, push's invalid flags come back
// (also from a failed send), and a plugin that is no notifier says so.
namespace {

class NotifierProbe final : public blynk::Plugin, public blynk::Notifier {
public:
    blynk::Notifier* notifier() override { return this; }
    unsigned channels() const override { return blynk::kSmsChannel | blynk::kPushChannel; }
    void send_sms(const blynk::Sms& m) override {
        if (m.to.empty()) throw blynk::NotifyError("no number");
        seen.push_back("sms " + m.to + " " + m.body);
    }
    std::vector<bool> send_push(const blynk::Push& m) override {
        std::vector<bool> gone;
        for (auto& t : m.targets)
            gone.push_back(t.token.rfind("dead", 0) == 0);
        seen.push_back("push " + m.title + " " + m.body + (m.high_priority ? " high" : " normal") +
                       (m.targets.size() > 1 && m.targets[1].ios ? " ios" : ""));
        if (m.targets.size() == 1 && gone[0]) throw blynk::PushError("its only token is dead", gone);
        return gone;
    }
    std::vector<std::string> seen;
};

const blynk_plugin_v1* notifier_entry(const blynk_host_v1* host) {
    return blynk::detail::make_entry<NotifierProbe>(host, "notifier-probe", "1.4.0");
}

}  // namespace

TEST(FakeHost14, NotifierChannelsReachThePluginAndPushReportsInvalidTokens) {
    static FakeHost* host = new FakeHost;  // the plugin keeps the host table
    static PluginUnderTest* p = new PluginUnderTest(*host);
    ASSERT_TRUE(p->load(notifier_entry)) << p->error();
    ASSERT_NE(p->notifier(), nullptr);
    auto& probe = *static_cast<NotifierProbe*>(blynk::detail::self(p->table()->self));

    EXPECT_TRUE(p->send_sms({"+4912345", "hi"}).ok());
    blynk::testing::Result no_number = p->send_sms({"", "hi"});
    EXPECT_EQ(no_number.status, BLYNK_ERROR);
    EXPECT_EQ(no_number.message, "no number");
    EXPECT_EQ(p->send_mail({"a@b.c", "s", "b"}).message, "the plugin's notifier does not send mail");

    std::vector<uint8_t> invalid;
    blynk::Push push{{{"live", false}, {"dead-1", true}}, "T", "B", true};
    EXPECT_TRUE(p->send_push(push, invalid).ok());
    EXPECT_EQ(invalid, (std::vector<uint8_t>{0, 1}));
    blynk::testing::Result failed = p->send_push({{{"dead-2", false}}, "T", "B", false}, invalid);
    EXPECT_EQ(failed.status, BLYNK_ERROR);
    EXPECT_EQ(invalid, std::vector<uint8_t>{1});
    EXPECT_EQ(probe.seen, (std::vector<std::string>{"sms +4912345 hi", "push T B high ios", "push T B normal"}));

    std::vector<uint8_t> none;
    EXPECT_EQ(linked().plugin.notifier(), nullptr);
    EXPECT_FALSE(linked().plugin.send_push(push, none).ok());
}
