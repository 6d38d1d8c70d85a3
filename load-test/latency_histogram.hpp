// load-test/latency_histogram: a fixed-size log-linear histogram for latencies in nanoseconds.
//
// The bucket layout is HdrHistogram's with fixed precision: values below 2^kSubBits are kept
// exactly; above that, every power of two is split into 2^(kSubBits-1) equal buckets, so a
// reported percentile is within 1/64 (1.6%) of the true value. The whole thing is one 18 KiB
// array, recording is a few instructions and never allocates, and histograms of several
// event-loop threads merge by adding counts; a load run of millions of samples never holds
// the samples themselves.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace lp::load {

class LatencyHistogram {
public:
    static constexpr int kSubBits = 7;
    static constexpr std::uint64_t kSubCount = std::uint64_t{1} << kSubBits;  // exact below this
    static constexpr std::uint64_t kHalf = kSubCount / 2;  // buckets per power of two above it
    static constexpr int kMaxBits = 40;                    // 2^40 ns: about 18 minutes
    static constexpr std::uint64_t kMaxValue = (std::uint64_t{1} << kMaxBits) - 1;
    static constexpr std::size_t kBuckets = kSubCount + (kMaxBits - kSubBits) * kHalf;

    void record(std::uint64_t value) noexcept {
        value = std::min(value, kMaxValue);
        ++counts_[index_of(value)];
        ++total_;
        sum_ += value;
        max_ = std::max(max_, value);
        min_ = std::min(min_, value);
    }

    void reset() noexcept { *this = LatencyHistogram(); }

    void merge(const LatencyHistogram& other) noexcept {
        for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
        total_ += other.total_;
        sum_ += other.sum_;
        max_ = std::max(max_, other.max_);
        min_ = std::min(min_, other.min_);
    }

    std::uint64_t count() const noexcept { return total_; }
    std::uint64_t max() const noexcept { return total_ ? max_ : 0; }
    std::uint64_t min() const noexcept { return total_ ? min_ : 0; }
    double mean() const noexcept { return total_ ? double(sum_) / double(total_) : 0.0; }

    // The highest value equivalent to the q-quantile sample (q in [0, 1]), as HdrHistogram
    // reports it, capped at the largest value recorded. 0 when empty.
    std::uint64_t value_at(double q) const noexcept {
        if (total_ == 0) return 0;
        q = std::clamp(q, 0.0, 1.0);
        auto rank = static_cast<std::uint64_t>(std::ceil(q * double(total_)));
        rank = std::max<std::uint64_t>(rank, 1);
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < kBuckets; ++i) {
            seen += counts_[i];
            if (seen >= rank) return std::min(highest_in_bucket(i), max_);
        }
        return max_;
    }

    static std::size_t index_of(std::uint64_t value) noexcept {
        if (value < kSubCount) return static_cast<std::size_t>(value);
        int msb = 63 - std::countl_zero(value);
        int shift =
            msb - (kSubBits - 1);  // keeps the top kSubBits bits: (value >> shift) in [64, 128)
        return static_cast<std::size_t>(kSubCount + std::uint64_t(shift - 1) * kHalf +
                                        ((value >> shift) - kHalf));
    }

    static std::uint64_t highest_in_bucket(std::size_t index) noexcept {
        if (index < kSubCount) return index;
        std::uint64_t group = (index - kSubCount) / kHalf;
        std::uint64_t sub = (index - kSubCount) % kHalf + kHalf;
        int shift = static_cast<int>(group) + 1;
        return ((sub + 1) << shift) - 1;
    }

private:
    std::array<std::uint64_t, kBuckets> counts_{};
    std::uint64_t total_ = 0;
    std::uint64_t sum_ = 0;
    std::uint64_t max_ = 0;
    std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
};

}  // namespace lp::load
