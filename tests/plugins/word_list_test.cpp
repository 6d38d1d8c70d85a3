// tests/plugins/word_list_test: the word filter's list and masking on strings: ASCII matches
// regardless of case, one '*' per code point for Chinese (valid UTF-8 out), overlapping and
// nested words, comments and blank lines, and the limits (file bytes, words, word bytes,
// invalid UTF-8 lines skipped).
#include "plugins/wordfilter/word_list.hpp"

#include <gtest/gtest.h>

#include <string>

namespace lp::plugins::wordfilter {
namespace {

WordList parse(const std::string& text, Limits limits = {}) {
    std::string error;
    auto list = WordList::parse(text, limits, error);
    EXPECT_TRUE(list) << error;
    return list ? std::move(*list) : WordList{};
}

TEST(WordList, MasksAsciiRegardlessOfCaseAndEachCodePointOnce) {
    auto list = parse("badword\n# a comment\n\n  坏蛋 \r\nSPAM\n");
    EXPECT_EQ(list.size(), 3u);
    EXPECT_EQ(list.mask("a BadWord here"), "a ******* here");
    EXPECT_EQ(list.mask("你是坏蛋吗"), "你是**吗") << "one * per code point, not per byte";
    EXPECT_EQ(list.mask("spam and Spam"), "**** and ****");
    EXPECT_EQ(list.mask("nothing to see"), std::nullopt);
    const auto out = list.mask("坏蛋badwordspam");
    ASSERT_TRUE(out);
    EXPECT_EQ(*out, std::string(13, '*')) << "adjacent matches: 2 + 7 + 4 code points";
    EXPECT_TRUE(valid_utf8(*out));
}

TEST(WordList, OverlappingAndNestedWordsMerge) {
    auto list = parse("abc\nbcd\nab\n");
    EXPECT_EQ(list.mask("xabcdx"), "x****x");
    EXPECT_EQ(list.mask("xabx"), "x**x");
}

TEST(WordList, NonAsciiIsNotCaseFolded) {
    auto list = parse("straße\n");
    EXPECT_EQ(list.mask("STRAßE"), "******") << "ASCII letters fold, ß stays as it is";
    EXPECT_EQ(list.mask("STRASSE"), std::nullopt);
}

TEST(WordList, LimitsRefuseTheWholeListOrSkipALine) {
    std::string error;
    Limits small;
    small.max_bytes = 10;
    EXPECT_FALSE(WordList::parse("0123456789a", small, error));
    EXPECT_NE(error.find("max_bytes"), std::string::npos) << error;
    Limits few;
    few.max_words = 2;
    EXPECT_FALSE(WordList::parse("a\nb\nc\n", few, error));
    EXPECT_NE(error.find("max_words"), std::string::npos) << error;
    Limits shortw;
    shortw.max_word_bytes = 4;
    auto list = parse("toolong\nok\n\xff\xfe\n", shortw);
    EXPECT_EQ(list.size(), 1u);
    EXPECT_EQ(list.skipped(), 2u) << "a word over max_word_bytes and one not UTF-8";
    EXPECT_EQ(list.mask("ok toolong"), "** toolong");
}

}  // namespace
}  // namespace lp::plugins::wordfilter
