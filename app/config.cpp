// app/config: builds a Config from defaults, a TOML file, the environment and the command line.
//
// Everything an operator can set is one row of kSchema: its key, its flag, where it lives in
// Config, how its value is checked and its help line. The TOML section/key, the environment
// variable (LIVEPUSH_ + key upper-cased, '.' -> '_'), `--set key=value` and --help are derived
// from that row, so a new setting is one new line and can never be reachable one way but not
// another. Values are checked as they are applied, so an error can say where the bad value came
// from. Start-up policy (a secret is required, TLS needs both files, ...) belongs to main().
//
// Why ~760 lines: the loader for the four sources and every value check are one mechanism over
// kSchema (one row per key, app/config_schema.hpp); the rules between keys are its last part.
//
// The table itself is app/config_schema.hpp (one place, read only here).
#include "app/config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string_view>
#include <type_traits>
#include <variant>

#include "app/config_schema.hpp"
#include "codec/address.hpp"

namespace lp::app {
namespace {

using namespace schema;  // NOLINT(google-build-using-namespace): this file reads the table

constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error"};
constexpr std::string_view kPluginPrefix = "plugins.";

const ConfigKey* find_key(std::string_view key) {
    for (const auto& entry : kSchema) {
        if (entry.key == key) return &entry;
    }
    return nullptr;
}

const ConfigKey* find_flag(std::string_view flag) {
    for (const auto& entry : kSchema) {
        if (entry.flag == flag) return &entry;
    }
    return nullptr;
}

bool is_section(std::string_view section) {
    for (const auto& entry : kSchema) {
        if (entry.key.substr(0, entry.key.find('.')) == section) return true;
    }
    return false;
}

std::string env_name(std::string_view key) {
    std::string name = "LIVEPUSH_";
    for (char c : key) {
        name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return name;
}

// Edit distance (insert, delete, replace one character), for "did you mean".
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// "; did you mean X?" for the nearest of `names` within a third of the name's length (at least
// 2 edits), or "" when none is near.
template <typename Names>
std::string did_you_mean(std::string_view name, const Names& names) {
    std::string best;
    std::size_t best_distance = std::max<std::size_t>(2, name.size() / 3) + 1;
    for (const auto& candidate : names) {
        const std::size_t d = edit_distance(name, candidate);
        if (d < best_distance) {
            best_distance = d;
            best = std::string(candidate);
        }
    }
    return best.empty() ? std::string() : "; did you mean \"" + best + "\"?";
}

std::vector<std::string> schema_keys() {
    std::vector<std::string> out;
    for (const auto& entry : kSchema) out.emplace_back(entry.key);
    return out;
}
std::vector<std::string> schema_flags() {
    std::vector<std::string> out{"--config", "--set", "--dev", "--help"};
    for (const auto& entry : kSchema) out.emplace_back(entry.flag);
    return out;
}
std::vector<std::string> schema_sections() {
    std::vector<std::string> out{"plugins"};
    for (const auto& entry : kSchema) out.emplace_back(entry.key.substr(0, entry.key.find('.')));
    return out;
}

// plugins.NAME.KEY, where KEY may itself be dotted (nested TOML tables); no empty segment.
bool is_plugin_key(std::string_view key) {
    if (!key.starts_with(kPluginPrefix)) return false;
    const std::string_view rest = key.substr(kPluginPrefix.size());
    if (rest.empty() || rest.front() == '.' || rest.back() == '.') return false;
    if (rest.find("..") != std::string_view::npos) return false;
    // The host's own keys: which built-ins run and which shared objects load.
    if (rest == "enabled" || rest == "load") return true;
    return rest.find('.') != std::string_view::npos;
}

std::string in_quotes(std::string_view text) {
    std::string out = "\"";
    out += text;
    out += '"';
    return out;
}

// Digits only: no sign, no spaces, no hex, so "-1" cannot wrap around to a huge limit.
bool parse_unsigned(std::string_view text, std::uint64_t max, std::uint64_t& out,
                    std::string& error) {
    std::uint64_t value = 0;
    const char* end = text.data() + text.size();
    const bool digits_only = !text.empty() && text.find_first_not_of("0123456789") == text.npos;
    if (!digits_only) {
        error = in_quotes(text) + " is not an unsigned integer";
        return false;
    }
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end || value > max) {
        error = in_quotes(text) + " is out of range (at most " + std::to_string(max) + ")";
        return false;
    }
    out = value;
    return true;
}

// A switch's text as the digit its number field holds; empty when it is not a switch value.
std::string_view switch_digit(std::string_view value) {
    if (value == "true" || value == "on" || value == "1") return "1";
    if (value == "false" || value == "off" || value == "0") return "0";
    return {};
}

// Empty string on success, else why `value` is not acceptable (without saying where it came from).
std::string check_value(const ConfigKey& key, std::string_view value) {
    std::string why;
    switch (key.check) {
        case ValueCheck::None:
            return {};
        case ValueCheck::ListenAddress:
        case ValueCheck::DialAddress: {
            const auto port_zero = key.check == ValueCheck::ListenAddress
                                       ? codec::PortZero::Allowed
                                       : codec::PortZero::Refused;
            if (value.empty() || codec::Address::parse(value, port_zero, &why)) return {};
            return in_quotes(value) + " is not host:port: " + why;
        }
        case ValueCheck::AddressOrWsUrl: {
            if (value.starts_with("ws://") || value.starts_with("wss://")) {
                const auto rest = std::string_view(value).substr(value.find("://") + 3);
                const auto host = rest.substr(0, rest.find('/'));
                const bool clean = std::none_of(value.begin(), value.end(), [](char ch) {
                    return static_cast<unsigned char>(ch) <= ' ' || ch == '"' || ch == '\\';
                });
                if (!host.empty() && host.find('@') == std::string_view::npos && clean) return {};
                return in_quotes(value) + " is not a ws:// or wss:// URL with a host";
            }
            if (value.empty() || codec::Address::parse(value, codec::PortZero::Allowed, &why))
                return {};
            return in_quotes(value) + " is not host:port or a ws:// or wss:// URL: " + why;
        }
        case ValueCheck::DialAddressList:
            if (value.empty() ||
                codec::Address::parse_list(value, codec::PortZero::Refused, &why)) {
                return {};
            }
            return in_quotes(value) + " is not a comma-separated list of host:port: " + why;
        case ValueCheck::LogLevel:
            for (auto level : kLogLevels) {
                if (value == level) return {};
            }
            return in_quotes(value) + " is not one of trace, debug, info, warn, error";
        case ValueCheck::LogFormat:
            if (value == "text" || value == "json") return {};
            return in_quotes(value) + " is not text or json";
        case ValueCheck::Switch:
            if (!switch_digit(value).empty()) return {};
            return in_quotes(value) + " is not true or false";
    }
    return {};
}

// Parses a number for `key`: its field's type bounds it, then the row's bounds.
bool parse_number(const ConfigKey& key, std::string_view value, std::uint64_t& number,
                  std::string& problem) {
    const std::uint64_t type_max =
        std::holds_alternative<U32Field>(key.field) ? UINT32_MAX : UINT64_MAX;
    if (!parse_unsigned(value, type_max, number, problem)) return false;
    if (number < key.bounds.min) {
        problem = in_quotes(value) + " is below the minimum " + std::to_string(key.bounds.min);
        return false;
    }
    if (number > key.bounds.max) {
        problem = in_quotes(value) + " is over the maximum " + std::to_string(key.bounds.max);
        return false;
    }
    return true;
}

// Sets one schema key from its text form. `source` names where the text came from (a flag, an
// environment variable, the file) so the operator knows what to fix.
std::string apply_value(Config& config, const ConfigKey& key, std::string_view value,
                        std::string_view source) {
    std::string problem = check_value(key, value);
    if (problem.empty() && key.check == ValueCheck::Switch) value = switch_digit(value);
    if (problem.empty()) {
        std::uint64_t number = 0;
        if (auto* text = std::get_if<StringField>(&key.field)) {
            (*text)(config) = std::string(value);
        } else if (parse_number(key, value, number, problem)) {
            if (auto* u32 = std::get_if<U32Field>(&key.field)) {
                (*u32)(config) = static_cast<std::uint32_t>(number);
            } else if (auto* u64 = std::get_if<U64Field>(&key.field)) {
                (*u64)(config) = number;
            }
        }
    }
    if (problem.empty()) {
        config.explicitly_set.insert(std::string(key.key));
        config.sources[std::string(key.key)] = std::string(source);
        return {};
    }
    return std::string(key.key) + ": " + problem + " (from " + std::string(source) + ")";
}

// One key=value from the command line (a flag or --set), applied in command-line order.
struct Override {
    std::string key;
    std::string value;
    std::string source;
};

std::string apply_override(Config& config, const Override& setting) {
    if (const ConfigKey* key = find_key(setting.key)) {
        return apply_value(config, *key, setting.value, setting.source);
    }
    if (is_plugin_key(setting.key)) {
        config.plugin_settings[setting.key] = setting.value;
        return {};
    }
    return "unknown key " + in_quotes(setting.key) + " (from " + setting.source +
           "); plugin keys are plugins.NAME.KEY" + did_you_mean(setting.key, schema_keys());
}

struct CommandLine {
    std::optional<std::string> config_path;
    bool dev = false;
    bool help = false;
    std::vector<Override> overrides;
};

std::string parse_command_line(int argc, const char* const* argv, CommandLine& out) {
    for (int i = 0; i < argc && argv[i] != nullptr; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "-h" || arg == "--help") {
            out.help = true;
            return {};
        }
        if (!arg.starts_with("--") || arg.size() == 2) {
            if (arg.starts_with("-")) return "unknown flag " + in_quotes(arg);
            return "unexpected argument " + in_quotes(arg);
        }
        const std::size_t eq = arg.find('=');
        const std::string_view name = arg.substr(0, eq);
        std::optional<std::string_view> inline_value;
        if (eq != std::string_view::npos) inline_value = arg.substr(eq + 1);

        // Only known flags take a value, so an unknown flag is reported instead of silently
        // swallowing the argument after it.
        const ConfigKey* key = find_flag(name);
        const bool takes_value = key != nullptr || name == "--config" || name == "--set";
        if (name == "--dev") {
            if (inline_value) return "--dev takes no value";
            out.dev = true;
            continue;
        }
        if (!takes_value) {
            return "unknown flag " + in_quotes(name) + did_you_mean(name, schema_flags());
        }

        std::string value;
        if (inline_value) {
            value = std::string(*inline_value);
        } else if (i + 1 < argc && argv[i + 1] != nullptr &&
                   !std::string_view(argv[i + 1]).starts_with("--")) {
            value = argv[++i];
        } else {
            // A value that starts with "--" is far more often a forgotten value than a real one.
            return std::string(name) + " needs a value (write " + std::string(name) +
                   "=VALUE for a value that starts with --)";
        }

        if (key != nullptr) {
            out.overrides.push_back({std::string(key->key), std::move(value), std::string(name)});
        } else if (name == "--config") {
            if (out.config_path) return "--config given more than once";
            out.config_path = std::move(value);
        } else {  // --set
            const std::size_t set_eq = value.find('=');
            if (set_eq == std::string::npos || set_eq == 0) {
                return "--set needs section.key=value, got " + in_quotes(value);
            }
            out.overrides.push_back({value.substr(0, set_eq), value.substr(set_eq + 1), "--set"});
        }
    }
    return {};
}

// TOML array or inline table as JSON, so that plugins get list values in a notation they can
// parse with the JSON library they already use. Dates and times become strings.
boost::json::value to_json(const toml::node& node) {
    if (const auto* text = node.as_string()) return boost::json::string(text->get());
    if (const auto* integer = node.as_integer()) return integer->get();
    if (const auto* real = node.as_floating_point()) return real->get();
    if (const auto* flag = node.as_boolean()) return flag->get();
    if (const auto* array = node.as_array()) {
        boost::json::array out;
        for (const auto& item : *array) out.push_back(to_json(item));
        return out;
    }
    if (const auto* table = node.as_table()) {
        boost::json::object out;
        for (const auto& [name, item] : *table) out[name.str()] = to_json(item);
        return out;
    }
    std::ostringstream os;
    node.visit([&os](const auto& value) { os << value; });
    return boost::json::string(os.str());
}

// Plugin values are kept as text for the plugin to parse: strings verbatim, numbers, booleans
// and dates in TOML notation, arrays as JSON.
std::string plugin_value_text(const toml::node& node) {
    if (const auto* text = node.as_string()) return text->get();
    if (node.is_array()) return boost::json::serialize(to_json(node));
    std::ostringstream os;
    node.visit([&os](const auto& value) { os << value; });
    return os.str();
}

void flatten_plugin_table(const toml::table& table, const std::string& prefix,
                          std::map<std::string, std::string>& out) {
    for (const auto& [name, node] : table) {
        std::string key = prefix + "." + std::string(name.str());
        if (const auto* nested = node.as_table()) {
            flatten_plugin_table(*nested, key, out);
        } else {
            out[key] = plugin_value_text(node);
        }
    }
}

// "path:line" of a node, as toml++ recorded it (the path alone when it has no position).
std::string where(const std::string& path, const toml::node& node) {
    const auto line = node.source().begin.line;
    return line == 0 ? path : path + ":" + std::to_string(line);
}

// Every problem of the file is collected (check-config lists them all; a start prints the first).
void apply_file_section(Config& config, std::string_view section, const toml::table& table,
                        const std::string& path, std::vector<std::string>& problems) {
    for (const auto& [name, node] : table) {
        const std::string key = std::string(section) + "." + std::string(name.str());
        const std::string at = where(path, node);
        const ConfigKey* entry = find_key(key);
        if (entry == nullptr) {
            problems.push_back(at + ": unknown key " + in_quotes(key) +
                               did_you_mean(key, schema_keys()));
            continue;
        }
        std::string error;
        if (std::holds_alternative<StringField>(entry->field)) {
            const auto* text = node.as_string();
            error = text == nullptr ? key + ": expected a string (from " + at + ")"
                                    : apply_value(config, *entry, text->get(), at);
        } else if (entry->check == ValueCheck::Switch) {
            const auto* flag = node.as_boolean();
            error = flag == nullptr
                        ? key + ": expected true or false (from " + at + ")"
                        : apply_value(config, *entry, flag->get() ? "true" : "false", at);
        } else {
            const auto* integer = node.as_integer();
            error = integer == nullptr
                        ? key + ": expected an integer (from " + at + ")"
                        : apply_value(config, *entry, std::to_string(integer->get()), at);
        }
        if (!error.empty()) problems.push_back(std::move(error));
    }
}

void apply_file_root(Config& config, const toml::table& root, const std::string& path,
                     std::vector<std::string>& problems);

void apply_file(Config& config, const std::string& path, std::vector<std::string>& problems) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        problems.push_back("--config " + in_quotes(path) + ": is a directory, not a TOML file");
        return;
    }
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        problems.push_back("--config " + in_quotes(path) +
                           ": cannot open: " + std::strerror(errno));
        return;
    }
    std::string text;
    try {
        text.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    } catch (const std::ios_base::failure& e) {
        problems.push_back("--config " + in_quotes(path) + ": cannot read: " + e.what());
        return;
    }
    if (file.bad()) {
        problems.push_back("--config " + in_quotes(path) + ": cannot read");
        return;
    }

    toml::table root;
    try {
        root = toml::parse(text, path);
    } catch (const toml::parse_error& e) {
        const auto& at = e.source().begin;
        problems.push_back(path + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) +
                           ": " + std::string(e.description()));
        return;
    }

    const std::size_t first = problems.size();
    apply_file_root(config, root, path, problems);
    // toml++ hands tables out in key order; the operator reads the file in line order.
    auto line_of = [&path](const std::string& problem) {
        const std::size_t at = problem.find(path + ":");
        return at == std::string::npos
                   ? 0UL
                   : std::strtoul(problem.c_str() + at + path.size() + 1, nullptr, 10);
    };
    std::stable_sort(
        problems.begin() + static_cast<std::ptrdiff_t>(first), problems.end(),
        [&](const std::string& a, const std::string& b) { return line_of(a) < line_of(b); });
}

