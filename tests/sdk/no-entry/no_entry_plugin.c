/*
 * A loadable module that is not a plugin: it exports a function, but none
 * named blynk_plugin_entry. The kernel must refuse it with "missing entry
 * symbol" and the file's path, not crash.
 *
 * The exported name is a plausible mistake (an author who renamed the entry).
 */
#include <blynk/plugin.h>

BLYNK_PLUGIN_EXPORT const blynk_plugin_v1* blynk_plugin_entry_v2(const blynk_host_v1* host) {
    (void)host;
    return NULL;
}
