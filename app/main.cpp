// app/main: livepushd. Reads the configuration, wires the modules together, runs until SIGTERM
// or SIGINT, then drains (KICK "draining" to every session) and exits 0 within a bounded time.
//
//   livepushd [flags]                      run a node (see --help)
//   livepushd token --user ID [--role R] [--ttl S] [--name N --avatar U --level L
//                   --medal-name M --medal-level ML] [flags]   mint a token with the configured
//                   secret
//   livepushd check-config [--config F] [flags]   check file, environment and flags as a start
//                   would (no socket, no Redis): exit 0 with a summary, 1 listing the problems
//   livepushd config --print [--config F] [flags] the effective configuration, secrets redacted
//   livepushd config --example                    every key at its default, commented
//
// Why ~650 lines: the start-up policy (finish_config, check_loaded), the subcommands that apply it
// (token, check-config, config) and the reload driver share those helpers, and keeping them in
// one file keeps the policy in one place. The next split moves the reload driver and the
// subcommands to app/commands.cpp with the policy helpers in a header of their own.
//
// SIGHUP reloads the configuration (app/reload): the same sources read again (the --config file,
// the environment and flags as they were at start), the live keys applied, restart-only ones
// refused by name, nothing at all when the new configuration fails its checks.
#include <google/protobuf/stubs/logging.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "app/config.hpp"
#include "app/config_tools.hpp"
#include "app/log_format.hpp"
#include "app/module_options.hpp"
#include "app/node.hpp"
#include "app/reload.hpp"
#include "auth/jwt.hpp"
#include "codec/address.hpp"
#include "codec/json_ids.hpp"
#include "codec/wall_clock.hpp"

extern char** environ;

namespace {

// Used only with --dev, and printed, so a person can try livepush without setting anything up.
constexpr const char* kDevSecret = "livepush-dev-secret-not-for-production";
constexpr const char* kDevApiKey = "livepush-dev-api-key";
constexpr const char* kDevClusterSecret = "livepush-dev-cluster-secret-not-for-production";
constexpr std::size_t kMinSecretBytes = 32;  // HS256: as many bytes as the MAC (RFC 7518 3.2)
static_assert(std::char_traits<char>::length(kDevSecret) >= kMinSecretBytes);
static_assert(std::char_traits<char>::length(kDevClusterSecret) >= kMinSecretBytes);

std::string host_name() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == 0) return "livepush";
    return buf;
}

void raise_fd_limit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

// Node links are authenticated with cluster.secret alone (router/link_hello): it must be there
// in cluster mode, long enough, and not a key that signs or opens anything else.
std::string check_cluster_secret(lp::app::Config& c) {
    if (!lp::app::cluster_mode(c)) return {};
    const std::string& s = c.cluster.secret;
    if (s.empty() && c.dev) c.cluster.secret = kDevClusterSecret;
    if (s.empty())
        return "cluster.secret is required in cluster mode (cluster.redis or redis_sentinels is "
               "set): "
               "--cluster-secret, "
               "LIVEPUSH_CLUSTER_SECRET or [cluster] secret, at least 32 bytes";
    if (s.size() < kMinSecretBytes)
        return "cluster.secret is " + std::to_string(s.size()) + " bytes: it must be at least 32";
    if (s == c.auth.jwt_secret)
        return "cluster.secret must differ from auth.jwt_secret (a token signature would prove a "
               "node)";
    if (s == c.api.key) return "cluster.secret must differ from api.key";
    const int tls_set = !c.cluster.link_tls_cert.empty() + !c.cluster.link_tls_key.empty() +
                        !c.cluster.link_tls_ca.empty();
    if (tls_set != 0 && tls_set != 3)
        return "cluster.link_tls_cert, cluster.link_tls_key and cluster.link_tls_ca go together: "
               "set all three or none";
    return {};
}

