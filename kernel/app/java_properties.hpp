// Java .properties files (the legacy server's configuration format), read as
// java.util.Properties reads them: comments, three separators, line
// continuations and backslash escapes.
#pragma once

#include <string>
#include <vector>

namespace blynk::app {

struct Property {
    std::string key, value;
    std::string file;  // where it came from, for messages
    int line = 0;      // its first line there
};

// The key/value pairs of `text` in file order (a repeated key appears each
// time; the last one is what Java would use). `\uXXXX` escapes become UTF-8.
std::vector<Property> parse_properties(const std::string& text, const std::string& file);

}  // namespace blynk::app
