// redis/reply: Reply (an owning copy of a hiredis reply) and Script (a Lua source and its
// SHA1), declared in client.hpp. Kept apart from the client's I/O state machine.
#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include <stdexcept>
#include <string>
#include <string_view>

#include "redis/client.hpp"

namespace lp::redis {

namespace {

std::string sha1_hex(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha1(), nullptr) != 1) {
        throw std::runtime_error("SHA1 failed (OpenSSL EVP_Digest)");
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(len * 2);
    for (unsigned int i = 0; i < len; ++i) {
        out.push_back(kHex[md[i] >> 4]);
        out.push_back(kHex[md[i] & 0x0f]);
    }
    return out;
}

}  // namespace

Reply Reply::error(std::string_view message) {
    Reply r;
    r.type = Type::Error;
    r.str.assign(message);
    return r;
}

Reply Reply::from_hiredis(const redisReply& r) {
    Reply out;
    switch (r.type) {
        case REDIS_REPLY_STRING:
            out.type = Type::String;
            out.str.assign(r.str, r.len);
            break;
        case REDIS_REPLY_STATUS:
            out.type = Type::Status;
            out.str.assign(r.str, r.len);
            break;
        case REDIS_REPLY_ERROR:
            out.type = Type::Error;
            out.str.assign(r.str, r.len);
            break;
        case REDIS_REPLY_INTEGER:
            out.type = Type::Integer;
            out.integer = r.integer;
            break;
        case REDIS_REPLY_NIL:
            out.type = Type::Nil;
            break;
        case REDIS_REPLY_ARRAY:
            out.type = Type::Array;
            out.elements.reserve(r.elements);
            for (std::size_t i = 0; i < r.elements; ++i) {
                if (r.element[i]) {
                    out.elements.push_back(from_hiredis(*r.element[i]));
                } else {
                    out.elements.emplace_back();
                }
            }
            break;
        default:
            out = error("unsupported reply type " + std::to_string(r.type));
    }
    return out;
}

Script::Script(std::string src) : source(std::move(src)), sha1(sha1_hex(source)) {}

}  // namespace lp::redis