// api.listen was checked as host:port when it was loaded.
bool is_loopback(const std::string& listen) {
    const auto address = lp::codec::Address::parse(listen);
    return address && address->is_loopback();
}

// Applies --dev defaults and start-up policy. Returns an error message, or empty.
std::string finish_config(lp::app::Config& c) {
    if (auto err = lp::app::apply_dev_listen_policy(c); !err.empty()) return err;
    if (c.auth.jwt_secret.empty() && c.auth.jwt_public_key.empty()) {
        if (!c.dev)
            return "auth.jwt_secret (--jwt-secret, LIVEPUSH_AUTH_JWT_SECRET) or "
                   "auth.jwt_public_key is required, "
                   "or run with --dev";
        c.auth.jwt_secret = kDevSecret;
    }
    // A short HMAC secret can be brute-forced offline from any one token.
    for (auto [key, value] : {std::pair{"auth.jwt_secret", &c.auth.jwt_secret},
                              std::pair{"auth.jwt_secret_previous", &c.auth.jwt_secret_previous}}) {
        if (!c.dev && !value->empty() && value->size() < kMinSecretBytes)
            return std::string(key) + " is " + std::to_string(value->size()) + " bytes; at least " +
                   std::to_string(kMinSecretBytes) + " are required (e.g. openssl rand -base64 48)";
    }
    lp::auth::JwtPolicy policy;
    if (auto err = lp::app::jwt_policy_from(c, policy); !err.empty()) return err;
    if (c.api.key.empty()) {
        if (c.dev)
            c.api.key = kDevApiKey;
        else if (!c.api.listen.empty() && !is_loopback(c.api.listen))
            return "api.key is required when api.listen (" + c.api.listen +
                   ") is not a loopback address";
    }
    // The demo page is on by default with --dev (its token and gift routes exist only then).
    if (c.dev && c.explicitly_set.count("server.demo") == 0) c.server.demo = 1;
    if (c.cluster.node_id.empty()) c.cluster.node_id = host_name();
    if (c.cluster.advertise.empty()) c.cluster.advertise = c.server.tcp_listen;
    if (c.cluster.advertise_ws.empty()) c.cluster.advertise_ws = c.server.ws_listen;
    // Bounds of single values (> 0, ...) are the schema's (app/config_schema.hpp), checked as
    // loaded.
    if (auto err = check_cluster_secret(c); !err.empty()) return err;
    return {};
}

// protobuf logs a line for every string field that is not UTF-8, which a client can trigger at
// will; route those lines through spdlog at debug level and count them instead.
void route_protobuf_logs() {
    google::protobuf::SetLogHandler([](google::protobuf::LogLevel level, const char* file, int line,
                                       const std::string& message) {
        if (level >= google::protobuf::LOGLEVEL_FATAL)
            spdlog::critical("protobuf {}:{}: {}", file, line, message);
        else
            spdlog::debug("protobuf {}:{}: {}", file, line, message);
    });
}

