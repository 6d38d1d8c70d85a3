// Tests for app/config: the fixed names of design.md section 2, where each value may come from,
// which source wins, and that every mistake an operator can make is reported by name.
//
// Over 600 lines: one case per source and per kind of operator mistake, for every key family.
#include "app/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

namespace lp::app {
namespace {

// Owns the strings behind argv and envp for one load_config call.
struct Invocation {
    std::vector<std::string> args;
    std::vector<std::string> env;

    ConfigResult load() const {
        std::vector<const char*> argv;
        for (const auto& a : args) argv.push_back(a.c_str());
        std::vector<const char*> envp;
        for (const auto& e : env) envp.push_back(e.c_str());
        envp.push_back(nullptr);
        return load_config(static_cast<int>(argv.size()), argv.data(), envp.data());
    }
};

ConfigResult load(std::vector<std::string> args, std::vector<std::string> env = {}) {
    return Invocation{std::move(args), std::move(env)}.load();
}

// A TOML file in the test's temporary directory, removed when the test ends.
class TomlFile {
public:
    explicit TomlFile(const std::string& text) {
        static std::atomic<int> counter{0};
        path_ = std::filesystem::path(testing::TempDir()) /
                ("livepush-config-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
                 ".toml");
        std::ofstream(path_) << text;
    }
    ~TomlFile() { std::filesystem::remove(path_); }
    std::string path() const { return path_.string(); }

private:
    std::filesystem::path path_;
};

TEST(Config, NoArgumentsGivesTheDocumentedDefaults) {
    const ConfigResult result = load({});
    ASSERT_EQ(result.error, "");
    EXPECT_FALSE(result.show_help);
    const Config& c = result.config;
    EXPECT_EQ(c.server.tcp_listen, "0.0.0.0:7000");
    EXPECT_EQ(c.server.ws_listen, "0.0.0.0:7001");
    EXPECT_EQ(c.server.heartbeat_interval_ms, 30000u);
    EXPECT_EQ(c.api.listen, "127.0.0.1:8090");
    EXPECT_EQ(c.api.key, "");
    EXPECT_EQ(c.auth.jwt_secret, "");
    EXPECT_EQ(c.auth.leeway_s, 30u);
    EXPECT_EQ(c.cluster.redis, "");
    EXPECT_EQ(c.cluster.node_id, "");
    EXPECT_EQ(c.cluster.advertise, "");
    EXPECT_EQ(c.kafka.brokers, "");
    EXPECT_EQ(c.tls.cert, "");
    EXPECT_EQ(c.tls.key, "");
    EXPECT_EQ(c.log.level, "info");
    EXPECT_FALSE(c.dev);
    EXPECT_TRUE(c.plugin_settings.empty());
}

TEST(Config, NullEnvironmentIsAllowed) {
    const char* argv[] = {"--loops", "2"};
    const ConfigResult result = load_config(2, argv, nullptr);
    ASSERT_EQ(result.error, "");
    EXPECT_EQ(result.config.server.loops, 2u);
}

struct FixedFlag {
    const char* flag;
    const char* value;
    std::function<std::string(const Config&)> read;
};

const std::vector<FixedFlag>& fixed_flags() {
    static const std::vector<FixedFlag> flags = {
        {"--tcp-listen", "127.0.0.1:9000", [](const Config& c) { return c.server.tcp_listen; }},
        {"--ws-listen", "[::1]:9001", [](const Config& c) { return c.server.ws_listen; }},
        {"--api-listen", "127.0.0.1:9002", [](const Config& c) { return c.api.listen; }},
        {"--api-key", "k3y", [](const Config& c) { return c.api.key; }},
        {"--jwt-secret", "s3cret", [](const Config& c) { return c.auth.jwt_secret; }},
        {"--heartbeat-interval-ms", "15000",
         [](const Config& c) { return std::to_string(c.server.heartbeat_interval_ms); }},
        {"--redis", "redis.local:6379", [](const Config& c) { return c.cluster.redis; }},
        {"--node-id", "node-7", [](const Config& c) { return c.cluster.node_id; }},
        {"--advertise", "10.0.0.7:7000", [](const Config& c) { return c.cluster.advertise; }},
        {"--kafka", "k1:9092,k2:9092", [](const Config& c) { return c.kafka.brokers; }},
        {"--tls-cert", "/etc/lp/cert.pem", [](const Config& c) { return c.tls.cert; }},
        {"--tls-key", "/etc/lp/key.pem", [](const Config& c) { return c.tls.key; }},
    };
    return flags;
}

TEST(Config, EachFixedFlagSetsItsKeyWithSpaceOrEquals) {
    for (const auto& f : fixed_flags()) {
        const ConfigResult spaced = load({f.flag, f.value});
        ASSERT_EQ(spaced.error, "") << f.flag;
        EXPECT_EQ(f.read(spaced.config), f.value) << f.flag;

        const ConfigResult joined = load({std::string(f.flag) + "=" + f.value});
        ASSERT_EQ(joined.error, "") << f.flag;
        EXPECT_EQ(f.read(joined.config), f.value) << f.flag;
    }
}

TEST(Config, DerivedFlagsSetTheOtherKeys) {
    const ConfigResult result = load({"--login-timeout-ms",
                                      "1",
                                      "--loops",
                                      "2",
                                      "--max-body",
                                      "3",
                                      "--ws-max-message",
                                      "4",
                                      "--send-queue-max-bytes",
                                      "8589934592",
                                      "--max-connections",
                                      "6",
                                      "--drain-timeout-ms",
                                      "7",
                                      "--max-rooms-per-session",
                                      "8",
                                      "--biz-rate-per-s",
                                      "9",
                                      "--jwt-leeway-s",
                                      "10",
                                      "--log-level",
                                      "debug"});
    ASSERT_EQ(result.error, "");
    const Config& c = result.config;
    EXPECT_EQ(c.server.login_timeout_ms, 1u);
    EXPECT_EQ(c.server.loops, 2u);
    EXPECT_EQ(c.server.max_body, 3u);
    EXPECT_EQ(c.server.ws_max_message, 4u);
    EXPECT_EQ(c.server.send_queue_max_bytes, 8589934592u);  // needs all 64 bits
    EXPECT_EQ(c.server.max_connections, 6u);
    EXPECT_EQ(c.server.drain_timeout_ms, 7u);
    EXPECT_EQ(c.server.max_rooms_per_session, 8u);
    EXPECT_EQ(c.server.biz_rate_per_s, 9u);
    EXPECT_EQ(c.auth.leeway_s, 10u);
    EXPECT_EQ(c.log.level, "debug");
}

TEST(Config, EmptyListenMeansDisabled) {
    const ConfigResult result = load({"--ws-listen=", "--api-listen", ""});
    ASSERT_EQ(result.error, "");
    EXPECT_EQ(result.config.server.ws_listen, "");
    EXPECT_EQ(result.config.api.listen, "");
}

TEST(Config, DevFlag) {
    const ConfigResult result = load({"--dev"});
    ASSERT_EQ(result.error, "");
    EXPECT_TRUE(result.config.dev);
    EXPECT_NE(load({"--dev=1"}).error, "");
}

// --dev publishes its secret: what the operator did not set listens on loopback only.
TEST(Config, DevListensOnLoopbackUnlessToldOtherwise) {
    ConfigResult result = load({"--dev"});
    ASSERT_EQ(result.error, "");
    ASSERT_EQ(apply_dev_listen_policy(result.config), "");
    EXPECT_EQ(result.config.server.tcp_listen, "127.0.0.1:7000");
    EXPECT_EQ(result.config.server.ws_listen, "127.0.0.1:7001");
    EXPECT_EQ(result.config.api.listen, "127.0.0.1:8090");
    EXPECT_EQ(result.config.cluster.link_listen, "127.0.0.1:7002");
    // Explicit loopback addresses and switched-off listeners are kept as given.
    result = load({"--dev", "--tcp-listen", "[::1]:9000", "--ws-listen="});
    ASSERT_EQ(apply_dev_listen_policy(result.config), "");
    EXPECT_EQ(result.config.server.tcp_listen, "[::1]:9000");
    EXPECT_EQ(result.config.server.ws_listen, "");
    // Without --dev nothing changes.
    result = load({});
    ASSERT_EQ(apply_dev_listen_policy(result.config), "");
    EXPECT_EQ(result.config.server.tcp_listen, "0.0.0.0:7000");
}

TEST(Config, DevRefusesAnExplicitNonLoopbackListenAddress) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--dev", "--tcp-listen", "0.0.0.0:7000"},
             {"--dev", "--set", "server.ws_listen=10.0.0.5:7001"},
             {"--dev", "--api-listen", "0.0.0.0:8090"},
             {"--dev", "--set", "cluster.link_listen=[::]:7002"}}) {
        ConfigResult result = load(args);
        ASSERT_EQ(result.error, "");
        const std::string error = apply_dev_listen_policy(result.config);
        EXPECT_NE(error.find("not a loopback address"), std::string::npos) << args[2];
        EXPECT_NE(error.find("--dev"), std::string::npos);
    }
    ConfigResult from_env = load({"--dev"}, {"LIVEPUSH_SERVER_TCP_LISTEN=0.0.0.0:7000"});
    EXPECT_NE(apply_dev_listen_policy(from_env.config).find("server.tcp_listen"),
              std::string::npos);
}

