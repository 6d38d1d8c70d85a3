// fuzz_ws_upgrade: the HTTP request that opens a WebSocket session (server/ws_upgrade), the first
// thing any stranger on the client port reaches, fed at fuzzer-chosen split points the way a
// session feeds it: bytes appended until the judge stops asking for more.
//
// Oracles: the verdict is the same whether the bytes arrive in chunks or at once; an accept
// consumed no more than it was given and answers 101 with a Sec-WebSocket-Accept; a refusal is
// a complete HTTP answer with a 4xx status; 403 only ever comes from the Origin allow-list.
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "chunked_input.hpp"
#include "server/ws_upgrade.hpp"

namespace {

using lp::server::UpgradeVerdict;

const std::vector<std::string> kOrigins = {"https://app.example.com", "http://localhost:3000"};

UpgradeVerdict judge_growing(const lp::fuzz::ChunkedInput& in, bool chunked, bool with_origins) {
    lp::server::UpgradePolicy policy;
    policy.path = "/ws";
    policy.allowed_origins = with_origins ? &kOrigins : nullptr;
    std::string buffered;
    UpgradeVerdict verdict;
    auto feed = [&](const std::uint8_t* data, std::size_t n) {
        buffered.append(reinterpret_cast<const char*>(data), n);
        verdict = lp::server::judge_upgrade(buffered, policy);
        return verdict.outcome == UpgradeVerdict::Outcome::NeedMore;
    };
    if (chunked) {
        lp::fuzz::for_each_chunk(
            in, [&](std::uint8_t* chunk, std::size_t n) { return feed(chunk, n); });
    } else {
        feed(in.stream, in.size);
    }
    switch (verdict.outcome) {
        case UpgradeVerdict::Outcome::NeedMore:
            if (buffered.size() > lp::server::kMaxUpgradeRequest) std::abort();
            break;
        case UpgradeVerdict::Outcome::Accept:
            if (verdict.status != 101 || verdict.request_bytes == 0 ||
                verdict.request_bytes > buffered.size() ||
                verdict.request_bytes > lp::server::kMaxUpgradeRequest ||
                verdict.response.find("Sec-WebSocket-Accept: ") == std::string::npos) {
                std::abort();
            }
            break;
        case UpgradeVerdict::Outcome::Refuse:
            if (verdict.status < 400 || verdict.status > 499) std::abort();
            if (!verdict.response.starts_with("HTTP/1.1 " + std::to_string(verdict.status)))
                std::abort();
            if ((verdict.status == 403) != verdict.origin_refused) std::abort();
            if (verdict.origin_refused && !with_origins) std::abort();
            break;
    }
    return verdict;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto input = lp::fuzz::split_input(data, size);
    for (bool with_origins : {false, true}) {
        const UpgradeVerdict chunked = judge_growing(input, true, with_origins);
        const UpgradeVerdict whole = judge_growing(input, false, with_origins);
        // Chunks can only end the wait earlier than the whole (a refusal on a prefix); when both
        // decided on the same complete request they must agree.
        if (chunked.outcome == UpgradeVerdict::Outcome::Accept &&
            (whole.outcome != UpgradeVerdict::Outcome::Accept ||
             whole.request_bytes != chunked.request_bytes || whole.response != chunked.response)) {
            std::abort();
        }
    }
    return 0;
}