int mint_token(int argc, char** argv) {
    std::uint64_t user = 0;
    std::string role = "viewer";
    std::int64_t ttl = 3600;
    lp::auth::ProfileClaims profile;
    std::vector<const char*> rest;
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&](const char* name) -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "livepushd token: %s needs a value\n", name);
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--user") {
            const auto id = lp::codec::decimal_u64(value("--user"));
            user = id.value_or(0);
            if (user == 0) {
                std::fprintf(stderr,
                             "livepushd token: --user must be a non-zero unsigned integer\n");
                return 2;
            }
        } else if (a == "--role") {
            role = value("--role");
        } else if (a == "--name") {
            profile.name = value("--name");
        } else if (a == "--avatar") {
            profile.avatar = value("--avatar");
        } else if (a == "--level" || a == "--medal-level") {
            const auto n = lp::codec::decimal_u64(value(a.c_str()));
            if (!n || *n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
                std::fprintf(stderr, "livepushd token: %s must be a non-negative integer\n",
                             a.c_str());
                return 2;
            }
            (a == "--level" ? profile.level : profile.medal_level) = static_cast<std::int64_t>(*n);
        } else if (a == "--medal-name") {
            profile.medal_name = value("--medal-name");
        } else if (a == "--ttl") {
            ttl = std::atoll(value("--ttl"));
            if (ttl <= 0) {
                std::fprintf(stderr, "livepushd token: --ttl must be > 0 seconds\n");
                return 2;
            }
        } else {
            rest.push_back(argv[i]);
        }
    }
    if (user == 0) {
        std::fprintf(
            stderr,
            "usage: livepushd token --user ID [--role viewer|anchor|admin] [--ttl SECONDS]\n"
            "       [--name N] [--avatar https://...] [--level L] [--medal-name M --medal-level "
            "ML]\n"
            "       [--jwt-secret S | --dev | --config F]\n");
        return 2;
    }
    auto loaded = lp::app::load_config(static_cast<int>(rest.size()), rest.data(), environ);
    if (!loaded.error.empty()) {
        std::fprintf(stderr, "livepushd token: %s\n", loaded.error.c_str());
        return 2;
    }
    auto& c = loaded.config;
    if (c.auth.jwt_secret.empty()) {
        if (!c.dev) {
            std::fprintf(stderr,
                         "livepushd token: no secret: give --jwt-secret, --config or --dev\n");
            return 2;
        }
        c.auth.jwt_secret = kDevSecret;
    }
    const auto now = static_cast<std::int64_t>(lp::codec::wall_ms() / 1000);
    if (c.auth.max_token_ttl_s != 0 && ttl > static_cast<std::int64_t>(c.auth.max_token_ttl_s)) {
        std::fprintf(stderr,
                     "livepushd token: --ttl %lld is over auth.max_token_ttl_s (%u): the node "
                     "would refuse it\n",
                     static_cast<long long>(ttl), c.auth.max_token_ttl_s);
        return 2;
    }
    // The profile is minted as given; the node checks it at login (TOKEN_BAD_PROFILE names the
    // claim), so an operator can also mint a token that shows what a bad claim gets.
    std::cout << lp::auth::mint_hs256(c.auth.jwt_secret, user, role, now, now + ttl, c.auth.issuer,
                                      c.auth.audience, profile)
              << "\n";
    return 0;
}

// " [auth.jwt_secret from LIVEPUSH_AUTH_JWT_SECRET]" for every key a start-up policy message
// names that some source set, so the operator knows where to fix it.
std::string sources_named(const std::string& message, const lp::app::Config& c) {
    std::string out;
    for (const auto& [key, source] : c.sources) {
        for (std::size_t at = message.find(key); at != std::string::npos;
             at = message.find(key, at + 1)) {
            const std::size_t end = at + key.size();
            const bool whole = end == message.size() ||
                               (std::isalnum(static_cast<unsigned char>(message[end])) == 0 &&
                                message[end] != '_');
            if (whole) {
                out += " [" + key + " from " + source + "]";
                break;
            }
        }
    }
    return out;
}