TEST(Config, EnvironmentOverridesDefaults) {
    const ConfigResult result = load({}, {
                                             "PATH=/usr/bin",
                                             "LIVEPUSH_SERVER_TCP_LISTEN=127.0.0.1:1234",
                                             "LIVEPUSH_AUTH_JWT_SECRET=from-env",
                                             "LIVEPUSH_SERVER_HEARTBEAT_INTERVAL_MS=5000",
                                             "LIVEPUSH_AUTH_LEEWAY_S=5",
                                             "LIVEPUSH_CLUSTER_REDIS=127.0.0.1:6379",
                                             "LIVEPUSH_KAFKA_BROKERS=k:9092",
                                             "LIVEPUSH_SERVER_SEND_QUEUE_MAX_BYTES=100",
                                             "LIVEPUSH_SOMETHING_ELSE=ignored",
                                         });
    ASSERT_EQ(result.error, "");
    const Config& c = result.config;
    EXPECT_EQ(c.server.tcp_listen, "127.0.0.1:1234");
    EXPECT_EQ(c.auth.jwt_secret, "from-env");
    EXPECT_EQ(c.server.heartbeat_interval_ms, 5000u);
    EXPECT_EQ(c.auth.leeway_s, 5u);
    EXPECT_EQ(c.cluster.redis, "127.0.0.1:6379");
    EXPECT_EQ(c.kafka.brokers, "k:9092");
    EXPECT_EQ(c.server.send_queue_max_bytes, 100u);
}

