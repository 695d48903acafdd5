// Boost.JSON compiled into this plugin, once, in this file (header-only mode):
// the plugin needs no Boost.JSON shared library at run time, and with hidden
// visibility none of it is exported.
#include <boost/json/src.hpp>
