// push-fcm's JWT, token and message rules against OpenSSL, without a network.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <algorithm>

#include "../fcm_auth.hpp"
#include "../fcm_message.hpp"

namespace {

std::string b64url_decode(const std::string& s) {
    std::string std64 = s;
    for (char& c : std64)
        c = c == '-' ? '+' : c == '_' ? '/' : c;
    while (std64.size() % 4)
        std64 += '=';
    std::string out(std64.size(), '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(&out[0]),
                            reinterpret_cast<const unsigned char*>(std64.data()), int(std64.size()));
    size_t pad = (4 - s.size() % 4) % 4;
    out.resize(size_t(n) - pad);
    return out;
}

struct TestKey {
    EVP_PKEY* key = nullptr;
    std::string pem;
    TestKey() {
        key = EVP_RSA_gen(2048);
        BIO* b = BIO_new(BIO_s_mem());
        PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
        char* data = nullptr;
        long n = BIO_get_mem_data(b, &data);
        pem.assign(data, size_t(n));
        BIO_free(b);
    }
    ~TestKey() { EVP_PKEY_free(key); }
};
TestKey& test_key() {
    static TestKey k;
    return k;
}

std::string key_file(const std::string& pem) {
    return boost::json::serialize(boost::json::object{{"type", "service_account"},
                                                      {"project_id", "blynk-test"},
                                                      {"private_key_id", "kid-1"},
                                                      {"private_key", pem},
                                                      {"client_email", "blynkd@blynk-test.iam.gserviceaccount.com"},
                                                      {"token_uri", "https://oauth2.example/token"}});
}

TEST(FcmAuth, Base64UrlHasNoPaddingAndTheUrlAlphabet) {
    EXPECT_EQ(fcm::base64url(""), "");
    EXPECT_EQ(fcm::base64url("f"), "Zg");
    EXPECT_EQ(fcm::base64url("fo"), "Zm8");
    EXPECT_EQ(fcm::base64url("foo"), "Zm9v");
    EXPECT_EQ(fcm::base64url("\xfb\xff\xbf"), "-_-_");
}

TEST(FcmAuth, TheJwtCarriesTheClaimsAndVerifiesWithThePublicKey) {
    fcm::ServiceAccount sa = fcm::parse_service_account(key_file(test_key().pem));
    EXPECT_EQ(sa.project_id, "blynk-test");
    EXPECT_EQ(sa.token_uri, "https://oauth2.example/token");
    std::string jwt = fcm::signed_jwt(sa, "https://oauth2.example/token", 1700000000);
    size_t d1 = jwt.find('.'), d2 = jwt.rfind('.');
    ASSERT_NE(d1, d2);
    auto header = boost::json::parse(b64url_decode(jwt.substr(0, d1))).as_object();
    auto claims = boost::json::parse(b64url_decode(jwt.substr(d1 + 1, d2 - d1 - 1))).as_object();
    EXPECT_EQ(header["alg"], "RS256");
    EXPECT_EQ(header["typ"], "JWT");
    EXPECT_EQ(header["kid"], "kid-1");
    EXPECT_EQ(claims["iss"], "blynkd@blynk-test.iam.gserviceaccount.com");
    EXPECT_EQ(claims["scope"], "https://www.googleapis.com/auth/firebase.messaging");
    EXPECT_EQ(claims["aud"], "https://oauth2.example/token");
    EXPECT_EQ(claims["iat"].as_int64(), 1700000000);
    EXPECT_EQ(claims["exp"].as_int64(), 1700003600);

    std::string sig = b64url_decode(jwt.substr(d2 + 1));
    std::string input = jwt.substr(0, d2);
    auto verify = [&](const std::string& in) {
        EVP_MD_CTX* ctx = EVP_MD_CTX_new();
        EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, test_key().key);
        int ok = EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                                  reinterpret_cast<const unsigned char*>(in.data()), in.size());
        EVP_MD_CTX_free(ctx);
        return ok == 1;
    };
    EXPECT_EQ(sig.size(), 256u);
    EXPECT_TRUE(verify(input));
    EXPECT_FALSE(verify(input + "x"));  // the check can fail
}