TEST(Config, EnvironmentNameMustMatchExactly) {
    const ConfigResult result =
        load({}, {"LIVEPUSH_SERVER_TCP_LISTEN_X=1.2.3.4:1", "XLIVEPUSH_SERVER_TCP_LISTEN=1.2.3.4:2",
                  "LIVEPUSH_SERVER_TCP_LISTEN"});
    ASSERT_EQ(result.error, "");
    EXPECT_EQ(result.config.server.tcp_listen, "0.0.0.0:7000");
}

TEST(Config, BadEnvironmentValueNamesKeyAndVariable) {
    const ConfigResult result = load({}, {"LIVEPUSH_SERVER_LOOPS=four"});
    EXPECT_NE(result.error.find(R"(server.loops: "four" is not an unsigned integer)"),
              std::string::npos)
        << result.error;
    EXPECT_NE(result.error.find("LIVEPUSH_SERVER_LOOPS"), std::string::npos) << result.error;
}

TEST(Config, FileOverridesDefaults) {
    const TomlFile file(R"(
[server]
tcp_listen = "127.0.0.1:7100"
heartbeat_interval_ms = 10000
send_queue_max_bytes = 1048576

[api]
listen = "127.0.0.1:8100"
key = "file-key"

[auth]
jwt_secret = "file-secret"
leeway_s = 0

[cluster]
redis = "[::1]:6379"
node_id = "n1"

[kafka]
brokers = "a:1,b:2"

[tls]
cert = "c.pem"
key = "k.pem"

[log]
level = "warn"
)");
    const ConfigResult result = load({"--config", file.path()});
    ASSERT_EQ(result.error, "");
    const Config& c = result.config;
    EXPECT_EQ(c.server.tcp_listen, "127.0.0.1:7100");
    EXPECT_EQ(c.server.ws_listen, "0.0.0.0:7001");  // untouched keys keep their defaults
    EXPECT_EQ(c.server.heartbeat_interval_ms, 10000u);
    EXPECT_EQ(c.server.send_queue_max_bytes, 1048576u);
    EXPECT_EQ(c.api.listen, "127.0.0.1:8100");
    EXPECT_EQ(c.api.key, "file-key");
    EXPECT_EQ(c.auth.jwt_secret, "file-secret");
    EXPECT_EQ(c.auth.leeway_s, 0u);
    EXPECT_EQ(c.cluster.redis, "[::1]:6379");
    EXPECT_EQ(c.cluster.node_id, "n1");
    EXPECT_EQ(c.kafka.brokers, "a:1,b:2");
    EXPECT_EQ(c.tls.cert, "c.pem");
    EXPECT_EQ(c.tls.key, "k.pem");
    EXPECT_EQ(c.log.level, "warn");
}

