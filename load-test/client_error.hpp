// load-test/client_error: the errors of the blocking client (client.hpp) that are not the
// operating system's: codes in their own std::error_category ("livepush.client"), so a caller
// compares Connection::last_error() with them like any system error. Codes and messages only.
#pragma once

#include <system_error>

namespace lp::client {

// Why a connection failed or closed, when it was not the operating system's doing.
enum class ClientError {
    BadFrame = 1,     // a frame the codec rejected
    BadWebSocket,     // a WebSocket protocol violation by the server
    BadEnvelope,      // a text message that is not a valid envelope
    UpgradeRejected,  // the server refused or botched the WebSocket upgrade
    ClosedByServer,   // the server sent a WebSocket close frame
    NotConnected,     // a call that needs an open connection made without one
};

std::error_code make_error(ClientError e);

}  // namespace lp::client
