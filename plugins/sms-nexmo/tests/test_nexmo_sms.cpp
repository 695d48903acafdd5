// The Nexmo/Vonage request and answer rules, without a network.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include <gtest/gtest.h>

#include "../nexmo_sms.hpp"

namespace {

TEST(NexmoSms, Gsm7TextStaysTextAndAnythingElseGoesAsUnicode) {
    EXPECT_TRUE(nexmo::gsm7_safe("Temp 21 C, door open! @home {ok} [1] ~ ^ | \\ \u20ac \u00e9\u00df\u00c4\u00d1"));
    EXPECT_FALSE(nexmo::gsm7_safe("\u0422\u0435\u043f\u043b\u043e"));  // Cyrillic
    EXPECT_FALSE(nexmo::gsm7_safe("\xF0\x9F\x94\xA5 fire"));           // an emoji
    EXPECT_FALSE(nexmo::gsm7_safe("back`tick"));
    EXPECT_FALSE(nexmo::gsm7_safe("bad \xC3"));  // cut UTF-8: sent as unicode, Vonage judges it
    std::string plain = nexmo::form_body({"k", "s", "Blynk", "4915112345", "Hello world & more"});
    EXPECT_EQ(plain, "api_key=k&api_secret=s&from=Blynk&to=4915112345&text=Hello+world+%26+more");
    std::string unicode = nexmo::form_body({"k", "s", "Blynk", "4915112345", "\u0422"});
    EXPECT_EQ(unicode, "api_key=k&api_secret=s&from=Blynk&to=4915112345&text=%D0%A2&type=unicode");
}

TEST(NexmoSms, NumbersAreNormalisedToInternationalDigitsOrRefused) {
    EXPECT_EQ(nexmo::normalize_number("+49 (151) 234-5678"), "491512345678");
    EXPECT_EQ(nexmo::normalize_number("0049151234567"), "49151234567");
    EXPECT_EQ(nexmo::normalize_number("447700900000"), "447700900000");
    EXPECT_EQ(nexmo::normalize_number("call me"), "");
    EXPECT_EQ(nexmo::normalize_number("+1234"), "");
    EXPECT_EQ(nexmo::normalize_number("1234567890123456"), "");
    EXPECT_EQ(nexmo::normalize_number("+49 151&to=1"), "");  // no smuggled form fields
}

TEST(NexmoSms, AnswersAreAcceptedTemporaryOrPermanentWithTheirMeaning) {
    using O = nexmo::Outcome;
    EXPECT_EQ(nexmo::read_answer(200, R"({"message-count":"1","messages":[{"status":"0","to":"49"}]})").kind,
              O::Accepted);
    EXPECT_EQ(nexmo::read_answer(200, R"({"messages":[{"status":"0"},{"status":"0"}]})").kind, O::Accepted);
    O throttled = nexmo::read_answer(200, R"({"messages":[{"status":"1","error-text":"Throttled"}]})");
    EXPECT_EQ(throttled.kind, O::Temporary);
    EXPECT_NE(throttled.reason.find("throttled"), std::string::npos);
    O creds = nexmo::read_answer(200, R"({"messages":[{"status":"4"}]})");
    EXPECT_EQ(creds.kind, O::Permanent);
    EXPECT_NE(creds.reason.find("invalid credentials"), std::string::npos) << creds.reason;
    EXPECT_NE(creds.reason.find("(status 4)"), std::string::npos);
    EXPECT_EQ(nexmo::read_answer(200, R"({"messages":[{"status":"9"}]})").reason.find("credit") != std::string::npos,
              true);
    EXPECT_EQ(nexmo::read_answer(200, R"({"messages":[{"status":"29"}]})").kind, O::Permanent);
    // A later part throttled after the first went out: a retry would send the first twice.
    EXPECT_EQ(nexmo::read_answer(200, R"({"messages":[{"status":"0"},{"status":"1"}]})").kind, O::Permanent);
    EXPECT_EQ(nexmo::read_answer(503, "busy").kind, O::Temporary);
    EXPECT_EQ(nexmo::read_answer(429, "").kind, O::Temporary);
    EXPECT_EQ(nexmo::read_answer(401, "").kind, O::Permanent);
    EXPECT_EQ(nexmo::read_answer(200, "<html>").kind, O::Permanent);
    EXPECT_EQ(nexmo::read_answer(200, R"({"messages":[{}]})").kind, O::Permanent);
}

}  // namespace
