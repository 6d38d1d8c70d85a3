// plugins/wordfilter: masks listed words in room.chat with '*' (a room hook, SDK 5).
//
// Config ([plugins.wordfilter]): `file` (one word per line, see word_list.hpp), `max_bytes`
// (default 1048576), `max_words` (10000), `max_word_bytes` (64), `reload_ms` (1000: how often
// the file's modification time and size are checked). A changed file is read again on the
// plugin's own thread, never on a loop or in filter_chat; a list that cannot be read or breaks
// a limit is logged and counted, and the previous list stays. A missing file filters nothing
// until it appears.
//
// filter_chat answers allow, or rewrite with each match masked (one '*' per code point).
// Counters: masked, reloads, reload_failed (livepush_plugin_wordfilter_*_total).
#pragma once

#include <memory>

#include "plugins/sdk/plugin.hpp"

namespace lp::plugins {

std::unique_ptr<sdk::Plugin> make_wordfilter_plugin();

}  // namespace lp::plugins
