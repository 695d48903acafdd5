// Fuzzes the TLS record layer (kernel/net/tls_records.hpp), TLS 1.3 and 1.2:
// a TlsRecords keyed with fixed test secrets or keys ("us", the server) reads
// a byte stream cut at input-chosen points; a second one keyed with the
// swapped secrets ("peer", the client) builds valid records from the input,
// so the fuzzer gets past the AEAD tag. Input (seeds written by gen_corpus.py):
//   byte 0       suite (% 3), bit 6: TLS 1.2 (else 1.3), bit 7: a
//                write-record limit of 3 for us (TLS 1.3: our KeyUpdates;
//                TLS 1.2 AES-GCM: we refuse to seal past it)
//   4 x u16      piece sizes the stream is fed in, in turn (0: all the rest)
//   then ops, until the input ends (op byte % 6):
//     0 chunk          raw bytes into the stream
//     1 type pad chunk a record sealed by the peer with inner type `type`
//                      and `pad` zero bytes (a KeyUpdate switches its key);
//                      TLS 1.2: of type `type` (pad ignored)
//     2 chunk          application data sealed by the peer (seal: split at 2^14)
//     3 u16 byte       xor `byte` into the stream at u16 % size
//     4 chunk          we seal application data (checked by the peer)
//     5 byte           a KeyUpdate from the peer, request_update = byte & 1
//                      (TLS 1.2: a handshake record we refuse)
// Checks: a status other than Ok sticks and adds nothing more to `out`; an
// error text iff not Ok; each call of open() adds at most two records of
// alerts or a KeyUpdate (62 bytes) to `out`, whatever it was given; each
// delivery 1..2^14 bytes; buffered() < a record; a stream of untouched
// application-data records (with at most 32 KeyUpdates or empty records in a
// row) is delivered exactly, any other stream delivers a prefix of the peer's
// application data; the peer reads everything we wrote (our data, KeyUpdate
// answers, alerts) without an error of its own.
#include <string>
#include <string_view>

#include "fuzz_util.hpp"
#include "net/tls_records.hpp"

using blynk::net::TlsRecords;
using Status = TlsRecords::Status;
using Suite = TlsRecords::Suite;
using Version = TlsRecords::Version;

