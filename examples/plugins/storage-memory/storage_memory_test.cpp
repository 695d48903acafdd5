// Tests of storage-memory with the SDK's fake host (blynk/plugin_testing.hpp):
// the built module is loaded the way blynkd loads it and called through its
// C tables. No test framework: each CHECK prints what failed, and the exit
// status is non-zero after any failure (CTest reads it).
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include <blynk/plugin_testing.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace {

int failures = 0;

#define CHECK(cond)                                                                \
    do {                                                                           \
        if (!(cond)) {                                                             \
            std::fprintf(stderr, "%s:%d: CHECK(%s)\n", __FILE__, __LINE__, #cond); \
            ++failures;                                                            \
        }                                                                          \
    } while (0)

blynk::User user(const std::string& email) {
    blynk::User u;
    u.email = email;
    u.name = "Name of " + email;
    return u;
}
blynk::Device device(const std::string& email, int32_t id, const std::string& token) {
    blynk::Device d;
    d.email = email;
    d.dash_id = 1;
    d.device_id = id;
    d.token = token;
    return d;
}
blynk::Pin pin(const std::string& email, int32_t device_id, uint8_t n, const std::string& value) {
    blynk::Pin p;
    p.email = email;
    p.dash_id = 1;
    p.device_id = device_id;
    p.pin = n;
    p.value = value;
    return p;
}

}  // namespace

int main() {
    blynk::testing::FakeHost host;
    blynk::testing::PluginUnderTest plugin(host);
    if (!plugin.load_module(BLYNK_PLUGIN_MODULE)) {
        std::fprintf(stderr, "%s\n", plugin.error().c_str());
        return 1;
    }
    CHECK(plugin.name() == "storage-memory");
    CHECK(plugin.storage() != nullptr);
    CHECK(plugin.events() == nullptr);

    // Settings: none are known, and saying so names the key.
    blynk::testing::Result r = plugin.init({{"path", "/tmp/x.db"}});
    CHECK(r.status == BLYNK_ERROR && r.message.find("'path'") != std::string::npos);
    CHECK(plugin.init({}).ok());
    CHECK(host.logged("lost when the server stops"));

    // Users: a second create is a conflict, an update keeps what the user owns.
    CHECK(plugin.put_user(user("a@x"), true).ok());
    CHECK(plugin.put_user(user("a@x"), true).status == BLYNK_CONFLICT);
    CHECK(plugin.put_device(device("a@x", 1, "tok-1")).ok());
    CHECK(plugin.put_user(user("a@x"), false).ok());
    CHECK(plugin.put_device(device("ghost@x", 1, "tok-9")).status == BLYNK_NOT_FOUND);

    // A token belongs to one device.
    CHECK(plugin.put_user(user("b@x"), true).ok());
    CHECK(plugin.put_device(device("b@x", 1, "tok-1")).status == BLYNK_CONFLICT);
    CHECK(plugin.put_device(device("b@x", 1, "tok-2")).ok());

    // Loading by token delivers the owner's whole account, parents first.
    CHECK(plugin.put_pins({pin("a@x", 1, 5, "42"), pin("a@x", 7, 5, "no such device")}).ok());
    blynk::testing::RecordingSink loaded;
    CHECK(plugin.load_by_token("tok-1", loaded).ok());
    CHECK(loaded.order == "UVP");
    CHECK(loaded.users.size() == 1 && loaded.users[0].email == "a@x");
    CHECK(loaded.find_pin(1, 'v', 5) && loaded.find_pin(1, 'v', 5)->value == "42");
    blynk::testing::RecordingSink none;
    CHECK(plugin.load_by_token("tok-404", none).status == BLYNK_NOT_FOUND && none.order.empty());

    // update_devices never re-creates a removed device, nor updates a re-tokened one.
    CHECK(plugin.remove_device("b@x", 1, 1).ok());
    CHECK(plugin.remove_device("b@x", 1, 1).status == BLYNK_NOT_FOUND);
    blynk::Device seen = device("a@x", 1, "tok-1");
    seen.last_ip = "192.0.2.1";
    std::vector<uint8_t> missing;
    // The second device was removed; the third's token changed meanwhile.
    CHECK(plugin.update_devices({seen, device("b@x", 1, "tok-2"), device("a@x", 1, "stale")}, missing).ok());
    CHECK((missing == std::vector<uint8_t>{0, 1, 1}));
    blynk::testing::RecordingSink all;
    CHECK(plugin.load_all(all).ok());
    CHECK(all.users.size() == 2 && all.devices.size() == 1 && all.devices[0].last_ip == "192.0.2.1");

    // Removing a user removes everything it owns and frees its tokens.
    CHECK(plugin.remove_user("a@x").ok());
    CHECK(plugin.remove_user("a@x").status == BLYNK_NOT_FOUND);
    CHECK(plugin.put_device(device("b@x", 2, "tok-1")).ok());

    plugin.shutdown();
    std::printf("storage-memory: %d failure(s)\n", failures);
    return failures == 0 ? 0 : 1;
}
