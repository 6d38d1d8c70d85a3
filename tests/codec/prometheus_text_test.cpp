// tests/codec/prometheus_text: the one Prometheus text writer. HELP and TYPE once per family,
// before its first sample; no HELP line for an empty help (families published without one keep
// their exposition); label values escaped; a histogram's buckets cumulative.
#include "codec/prometheus_text.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>

namespace lp::codec {
namespace {

TEST(PromText, HelpAndTypeOncePerFamilyBeforeItsSamples) {
    PromText m;
    m.counter("lp_x_total", "x by kind", 1, "kind=\"a\"");
    m.counter("lp_x_total", "x by kind", 2, "kind=\"b\"");
    m.gauge("lp_y", "y now", -3);
    EXPECT_EQ(m.take(),
              "# HELP lp_x_total x by kind\n# TYPE lp_x_total counter\n"
              "lp_x_total{kind=\"a\"} 1\nlp_x_total{kind=\"b\"} 2\n"
              "# HELP lp_y y now\n# TYPE lp_y gauge\nlp_y -3\n");
}

TEST(PromText, AnEmptyHelpWritesNoHelpLine) {
    PromText m;
    m.counter("lp_jobs_total", {}, 4, "result=\"done\"");
    m.gauge("lp_jobs_pending", {}, 0);
    EXPECT_EQ(m.take(),
              "# TYPE lp_jobs_total counter\nlp_jobs_total{result=\"done\"} 4\n"
              "# TYPE lp_jobs_pending gauge\nlp_jobs_pending 0\n");
}

TEST(PromText, LabelValuesAreEscaped) {
    EXPECT_EQ(PromText::label("plugin", "a\"b\\c\nd"), "plugin=\"a\\\"b\\\\c\\nd\"");
}

TEST(PromText, HistogramBucketsAreCumulative) {
    PromText m;
    const std::array<double, 2> bounds = {0.5, 1};
    const std::array<std::uint64_t, 3> counts = {1, 2, 3};
    m.histogram("lp_h", "h", bounds, counts, 4.25, 6);
    EXPECT_EQ(m.take(),
              "# HELP lp_h h\n# TYPE lp_h histogram\n"
              "lp_h_bucket{le=\"0.5\"} 1\nlp_h_bucket{le=\"1\"} 3\nlp_h_bucket{le=\"+Inf\"} 6\n"
              "lp_h_sum 4.25\nlp_h_count 6\n");
}

}  // namespace
}  // namespace lp::codec