namespace {

// A record the peer seals with (inner) type 23 that we must accept as is
// (TLS 1.3: content, type and padding ≤ 2^14 + 1).
bool acceptable_data(Version v, size_t n, size_t pad) {
    if (v == Version::Tls12) return n <= TlsRecords::kMaxPlain;
    return n + 1 + pad <= TlsRecords::kMaxPlain + 1;
}

// Records without application data in a row, as the record layer counts them:
// past kMaxControlInARow of a kind the stream is no longer clean.
struct InARow {
    unsigned key_updates = 0, empty = 0;
    bool over = false;
    void data(size_t n) {
        if (n == 0) {
            over = over || ++empty > TlsRecords::kMaxControlInARow;
        } else {
            key_updates = empty = 0;
        }
    }
    void key_update() { over = over || ++key_updates > TlsRecords::kMaxControlInARow; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    blynk::fuzz::Input in(data, size);
    uint8_t first = in.byte();
    auto suite = Suite(first % 3);
    Version v = first & 0x40 ? Version::Tls12 : Version::Tls13;
    size_t len = v == Version::Tls12
                     ? (suite == Suite::Aes128GcmSha256 ? 16 : 32) + (suite == Suite::Chacha20Poly1305Sha256 ? 12 : 4)
                 : suite == Suite::Aes256GcmSha384 ? 48
                                                   : 32;
    const std::string client(len, '\x5a'), server(len, '\xa5');
    auto us = TlsRecords::for_test(suite, client, server, v);
    auto peer = TlsRecords::for_test(suite, server, client, v);
    const size_t max_record = v == Version::Tls12 ? TlsRecords::kMaxRecord12 : TlsRecords::kMaxRecord;
    FUZZ_CHECK(us && peer);
    if (first & 0x80) us->set_write_record_limit_for_test(3);
    size_t pieces[4];
    for (auto& p : pieces)
        p = in.u16();

    // 1. The stream the peer sends, and what we send meanwhile (in time order).
    std::string stream, down, sent_up, sent_down;
    bool clean = true;       // only untouched application data (and KeyUpdates) in the stream
    bool sealed_all = true;  // every seal() of ours succeeded (TLS 1.2 AES-GCM: not past the limit)
    InARow in_a_row;
    bool predictable = true;  // no record of inner type 0 (its content's last non-zero byte becomes the type)
    while (!in.empty()) {
        switch (in.byte() % 6) {
            case 0: {
                std::string_view c = in.chunk();
                stream.append(c);
                clean = clean && c.empty();
                break;
            }
            case 1: {
                uint8_t type = in.byte(), pad = in.byte();
                std::string_view c = in.chunk();
                if (c.size() > TlsRecords::kMaxPlain + 1) c = c.substr(0, TlsRecords::kMaxPlain + 1);
                peer->seal_record_for_test(type, c.data(), c.size(), pad, stream);
                predictable = predictable && (type != 0 || v == Version::Tls12);
                if (type == 23 && acceptable_data(v, c.size(), pad)) {
                    sent_up.append(c);
                    in_a_row.data(c.size());
                } else {
                    clean = false;
                }
                break;
            }
            case 2: {
                std::string_view c = in.chunk();
                peer->seal(c.data(), c.size(), stream);
                sent_up.append(c);
                if (!c.empty()) in_a_row.data(c.size());
                break;
            }
            case 3: {
                size_t at = in.u16();
                uint8_t x = in.byte();
                if (!stream.empty() && x) {
                    stream[at % stream.size()] ^= char(x);
                    clean = false;
                }
                break;
            }
            case 4: {
                std::string_view c = in.chunk();
                if (!us->seal(c.data(), c.size(), down)) {
                    FUZZ_CHECK(v == Version::Tls12 && suite != Suite::Chacha20Poly1305Sha256 && (first & 0x80));
                    sealed_all = false;
                }
                sent_down.append(c);
                break;
            }
            case 5: {
                const char ku[5] = {24, 0, 0, 1, char(in.byte() & 1)};
                peer->seal_record_for_test(22, ku, sizeof ku, 0, stream);
                if (v == Version::Tls12) clean = false;
                in_a_row.key_update();
                break;
            }
        }
    }

    clean = clean && sealed_all && !in_a_row.over;

    // 2. We read the stream in pieces.
    std::string got;
    auto deliver = [&](const char* p, size_t n) {
        FUZZ_CHECK(n > 0 && n <= TlsRecords::kMaxPlain);
        got.append(p, n);
    };
    Status st = Status::Ok;
    size_t at = 0;
    for (int i = 0; at < stream.size(); ++i) {
        size_t n = pieces[i % 4];
        if (n == 0 || n > stream.size() - at) n = stream.size() - at;
        size_t down_before = down.size();
        Status prev = st;
        st = us->open(&stream[at], n, deliver, down);
        if (prev != Status::Ok) {
            FUZZ_CHECK(st == prev);
            FUZZ_CHECK(down.size() == down_before);
        }
        // Our answers stay small whatever comes: one KeyUpdate (27 bytes), or a
        // no_renegotiation warning and a fatal alert (31 bytes each).
        FUZZ_CHECK(down.size() - down_before <= 62);
        FUZZ_CHECK(us->buffered() < max_record);
        FUZZ_CHECK(us->error().empty() == (st == Status::Ok));
        at += n;
    }
    if (clean) {
        FUZZ_CHECK(st == Status::Ok);
        FUZZ_CHECK(got == sent_up);
        FUZZ_CHECK(us->buffered() == 0);
    } else if (predictable) {
        // Only authenticated records in sequence are delivered: a prefix of what the peer sent.
        FUZZ_CHECK(got.size() <= sent_up.size() && sent_up.compare(0, got.size(), got) == 0);
    }

    // 3. The peer reads all we wrote: our data, KeyUpdate answers, a fatal alert.
    std::string peer_got, peer_out;
    Status ps = peer->open(
        &down[0], down.size(), [&](const char* p, size_t n) { peer_got.append(p, n); }, peer_out);
    // (Our KeyUpdates answer the peer's requests, one per open() call: a
    // stream of requests cut into many pieces gets more than 32 answers with
    // no data of ours between them, and the peer's own cap ends it there.)
    bool peer_capped = ps == Status::Failed && peer->error().find("too many KeyUpdates in a row") != std::string::npos;
    FUZZ_CHECK(peer_out.empty() || peer_capped);
    if (sealed_all && !peer_capped)
        FUZZ_CHECK(peer_got == sent_down);
    else  // what we sealed before the limit, or what the peer read before its cap
        FUZZ_CHECK(peer_got.size() <= sent_down.size() && sent_down.compare(0, peer_got.size(), peer_got) == 0);
    if (ps != Status::Ok && !peer_capped) {
        FUZZ_CHECK(ps == Status::Failed && us->error().size() && st == Status::Failed);
        FUZZ_CHECK(peer->error().rfind("peer sent alert", 0) == 0);
    }
    FUZZ_CHECK(peer->buffered() == 0);
    return 0;
}