void apply_file_root(Config& config, const toml::table& root, const std::string& path,
                     std::vector<std::string>& problems) {
    for (const auto& [name, node] : root) {
        const std::string section(name.str());
        const auto* table = node.as_table();
        if (section == "plugins" && table != nullptr) {
            for (const auto& [plugin, settings] : *table) {
                const std::string prefix = "plugins." + std::string(plugin.str());
                if (plugin.str() == "enabled" || plugin.str() == "load") {
                    // A list of names/paths: an array of strings, or one comma-separated string.
                    std::string text;
                    bool ok = true;
                    if (const auto* arr = settings.as_array()) {
                        text = "[";
                        for (const auto& item : *arr) {
                            const auto* s = item.as_string();
                            if (s == nullptr) {
                                ok = false;
                                break;
                            }
                            text += (text.size() > 1 ? ",\"" : "\"") + s->get() + "\"";
                        }
                        text += "]";
                    } else if (const auto* s = settings.as_string()) {
                        text = s->get();
                    } else {
                        ok = false;
                    }
                    if (!ok) {
                        problems.push_back(where(path, settings) + ": " + prefix +
                                           " must be an array of strings");
                        continue;
                    }
                    config.plugin_settings[prefix] = text;
                    config.sources[prefix] = where(path, settings);
                    continue;
                }
                if (find_key(prefix) != nullptr) {  // the host's own keys (filter_timeout_ms)
                    toml::table one;
                    one.insert(plugin.str(), settings);
                    apply_file_section(config, "plugins", one, path, problems);
                    continue;
                }
                const auto* plugin_table = settings.as_table();
                if (plugin_table == nullptr) {
                    problems.push_back(where(path, settings) + ": " + prefix +
                                       " must be a table ([" + prefix + "])" +
                                       did_you_mean(prefix, schema_keys()));
                    continue;
                }
                flatten_plugin_table(*plugin_table, prefix, config.plugin_settings);
            }
        } else if (table != nullptr && is_section(section)) {
            apply_file_section(config, section, *table, path, problems);
        } else if (table != nullptr) {
            problems.push_back(where(path, node) + ": unknown section [" + section + "]" +
                               did_you_mean(section, schema_sections()));
        } else {
            problems.push_back(where(path, node) + ": unknown key " + in_quotes(section) +
                               " (keys belong in a [section])" +
                               did_you_mean(section, schema_keys()));
        }
    }
}

