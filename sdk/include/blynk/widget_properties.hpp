// blynkd plugin SDK: the widget property names of the Blynk protocol.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
//
// The legacy server's WidgetProperty names, in its enum order (the HTTP API
// applies the first one present in a query). One list for the kernel (device
// SET_WIDGET_PROPERTY) and for plugins (the REST API's property updates).
#ifndef BLYNK_WIDGET_PROPERTIES_HPP
#define BLYNK_WIDGET_PROPERTIES_HPP

#include <string_view>

namespace blynk {

inline constexpr std::string_view kWidgetProperties[] = {"label",       "color",
                                                         "onBackColor", "offBackColor",
                                                         "onColor",     "offColor",
                                                         "onLabel",     "offLabel",
                                                         "labels",      "min",
                                                         "max",         "isOnPlay",
                                                         "url",         "urls",
                                                         "step",        "valueFormatting",
                                                         "suffix",      "maximumFractionDigits",
                                                         "opacity",     "scale",
                                                         "rotation"};

inline bool is_widget_property(std::string_view name) {
    for (std::string_view p : kWidgetProperties)
        if (p == name) return true;
    return false;
}

}  // namespace blynk

#endif  // BLYNK_WIDGET_PROPERTIES_HPP