TEST(Config, FlagBeatsEnvironmentBeatsFile) {
    const TomlFile file(
        "[server]\ntcp_listen = \"127.0.0.1:1\"\nws_listen = \"127.0.0.1:2\"\n"
        "loops = 3\n");
    const std::vector<std::string> env = {"LIVEPUSH_SERVER_TCP_LISTEN=127.0.0.1:11",
                                          "LIVEPUSH_SERVER_WS_LISTEN=127.0.0.1:12"};

    const ConfigResult result =
        load({"--config", file.path(), "--tcp-listen", "127.0.0.1:21"}, env);
    ASSERT_EQ(result.error, "");
    EXPECT_EQ(result.config.server.tcp_listen, "127.0.0.1:21");  // flag over env and file
    EXPECT_EQ(result.config.server.ws_listen, "127.0.0.1:12");   // env over file
    EXPECT_EQ(result.config.server.loops, 3u);                   // file over default

    // Where --config appears on the command line does not change that the file comes first.
    const ConfigResult flag_first =
        load({"--tcp-listen", "127.0.0.1:21", "--config", file.path()}, env);
    ASSERT_EQ(flag_first.error, "");
    EXPECT_EQ(flag_first.config.server.tcp_listen, "127.0.0.1:21");
}

TEST(Config, FlagsAndSetApplyInCommandLineOrder) {
    EXPECT_EQ(load({"--set", "server.loops=2", "--loops", "3"}).config.server.loops, 3u);
    EXPECT_EQ(load({"--loops", "3", "--set", "server.loops=2"}).config.server.loops, 2u);
    EXPECT_EQ(load({"--loops", "3", "--loops", "4"}).config.server.loops, 4u);
}

TEST(Config, SetOverridesACoreKey) {
    const ConfigResult result =
        load({"--set", "auth.jwt_secret=a=b", "--set=server.tcp_listen=127.0.0.1:5"},
             {"LIVEPUSH_AUTH_JWT_SECRET=env"});
    ASSERT_EQ(result.error, "");
    EXPECT_EQ(result.config.auth.jwt_secret, "a=b");  // only the first '=' splits
    EXPECT_EQ(result.config.server.tcp_listen, "127.0.0.1:5");
}

TEST(Config, SetStoresAPluginKey) {
    const ConfigResult result = load({"--set", "plugins.pk.scoring_ms=3000"});
    ASSERT_EQ(result.error, "");
    EXPECT_EQ(result.config.plugin_settings.at("plugins.pk.scoring_ms"), "3000");
}

TEST(Config, SetRefusesUnknownAndMalformedKeys) {
    for (const char* set : {"server.nope=1", "nope=1", "plugins.pk=1", "plugins..x=1",
                            "plugins.pk.=1", "=1", "server.loops"}) {
        const ConfigResult result = load({"--set", set});
        EXPECT_NE(result.error, "") << set;
    }
    EXPECT_NE(load({"--set", "server.nope=1"}).error.find(R"(unknown key "server.nope")"),
              std::string::npos);
}