// Runs what a start runs before it opens anything: the loading (every source), the start-up
// policy (finish_config: required secrets, rules between keys, the dev listen policy, the JWT key
// files) and each module's options. Returns every problem found, each naming key and source.
std::vector<std::string> check_loaded(const lp::app::ConfigResult& loaded, lp::app::Config& c) {
    std::vector<std::string> problems = loaded.problems;
    if (!problems.empty()) return problems;  // rules between keys would judge half a config
    if (auto err = finish_config(c); !err.empty()) {
        problems.push_back(err + sources_named(err, c));
        return problems;
    }
    // The files a start reads (the JWT key files were read by finish_config): readable now, so
    // that a path mistake is not found by the first start. Their contents are the node's to judge.
    const std::pair<const char*, const std::string*> files[] = {
        {"tls.cert", &c.tls.cert},
        {"tls.key", &c.tls.key},
        {"cluster.link_tls_cert", &c.cluster.link_tls_cert},
        {"cluster.link_tls_key", &c.cluster.link_tls_key},
        {"cluster.link_tls_ca", &c.cluster.link_tls_ca}};
    for (const auto& [key, path] : files) {
        if (path->empty()) continue;
        std::ifstream file(*path);
        if (file.good()) continue;
        const auto source = c.sources.find(key);
        problems.push_back(std::string(key) + ": cannot read " + *path + ": " +
                           std::strerror(errno) + " (from " +
                           (source == c.sources.end() ? std::string("?") : source->second) + ")");
    }
    // As server/server.cpp refuses at start.
    if (c.tls.cert.empty() != c.tls.key.empty())
        problems.push_back("tls.cert and tls.key go together: set both or neither" +
                           sources_named("tls.cert tls.key", c));
    try {
        (void)lp::app::server_options(c);
        (void)lp::app::gateway_options(c);
        (void)lp::app::delivery_options(c);
        (void)lp::app::api_options(c);
        (void)lp::app::moderation_options(c);
        (void)lp::app::job_runner_options(c);
        (void)lp::app::kafka_options(c, {});
        if (lp::app::cluster_mode(c)) (void)lp::app::cluster_options(c, 0);
        if (!c.cluster.plugin_redis.empty() || !c.cluster.plugin_redis_sentinels.empty())
            (void)lp::app::plugin_redis_options(c);
    } catch (const std::exception& e) {
        problems.push_back(e.what() + sources_named(e.what(), c));
    }
    return problems;
}

int check_config(int argc, char** argv) {
    auto loaded = lp::app::load_config(argc, argv, environ);
    if (loaded.show_help) {
        std::cout << "usage: livepushd check-config [--config FILE] [options]\n\n"
                     "Checks the file, the LIVEPUSH_* environment and the options as a start "
                     "would,\nwithout opening a socket or contacting Redis. Exit 0: OK; 1: "
                     "problems (listed);\n2: usage error. Options: see livepushd --help.\n";
        return 0;
    }
    if (!loaded.error.empty() && loaded.problems.empty()) {  // the command line itself
        std::fprintf(stderr, "livepushd check-config: %s (see --help)\n", loaded.error.c_str());
        return 2;
    }
    for (const auto& w : loaded.warnings)
        std::fprintf(stderr, "livepushd check-config: warning: %s\n", w.c_str());
    auto& c = loaded.config;
    const auto problems = check_loaded(loaded, c);
    if (!problems.empty()) {
        for (const auto& p : problems)
            std::fprintf(stderr, "livepushd check-config: %s\n", p.c_str());
        std::fprintf(stderr, "livepushd check-config: %zu problem%s\n", problems.size(),
                     problems.size() == 1 ? "" : "s");
        return 1;
    }
    std::printf("livepushd check-config: OK: %s, %zu key%s set, client %s%s, api %s\n",
                !lp::app::cluster_mode(c) ? "embedded"
                : c.cluster.redis_sentinels.empty()
                    ? ("cluster via Redis " + c.cluster.redis).c_str()
                    : ("cluster via Redis Sentinel " + c.cluster.redis_sentinels).c_str(),
                c.explicitly_set.size(), c.explicitly_set.size() == 1 ? "" : "s",
                c.server.tcp_listen.empty() ? "-" : c.server.tcp_listen.c_str(),
                c.server.ws_listen.empty() ? "" : (" ws " + c.server.ws_listen).c_str(),
                c.api.listen.empty() ? "off" : c.api.listen.c_str());
    return 0;
}

