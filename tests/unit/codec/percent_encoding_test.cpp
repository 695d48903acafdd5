// codec::percent_encode and host::query_field: what goes into the URLs the
// server writes (reset links, the CLI's API paths) and what it reads back.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include "codec/percent_encoding.hpp"

#include <gtest/gtest.h>

#include "host/http_routes.hpp"

namespace {

using blynk::codec::percent_encode;
using blynk::host::query_field;

TEST(PercentEncoding, KeepsUnreservedAndWhatItIsToldEscapesTheRest) {
    EXPECT_EQ(percent_encode("aZ09-._~"), "aZ09-._~");
    EXPECT_EQ(percent_encode("a+b@x.io"), "a%2Bb%40x.io");
    EXPECT_EQ(percent_encode("a+b@x.io", "@"), "a%2Bb@x.io");
    EXPECT_EQ(percent_encode(std::string_view("\x00\xff /", 4)), "%00%FF%20%2F");
}

TEST(QueryField, FirstPairDecodedAndEmptyWhenAbsentBareOrMalformed) {
    EXPECT_EQ(query_field("a=1&email=a%2Bb%40x.io&email=other", "email"), "a+b@x.io");
    EXPECT_EQ(query_field("x=a+b", "x"), "a b");
    EXPECT_EQ(query_field("e%6Dail=y", "email"), "y");  // the key is decoded too
    EXPECT_EQ(query_field("a=1", "email"), "");
    EXPECT_EQ(query_field("email&email=y", "email"), "");  // the first is bare
    EXPECT_EQ(query_field("email=%zz", "email"), "");      // not a partial value
    EXPECT_EQ(query_field("%zz=1&email=y", "email"), "y");
    EXPECT_EQ(query_field("", "email"), "");
    // What percent_encode writes, query_field reads back.
    std::string odd = "a b+c&d=e%f@g";
    EXPECT_EQ(query_field("v=" + percent_encode(odd), "v"), odd);
}

}  // namespace
