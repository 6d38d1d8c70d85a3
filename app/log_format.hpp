// app/log_format: log.level, log.format and the loggers livepushd writes through (spdlog).
//
// log.format = text: spdlog's default line. json: one JSON object a line,
//   {"ts":"2026-01-02T03:04:05.678Z","level":"info","logger":"livepushd","node":"n1","msg":"..."}
// written by our own formatter, which escapes the message (quotes, backslashes, control
// characters, newlines) and replaces bytes that are not UTF-8 with U+FFFD, so every line parses
// whatever a message carries (a client's text, a peer's error). The "access" logger (the HTTP
// API's access log, log.access) shares the sinks of the default one.
#pragma once

#include <spdlog/formatter.h>

#include <memory>
#include <string>

namespace lp::app {

// The JSON line formatter; `node` is the node id every line names.
std::unique_ptr<spdlog::formatter> json_log_formatter(std::string node);

// `text` as a JSON string literal (quotes included), with the escapes above. For tests too.
void append_json_string(std::string& out, std::string_view text);

// Applies level and format to every registered logger (at start and on a reload). `format` and
// `level` were checked when loaded.
void apply_log_settings(const std::string& level, const std::string& format,
                        const std::string& node);

}  // namespace lp::app
