// The mail's text as an SMTP server and a mail reader see it.
#include <gtest/gtest.h>

#include "mime_message.hpp"

using namespace mail_smtp;

TEST(MimeMessage, Base64MatchesRfc4648Vectors) {
    EXPECT_EQ(base64(""), "");
    EXPECT_EQ(base64("f"), "Zg==");
    EXPECT_EQ(base64("fo"), "Zm8=");
    EXPECT_EQ(base64("foo"), "Zm9v");
    EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
}

TEST(MimeMessage, AsciiSubjectStaysReadable) {
    EXPECT_EQ(encode_header_value("Temperature alarm"), "Temperature alarm");
}

TEST(MimeMessage, Utf8SubjectBecomesEncodedWords) {
    std::string v = encode_header_value("Température élevée ☀");
    EXPECT_EQ(v, "=?UTF-8?B?" + base64("Température élevée ☀") + "?=");
}

TEST(MimeMessage, LongUtf8SubjectIsFoldedWithoutSplittingACharacter) {
    std::string s;
    for (int i = 0; i < 40; ++i)
        s += "é";  // 2 bytes each: 80 bytes, two words
    std::string v = encode_header_value(s);
    size_t fold = v.find("\r\n ");
    ASSERT_NE(fold, std::string::npos);
    std::string first = v.substr(0, fold);
    EXPECT_LE(first.size(), 75u);
    // Each word decodes to whole characters: 44 bytes (22 x é), not 45.
    EXPECT_EQ(first, "=?UTF-8?B?" + base64(s.substr(0, 44)) + "?=");
}

TEST(MimeMessage, LineBreaksCannotStartAHeader) {
    std::string v = encode_header_value("hi\r\nBcc: victim@example.com");
    EXPECT_EQ(v.find('\r'), std::string::npos);
    EXPECT_EQ(v.find('\n'), std::string::npos);
}

TEST(MimeMessage, DateIsRfc5322InUtc) {
    EXPECT_EQ(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
    EXPECT_EQ(rfc5322_date(951782400), "Tue, 29 Feb 2000 00:00:00 +0000");
    EXPECT_EQ(rfc5322_date(1795000000), "Wed, 18 Nov 2026 11:06:40 +0000");
}

TEST(MimeMessage, MessageHasTheHeadersAndABase64Body) {
    MimeParts p;
    p.from_address = "blynk@example.com";
    p.from_name = "Blynk";
    p.to = "me@example.org";
    p.subject = "Hello";
    p.body = "line one\n.\nline three";
    p.content_type = "text/html";
    p.unix_time = 0;
    p.message_id = "abc@example.com";
    std::string m = build_message(p);
    EXPECT_NE(m.find("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"), std::string::npos);
    EXPECT_NE(m.find("From: Blynk <blynk@example.com>\r\n"), std::string::npos);
    EXPECT_NE(m.find("To: <me@example.org>\r\n"), std::string::npos);
    EXPECT_NE(m.find("Message-ID: <abc@example.com>\r\n"), std::string::npos);
    EXPECT_NE(m.find("Content-Type: text/html; charset=UTF-8\r\n"), std::string::npos);
    EXPECT_NE(m.find("\r\n\r\n" + base64(p.body) + "\r\n"), std::string::npos);
}

TEST(MimeMessage, PlainAddressRefusesWhatCouldInjectCommands) {
    EXPECT_TRUE(plain_address("a@b.c"));
    EXPECT_FALSE(plain_address("a@b.c>\r\nRCPT TO:<x@y.z"));
    EXPECT_FALSE(plain_address("a b@c.d"));
    EXPECT_FALSE(plain_address("@c.d"));
    EXPECT_FALSE(plain_address("a@"));
}
