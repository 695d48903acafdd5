#include "app/health_check.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <istream>

namespace blynk::app {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

HealthResult check_health(const std::string& host, unsigned short port, unsigned timeout_ms) {
    const std::string peer = host + ":" + std::to_string(port);
    const auto start = std::chrono::steady_clock::now();
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    tcp::socket socket(ioc);
    asio::streambuf reply;
    const std::string request =
        "GET / HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: blynkd-health\r\nConnection: close\r\n\r\n";
    HealthResult result{false, peer + ": no answer within " + std::to_string(timeout_ms) + " ms"};
    auto fail = [&](const char* step, const boost::system::error_code& ec) {
        result = {false, peer + ": " + step + ": " + ec.message()};
    };

    // Every step asynchronous, so one deadline (run_for) bounds them all.
    resolver.async_resolve(host, std::to_string(port), [&](auto ec, const tcp::resolver::results_type& eps) {
        if (ec) return fail("cannot resolve", ec);
        asio::async_connect(socket, eps, [&](auto ec, const tcp::endpoint&) {
            if (ec) return fail("cannot connect", ec);
            asio::async_write(socket, asio::buffer(request), [&](auto ec, size_t) {
                if (ec) return fail("cannot send", ec);
                asio::async_read_until(socket, reply, "\r\n", [&](auto ec, size_t) {
                    if (ec) return fail("no HTTP answer", ec);
                    std::istream in(&reply);
                    std::string status_line;
                    std::getline(in, status_line);
                    if (status_line.rfind("HTTP/1.", 0) != 0) {
                        result = {false, peer + ": answered something that is not HTTP"};
                        return;
                    }
                    auto ms =
                        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)
                            .count();
                    std::string code = status_line.size() >= 12 ? status_line.substr(9, 3) : "?";
                    result = {true, peer + " answered HTTP " + code + " in " + std::to_string(ms) + " ms"};
                });
            });
        });
    });
    ioc.run_for(std::chrono::milliseconds(timeout_ms));
    return result;
}

}  // namespace blynk::app
