// server/outbound: lazily encoded wire forms of a shared packet (see outbound.hpp).
#include "server/outbound.hpp"

#include "codec/envelope.hpp"

namespace lp::server {

const Bytes& FrameForms::get(Wire w) {
    Bytes& form = forms_[static_cast<int>(w)];
    if (form) return form;
    auto out = std::make_shared<std::string>();
    if (is_json(w)) {
        if (!have_json_) {
            json_body_ = codec::to_json(*packet_.body);
            have_json_ = true;
        }
        append_packet_bytes(*out, w, packet_.code, 0, packet_.flags, json_body_);
    } else {
        if (!have_binary_) {
            binary_body_ = packet_.body->SerializeAsString();
            have_binary_ = true;
        }
        append_packet_bytes(*out, w, packet_.code, 0, packet_.flags, binary_body_);
    }
    form = std::move(out);
    return form;
}

}  // namespace lp::server
