// Boost.JSON compiled into the notifier plugin that lists this file (header-only use).
#include <boost/json/src.hpp>
