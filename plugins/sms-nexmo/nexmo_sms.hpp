// The Nexmo/Vonage SMS API (POST {base_url}/sms/json, a form body) without
// the transport: building the request, and reading its answer into one of
// three outcomes. Separate from the plugin so it is tested without a network.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#pragma once

#include <string>
#include <string_view>

namespace nexmo {

// Whether every character of the UTF-8 text is in the GSM 03.38 default
// alphabet or its extension table: such text goes as type "text", anything
// else as "unicode" (UCS-2 on the air), or the phone shows '?' for it.
bool gsm7_safe(std::string_view utf8);

// The widget's number as Nexmo wants it: digits only, international form,
// no '+' or "00" prefix ("+49 (151) 234-567" -> "49151234567"); empty if it
// is not a phone number (letters, fewer than 6 or more than 15 digits).
std::string normalize_number(std::string_view widget_number);

struct Message {
    std::string api_key, api_secret, from, to, text;
};
// application/x-www-form-urlencoded body; it holds the secret: never log it.
std::string form_body(const Message& m);

struct Outcome {
    enum Kind { Accepted, Temporary, Permanent };
    Kind kind = Permanent;
    std::string reason;  // for the log and the caller; never a secret
};

// One answer: its HTTP status and body. 5xx, 429 and statuses 1 (throttled)
// and 10 (too many binds) are temporary; other non-zero statuses permanent
// with their documented meaning. Every part of a long text must be status 0.
Outcome read_answer(long http_status, const std::string& body);

// The documented meaning of a messages[].status code.
std::string status_meaning(int code);

}  // namespace nexmo