void apply_environment(Config& config, const char* const* envp, std::vector<std::string>& problems,
                       std::vector<std::string>& warnings) {
    if (envp == nullptr) return;
    for (const auto& key : kSchema) {
        const std::string name = env_name(key.key);
        for (const char* const* entry = envp; *entry != nullptr; ++entry) {
            const std::string_view assignment = *entry;
            if (assignment.size() > name.size() && assignment.starts_with(name) &&
                assignment[name.size()] == '=') {
                // First match, as getenv() would pick.
                auto error = apply_value(config, key, assignment.substr(name.size() + 1), name);
                if (!error.empty()) problems.push_back(std::move(error));
                break;
            }
        }
    }
    // A LIVEPUSH_ variable that names no key is ignored by a start (tests and plugins use the
    // prefix too), but is most likely a typo: a warning, not a problem.
    std::vector<std::string> names;
    for (const auto& key : kSchema) names.push_back(env_name(key.key));
    for (const char* const* entry = envp; *entry != nullptr; ++entry) {
        const std::string_view assignment = *entry;
        const std::string_view name = assignment.substr(0, assignment.find('='));
        if (!name.starts_with("LIVEPUSH_")) continue;
        if (std::find(names.begin(), names.end(), name) != names.end()) continue;
        const std::string near = did_you_mean(name, names);
        if (!near.empty()) warnings.push_back(std::string(name) + ": names no key" + near);
    }
}

