// plugins/wordfilter/word_list: see word_list.hpp.
#include "plugins/wordfilter/word_list.hpp"

#include <algorithm>

namespace lp::plugins::wordfilter {

namespace {

unsigned char lower(unsigned char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<unsigned char>(c - 'A' + 'a') : c;
}

bool continuation(unsigned char c) noexcept {
    return (c & 0xC0) == 0x80;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

}  // namespace

bool valid_utf8(std::string_view s) noexcept {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80           ? 1
                        : (c >> 5) == 0x6  ? 2
                        : (c >> 4) == 0xE  ? 3
                        : (c >> 3) == 0x1E ? 4
                                           : 0;
        if (n == 0 || (n == 2 && c < 0xC2) || i + n > s.size()) return false;
        for (std::size_t k = 1; k < n; ++k)
            if (!continuation(static_cast<unsigned char>(s[i + k]))) return false;
        i += n;
    }
    return true;
}

std::optional<WordList> WordList::parse(std::string_view text, const Limits& limits,
                                        std::string& error) {
    if (text.size() > limits.max_bytes) {
        error = "the word list is " + std::to_string(text.size()) +
                " bytes, over max_bytes = " + std::to_string(limits.max_bytes);
        return std::nullopt;
    }
    WordList list;
    while (!text.empty()) {
        const auto eol = text.find('\n');
        std::string_view line = trim(text.substr(0, eol));
        text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
        if (line.empty() || line.front() == '#') continue;
        if (line.size() > limits.max_word_bytes || !valid_utf8(line)) {
            ++list.skipped_;
            continue;
        }
        if (list.words_ == limits.max_words) {
            error =
                "the word list holds more than max_words = " + std::to_string(limits.max_words) +
                " words";
            return std::nullopt;
        }
        std::string lowered(line);
        for (auto& c : lowered) c = static_cast<char>(lower(static_cast<unsigned char>(c)));
        list.insert(lowered);
    }
    return list;
}

std::uint32_t WordList::child(std::uint32_t node, unsigned char byte) const {
    const auto& next = nodes_[node].next;
    auto it = std::lower_bound(next.begin(), next.end(), byte,
                               [](const auto& e, unsigned char b) { return e.first < b; });
    return it != next.end() && it->first == byte ? it->second : 0;
}

void WordList::insert(std::string_view lowered) {
    std::uint32_t node = 0;
    for (char ch : lowered) {
        const auto b = static_cast<unsigned char>(ch);
        std::uint32_t next = child(node, b);
        if (next == 0) {
            next = static_cast<std::uint32_t>(nodes_.size());
            nodes_.emplace_back();
            auto& edges = nodes_[node].next;
            auto it = std::lower_bound(edges.begin(), edges.end(), b,
                                       [](const auto& e, unsigned char x) { return e.first < x; });
            edges.insert(it, {b, next});
        }
        node = next;
    }
    if (!nodes_[node].word_end) ++words_;
    nodes_[node].word_end = true;
}

std::optional<std::string> WordList::mask(std::string_view text) const {
    if (words_ == 0) return std::nullopt;
    std::vector<bool> masked(text.size(), false);
    bool any = false;
    for (std::size_t start = 0; start < text.size(); ++start) {
        // Words are valid UTF-8, so a match starts on a code point and ends on one.
        if (continuation(static_cast<unsigned char>(text[start]))) continue;
        std::uint32_t node = 0;
        std::size_t longest = 0;
        for (std::size_t i = start; i < text.size(); ++i) {
            node = child(node, lower(static_cast<unsigned char>(text[i])));
            if (node == 0) break;
            if (nodes_[node].word_end) longest = i + 1 - start;
        }
        if (longest == 0) continue;
        any = true;
        std::fill(masked.begin() + static_cast<std::ptrdiff_t>(start),
                  masked.begin() + static_cast<std::ptrdiff_t>(start + longest), true);
    }
    if (!any) return std::nullopt;
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (!masked[i])
            out.push_back(text[i]);
        else if (!continuation(c))
            out.push_back('*');  // one per code point
    }
    return out;
}

}  // namespace lp::plugins::wordfilter