TEST(Config, PluginTablesInTomlBecomePluginSettings) {
    const TomlFile file(R"(
[plugins.pk]
scoring_ms = 180000
mode = "classic"
enabled = true
ratio = 0.5
tiers = [1, 2, "three", [4.5], { five = 5 }]

[plugins.pk.limits]
max_rounds = 3

[plugins.gift]
combo_window_ms = 3000
)");
    const ConfigResult result =
        load({"--config", file.path(), "--set", "plugins.pk.scoring_ms=3000"});
    ASSERT_EQ(result.error, "");
    const auto& settings = result.config.plugin_settings;
    EXPECT_EQ(settings.at("plugins.pk.scoring_ms"), "3000");  // --set beats the file
    EXPECT_EQ(settings.at("plugins.pk.mode"), "classic");
    EXPECT_EQ(settings.at("plugins.pk.enabled"), "true");
    EXPECT_EQ(settings.at("plugins.pk.ratio"), "0.5");
    EXPECT_EQ(settings.at("plugins.pk.tiers"), R"([1,2,"three",[4.5E0],{"five":5}])");
    EXPECT_EQ(settings.at("plugins.pk.limits.max_rounds"), "3");
    EXPECT_EQ(settings.at("plugins.gift.combo_window_ms"), "3000");
    EXPECT_EQ(settings.size(), 7u);
}

TEST(Config, PluginEntryThatIsNotATableIsRefused) {
    const TomlFile file("[plugins]\npk = 1\n");
    EXPECT_NE(load({"--config", file.path()}).error.find("plugins.pk"), std::string::npos);
}

// The room hooks' own keys sit directly under [plugins] (beside enabled and load), not in a
// plugin's table; every source sets them, with their bound.
TEST(Config, FilterKeysUnderPluginsFromTomlFlagsAndEnvironment) {
    EXPECT_EQ(load({}).config.hooks.filter_timeout_ms, 50u);
    EXPECT_EQ(load({}).config.hooks.filter_fail_open, 1u);
    const TomlFile file(
        "[plugins]\nenabled = [\"wordfilter\"]\nfilter_timeout_ms = 80\nfilter_fail_open = false\n"
        "[plugins.wordfilter]\nfile = \"/tmp/w\"\n");
    const ConfigResult r = load({"--config", file.path()});
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.config.hooks.filter_timeout_ms, 80u);
    EXPECT_EQ(r.config.hooks.filter_fail_open, 0u);
    EXPECT_EQ(r.config.plugin_settings.at("plugins.enabled"), R"(["wordfilter"])");
    EXPECT_EQ(r.config.plugin_settings.at("plugins.wordfilter.file"), "/tmp/w");
    EXPECT_EQ(r.config.plugin_settings.count("plugins.filter_timeout_ms"), 0u);
    EXPECT_EQ(load({"--set", "plugins.filter_timeout_ms=20"}).config.hooks.filter_timeout_ms, 20u);
    EXPECT_EQ(load({"--filter-fail-open", "false"}).config.hooks.filter_fail_open, 0u);
    EXPECT_EQ(load({}, {"LIVEPUSH_PLUGINS_FILTER_TIMEOUT_MS=30"}).config.hooks.filter_timeout_ms,
              30u);
    EXPECT_NE(
        load({"--set", "plugins.filter_timeout_ms=0"}).error.find("plugins.filter_timeout_ms"),
        std::string::npos);
    const TomlFile bad("[plugins]\nfilter_fail_open = \"no\"\n");
    EXPECT_NE(load({"--config", bad.path()}).error.find("plugins.filter_fail_open: expected true"),
              std::string::npos);
}

TEST(Config, ModerationKeysFromTomlFlagsAndEnvironmentWithTheirBounds) {
    const Config d = load({}).config;
    EXPECT_EQ(d.moderation.max_moderators, 100u);
    EXPECT_EQ(d.moderation.max_entries, 10000u);
    EXPECT_EQ(d.moderation.sync_interval_ms, 250u);
    const TomlFile file("[moderation]\nmax_moderators = 5\nmax_entries = 50\n");
    const ConfigResult r = load({"--config", file.path()});
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.config.moderation.max_moderators, 5u);
    EXPECT_EQ(r.config.moderation.max_entries, 50u);
    EXPECT_EQ(load({"--moderation-sync-interval-ms", "100"}).config.moderation.sync_interval_ms,
              100u);
    EXPECT_EQ(load({}, {"LIVEPUSH_MODERATION_MAX_ENTRIES=7"}).config.moderation.max_entries, 7u);
    EXPECT_EQ(load({"--set", "moderation.sync_interval_ms=5"}).error,
              R"(moderation.sync_interval_ms: "5" is below the minimum 10 (from --set))");
    EXPECT_NE(load({"--set", "moderation.max_entries=0"}).error, "");
}

