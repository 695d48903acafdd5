// The text of `blynkd --help`; see usage.hpp.
#include "app/usage.hpp"

namespace blynk::app {

const char* const kUsage = R"(blynkd - a Blynk-compatible IoT server

Usage:
  blynkd [--config FILE] [--data-dir DIR]            run the server
  blynkd [--config FILE] [--data-dir DIR] COMMAND    manage it (works while it runs)

Commands:
  config check                      validate the configuration and load the plugins
  user add --email E [--name N] [--password P] [--admin]
                                    create an account (a password is generated if none is given)
  user list                         list accounts
  user remove --email E             remove an account and everything it owns
  device add --email E --name N [--board B] [--dash ID]
                                    create a device (and the account if needed); prints its token
  device list [--email E]           list devices with their tokens
  device remove --token T           remove a device and its stored pins
  import-legacy FOLDER [--overwrite]
                                    import a legacy server's data folder: accounts, dashboards,
                                    devices with their tokens, pin values, clone codes
  health [--host H] [--port N] [--timeout S]
                                    exit 0 if a server answers HTTP on H:N within S seconds
                                    (default: this config's hardware port on loopback, 5 s)
  storage copy --to OTHER_CONFIG [--force]
                                    copy everything this configuration's store keeps (accounts,
                                    dashboards, devices, tokens, pin values, history) into the
                                    store OTHER_CONFIG names (e.g. SQLite to PostgreSQL and back);
                                    refuses a target that holds an account unless --force (then
                                    records with the same keys are replaced, the rest stays).
                                    Stop the servers of both first: what changes meanwhile is missed
  notify test --channel mail|sms|push --to TARGET [--subject S] [--body B]
                                    send one message through the channel's configured plugin
                                    and print what happened (the provider's reason if it failed)
  migrate-config SERVER.PROPERTIES [MAIL.PROPERTIES] [SMS.PROPERTIES] [-o FILE]
                                    translate a legacy server's configuration into a blynk.toml
                                    (stdout, or FILE, owner-only); keys with no equivalent are
                                    listed with the reason on stderr and in the file

Options:
  --config FILE    configuration file; by default config/blynk.toml if it exists, else the
                   installed one (/etc/blynkd/blynk.toml for /usr/bin/blynkd, PREFIX/etc/blynkd/
                   blynk.toml for PREFIX/bin/blynkd) if it exists, else built-in defaults
  --data-dir DIR   data folder (overrides server.data_dir)
  --help           this text
  --version        print the version

Every key of the configuration is documented in config/blynk.toml.
)";

}  // namespace blynk::app
