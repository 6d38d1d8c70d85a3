// tests/fuzz/fuzz_profile: the profile claims reader (auth/profile) on an arbitrary token payload.
// fuzz_jwt cannot reach it (mutations break the signature first), yet it reads what an issuer
// signed on every login: any JSON object must be accepted into canonical JSON that parses back
// to an object, or refused with a reason naming a claim. Never a crash or an exception.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/profile.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    boost::system::error_code ec;
    auto v = boost::json::parse(std::string_view(reinterpret_cast<const char*>(data), size), ec);
    if (ec || !v.is_object()) return 0;
    std::string json, why;
    if (lp::auth::read_profile(v.as_object(), json, why)) {
        if (json.size() > 516) std::abort();  // the bound docs/rooms.md promises
        if (!json.empty() && !boost::json::parse(json, ec).is_object()) std::abort();
    } else if (why.empty()) {
        std::abort();
    }
    return 0;
}
