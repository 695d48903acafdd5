// The body of a /static/ file sent in bounded chunks (kernel/net/static_stream.cpp):
// the head announces the file's length, each step appends at most one chunk,
// never past that length, and a file that shrinks meanwhile is a failure.
#include "net/static_stream.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "temp_dir.hpp"

namespace blynk::net {
namespace {

namespace fs = std::filesystem;

class StaticStreamTest : public ::testing::Test {
protected:
    // A file of `size` bytes whose every byte depends on its offset.
    std::string make_file(const std::string& name, size_t size) {
        std::string content(size, '\0');
        for (size_t i = 0; i < size; ++i)
            content[i] = char((i * 131 + i / 7) & 0xff);
        std::ofstream(root_ / name, std::ios::binary) << content;
        return content;
    }
    // Steps the stream to its end: the body, and how many chunks it took.
    static StaticStream::Step drain(StaticStream& s, std::string& body, size_t& chunks, std::string& error) {
        for (;;) {
            size_t before = body.size();
            StaticStream::Step step = s.append_next(body, error);
            if (step != StaticStream::Step::Appended) return step;
            EXPECT_LE(body.size() - before, StaticStream::kChunk);
            ++chunks;
        }
    }
    blynk::testing::TempDir tmp_{"blynk-static-stream"};
    const fs::path root_ = tmp_.path;
};

TEST_F(StaticStreamTest, LargeFileComesInChunksWithItsLengthInTheHead) {
    const size_t size = 2 * StaticStream::kChunk + 12345;
    std::string content = make_file("big.bin", size);
    std::string out;
    auto s = StaticStream::start(root_.string(), "/static/big.bin", false, true, out);
    ASSERT_TRUE(s);
    EXPECT_EQ(out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << out;
    EXPECT_NE(out.find("\r\nContent-Length: " + std::to_string(size) + "\r\n"), std::string::npos) << out;
    EXPECT_NE(out.find("\r\nContent-Type: application/octet-stream\r\n"), std::string::npos) << out;
    ASSERT_EQ(out.size() - out.find("\r\n\r\n"), 4u) << "only the head before the first step";
    std::string body, error;
    size_t chunks = 0;
    EXPECT_EQ(drain(*s, body, chunks, error), StaticStream::Step::Finished) << error;
    EXPECT_EQ(chunks, 3u);
    EXPECT_EQ(body, content);
}

TEST_F(StaticStreamTest, HeadAndEmptyFileHaveNoBodyToStream) {
    make_file("a.txt", 1000);
    make_file("empty.txt", 0);
    std::string out;
    EXPECT_FALSE(StaticStream::start(root_.string(), "/static/a.txt", true, false, out));
    EXPECT_NE(out.find("\r\nContent-Length: 1000\r\n"), std::string::npos) << out;
    EXPECT_NE(out.find("\r\nConnection: close\r\n"), std::string::npos) << out;
    EXPECT_EQ(out.size() - out.find("\r\n\r\n"), 4u) << "no body after a HEAD's head";
    out.clear();
    EXPECT_FALSE(StaticStream::start(root_.string(), "/static/empty.txt", false, true, out));
    EXPECT_NE(out.find("\r\nContent-Length: 0\r\n"), std::string::npos) << out;
}

TEST_F(StaticStreamTest, MissingOrOutsideIsA404) {
    make_file("a.txt", 10);
    for (const char* path : {"/static/missing.txt", "/static/../a.txt", "/static/%2e%2e/x", "/static/"}) {
        std::string out;
        EXPECT_FALSE(StaticStream::start(root_.string(), path, false, true, out)) << path;
        EXPECT_EQ(out.rfind("HTTP/1.1 404 ", 0), 0u) << path << ": " << out;
    }
}

TEST_F(StaticStreamTest, ShrunkWhileSentFailsNamingTheFile) {
    make_file("shrinks.bin", 3 * StaticStream::kChunk);
    std::string out;
    auto s = StaticStream::start(root_.string(), "/static/shrinks.bin", false, true, out);
    ASSERT_TRUE(s);
    std::string body, error;
    ASSERT_EQ(s->append_next(body, error), StaticStream::Step::Appended);
    fs::resize_file(root_ / "shrinks.bin", StaticStream::kChunk + 100);
    size_t chunks = 0;
    EXPECT_EQ(drain(*s, body, chunks, error), StaticStream::Step::Failed);
    EXPECT_NE(error.find("shrinks.bin"), std::string::npos) << error;
    EXPECT_NE(error.find("before the length announced"), std::string::npos) << error;
    EXPECT_LE(body.size(), StaticStream::kChunk + 100);
}

TEST_F(StaticStreamTest, GrownWhileSentStopsAtTheAnnouncedLength) {
    std::string content = make_file("grows.bin", StaticStream::kChunk + 10);
    std::string out;
    auto s = StaticStream::start(root_.string(), "/static/grows.bin", false, true, out);
    ASSERT_TRUE(s);
    std::ofstream(root_ / "grows.bin", std::ios::binary | std::ios::app) << std::string(5000, 'x');
    std::string body, error;
    size_t chunks = 0;
    EXPECT_EQ(drain(*s, body, chunks, error), StaticStream::Step::Finished) << error;
    EXPECT_EQ(body, content);
}

}  // namespace
}  // namespace blynk::net
