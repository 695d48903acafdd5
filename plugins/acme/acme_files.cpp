#include "acme_files.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "acme_crypto.hpp"

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace acme {

namespace fs = std::filesystem;

void ensure_folder(const std::string& path) {
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec) throw Error("cannot create " + path + ": " + ec.message());
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::replace, ec);  // no-op meaning on Windows
}

std::optional<std::string> read_file(const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return std::nullopt;
    auto size = fs::file_size(path, ec);
    if (ec || size > (1u << 20)) throw Error(path + ": cannot be read" + (ec ? ": " + ec.message() : " (over 1 MiB)"));
    std::ifstream in(path, std::ios::binary);
    std::string text(size_t(size), '\0');
    if (!in || !in.read(text.data(), std::streamsize(size))) throw Error(path + ": cannot be read");
    return text;
}

void write_file(const std::string& path, const std::string& text, bool private_key) {
    std::string tmp = path + ".new";
#if defined(_WIN32)
    (void)private_key;
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out || !out.write(text.data(), std::streamsize(text.size())) || !out.flush())
            throw Error("cannot write " + tmp);
    }
#else
    // The mode is set at creation, so no other user ever may read a byte of a key.
    ::unlink(tmp.c_str());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, private_key ? 0600 : 0644);
    if (fd < 0) throw Error("cannot write " + tmp + ": " + std::strerror(errno));
    if (private_key) ::fchmod(fd, 0600);  // whatever the umask
    size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = errno;
            ::close(fd);
            throw Error("cannot write " + tmp + ": " + std::strerror(e));
        }
        done += size_t(n);
    }
    bool ok = ::fsync(fd) == 0;
    ok = ::close(fd) == 0 && ok;
    if (!ok) throw Error("cannot write " + tmp + ": " + std::strerror(errno));
#endif
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) throw Error("cannot replace " + path + ": " + ec.message());
}

}  // namespace acme
