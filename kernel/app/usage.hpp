// The text of `blynkd --help` (and of a usage error); `man blynkd` is made from
// it at build time, so the two never disagree.
#pragma once

namespace blynk::app {

extern const char* const kUsage;

}  // namespace blynk::app