TEST(Config, BadIntegerNamesTheKey) {
    const ConfigResult result = load({"--heartbeat-interval-ms", "abc"});
    EXPECT_NE(
        result.error.find(R"(server.heartbeat_interval_ms: "abc" is not an unsigned integer)"),
        std::string::npos)
        << result.error;
    EXPECT_NE(result.error.find("--heartbeat-interval-ms"), std::string::npos) << result.error;
}

TEST(Config, IntegersMustBePlainAndInRange) {
    for (const char* value : {"-1", "+1", " 1", "1 ", "0x10", "1e3", "1.0", ""}) {
        EXPECT_NE(load({"--loops", value}).error, "") << value;
    }
    EXPECT_EQ(load({"--loops", "4294967295"}).config.server.loops, 4294967295u);
    const ConfigResult too_big = load({"--loops", "4294967296"});
    EXPECT_NE(too_big.error.find("server.loops"), std::string::npos) << too_big.error;
    EXPECT_NE(too_big.error.find("out of range"), std::string::npos) << too_big.error;
    EXPECT_NE(load({"--send-queue-max-bytes", "18446744073709551616"}).error, "");
}

// Bounds live in the schema row and are checked for every source in the same way; what used
// to be checked by hand in main.cpp (> 0) or clamped in node.cpp (at least 1) is refused here.
TEST(Config, OutOfBoundValueNamesKeySourceAndBound) {
    const ConfigResult flag = load({"--heartbeat-interval-ms", "0"});
    EXPECT_EQ(
        flag.error,
        R"(server.heartbeat_interval_ms: "0" is below the minimum 1 (from --heartbeat-interval-ms))");
    const ConfigResult env = load({}, {"LIVEPUSH_ROOM_COALESCE_MAX=0"});
    EXPECT_EQ(env.error,
              R"(room.coalesce_max: "0" is below the minimum 1 (from LIVEPUSH_ROOM_COALESCE_MAX))");
    const ConfigResult set = load({"--set", "jobs.tick_ms=0"});
    EXPECT_EQ(set.error, R"(jobs.tick_ms: "0" is below the minimum 1 (from --set))");
    TomlFile file("[api]\nidle_timeout_ms = 0\n");
    const ConfigResult from_file = load({"--config", file.path()});
    EXPECT_EQ(from_file.error,
              R"(api.idle_timeout_ms: "0" is below the minimum 1 (from )" + file.path() + ":2)");
    const ConfigResult over = load({"--jwt-previous-until", "9223372036854775808"});
    EXPECT_NE(
        over.error.find("auth.jwt_previous_until: \"9223372036854775808\" is over the maximum "
                        "9223372036854775807"),
        std::string::npos)
        << over.error;
}

TEST(Config, EveryFormerHandCheckOrClampIsASchemaBound) {
    for (const char* key :
         {"server.heartbeat_interval_ms", "server.max_body", "api.header_timeout_ms",
          "api.idle_timeout_ms", "api.max_connections", "room.coalesce_max", "im.workers",
          "server.plugin_queue_max", "jobs.tick_ms", "jobs.ttr_ms"}) {
        const ConfigResult zero = load({"--set", std::string(key) + "=0"});
        EXPECT_NE(zero.error.find(std::string(key) + ": \"0\" is below the minimum 1"),
                  std::string::npos)
            << key << ": " << zero.error;
        EXPECT_EQ(load({"--set", std::string(key) + "=1"}).error, "") << key;
    }
}

TEST(Config, HelpShowsBounds) {
    const std::string help = load({"--help"}).help_text;
    EXPECT_NE(help.find("server.heartbeat_interval_ms, env LIVEPUSH_SERVER_HEARTBEAT_INTERVAL_MS, "
                        "default 30000, at least 1"),
              std::string::npos)
        << help;
}

TEST(Config, DialledAddressesNeedARealPort) {
    EXPECT_EQ(load({"--tcp-listen", "127.0.0.1:0"}).error, "");
    EXPECT_NE(load({"--redis", "127.0.0.1:0"}).error.find("cluster.redis"), std::string::npos);
    EXPECT_NE(load({"--kafka", "k1:9092,k2:0"}).error.find("kafka.brokers"), std::string::npos);
    EXPECT_NE(load({"--tcp-listen", ":7000"}).error.find("0.0.0.0"), std::string::npos);
}

