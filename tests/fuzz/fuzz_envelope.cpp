// fuzz_envelope: the WebSocket text envelope and the JSON body of the packet it names.
//
// Oracle: an envelope that decodes re-encodes to one that decodes to the same code and seq (the
// body text may differ: Boost.JSON 1.81 does not parse doubles exactly, so a huge or fractional
// number can print differently after a second trip); the body is then parsed as the message for
// its code and must survive re-encoding. The body parse takes the v1.1 path for BizReq, Result
// and Push: "data"/"payload" as a JSON value, as a v1.0 base64 string, or "dataB64"/"payloadB64"
// (body_types.hpp compares those JSON values as JSON; the corpus has a seed of each form).
#include <google/protobuf/stubs/logging.h>

#include <cstdlib>
#include <string>
#include <string_view>

#include "body_types.hpp"
#include "codec/envelope.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    google::protobuf::SetLogHandler(nullptr);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace lp::codec;
    const std::string text(reinterpret_cast<const char*>(data), size);  // exact-size heap copy
    Envelope env;
    if (decode_envelope(text, env) != EnvelopeError::None) return 0;
    if (!is_known_code(env.code)) std::abort();

    Envelope back;
    if (decode_envelope(encode_envelope(env.code, env.seq, env.body_json), back) !=
        EnvelopeError::None) {
        std::abort();
    }
    if (back.code != env.code || back.seq != env.seq) std::abort();
    lp::fuzz::check_body(env.code, env.body_json, true);
    return 0;
}
