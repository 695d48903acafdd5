// Reading a plugin's table by the ABI's rule: a field exists only if it lies
// within the size the plugin gave (an older plugin's table is shorter), so a
// missing one reads as null.
#pragma once

#include <cstddef>

namespace blynk::host {

template <class T, class F>
F field_or_null(const T* t, F T::*member) {
    size_t offset = reinterpret_cast<size_t>(&(static_cast<T*>(nullptr)->*member));
    return t->size >= offset + sizeof(F) ? t->*member : F{};
}

}  // namespace blynk::host