TEST(Config, BadAddressNamesTheKey) {
    const ConfigResult result = load({"--tcp-listen", "foo"});
    EXPECT_NE(result.error.find(R"(server.tcp_listen: "foo" is not host:port)"), std::string::npos)
        << result.error;
    EXPECT_NE(load({"--redis", "redis"}).error.find("cluster.redis"), std::string::npos);
    EXPECT_NE(load({"--advertise", "1.2.3.4"}).error.find("cluster.advertise"), std::string::npos);
    // cluster.advertise_ws: host:port, or a ws:// or wss:// URL (sent to WebSocket clients as is).
    for (const char* bad : {"1.2.3.4", "http://n1.example/ws", "wss://", "wss:///ws",
                            "ws://user@n1.example/ws", "ws://n1.example/a b"}) {
        EXPECT_NE(load({"--advertise-ws", bad}).error.find("cluster.advertise_ws"),
                  std::string::npos)
            << bad;
    }
    for (const char* good :
         {"10.0.0.1:7001", "0.0.0.0:0", "wss://n1.example/ws", "ws://[::1]:7001/ws"}) {
        const auto r = load({"--advertise-ws", good});
        EXPECT_EQ(r.error, "") << good;
    }
    EXPECT_NE(load({"--kafka", "a:1,b"}).error.find("kafka.brokers"), std::string::npos);
    EXPECT_NE(load({"--kafka", "a:1,"}).error, "");
}

TEST(Config, BadLogLevelNamesTheKey) {
    EXPECT_NE(load({"--log-level", "loud"}).error.find(R"(log.level: "loud")"), std::string::npos);
}

TEST(Config, UnknownFlagIsAnError) {
    const ConfigResult result = load({"--tcp-listn", "127.0.0.1:1"});
    EXPECT_NE(result.error.find(R"(unknown flag "--tcp-listn")"), std::string::npos)
        << result.error;
    EXPECT_NE(load({"-x"}).error, "");
    EXPECT_NE(load({"--"}).error, "");
    EXPECT_NE(load({"stray"}).error.find("stray"), std::string::npos);
}

TEST(Config, FlagWithoutValueIsAnError) {
    EXPECT_NE(load({"--tcp-listen"}).error.find("--tcp-listen needs a value"), std::string::npos);
    EXPECT_NE(load({"--api-key", "--dev"}).error.find("--api-key needs a value"),
              std::string::npos);
    EXPECT_EQ(load({"--api-key=--dev"}).config.api.key, "--dev");
    EXPECT_NE(load({"--config"}).error, "");
    EXPECT_NE(load({"--set"}).error, "");
}

TEST(Config, UnknownKeyInFileIsAnError) {
    const TomlFile file("[server]\ntcp_listen = \"127.0.0.1:1\"\nheartbeat_ms = 5\n");
    const ConfigResult result = load({"--config", file.path()});
    EXPECT_NE(result.error.find(R"(unknown key "server.heartbeat_ms")"), std::string::npos)
        << result.error;
    EXPECT_NE(result.error.find(file.path()), std::string::npos) << result.error;
}

TEST(Config, UnknownSectionOrTopLevelKeyInFileIsAnError) {
    const TomlFile section("[database]\nurl = \"x\"\n");
    EXPECT_NE(load({"--config", section.path()}).error.find("[database]"), std::string::npos);
    const TomlFile top_level("tcp_listen = \"127.0.0.1:1\"\n");
    EXPECT_NE(load({"--config", top_level.path()}).error.find(R"(unknown key "tcp_listen")"),
              std::string::npos);
}

TEST(Config, WrongTypeInFileIsAnError) {
    const TomlFile as_string("[server]\nloops = \"4\"\n");
    EXPECT_NE(load({"--config", as_string.path()}).error.find("server.loops: expected an integer"),
              std::string::npos);
    const TomlFile as_number("[server]\ntcp_listen = 7000\n");
    EXPECT_NE(
        load({"--config", as_number.path()}).error.find("server.tcp_listen: expected a string"),
        std::string::npos);
    const TomlFile negative("[server]\nloops = -4\n");
    EXPECT_NE(load({"--config", negative.path()}).error.find(R"(server.loops: "-4")"),
              std::string::npos);
}

