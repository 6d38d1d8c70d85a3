// push/defaults: the default of each HTTP API option an operator can set (api.*).
//
// ApiOptions takes its defaults from here, and so does app/config's Config, so each default is
// written once. Constants only, on std headers: app/config includes this without Beast. It must
// never hold a limit that is not an option default.
#pragma once

#include <cstdint>
#include <string_view>

namespace lp::push {

inline constexpr std::string_view kDefaultApiListen = "127.0.0.1:8090";
inline constexpr std::uint64_t kDefaultApiMaxBodyBytes = 4 * 1024 * 1024;  // over it: 413
inline constexpr std::uint32_t kDefaultApiMaxUserIds = 10000;              // /v1/push/users
inline constexpr std::uint32_t kDefaultApiMaxConnections = 1024;
inline constexpr std::uint32_t kDefaultApiHeaderTimeoutMs = 5000;
inline constexpr std::uint32_t kDefaultApiIdleTimeoutMs = 30000;

}  // namespace lp::push
