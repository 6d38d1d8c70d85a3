// plugins/wordfilter/word_list: the word filter's list and its matcher, apart from files and
// threads so it can be tested on strings.
//
// A list is one word per line (UTF-8; blank lines and lines starting with '#' are skipped;
// surrounding spaces and a trailing '\r' are trimmed). Matching is by substring (Chinese has no
// spaces between words), case-insensitive for ASCII letters only, and a match is masked with
// one '*' per code point, never per byte, so the result stays valid UTF-8. Overlapping matches
// merge. A byte trie keyed on the lower-cased words makes a match O(text bytes x longest word),
// whatever the number of words.
//
// Bounded: the file's bytes, the number of words and each word's bytes have limits; a list
// over them is refused whole (the caller keeps the previous one), a line that is not valid
// UTF-8 is skipped and counted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lp::plugins::wordfilter {

struct Limits {
    std::size_t max_bytes = 1 << 20;  // the file
    std::size_t max_words = 10000;
    std::size_t max_word_bytes = 64;
};

class WordList {
public:
    // The list in `text`, or nullopt with `error` saying which limit it broke.
    static std::optional<WordList> parse(std::string_view text, const Limits& limits,
                                         std::string& error);
    std::size_t size() const noexcept { return words_; }
    std::size_t skipped() const noexcept { return skipped_; }  // lines not valid UTF-8 / too long
    // `text` with every match masked, or nullopt when nothing matched.
    std::optional<std::string> mask(std::string_view text) const;

private:
    struct Node {
        std::vector<std::pair<unsigned char, std::uint32_t>> next;  // sorted by byte
        bool word_end = false;
    };
    void insert(std::string_view lowered);
    std::uint32_t child(std::uint32_t node, unsigned char byte) const;  // 0: none

    std::vector<Node> nodes_{1};  // [0] is the root
    std::size_t words_ = 0;
    std::size_t skipped_ = 0;
};

bool valid_utf8(std::string_view s) noexcept;

}  // namespace lp::plugins::wordfilter