// The accessors hand out mutable references (they are the setters too), hence Config&.
std::string value_text(Config& config, const ConfigKey& key) {
    return std::visit(
        [&](auto field) -> std::string {
            const auto& value = field(config);
            if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::string>) {
                return in_quotes(value);
            } else {
                if (key.check == ValueCheck::Switch) return value ? "true" : "false";
                return std::to_string(value);
            }
        },
        key.field);
}

std::string_view placeholder(const ConfigKey& key) {
    switch (key.check) {
        case ValueCheck::ListenAddress:
        case ValueCheck::DialAddress:
            return "HOST:PORT";
        case ValueCheck::DialAddressList:
            return "HOST:PORT,...";
        case ValueCheck::AddressOrWsUrl:
            return "HOST:PORT|URL";
        case ValueCheck::LogLevel:
            return "LEVEL";
        case ValueCheck::LogFormat:
            return "text|json";
        case ValueCheck::Switch:
            return "true|false";
        case ValueCheck::None:
            break;
    }
    return std::holds_alternative<StringField>(key.field) ? "TEXT" : "N";
}

// ", at least 1" / ", at most N": the row's bounds where they are narrower than its type's.
std::string bounds_text(const ConfigKey& key) {
    const Bounds none;
    std::string out;
    if (key.bounds.min != none.min) out += ", at least " + std::to_string(key.bounds.min);
    if (key.bounds.max != none.max) out += ", at most " + std::to_string(key.bounds.max);
    return out;
}

