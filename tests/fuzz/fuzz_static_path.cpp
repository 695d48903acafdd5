// Fuzzes net::open_static (kernel/net/static_files.hpp) with request paths
// against a real folder: a temporary root holding two public files, symbolic
// links that lead inside and outside it, and a secret file beside it (and in a
// sibling folder whose name starts like the root's). Whatever the path (raw,
// percent-encoded, traversals, NULs, backslashes, drive letters...), the
// answer is a public file's content or a 404: never the secret. The opened
// file is read through a StaticStream (kernel/net/static_stream.hpp), as the
// server sends it, whole or, for a HEAD, not at all.
//
// Input: byte 0 picks how the root is spelled and GET or HEAD; the rest is
// the path (prefixed with /static/ unless it starts with '/').
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "fuzz_util.hpp"
#include "net/static_files.hpp"
#include "net/static_stream.hpp"

using namespace blynk;
namespace fs = std::filesystem;

namespace {

const std::string kSecret = "blynk-fuzz-SECRET-do-not-serve";
const std::string kIndex = "<html>public index</html>\n";
const std::string kScript = "console.log('public');\n";

struct Folder {
    fs::path base;
    std::string roots[4];
};

void write(const fs::path& p, const std::string& text) {
    std::ofstream(p, std::ios::binary) << text;
}

fs::path g_base;
void cleanup() {
    std::error_code ec;
    if (!g_base.empty()) fs::remove_all(g_base, ec);
}

const Folder& folder() {
    static const Folder f = [] {
        Folder f;
        const char* tmp = std::getenv("TMPDIR");
        std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/blynk-fuzz-static-XXXXXX";
        FUZZ_CHECK(mkdtemp(templ.data()) != nullptr);
        f.base = templ;
        g_base = f.base;
        std::atexit(cleanup);
        fs::path root = f.base / "root";
        fs::create_directories(root / "sub");
        fs::create_directories(f.base / "rootx");
        write(root / "index.html", kIndex);
        write(root / "sub" / "app.js", kScript);
        write(f.base / "secret.txt", kSecret);
        write(f.base / "rootx" / "secret.txt", kSecret);
        fs::create_symlink("../secret.txt", root / "link-secret");
        fs::create_directory_symlink("..", root / "link-up");
        fs::create_directory_symlink(f.base, root / "sub" / "link-abs");
        fs::create_symlink("sub/app.js", root / "link-ok");
        fs::create_directory_symlink("root", f.base / "rootlink");
        f.roots[0] = root.string();
        f.roots[1] = root.string() + "/";
        f.roots[2] = (f.base / "rootlink").string();
        f.roots[3] = (f.base / "rootx" / ".." / "root" / ".").string();
        return f;
    }();
    return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const Folder& f = folder();
    blynk::fuzz::Input in(data, size);
    uint8_t sel = in.byte();
    std::string_view rest = in.rest();
    std::string path = !rest.empty() && rest[0] == '/' ? std::string(rest) : "/static/" + std::string(rest);
    bool head_only = (sel & 4) != 0;

    net::StaticFile file = net::open_static(f.roots[sel & 3], path);
    if (file.status == 200) {
        FUZZ_CHECK(file.size == kIndex.size() || file.size == kScript.size());
        FUZZ_CHECK(!file.content_type.empty());
    } else {
        FUZZ_CHECK(file.status == 404 && !file.file.is_open());
    }
    std::string out;
    auto stream = net::StaticStream::start(f.roots[sel & 3], path, head_only, true, out);
    FUZZ_CHECK(out.find("SECRET") == std::string::npos);
    size_t head = out.find("\r\n\r\n");
    FUZZ_CHECK(head != std::string::npos);
    if (out.rfind("HTTP/1.1 404 ", 0) == 0) {
        FUZZ_CHECK(!stream && file.status == 404);
        return 0;
    }
    FUZZ_CHECK(out.rfind("HTTP/1.1 200 ", 0) == 0 && file.status == 200);
    FUZZ_CHECK(head_only == !stream);
    std::string error;
    size_t steps = 0;
    while (stream) {
        auto step = stream->append_next(out, error);
        FUZZ_CHECK(step != net::StaticStream::Step::Failed);
        if (step == net::StaticStream::Step::Finished) break;
        FUZZ_CHECK(++steps <= 2);  // the public files are smaller than a chunk
    }
    std::string body = out.substr(head + 4);
    FUZZ_CHECK(body.find("SECRET") == std::string::npos);
    if (head_only)
        FUZZ_CHECK(body.empty());
    else
        FUZZ_CHECK(body == kIndex || body == kScript);
    (void)net::content_type_for(rest);
    return 0;
}