int config_command(int argc, char** argv) {
    const std::string mode = argc > 0 ? argv[0] : "";
    if (mode == "--example" && argc == 1) {
        std::cout << lp::app::example_config();
        return 0;
    }
    if (mode != "--print") {
        std::fprintf(stderr,
                     "usage: livepushd config --print [--config FILE] [options]\n"
                     "       livepushd config --example\n");
        return 2;
    }
    auto loaded = lp::app::load_config(argc - 1, argv + 1, environ);
    if (!loaded.error.empty() && loaded.problems.empty()) {
        std::fprintf(stderr, "livepushd config: %s (see --help)\n", loaded.error.c_str());
        return 2;
    }
    auto& c = loaded.config;
    const auto problems = check_loaded(loaded, c);
    for (const auto& p : problems) std::fprintf(stderr, "livepushd config: %s\n", p.c_str());
    if (!problems.empty()) {
        std::fprintf(stderr,
                     "livepushd config: not a configuration a node would start with (see "
                     "livepushd check-config); printed as loaded\n");
    }
    std::cout << lp::app::print_config(c);
    return problems.empty() ? 0 : 1;
}

}  // namespace

namespace {

// --dev: the development secret and API key, so that a first try needs nothing else.
void print_dev_banner(const lp::app::Config& c) {
    // Only the built-in development values are printed; a secret the operator gave is not.
    auto shown = [](const std::string& value, const char* builtin) {
        return value == builtin ? value
                                : std::string(value.empty() ? "(none)" : "(set; not printed)");
    };
    std::printf(
        "livepushd --dev: development secret and API key (never use them in production)\n"
        "  auth.jwt_secret = %s\n  api.key         = %s\n"
        "  listeners not set explicitly are on 127.0.0.1 only\n"
        "  mint a token:     livepushd token --dev --user 1\n",
        shown(c.auth.jwt_secret, kDevSecret).c_str(), shown(c.api.key, kDevApiKey).c_str());
}

// The sources a start read, kept for a reload: the command line and the environment as they
// were (a reload re-reads the file they name, not a changed environment).
struct StartSources {
    std::vector<std::string> args;
    std::vector<std::string> env;
};

StartSources capture_sources(int argc, char** argv) {
    StartSources s;
    for (int i = 0; i < argc; ++i) s.args.emplace_back(argv[i]);
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) s.env.emplace_back(*e);
    return s;
}

// What one reload did, for the log, the metrics and POST /v1/admin/reload.
struct ReloadReport {
    lp::app::ReloadResult result = lp::app::ReloadResult::Invalid;
    std::vector<std::string> applied, refused, problems;
};

// SIGHUP (or POST /v1/admin/reload): loads the configuration again from `sources`, checks it as a
// start would, and applies its live keys (app/reload). Logs each refused key and each problem;
// counts the outcome. On main_io's thread.
ReloadReport reload(lp::app::Node& node, const StartSources& sources) {
    using lp::app::ReloadResult;
    spdlog::info("reloading the configuration");
    ReloadReport report;
    std::vector<const char*> args, env;
    for (const auto& a : sources.args) args.push_back(a.c_str());
    for (const auto& e : sources.env) env.push_back(e.c_str());
    env.push_back(nullptr);
    auto loaded = lp::app::load_config(static_cast<int>(args.size()), args.data(), env.data());
    auto& fresh = loaded.config;
    if (!loaded.error.empty() && loaded.problems.empty())
        report.problems.push_back(loaded.error);
    else
        report.problems = check_loaded(loaded, fresh);
    const auto invalid = [&] {
        for (const auto& p : report.problems) spdlog::error("reload: {}", p);
        spdlog::error(
            "reload: the new configuration is invalid; nothing applied, the node runs on as it "
            "was");
        node.note_reload(ReloadResult::Invalid, 0);
        return report;
    };
    if (!report.problems.empty()) return invalid();
    auto plan = lp::app::plan_reload(node.config(), fresh);
    if (auto err = node.apply_reload(plan.next); !err.empty()) {
        report.problems.push_back(err);
        return invalid();
    }
    for (const auto& key : plan.refused) {
        const auto source = fresh.sources.find(key);
        spdlog::warn(
            "reload: {} changed{} but takes a restart: refused, the running value stays "
            "until the node restarts",
            key,
            source == fresh.sources.end() ? " (derived from other keys)"
                                          : " (" + source->second + ")");
    }
    lp::app::apply_log_settings(plan.next.log.level, plan.next.log.format,
                                plan.next.cluster.node_id);
    // At debug level (the new level: a reload to debug shows them), each new value but secrets.
    for (const auto& info : lp::app::config_schema()) {
        if (info.secret) continue;
        for (const auto& key : plan.applied)
            if (key == info.key)
                spdlog::debug("reload: {} is now {}", key,
                              lp::app::config_value_toml(plan.next, key));
    }
    std::string applied;
    for (const auto& key : plan.applied) applied += (applied.empty() ? "" : ", ") + key;
    spdlog::info("reload: applied {} changed key{}{}{}; {} refused", plan.applied.size(),
                 plan.applied.size() == 1 ? "" : "s", applied.empty() ? "" : ": ", applied,
                 plan.refused.size());
    report.result = plan.refused.empty() ? ReloadResult::Ok : ReloadResult::Partial;
    node.note_reload(report.result, plan.refused.size());
    report.applied = std::move(plan.applied);
    report.refused = std::move(plan.refused);
    return report;
}