std::string help_text() {
    Config defaults;
    std::string out =
        "Usage: livepushd [options]\n"
        "\n"
        "Every key below can be set in the TOML file (--config; [section] then key = value), by\n"
        "its environment variable, by its flag, or with --set section.key=value. Later wins:\n"
        "defaults < file < environment < flags and --set, in command-line order.\n"
        "\n"
        "Options:\n"
        "  --config FILE\n"
        "      TOML configuration file; [plugins.NAME] tables are passed to plugin NAME\n"
        "  --set KEY=VALUE\n"
        "      set any key below, or a plugin key plugins.NAME.KEY; repeatable\n"
        "  --dev\n"
        "      development mode: without a jwt_secret, start with a printed development secret\n"
        "      and API key; listeners not set explicitly listen on 127.0.0.1, and an explicit\n"
        "      non-loopback listen address is refused (the dev secret is published)\n"
        "  -h, --help\n"
        "      print this help\n"
        "\n"
        "Keys:\n";
    for (const auto& key : kSchema) {
        out += "  ";
        out += key.flag;
        out += ' ';
        out += placeholder(key);
        out += "\n      ";
        out += key.key;
        out += ", env ";
        out += env_name(key.key);
        out += ", default ";
        out += value_text(defaults, key);
        out += bounds_text(key);
        out += "\n      ";
        out += key.help;
        out += '\n';
    }
    return out;
}

}  // namespace

