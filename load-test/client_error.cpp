// load-test/client_error: see client_error.hpp.
#include "load-test/client_error.hpp"

#include <string>

namespace lp::client {
namespace {

class ClientErrorCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "livepush.client"; }
    std::string message(int ev) const override {
        switch (static_cast<ClientError>(ev)) {
            case ClientError::BadFrame:
                return "server sent a frame the codec rejects";
            case ClientError::BadWebSocket:
                return "server violated the WebSocket protocol";
            case ClientError::BadEnvelope:
                return "server sent a text message that is no envelope";
            case ClientError::UpgradeRejected:
                return "WebSocket upgrade rejected";
            case ClientError::ClosedByServer:
                return "server closed the WebSocket";
            case ClientError::NotConnected:
                return "not connected";
        }
        return "unknown client error";
    }
};

}  // namespace

std::error_code make_error(ClientError e) {
    static const ClientErrorCategory category;
    return {static_cast<int>(e), category};
}

}  // namespace lp::client