// POST /v1/admin/reload (behind api.key): the same reload as SIGHUP, run on main_io's thread;
// answers {"result":"ok|partial|invalid","applied":[...],"refused":[...],"problems":[...]}, or
// 503 when the node is stopping (main_io no longer runs).
lp::push::HttpReply admin_reload(boost::asio::io_context& main_io, lp::app::Node& node,
                                 const StartSources& sources) {
    auto done = std::make_shared<std::promise<ReloadReport>>();
    auto report = done->get_future();
    boost::asio::post(main_io, [done, &node, &sources] {
        try {
            done->set_value(reload(node, sources));
        } catch (...) {
            done->set_exception(std::current_exception());
        }
    });
    if (report.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
        return {503, R"({"error":"the node is busy or stopping; retry","code":503})"};
    ReloadReport r;
    try {
        r = report.get();
    } catch (const std::exception& e) {
        return {500,
                boost::json::serialize(boost::json::object{{"error", e.what()}, {"code", 500}})};
    }
    const char* names[] = {"ok", "invalid", "partial"};
    auto list = [](const std::vector<std::string>& v) {
        boost::json::array a;
        for (const auto& s : v) a.emplace_back(s);
        return a;
    };
    return {200, boost::json::serialize(
                     boost::json::object{{"result", names[static_cast<int>(r.result)]},
                                         {"applied", list(r.applied)},
                                         {"refused", list(r.refused)},
                                         {"problems", list(r.problems)}})};
}

// Serves until SIGINT/SIGTERM, running the node's housekeeping once a second and reloading the
// configuration on SIGHUP; returns the signal that stopped it.
int run_until_signal(boost::asio::io_context& main_io, boost::asio::signal_set& signals,
                     boost::asio::signal_set& hup, lp::app::Node& node,
                     const StartSources& sources) {
    int got = 0;
    signals.async_wait([&](const boost::system::error_code&, int sig) {
        got = sig;
        main_io.stop();
    });
    std::function<void()> wait_hup = [&] {
        hup.async_wait([&](const boost::system::error_code& ec, int) {
            if (ec) return;
            try {
                spdlog::info("SIGHUP");
                (void)reload(node, sources);
            } catch (const std::exception& e) {
                spdlog::error("reload: failed: {}", e.what());
            }
            wait_hup();
        });
    };
    wait_hup();
    // Housekeeping once a second: rooms without members, expired inbox messages; and the
    // room.online sweep every room.online_interval_ms (0: off).
    boost::asio::steady_timer housekeeping(main_io), room_online(main_io), room_likes(main_io);
    const std::chrono::milliseconds online_every = node.room_online_interval();
    const std::chrono::milliseconds likes_every = node.room_likes_interval();
    std::function<void()> tick = [&] {
        housekeeping.expires_after(std::chrono::seconds(1));
        housekeeping.async_wait([&](const boost::system::error_code& ec) {
            if (ec) return;
            node.housekeeping();
            tick();
        });
    };
    std::function<void()> online_tick = [&] {
        room_online.expires_after(online_every);
        room_online.async_wait([&](const boost::system::error_code& ec) {
            if (ec) return;
            node.room_online_sweep();
            online_tick();
        });
    };
    // Likes: every room.likes_interval_ms (at least 10 ms, config bounds).
    std::function<void()> likes_tick = [&] {
        room_likes.expires_after(likes_every);
        room_likes.async_wait([&](const boost::system::error_code& ec) {
            if (ec) return;
            node.room_likes_flush();
            likes_tick();
        });
    };
    tick();
    if (online_every.count() > 0) online_tick();
    likes_tick();
    main_io.run();
    return got;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], "token") == 0) return mint_token(argc - 2, argv + 2);
    if (argc > 1 && std::strcmp(argv[1], "check-config") == 0)
        return check_config(argc - 2, argv + 2);
    if (argc > 1 && std::strcmp(argv[1], "config") == 0) return config_command(argc - 2, argv + 2);

    const StartSources sources = capture_sources(argc - 1, argv + 1);
    auto loaded = lp::app::load_config(argc - 1, argv + 1, environ);
    if (loaded.show_help) {
        std::cout << "livepushd: real-time IM and push server\n\n"
                     "usage: livepushd [options]\n"
                     "       livepushd token --user ID [--role R] [--ttl S] [options]\n"
                     "       livepushd check-config [--config FILE] [options]\n"
                     "       livepushd config --print [--config FILE] [options] | --example\n\n"
                  << loaded.help_text;
        return 0;
    }
    if (!loaded.error.empty()) {
        std::fprintf(stderr, "livepushd: %s (see --help)\n", loaded.error.c_str());
        return 2;
    }
    auto& c = loaded.config;
    if (auto err = finish_config(c); !err.empty()) {
        std::fprintf(stderr, "livepushd: %s\n", err.c_str());
        return 2;
    }

    auto log = spdlog::stderr_color_mt("livepushd");
    spdlog::set_default_logger(log);
    // The HTTP API's access log (log.access): the same sink, its own name.
    spdlog::register_logger(
        std::make_shared<spdlog::logger>("access", log->sinks().begin(), log->sinks().end()));
    lp::app::apply_log_settings(c.log.level, c.log.format, c.cluster.node_id);
    route_protobuf_logs();
    ::signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();

    if (c.dev) print_dev_banner(c);

    // SIGTERM/SIGINT are caught from here on, before the node starts and long before the ready
    // line: a signal that comes early (a supervisor, or a test, stopping a node it just started)
    // is handled once main_io runs, with the same drain and exit 0, instead of killing the
    // process by the default action.
    boost::asio::io_context main_io(1);
    boost::asio::signal_set signals(main_io, SIGINT, SIGTERM);
    boost::asio::signal_set hup(main_io, SIGHUP);  // reload; ignored until the node runs

    std::unique_ptr<lp::app::Node> node;
    try {
        node = std::make_unique<lp::app::Node>(c);
        node->add_api_route("POST", "/v1/admin/reload",
                            [&main_io, &node, &sources](const lp::push::HttpRequest&) {
                                return admin_reload(main_io, *node, sources);
                            });
        node->start();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "livepushd: %s\n", e.what());
        return 1;
    }
    std::string ready = node->ready_line();
    std::printf("%s\n", ready.c_str());
    std::fflush(stdout);
    spdlog::info("{}", ready);

    const int got = run_until_signal(main_io, signals, hup, *node, sources);
    spdlog::info("signal {}: shutting down", got);
    node->shutdown();
    spdlog::info("stopped");
    return 0;
}