TEST(Config, GuestsIsASwitchFromTomlBooleansFlagsAndEnvironment) {
    EXPECT_EQ(load({}).config.auth.guests, 0u) << "guests are off by default";
    EXPECT_EQ(load({}).config.auth.guest_max_sessions, 100000u);
    const TomlFile on("[auth]\nguests = true\nguest_max_sessions = 5\n");
    const ConfigResult from_file = load({"--config", on.path()});
    EXPECT_EQ(from_file.error, "");
    EXPECT_EQ(from_file.config.auth.guests, 1u);
    EXPECT_EQ(from_file.config.auth.guest_max_sessions, 5u);
    const TomlFile off("[auth]\nguests = false\n");
    EXPECT_EQ(load({"--config", off.path()}).config.auth.guests, 0u);
    EXPECT_EQ(load({"--guests", "true"}).config.auth.guests, 1u);
    EXPECT_EQ(load({"--guests=off"}).config.auth.guests, 0u);
    EXPECT_EQ(load({}, {"LIVEPUSH_AUTH_GUESTS=1"}).config.auth.guests, 1u);
    EXPECT_NE(load({"--guests", "yes please"})
                  .error.find("auth.guests: \"yes please\" is not true or false"),
              std::string::npos);
    const TomlFile as_string("[auth]\nguests = \"true\"\n");
    EXPECT_NE(
        load({"--config", as_string.path()}).error.find("auth.guests: expected true or false"),
        std::string::npos);
}

TEST(Config, TomlSyntaxErrorGivesFileAndLine) {
    const TomlFile file("[server]\n\ntcp_listen = \n");
    const ConfigResult result = load({"--config", file.path()});
    EXPECT_NE(result.error.find(file.path() + ":3:"), std::string::npos) << result.error;
}

TEST(Config, MissingFileIsAnError) {
    const ConfigResult result = load({"--config", "/nonexistent/livepush.toml"});
    EXPECT_NE(result.error.find("/nonexistent/livepush.toml"), std::string::npos) << result.error;
    EXPECT_NE(load({"--config", "a.toml", "--config", "b.toml"}).error, "");
    const std::string directory = testing::TempDir();
    EXPECT_NE(load({"--config", directory}).error.find("directory"), std::string::npos);
}

TEST(Config, HelpListsEveryFixedFlagAndEnvironmentName) {
    for (const char* flag : {"--help", "-h"}) {
        const ConfigResult result = load({"--loops", "2", flag});
        ASSERT_EQ(result.error, "");
        ASSERT_TRUE(result.show_help);
        const std::string& help = result.help_text;
        for (const char* expected : {
                 "--tcp-listen",
                 "LIVEPUSH_SERVER_TCP_LISTEN",
                 "server.tcp_listen",
                 "--ws-listen",
                 "LIVEPUSH_SERVER_WS_LISTEN",
                 "--api-listen",
                 "LIVEPUSH_API_LISTEN",
                 "--api-key",
                 "LIVEPUSH_API_KEY",
                 "--jwt-secret",
                 "LIVEPUSH_AUTH_JWT_SECRET",
                 "--heartbeat-interval-ms",
                 "LIVEPUSH_SERVER_HEARTBEAT_INTERVAL_MS",
                 "--redis",
                 "LIVEPUSH_CLUSTER_REDIS",
                 "--node-id",
                 "LIVEPUSH_CLUSTER_NODE_ID",
                 "--advertise",
                 "LIVEPUSH_CLUSTER_ADVERTISE",
                 "--kafka",
                 "LIVEPUSH_KAFKA_BROKERS",
                 "--tls-cert",
                 "LIVEPUSH_TLS_CERT",
                 "--tls-key",
                 "LIVEPUSH_TLS_KEY",
                 "--send-queue-max-bytes",
                 "--login-timeout-ms",
                 "--loops",
                 "--log-level",
                 "--jwt-leeway-s",
                 "LIVEPUSH_AUTH_LEEWAY_S",
                 "--config",
                 "--set",
                 "--dev",
                 "\"0.0.0.0:7000\"",
                 "30000",
             }) {
            EXPECT_NE(help.find(expected), std::string::npos) << expected;
        }
    }
}

}  // namespace
}  // namespace lp::app