TEST(FcmAuth, BadKeyFilesAreRefusedSayingWhatIsWrong) {
    EXPECT_THROW(fcm::parse_service_account("not json"), std::runtime_error);
    try {
        fcm::parse_service_account(R"({"type":"service_account","private_key":"x"})");
        FAIL();
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("client_email"), std::string::npos);
    }
    try {
        fcm::parse_service_account(R"({"client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nAAA"})");
        FAIL();
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("not a PEM private key"), std::string::npos);
        EXPECT_EQ(std::string(e.what()).find("AAA"), std::string::npos);
    }
}

TEST(FcmAuth, TokenAnswersGiveTheTokenOrTheEndpointsError) {
    fcm::AccessToken t = fcm::read_token_answer(200, R"({"access_token":"ya29.x","expires_in":3599})");
    EXPECT_EQ(t.value, "ya29.x");
    EXPECT_EQ(t.expires_in_s, 3599);
    try {
        fcm::read_token_answer(400, R"({"error":"invalid_grant","error_description":"Invalid JWT Signature."})");
        FAIL();
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("invalid_grant: Invalid JWT Signature."), std::string::npos);
    }
}

TEST(FcmMessage, AndroidGetsDataWithPriorityAndIosAnApnsAlert) {
    auto android = boost::json::parse(fcm::message_body("tokA", false, "Blynk", "Hot!", true)).as_object();
    auto& am = android["message"].as_object();
    EXPECT_EQ(am["token"], "tokA");
    EXPECT_EQ(am["data"].as_object()["message"], "Hot!");
    EXPECT_EQ(am["data"].as_object()["title"], "Blynk");
    EXPECT_EQ(am["android"].as_object()["priority"], "HIGH");
    EXPECT_FALSE(am.contains("apns"));
    auto ios = boost::json::parse(fcm::message_body("tokI", true, "Blynk", "Cold", false)).as_object();
    auto& im = ios["message"].as_object();
    auto& aps = im["apns"].as_object()["payload"].as_object()["aps"].as_object();
    EXPECT_EQ(aps["alert"].as_object()["body"], "Cold");
    EXPECT_EQ(aps["alert"].as_object()["title"], "Blynk");
    EXPECT_EQ(im["apns"].as_object()["headers"].as_object()["apns-priority"], "5");
    EXPECT_FALSE(im.contains("data"));
}

TEST(FcmMessage, ErrorAnswersAreClassified) {
    using O = fcm::SendOutcome;
    auto err = [](int code, const char* status, const char* fcm_code) {
        return std::string(R"({"error":{"code":)") + std::to_string(code) + R"(,"status":")" + status +
               R"(","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":")" +
               fcm_code + R"("}]}})";
    };
    EXPECT_EQ(fcm::read_send_answer(200, R"({"name":"projects/p/messages/1"})").kind, O::Delivered);
    EXPECT_EQ(fcm::read_send_answer(404, err(404, "NOT_FOUND", "UNREGISTERED")).kind, O::InvalidToken);
    EXPECT_EQ(fcm::read_send_answer(400, err(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")).kind, O::InvalidToken);
    EXPECT_EQ(fcm::read_send_answer(401, R"({"error":{"code":401,"status":"UNAUTHENTICATED"}})").kind, O::Unauthorized);
    EXPECT_EQ(fcm::read_send_answer(429, err(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED")).kind, O::Temporary);
    EXPECT_EQ(fcm::read_send_answer(503, err(503, "UNAVAILABLE", "UNAVAILABLE")).kind, O::Temporary);
    EXPECT_EQ(fcm::read_send_answer(502, "<html>bad gateway</html>").kind, O::Temporary);
    O mismatch = fcm::read_send_answer(403, err(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH"));
    EXPECT_EQ(mismatch.kind, O::Permanent);
    EXPECT_NE(mismatch.reason.find("another Firebase project"), std::string::npos);
}

}  // namespace
