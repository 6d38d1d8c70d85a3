// tests/integration/http_client: see http_client.hpp.
#include "http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <sstream>

namespace lp::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

boost::json::value HttpResponse::json() const {
    return boost::json::parse(body);
}

struct HttpClient::Impl {
    asio::io_context io;
    beast::tcp_stream stream{io};
    beast::flat_buffer buffer;
    std::uint16_t port;
    std::string key;
    bool connected = false;

    void connect() {
        stream.close();
        buffer.clear();
        stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
        connected = true;
    }
};

HttpClient::HttpClient(std::uint16_t port, std::string key) : impl_(std::make_unique<Impl>()) {
    impl_->port = port;
    impl_->key = std::move(key);
}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::get(const std::string& target) {
    return request("GET", target, "", "");
}

HttpResponse HttpClient::post(const std::string& target, const std::string& body,
                              const std::string& content_type) {
    return request("POST", target, body, content_type);
}

HttpResponse HttpClient::request(const std::string& method, const std::string& target,
                                 const std::string& body, const std::string& content_type,
                                 bool with_key) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        try {
            if (!impl_->connected) impl_->connect();
            http::request<http::string_body> req{http::string_to_verb(method), target, 11};
            req.set(http::field::host, "127.0.0.1");
            if (with_key && !impl_->key.empty())
                req.set(http::field::authorization, "Bearer " + impl_->key);
            if (!content_type.empty()) req.set(http::field::content_type, content_type);
            req.body() = body;
            req.prepare_payload();
            impl_->stream.expires_after(std::chrono::seconds(10));
            http::write(impl_->stream, req);
            http::response_parser<http::string_body> parser;
            parser.body_limit(64 * 1024 * 1024);
            http::read(impl_->stream, impl_->buffer, parser);
            auto res = parser.release();
            HttpResponse out;
            out.status = static_cast<int>(res.result_int());
            out.body = res.body();
            out.content_type = std::string(res[http::field::content_type]);
            if (!res.keep_alive()) impl_->connected = false;
            return out;
        } catch (const std::exception&) {
            impl_->connected = false;  // the server closed a kept-alive connection: retry once
            if (attempt == 1) throw;
        }
    }
    return {};
}

double metric_value(const std::string& text, const std::string& name_and_labels) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(name_and_labels + " ", 0) == 0)
            return std::stod(line.substr(name_and_labels.size() + 1));
    }
    return -1;
}

}  // namespace lp::testing