std::vector<ConfigKeyInfo> config_schema() {
    std::vector<ConfigKeyInfo> out;
    for (const auto& key : kSchema) {
        ConfigKeyInfo info;
        info.key = key.key;
        info.flag = key.flag;
        info.env = env_name(key.key);
        info.help = key.help;
        info.limits = bounds_text(key);
        info.kind = std::holds_alternative<StringField>(key.field) ? ConfigKeyInfo::Kind::Text
                    : key.check == ValueCheck::Switch              ? ConfigKeyInfo::Kind::Switch
                                                                   : ConfigKeyInfo::Kind::Number;
        info.secret = key.secret;
        info.live = is_live(key.key);
        out.push_back(std::move(info));
    }
    return out;
}

bool copy_config_value(Config& to, const Config& from, std::string_view name) {
    const ConfigKey* key = find_key(name);
    if (key == nullptr) return false;
    // The accessors are also the setters, hence non-const; `from` is only read.
    auto& source = const_cast<Config&>(from);  // NOLINT(cppcoreguidelines-pro-type-const-cast)
    std::visit([&](auto field) { field(to) = field(source); }, key->field);
    return true;
}

std::string config_value_toml(const Config& config, std::string_view name) {
    const ConfigKey* key = find_key(name);
    if (key == nullptr) return {};
    // The accessors are also the setters, hence non-const; nothing is written here.
    auto& readable = const_cast<Config&>(config);  // NOLINT(cppcoreguidelines-pro-type-const-cast)
    if (const auto* text = std::get_if<StringField>(&key->field)) {
        std::string out = "\"";
        for (const char c : (*text)(readable)) {
            const auto u = static_cast<unsigned char>(c);
            if (c == '"' || c == '\\') {
                out += '\\';
                out += c;
            } else if (u < 0x20 || u == 0x7f) {
                static constexpr char kHex[] = "0123456789abcdef";
                out += "\\u00";
                out += kHex[u >> 4];
                out += kHex[u & 0xf];
            } else {
                out += c;
            }
        }
        return out + "\"";
    }
    return value_text(readable, *key);
}

