// config_tools_test: the real livepushd's check-config, config --print and config --example
// (app/main.cpp, app/config_tools), run as an operator would, with an environment of the test's
// choosing (env -i): each problem names its key and its source (file:line, variable, flag), the
// printed configuration never shows a secret, and the committed example file is exactly the
// generated one and passes check-config, commented and uncommented.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

const std::string kSecret = "jwt-secret-0123456789-0123456789-abcdef";  // >= 32 bytes

struct Outcome {
    int rc = -1;
    std::string out;
    std::string err;
};

std::string quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class TempDir {
public:
    TempDir() {
        char pattern[] = "/tmp/lp_config_tools_XXXXXX";
        path_ = ::mkdtemp(pattern);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string write(const std::string& name, const std::string& text) const {
        const std::string file = path_ + "/" + name;
        std::ofstream(file, std::ios::binary) << text;
        return file;
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

// livepushd ARGS with exactly the environment `env` (NAME=VALUE), stdout and stderr apart.
Outcome livepushd(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    static const TempDir scratch;
    std::string command = "env -i";
    for (const auto& e : env) command += " " + quoted(e);
    command += " " + quoted(LIVEPUSHD_PATH);
    for (const auto& a : args) command += " " + quoted(a);
    const std::string out = scratch.path() + "/out", err = scratch.path() + "/err";
    command += " >" + quoted(out) + " 2>" + quoted(err) + " </dev/null";
    const int status = std::system(command.c_str());
    Outcome run;
    run.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.out = slurp(out);
    run.err = slurp(err);
    return run;
}

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

TEST(ConfigTools, BadFileValueNamesKeyAndFileLine) {
    TempDir dir;
    const std::string file =
        dir.write("bad.toml", "[server]\nloops = 2\nheartbeat_interval_ms = 0\n");
    const Outcome run =
        livepushd({"check-config", "--config", file}, {"LIVEPUSH_AUTH_JWT_SECRET=" + kSecret});
    EXPECT_EQ(run.rc, 1) << run.err;
    EXPECT_TRUE(has(run.err, "server.heartbeat_interval_ms: \"0\" is below the minimum 1 (from " +
                                 file + ":3)"))
        << run.err;
    EXPECT_TRUE(has(run.err, "1 problem")) << run.err;
}

TEST(ConfigTools, WrongTypeInFileNamesKeyAndLine) {
    TempDir dir;
    const std::string file = dir.write("bad.toml", "[room]\n\nhistory_max = \"many\"\n");
    const Outcome run =
        livepushd({"check-config", "--config", file}, {"LIVEPUSH_AUTH_JWT_SECRET=" + kSecret});
    EXPECT_EQ(run.rc, 1);
    EXPECT_TRUE(has(run.err, "room.history_max: expected an integer (from " + file + ":3)"))
        << run.err;
}

TEST(ConfigTools, BadEnvironmentVariableIsNamed) {
    const Outcome run = livepushd(
        {"check-config"}, {"LIVEPUSH_AUTH_JWT_SECRET=" + kSecret, "LIVEPUSH_ROOM_COALESCE_MAX=0"});
    EXPECT_EQ(run.rc, 1);
    EXPECT_TRUE(has(run.err,
                    "room.coalesce_max: \"0\" is below the minimum 1 (from "
                    "LIVEPUSH_ROOM_COALESCE_MAX)"))
        << run.err;
}

TEST(ConfigTools, BadFlagValueIsNamed) {
    const Outcome run = livepushd({"check-config", "--delivery-window", "lots"},
                                  {"LIVEPUSH_AUTH_JWT_SECRET=" + kSecret});
    EXPECT_EQ(run.rc, 1);
    EXPECT_TRUE(has(run.err,
                    "delivery.window: \"lots\" is not an unsigned integer (from "
                    "--delivery-window)"))
        << run.err;
}

TEST(ConfigTools, UnknownKeysGetASuggestion) {
    TempDir dir;
    const std::string file = dir.write("typo.toml",
                                       "[server]\ntcp_lisen = \"127.0.0.1:7000\"\n"
                                       "[clustr]\nredis = \"127.0.0.1:6379\"\n");
    const Outcome run = livepushd({"check-config", "--config", file, "--set", "room.histroy_max=5"},
                                  {"LIVEPUSH_AUTH_JWT_SECRET=" + kSecret});
    EXPECT_EQ(run.rc, 1);
    EXPECT_TRUE(has(run.err, file + ":2: unknown key \"server.tcp_lisen\"; did you mean "
                                    "\"server.tcp_listen\"?"))
        << run.err;
    EXPECT_TRUE(has(run.err, file + ":3: unknown section [clustr]; did you mean \"cluster\"?"))
        << run.err;
    EXPECT_TRUE(has(run.err, "did you mean \"room.history_max\"?")) << run.err;
    EXPECT_TRUE(has(run.err, "3 problems")) << run.err;
    EXPECT_LT(run.err.find(file + ":2:"), run.err.find(file + ":3:")) << "in line order";

    // A misspelt variable is ignored by a start, so it is a warning, not a problem.
    const Outcome env = livepushd(
        {"check-config"}, {"LIVEPUSH_AUTH_JWT_SECRET=" + kSecret, "LIVEPUSH_SERVER_LOOPZ=2"});
    EXPECT_EQ(env.rc, 0) << env.err;
    EXPECT_TRUE(has(env.err,
                    "LIVEPUSH_SERVER_LOOPZ: names no key; did you mean "
                    "\"LIVEPUSH_SERVER_LOOPS\"?"))
        << env.err;
}

TEST(ConfigTools, EveryProblemOfEverySourceIsListed) {
    TempDir dir;
    const std::string file = dir.write("bad.toml", "[api]\nidle_timeout_ms = 0\n");
    const Outcome run =
        livepushd({"check-config", "--config", file, "--im-workers", "0"},
                  {"LIVEPUSH_AUTH_JWT_SECRET=" + kSecret, "LIVEPUSH_LOG_LEVEL=loud"});
    EXPECT_EQ(run.rc, 1);
    EXPECT_TRUE(has(run.err, "api.idle_timeout_ms")) << run.err;
    EXPECT_TRUE(has(run.err, "(from LIVEPUSH_LOG_LEVEL)")) << run.err;
    EXPECT_TRUE(has(run.err, "(from --im-workers)")) << run.err;
    EXPECT_TRUE(has(run.err, "3 problems")) << run.err;
}

// The rules a start applies between keys (issue 11: cluster.secret) with the key's source.
TEST(ConfigTools, RulesBetweenKeysNameTheKeyAndSource) {
    const Outcome short_secret =
        livepushd({"check-config", "--redis", "127.0.0.1:6379", "--cluster-secret", "short"},
                  {"LIVEPUSH_AUTH_JWT_SECRET=" + kSecret});
    EXPECT_EQ(short_secret.rc, 1);
    EXPECT_TRUE(has(short_secret.err,
                    "cluster.secret is 5 bytes: it must be at least 32 "
                    "[cluster.secret from --cluster-secret]"))
        << short_secret.err;
    const Outcome same =
        livepushd({"check-config", "--redis", "127.0.0.1:6379"},
                  {"LIVEPUSH_AUTH_JWT_SECRET=" + kSecret, "LIVEPUSH_CLUSTER_SECRET=" + kSecret});
    EXPECT_EQ(same.rc, 1);
    EXPECT_TRUE(has(same.err, "cluster.secret must differ from auth.jwt_secret")) << same.err;
    EXPECT_TRUE(has(same.err,
                    "[auth.jwt_secret from LIVEPUSH_AUTH_JWT_SECRET] [cluster.secret "
                    "from LIVEPUSH_CLUSTER_SECRET]"))
        << same.err;
    const Outcome none = livepushd({"check-config"});
    EXPECT_EQ(none.rc, 1);
    EXPECT_TRUE(has(none.err, "auth.jwt_secret")) << none.err;
}

// Redis Sentinel (issue 16): the sentinel list is checked entry by entry, is exclusive with
// cluster.redis, turns cluster mode on (so cluster.secret is required), and WAIT's bounds hold.
TEST(ConfigTools, SentinelKeysAreChecked) {
    const std::vector<std::string> env = {
        "LIVEPUSH_AUTH_JWT_SECRET=" + kSecret,
        "LIVEPUSH_CLUSTER_SECRET=cluster-secret-0123456789-0123456789"};
    const Outcome both = livepushd(
        {"check-config", "--redis", "127.0.0.1:6379", "--redis-sentinels", "127.0.0.1:26379"}, env);
    EXPECT_EQ(both.rc, 1);
    EXPECT_TRUE(has(both.err, "cluster.redis and cluster.redis_sentinels are both set"))
        << both.err;
    EXPECT_TRUE(has(both.err, "[cluster.redis_sentinels from --redis-sentinels]")) << both.err;
    const Outcome bad = livepushd(
        {"check-config", "--redis-sentinels", "127.0.0.1:26379,sentinel-without-port"}, env);
    EXPECT_EQ(bad.rc, 1);
    EXPECT_TRUE(has(bad.err, "cluster.redis_sentinels")) << bad.err;
    EXPECT_TRUE(has(bad.err, "sentinel-without-port")) << bad.err;
    const Outcome wait = livepushd(
        {"check-config", "--redis-sentinels", "127.0.0.1:26379", "--redis-wait-replicas", "17"},
        env);
    EXPECT_EQ(wait.rc, 1);
    EXPECT_TRUE(has(wait.err, "cluster.redis_wait_replicas")) << wait.err;
    const Outcome no_secret = livepushd({"check-config", "--redis-sentinels", "127.0.0.1:26379"},
                                        {"LIVEPUSH_AUTH_JWT_SECRET=" + kSecret});
    EXPECT_EQ(no_secret.rc, 1);
    EXPECT_TRUE(has(no_secret.err, "cluster.secret is required")) << no_secret.err;
    const Outcome ok =
        livepushd({"check-config", "--redis-sentinels", "127.0.0.1:26379,127.0.0.1:26380",
                   "--redis-wait-replicas", "1", "--plugin-redis-sentinels", "127.0.0.1:26381"},
                  env);
    EXPECT_EQ(ok.rc, 0) << ok.err;
    EXPECT_TRUE(has(ok.out, "cluster via Redis Sentinel 127.0.0.1:26379,127.0.0.1:26380"))
        << ok.out;
    const Outcome plugin_both =
        livepushd({"check-config", "--redis-sentinels", "127.0.0.1:26379", "--plugin-redis",
                   "127.0.0.1:6380", "--plugin-redis-sentinels", "127.0.0.1:26381"},
                  env);
    EXPECT_EQ(plugin_both.rc, 1);
    EXPECT_TRUE(has(plugin_both.err,
                    "cluster.plugin_redis and cluster.plugin_redis_sentinels are both set"))
        << plugin_both.err;
}

TEST(ConfigTools, FilesAStartReadsMustBeReadable) {
    const Outcome run =
        livepushd({"check-config", "--tls-cert", "/nonexistent/cert.pem"},
                  {"LIVEPUSH_AUTH_JWT_SECRET=" + kSecret, "LIVEPUSH_TLS_KEY=/nonexistent/key.pem"});
    EXPECT_EQ(run.rc, 1);
    EXPECT_TRUE(has(run.err,
                    "tls.cert: cannot read /nonexistent/cert.pem: No such file or "
                    "directory (from --tls-cert)"))
        << run.err;
    EXPECT_TRUE(has(run.err,
                    "tls.key: cannot read /nonexistent/key.pem: No such file or "
                    "directory (from LIVEPUSH_TLS_KEY)"))
        << run.err;
    const Outcome alone = livepushd({"check-config", "--tls-cert", LIVEPUSHD_PATH},
                                    {"LIVEPUSH_AUTH_JWT_SECRET=" + kSecret});
    EXPECT_EQ(alone.rc, 1);
    EXPECT_TRUE(has(alone.err,
                    "tls.cert and tls.key go together: set both or neither [tls.cert "
                    "from --tls-cert]"))
        << alone.err;
}

// A start would bind the port and dial Redis; check-config does neither, so a port in use and a
// Redis nobody listens on are fine.
TEST(ConfigTools, OkOpensNoSocketAndContactsNoRedis) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(fd, 1), 0);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    const std::string busy = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    const Outcome run = livepushd({"check-config", "--tcp-listen", busy, "--redis", "127.0.0.1:1",
                                   "--cluster-secret", "cluster-secret-0123456789-0123456789"},
                                  {"LIVEPUSH_AUTH_JWT_SECRET=" + kSecret});
    ::close(fd);
    EXPECT_EQ(run.rc, 0) << run.err;
    EXPECT_TRUE(has(run.out, "livepushd check-config: OK: cluster via Redis 127.0.0.1:1"))
        << run.out;
    EXPECT_EQ(run.out.find('\n'), run.out.size() - 1) << "one line: " << run.out;
}

TEST(ConfigTools, UsageErrorsExitTwo) {
    EXPECT_EQ(livepushd({"check-config", "--no-such-flag"}).rc, 2);
    const Outcome typo = livepushd({"check-config", "--tcp-listn", "127.0.0.1:7000"});
    EXPECT_EQ(typo.rc, 2);
    EXPECT_EQ(typo.err,
              "livepushd check-config: unknown flag \"--tcp-listn\"; did you mean "
              "\"--tcp-listen\"? (see --help)\n");
    EXPECT_EQ(livepushd({"check-config", "--delivery-window"}).rc, 2);  // value missing
    EXPECT_EQ(livepushd({"config"}).rc, 2);
    EXPECT_EQ(livepushd({"config", "--example", "extra"}).rc, 2);
}

TEST(ConfigTools, PrintRedactsEverySecretAndShowsSources) {
    TempDir dir;
    const std::string file =
        dir.write("node.toml",
                  "[server]\nloops = 3\n[api]\nkey = \"api-key-secret-value-0001\"\n"
                  "[cluster]\nredis_password = \"redis-password-value-0002\"\n");
    const std::vector<std::string> secrets = {kSecret,
                                              "api-key-secret-value-0001",
                                              "redis-password-value-0002",
                                              "cluster-secret-value-0003-0123456789abcdef",
                                              "previous-jwt-secret-0004-0123456789abcdef",
                                              "sasl-password-value-0005"};
    const Outcome run =
        livepushd({"config", "--print", "--config", file, "--redis", "127.0.0.1:6379",
                   "--cluster-secret", secrets[3], "--set",
                   "auth.jwt_secret_previous=" + secrets[4], "--jwt-previous-until", "4000000000",
                   "--kafka-settings", "sasl.password=" + secrets[5], "--room-history-max", "7"},
                  {"LIVEPUSH_AUTH_JWT_SECRET=" + kSecret});
    EXPECT_EQ(run.rc, 0) << run.err;
    for (const auto& secret : secrets) {
        EXPECT_FALSE(has(run.out + run.err, secret)) << "printed: " << secret;
    }
    EXPECT_TRUE(has(run.out, "jwt_secret = \"<redacted>\"  # from LIVEPUSH_AUTH_JWT_SECRET"))
        << run.out;
    EXPECT_TRUE(has(run.out, "key = \"<redacted>\"  # from " + file + ":4")) << run.out;
    EXPECT_TRUE(has(run.out, "redis_password = \"<redacted>\"  # from " + file + ":6")) << run.out;
    EXPECT_TRUE(has(run.out, "secret = \"<redacted>\"  # from --cluster-secret")) << run.out;
    EXPECT_TRUE(has(run.out, "jwt_secret_previous = \"<redacted>\"  # from --set")) << run.out;
    EXPECT_TRUE(has(run.out, "settings = \"<redacted>\"  # from --kafka-settings")) << run.out;
    EXPECT_TRUE(has(run.out, "loops = 3  # from " + file + ":2")) << run.out;
    EXPECT_TRUE(has(run.out, "history_max = 7  # from --room-history-max")) << run.out;
    EXPECT_TRUE(has(run.out, "redis = \"127.0.0.1:6379\"  # from --redis")) << run.out;
    EXPECT_TRUE(has(run.out, "\nheartbeat_interval_ms = 30000\n")) << "a default has no comment";
    EXPECT_TRUE(has(run.out, "node_id = ")) << run.out;
    // An empty secret says nothing and is shown as empty.
    const Outcome plain = livepushd({"config", "--print"}, {"LIVEPUSH_AUTH_JWT_SECRET=" + kSecret});
    EXPECT_EQ(plain.rc, 0) << plain.err;
    EXPECT_TRUE(has(plain.out, "\n[api]\nlisten = \"127.0.0.1:8090\"\nkey = \"\"\n")) << plain.out;
    // A configuration a start would refuse is still printed, with the problems and exit 1.
    const Outcome refused =
        livepushd({"config", "--print", "--loops", "x"}, {"LIVEPUSH_AUTH_JWT_SECRET=" + kSecret});
    EXPECT_EQ(refused.rc, 1);
    EXPECT_TRUE(has(refused.err, "server.loops: \"x\" is not an unsigned integer (from --loops)"))
        << refused.err;
    EXPECT_TRUE(has(refused.out, "jwt_secret = \"<redacted>\"  # from LIVEPUSH_AUTH_JWT_SECRET"));
    EXPECT_FALSE(has(refused.out + refused.err, kSecret));
}

std::string example_path() {
    return std::string(LIVEPUSH_SOURCE_DIR) + "/etc/livepush/livepushd.toml";
}

TEST(ConfigTools, CommittedExampleIsTheGeneratedOne) {
    const Outcome run = livepushd({"config", "--example"});
    ASSERT_EQ(run.rc, 0) << run.err;
    EXPECT_TRUE(run.out == slurp(example_path()))
        << "etc/livepush/livepushd.toml differs from `livepushd config --example`; regenerate "
           "it: build/app/livepushd config --example > etc/livepush/livepushd.toml";
}

TEST(ConfigTools, ExampleHasEveryKeyAndPassesCheckConfigCommentedAndUncommented) {
    const std::string example = slurp(example_path());
    // Every key of --help (one "env LIVEPUSH_..." line per key) is in the example.
    const Outcome help = livepushd({"--help"});
    std::size_t keys = 0;
    for (std::size_t at = help.out.find(", env LIVEPUSH_"); at != std::string::npos;
         at = help.out.find(", env LIVEPUSH_", at + 1))
        ++keys;
    const std::regex setting("^#([a-z_]+ = .*)$", std::regex::multiline);
    const auto settings = std::distance(
        std::sregex_iterator(example.begin(), example.end(), setting), std::sregex_iterator());
    EXPECT_GT(keys, 90u);
    EXPECT_EQ(static_cast<std::size_t>(settings), keys);

    TempDir dir;
    const Outcome commented = livepushd({"check-config", "--config", example_path()},
                                        {"LIVEPUSH_AUTH_JWT_SECRET=" + kSecret});
    EXPECT_EQ(commented.rc, 0) << commented.err;
    // Uncommented, every default shown is a valid value of its key (type and bounds).
    const std::string all = dir.write("all.toml", std::regex_replace(example, setting, "$1"));
    const Outcome uncommented =
        livepushd({"check-config", "--config", all}, {"LIVEPUSH_AUTH_JWT_SECRET=" + kSecret});
    EXPECT_EQ(uncommented.rc, 0) << uncommented.err;
    EXPECT_TRUE(has(uncommented.out, ", " + std::to_string(keys) + " keys set")) << uncommented.out;
    // ...and what --print shows for it is the defaults, each from its line of the file.
    const Outcome printed =
        livepushd({"config", "--print", "--config", all}, {"LIVEPUSH_AUTH_JWT_SECRET=" + kSecret});
    EXPECT_EQ(printed.rc, 0) << printed.err;
    EXPECT_TRUE(has(printed.out, "tcp_listen = \"0.0.0.0:7000\"  # from " + all + ":"))
        << printed.out;
}

}  // namespace
