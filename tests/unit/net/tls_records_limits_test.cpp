// The TLS record layer's bounds on what a peer can make it do
// (kernel/net/tls_records.hpp, docs/security.md "TLS after the handshake"):
// whatever a peer sends, our answers are few (one KeyUpdate per read however
// many were requested, one no_renegotiation warning per connection), floods
// of records that carry no data end the connection, inner plaintexts are
// capped with their padding, and after a failure nothing more is sealed (no
// close_notify after a fatal alert, no key switch after a record that could
// not be sealed). Records are crafted by a second TlsRecords keyed with the
// swapped secrets or keys (for_test), as a client would send them.
#include <gtest/gtest.h>

#include <string>

#include "net/tls_records.hpp"
#include "tls_test_support.hpp"

namespace {

using blynk::net::TlsRecords;
using Status = TlsRecords::Status;
using Suite = TlsRecords::Suite;
using Version = TlsRecords::Version;

constexpr size_t kTag = 16, kHeader = 5;

using blynk::net::test::Peers;

// The records of a byte stream: their count (each checked to be whole).
size_t count_records(const std::string& wire) {
    size_t n = 0, at = 0;
    while (at + kHeader <= wire.size()) {
        at += kHeader + (size_t(uint8_t(wire[at + 3])) << 8 | uint8_t(wire[at + 4]));
        ++n;
    }
    EXPECT_EQ(at, wire.size()) << "a partial record";
    return n;
}

const std::string kKeyUpdateRequested = {24, 0, 0, 1, 1};
const std::string kKeyUpdateNotRequested = {24, 0, 0, 1, 0};

// ---- TLS 1.3 inner plaintext: content, type and padding ≤ 2^14 + 1 (RFC 8446 §5.4)

TEST(TlsRecordsLimits, InnerPlaintextWithPaddingOver2To14Plus1IsRecordOverflow) {
    Peers ok;
    EXPECT_EQ(ok.feed(ok.craft(23, std::string(16384, 'm'))), Status::Ok);  // 2^14 + its type: the largest
    EXPECT_EQ(ok.feed(ok.craft(23, std::string(16000, 'm'), 384)), Status::Ok);
    EXPECT_EQ(ok.plain.size(), 16384u + 16000);
    // 2^14 of content and one zero of padding: one byte too many
    Peers t;
    EXPECT_EQ(t.feed(t.craft(23, std::string(16384, 'm'), 1)), Status::Failed);
    EXPECT_TRUE(t.error_has("record_overflow")) << t.us->error();
    EXPECT_TRUE(t.plain.empty());
    std::string got;
    EXPECT_EQ(t.peer_reads(got), Status::Failed);
    EXPECT_NE(t.peer->error().find("record overflow"), std::string::npos) << t.peer->error();
    // one byte of content and 2^14 of padding (a legal record size on the wire)
    Peers p;
    EXPECT_EQ(p.feed(p.craft(23, "x", 16384)), Status::Failed);
    EXPECT_TRUE(p.error_has("record_overflow")) << p.us->error();
    EXPECT_TRUE(p.plain.empty());
}

TEST(TlsRecordsLimits, MaxFragmentLengthCapsTheInnerPlaintextWithItsPadding) {
    Peers t;
    t.us->set_max_plain_for_test(512);
    EXPECT_EQ(t.feed(t.craft(23, std::string(512, 'm'))), Status::Ok);
    EXPECT_EQ(t.feed(t.craft(23, std::string(500, 'm'), 12)), Status::Ok);
    EXPECT_EQ(t.feed(t.craft(23, std::string(500, 'm'), 13)), Status::Failed);
    EXPECT_TRUE(t.error_has("record_overflow")) << t.us->error();
    EXPECT_EQ(t.plain.size(), 1012u);
}

// ---- empty alerts (RFC 8446 §5.1: alerts are never fragmented, so never empty)

TEST(TlsRecordsLimits, EmptyAlertRecordIsUnexpectedMessageEitherVersion) {
    for (Version v : {Version::Tls13, Version::Tls12}) {
        SCOPED_TRACE(v == Version::Tls13 ? "TLS 1.3" : "TLS 1.2");
        Peers t(Suite::Aes128GcmSha256, v);
        EXPECT_EQ(t.feed(t.craft(21, "")), Status::Failed);
        EXPECT_TRUE(t.error_has("unexpected_message")) << t.us->error();
        std::string got;
        EXPECT_EQ(t.peer_reads(got), Status::Failed);
        EXPECT_NE(t.peer->error().find("unexpected"), std::string::npos) << t.peer->error();
        Peers d(Suite::Aes128GcmSha256, v);  // a one-byte alert is still a decode error
        EXPECT_EQ(d.feed(d.craft(21, std::string{1})), Status::Failed);
        EXPECT_TRUE(d.error_has("decode_error")) << d.us->error();
    }
}

// ---- nothing sealed after a failure ----------------------------------------------------

TEST(TlsRecordsLimits, NoCloseNotifyNorDataAfterOurFatalAlert) {
    for (Version v : {Version::Tls13, Version::Tls12}) {
        SCOPED_TRACE(v == Version::Tls13 ? "TLS 1.3" : "TLS 1.2");
        Peers t(Suite::Aes128GcmSha256, v);
        std::string bad = t.craft(23, "forged");
        bad[bad.size() - 1] ^= 1;
        EXPECT_EQ(t.feed(bad), Status::Failed);
        EXPECT_EQ(count_records(t.out), 1u);  // our fatal bad_record_mac
        EXPECT_FALSE(t.us->close_notify(t.out));
        EXPECT_FALSE(t.us->seal("late", 4, t.out));
        EXPECT_EQ(count_records(t.out), 1u) << "a record after the fatal alert";
        std::string got;
        EXPECT_EQ(t.peer_reads(got), Status::Failed);
        EXPECT_NE(t.peer->error().find("bad record mac"), std::string::npos) << t.peer->error();
        EXPECT_TRUE(got.empty());
    }
}

TEST(TlsRecordsLimits, NoCloseNotifyAfterThePeersFatalAlert) {
    Peers t;
    EXPECT_EQ(t.feed(t.craft(21, std::string{2, 40})), Status::Failed);
    EXPECT_FALSE(t.us->close_notify(t.out));
    EXPECT_TRUE(t.out.empty());
}

TEST(TlsRecordsLimits, AFailedSealKeepsTheKeysAndEndsTheConnection) {
    // TLS 1.3 at its write limit: the KeyUpdate before the record fails to seal
    Peers t;
    t.us->set_write_record_limit_for_test(3);
    ASSERT_TRUE(t.us->seal("a", 1, t.out));
    uint64_t seq = t.us->write_sequence();
    ASSERT_EQ(seq, 1u);
    ASSERT_TRUE(t.us->seal("b", 1, t.out));
    t.us->fail_next_seal_for_test();
    EXPECT_FALSE(t.us->seal("c", 1, t.out));
    EXPECT_EQ(t.us->write_sequence(), 2u) << "the write key changed after a KeyUpdate that was not sent";
    EXPECT_FALSE(t.us->error().empty());
    EXPECT_FALSE(t.us->seal("d", 1, t.out));
    EXPECT_FALSE(t.us->close_notify(t.out));
    std::string got;
    EXPECT_EQ(t.peer_reads(got), Status::Ok);  // the two records before, nothing after
    EXPECT_EQ(got, "ab");
    std::string more = "x";
    auto sink = [](const char*, size_t) {};
    EXPECT_EQ(t.us->open(&more[0], 1, sink, t.out), Status::Failed);
    // an application-data record that fails: nothing of it, nothing after it
    Peers d(Suite::Aes256GcmSha384, Version::Tls12);
    d.us->fail_next_seal_for_test();
    EXPECT_FALSE(d.us->seal("abc", 3, d.out));
    EXPECT_TRUE(d.out.empty());
    EXPECT_EQ(d.us->write_sequence(), 0u);
}

// TLS 1.2 AES-GCM cannot rekey: after the write limit it refuses to seal.
TEST(TlsRecordsLimits, Tls12AesGcmRefusesToSealPastItsWriteLimit) {
    for (Suite s : {Suite::Aes128GcmSha256, Suite::Aes256GcmSha384}) {
        Peers t(s, Version::Tls12);
        t.us->set_write_record_limit_for_test(4);
        for (int i = 0; i < 4; ++i)
            EXPECT_TRUE(t.us->seal("abc", 3, t.out)) << i;
        EXPECT_FALSE(t.us->seal("abc", 3, t.out));
        EXPECT_NE(t.us->error().find("limit"), std::string::npos) << t.us->error();
        EXPECT_FALSE(t.us->close_notify(t.out));
        EXPECT_EQ(count_records(t.out), 4u);
        std::string got;
        EXPECT_EQ(t.peer_reads(got), Status::Ok);
        EXPECT_EQ(got, "abcabcabcabc");
    }
    Peers c(Suite::Chacha20Poly1305Sha256, Version::Tls12);  // no limit: the nonce never repeats
    c.us->set_write_record_limit_for_test(4);
    for (int i = 0; i < 10; ++i)
        EXPECT_TRUE(c.us->seal("abc", 3, c.out)) << i;
}

// ---- floods of records that carry no data ------------------------------------------

// Any number of KeyUpdate requests in one read: one answer (RFC 8446 §4.6.3).
TEST(TlsRecordsLimits, KeyUpdateRequestsInOneReadGetOneAnswer) {
    Peers t;
    std::string wire;
    for (int i = 0; i < 20; ++i)
        wire += t.craft(22, kKeyUpdateRequested);
    wire += t.craft(23, "data");
    EXPECT_EQ(t.feed(wire), Status::Ok);
    EXPECT_EQ(t.plain, "data");
    EXPECT_EQ(count_records(t.out), 1u);
    EXPECT_EQ(t.out.size(), kHeader + 5 + 1 + kTag);
    ASSERT_TRUE(t.us->seal("reply", 5, t.out));  // under our new key
    std::string got;
    EXPECT_EQ(t.peer_reads(got), Status::Ok);
    EXPECT_EQ(got, "reply");
}

// A request answered before our next record when that comes first (a
// `deliver` that replies), and then not again.
TEST(TlsRecordsLimits, KeyUpdateAnswerPrecedesOurNextRecordOnlyOnce) {
    Peers t;
    std::string wire = t.craft(22, kKeyUpdateRequested);
    wire += t.craft(23, "ping");  // (after: under the peer's new key)
    std::string out;
    auto reply = [&](const char*, size_t) { t.us->seal("pong", 4, out); };
    EXPECT_EQ(t.us->open(wire.data(), wire.size(), reply, out), Status::Ok) << t.us->error();
    EXPECT_EQ(count_records(out), 2u);  // KeyUpdate, then "pong" under the new key
    t.out = out;
    std::string got;
    EXPECT_EQ(t.peer_reads(got), Status::Ok);
    EXPECT_EQ(got, "pong");
}

TEST(TlsRecordsLimits, MoreThan32KeyUpdatesInARowAreUnexpectedMessage) {
    Peers ok;  // 32, data, 32: fine
    std::string wire;
    for (int i = 0; i < 32; ++i)
        wire += ok.craft(22, i % 2 ? kKeyUpdateRequested : kKeyUpdateNotRequested);
    wire += ok.craft(23, "x");
    for (int i = 0; i < 32; ++i)
        wire += ok.craft(22, kKeyUpdateNotRequested);
    EXPECT_EQ(ok.feed(wire), Status::Ok);
    Peers t;  // 33 in a row, one record at a time: at most one answer per read, then the end
    Status st = Status::Ok;
    for (int i = 0; i < 33 && st == Status::Ok; ++i) {
        size_t before = t.out.size();
        st = t.feed(t.craft(22, kKeyUpdateRequested));
        EXPECT_LE(count_records(t.out.substr(before)), 1u);
    }
    EXPECT_EQ(st, Status::Failed);
    EXPECT_TRUE(t.error_has("unexpected_message: too many KeyUpdates")) << t.us->error();
    EXPECT_EQ(count_records(t.out), 32u + 1);  // 32 answers, one fatal alert
    std::string got;
    EXPECT_EQ(t.peer_reads(got), Status::Failed);
    EXPECT_NE(t.peer->error().find("unexpected"), std::string::npos) << t.peer->error();
}

TEST(TlsRecordsLimits, MoreThan32EmptyRecordsInARowAreUnexpectedMessage) {
    for (Version v : {Version::Tls13, Version::Tls12}) {
        SCOPED_TRACE(v == Version::Tls13 ? "TLS 1.3" : "TLS 1.2");
        Peers t(Suite::Aes128GcmSha256, v);
        std::string wire;
        for (int i = 0; i < 32; ++i)
            wire += t.craft(23, "");
        wire += t.craft(23, "x");
        for (int i = 0; i < 32; ++i)
            wire += t.craft(23, "");
        EXPECT_EQ(t.feed(wire), Status::Ok);
        EXPECT_TRUE(t.out.empty());
        EXPECT_EQ(t.feed(t.craft(23, "")), Status::Failed);
        EXPECT_TRUE(t.error_has("too many empty records")) << t.us->error();
        EXPECT_EQ(t.plain, "x");
    }
}

// (4, as BoringSSL and rustls: a peer sends one or two, user_canceled before close_notify)
TEST(TlsRecordsLimits, MoreThan4WarningAlertsInARowAreUnexpectedMessage) {
    for (Version v : {Version::Tls13, Version::Tls12}) {
        SCOPED_TRACE(v == Version::Tls13 ? "TLS 1.3" : "TLS 1.2");
        Peers t(Suite::Aes128GcmSha256, v);
        const std::string user_canceled = {1, 90};
        std::string wire;
        for (int i = 0; i < 4; ++i)
            wire += t.craft(21, user_canceled);
        wire += t.craft(23, "x");
        for (int i = 0; i < 4; ++i)
            wire += t.craft(21, user_canceled);
        EXPECT_EQ(t.feed(wire), Status::Ok);
        EXPECT_EQ(t.feed(t.craft(21, user_canceled)), Status::Failed);
        EXPECT_TRUE(t.error_has("too many warning alerts")) << t.us->error();
        std::string got;
        EXPECT_EQ(t.peer_reads(got), Status::Failed);
        EXPECT_NE(t.peer->error().find("unexpected"), std::string::npos) << t.peer->error();
    }
}

// A record full of empty ClientHellos (4 bytes each): one warning, then fatal,
// not one warning per ClientHello (4096 alerts for 16 KB).
TEST(TlsRecordsLimits, RenegotiationFloodGetsOneWarningThenAFatalAlert) {
    for (Suite s : {Suite::Aes128GcmSha256, Suite::Chacha20Poly1305Sha256}) {
        Peers t(s, Version::Tls12);
        std::string hellos;
        for (int i = 0; i < 4096; ++i)
            hellos += std::string{1, 0, 0, 0};
        EXPECT_EQ(t.feed(t.craft(22, hellos)), Status::Failed);
        EXPECT_TRUE(t.error_has("no_renegotiation: a second renegotiation")) << t.us->error();
        EXPECT_EQ(count_records(t.out), 2u);  // the warning, the fatal alert
        std::string got;
        EXPECT_EQ(t.peer_reads(got), Status::Failed);
        EXPECT_NE(t.peer->error().find("no renegotiation"), std::string::npos) << t.peer->error();
    }
    // across records and reads too: the second ClientHello of the connection is fatal
    Peers t(Suite::Aes128GcmSha256, Version::Tls12);
    EXPECT_EQ(t.feed(t.craft(22, std::string{1, 0, 0, 2, 'a', 'b'})), Status::Ok);
    EXPECT_EQ(t.feed(t.craft(23, "data")), Status::Ok);
    EXPECT_EQ(count_records(t.out), 1u);
    EXPECT_EQ(t.feed(t.craft(22, std::string{1, 0})), Status::Failed);
    EXPECT_EQ(count_records(t.out), 2u);
    EXPECT_EQ(t.plain, "data");
}

// ---- the per-thread cipher contexts forget a connection's key when it ends --------------

TEST(TlsRecordsLimits, ThreadCipherContextsForgetTheKeysOfAnEndedConnection) {
    for (Version v : {Version::Tls13, Version::Tls12}) {
        {
            Peers t(Suite::Aes256GcmSha384, v);
            ASSERT_EQ(t.feed(t.craft(23, "in")), Status::Ok);  // the peer seals, we open
            EXPECT_EQ(TlsRecords::keyed_thread_contexts_for_test(), 2);
            // one connection ending leaves the other's key alone
            t.peer.reset();
            EXPECT_EQ(TlsRecords::keyed_thread_contexts_for_test(), 1);
            ASSERT_TRUE(t.us->seal("out", 3, t.out));
            EXPECT_EQ(TlsRecords::keyed_thread_contexts_for_test(), 2);
        }
        EXPECT_EQ(TlsRecords::keyed_thread_contexts_for_test(), 0);
        Peers again(Suite::Aes256GcmSha384, v);  // the contexts still work afterwards
        EXPECT_EQ(again.feed(again.craft(23, "works")), Status::Ok);
        EXPECT_EQ(again.plain, "works");
    }
}

}  // namespace