std::string apply_dev_listen_policy(Config& config) {
    if (!config.dev) return {};
    struct Listener {
        std::string_view key;
        std::string& address;
    };
    const Listener listeners[] = {
        {"server.tcp_listen", config.server.tcp_listen},
        {"server.ws_listen", config.server.ws_listen},
        {"api.listen", config.api.listen},
        {"cluster.link_listen", config.cluster.link_listen},
    };
    for (const Listener& l : listeners) {
        if (l.address.empty()) continue;  // off
        const auto address = codec::Address::parse(l.address);
        if (address && address->is_loopback()) continue;  // safe
        if (config.explicitly_set.count(std::string(l.key)) != 0) {
            return std::string(l.key) + " = " + l.address +
                   " is not a loopback address, and --dev publishes its secret and API key: "
                   "with --dev listen on 127.0.0.1 only, or run without --dev with your own "
                   "auth.jwt_secret and api.key";
        }
        if (address) l.address = codec::Address{"127.0.0.1", address->port}.to_string();
    }
    return {};
}

ConfigResult load_config(int argc, const char* const* argv, const char* const* envp) {
    ConfigResult result;
    CommandLine command_line;
    if (auto error = parse_command_line(argc, argv, command_line); !error.empty()) {
        result.error = std::move(error);
        return result;
    }
    if (command_line.help) {
        result.show_help = true;
        result.help_text = help_text();
        return result;
    }

    // Every source is applied and every problem collected; a start prints the first.
    Config& config = result.config;
    config.dev = command_line.dev;
    if (command_line.config_path) apply_file(config, *command_line.config_path, result.problems);
    apply_environment(config, envp, result.problems, result.warnings);
    for (const auto& setting : command_line.overrides) {
        if (auto error = apply_override(config, setting); !error.empty()) {
            result.problems.push_back(std::move(error));
        }
    }
    if (!result.problems.empty()) result.error = result.problems.front();
    return result;
}

}  // namespace lp::app
