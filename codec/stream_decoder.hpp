// codec/stream_decoder: turns a TCP byte stream, split any way the network likes, into frames.
//
// Frames that arrive whole inside one fed chunk are handed out without copying. Only an
// incomplete tail is copied into the decoder's own buffer, and that buffer is released as soon
// as it empties, so an idle connection holds no read memory (the session keeps no read buffer
// either; see server/session).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "codec/frame.hpp"

namespace lp::codec {

class StreamDecoder {
public:
    explicit StreamDecoder(std::uint32_t max_body = kDefaultMaxBody) : max_body_(max_body) {}

    // Callback for each complete frame. Return false to stop decoding (e.g. the session closed);
    // the remaining input is then dropped.
    template <class F>
    DecodeError feed(const std::uint8_t* data, std::size_t n, F&& on_frame);

    // The first error stays: once failed, feed() returns it again and yields nothing.
    // A bad magic, version, flags, code or length is reported as soon as its bytes arrive, even
    // when fewer than 16 bytes are buffered: a garbage sender is refused on its first bytes.
    DecodeError error() const noexcept { return error_; }
    // Bytes held for an incomplete frame (0 when idle).
    std::size_t buffered() const noexcept { return partial_.size(); }
    // Memory held for that (the empty-string capacity when idle): lets tests pin the promise
    // that an idle connection holds no read memory.
    std::size_t buffer_capacity() const noexcept { return partial_.capacity(); }
    std::uint32_t max_body() const noexcept { return max_body_; }
    // Sets the limit for frames whose header is not yet parsed: a node link starts small and
    // raises it once the peer has proven who it is (router/node_links).
    void set_max_body(std::uint32_t max_body) noexcept { max_body_ = max_body; }

private:
    // Frees the buffer's memory. Assigning an empty string would not: libstdc++ move-assigns
    // a small-string source by copying it, keeping the old heap capacity.
    void release() noexcept { std::string().swap(partial_); }
    DecodeError fail(DecodeError e) noexcept {
        error_ = e;
        release();
        return e;
    }
    void keep(const std::uint8_t* data, std::size_t n) {
        partial_.append(reinterpret_cast<const char*>(data), n);
    }

    std::string partial_;
    std::uint32_t max_body_;
    DecodeError error_ = DecodeError::None;
};

template <class F>
DecodeError StreamDecoder::feed(const std::uint8_t* data, std::size_t n, F&& on_frame) {
    if (error_ != DecodeError::None) return error_;
    // 1. Complete a pending partial frame first.
    if (!partial_.empty()) {
        if (partial_.size() < kHeaderSize) {
            std::size_t take = std::min(n, kHeaderSize - partial_.size());
            keep(data, take);
            data += take;
            n -= take;
            if (partial_.size() < kHeaderSize) {
                DecodeError e =
                    check_header_prefix(reinterpret_cast<const std::uint8_t*>(partial_.data()),
                                        partial_.size(), max_body_);
                return e == DecodeError::None ? e : fail(e);
            }
        }
        Header h;
        DecodeError e =
            parse_header(reinterpret_cast<const std::uint8_t*>(partial_.data()), max_body_, h);
        if (e != DecodeError::None) return fail(e);
        // One allocation for the whole frame rather than a series of regrowths; body_len is
        // already known to be within max_body.
        partial_.reserve(kHeaderSize + h.body_len);
        std::size_t need = kHeaderSize + h.body_len - partial_.size();
        std::size_t take = std::min(n, need);
        keep(data, take);
        data += take;
        n -= take;
        if (take < need) return DecodeError::None;
        FrameView fv{h, std::string_view(partial_).substr(kHeaderSize)};
        bool go_on = on_frame(fv);
        release();  // idle sessions hold no buffer
        if (!go_on) return DecodeError::None;
    }
    // 2. Whole frames straight from the input, no copy.
    while (n >= kHeaderSize) {
        Header h;
        if (DecodeError e = parse_header(data, max_body_, h); e != DecodeError::None) {
            return fail(e);
        }
        if (n - kHeaderSize < h.body_len) {
            // 3a. An incomplete frame whose header is complete (and valid): keep it whole.
            partial_.reserve(kHeaderSize + h.body_len);
            keep(data, n);
            return DecodeError::None;
        }
        FrameView fv{
            h, std::string_view(reinterpret_cast<const char*>(data) + kHeaderSize, h.body_len)};
        data += kHeaderSize + h.body_len;
        n -= kHeaderSize + h.body_len;
        if (!on_frame(fv)) return DecodeError::None;
    }
    // 3b. A tail shorter than a header: judge the fields it already holds, then keep it.
    if (n > 0) {
        if (DecodeError e = check_header_prefix(data, n, max_body_); e != DecodeError::None) {
            return fail(e);
        }
        keep(data, n);
    }
    return DecodeError::None;
}

}  // namespace lp::codec
