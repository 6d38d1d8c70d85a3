// tests/integration/http_client: a small blocking HTTP/1.1 client (Boost.Beast) for talking to
// livepushd's API in tests. One connection, kept alive across calls.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <memory>
#include <string>

namespace lp::testing {

struct HttpResponse {
    int status = 0;
    std::string body;
    std::string content_type;
    boost::json::value json() const;  // parses body (throws on bad JSON)
};

class HttpClient {
public:
    explicit HttpClient(std::uint16_t port, std::string key = {});
    ~HttpClient();
    HttpResponse get(const std::string& target);
    HttpResponse post(const std::string& target, const std::string& body,
                      const std::string& content_type = "application/json");
    HttpResponse request(const std::string& method, const std::string& target,
                         const std::string& body, const std::string& content_type,
                         bool with_key = true);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The value of a metric line `name{labels} value` (labels exactly as printed, or empty), or -1.
double metric_value(const std::string& metrics_text, const std::string& name_and_labels);

}  // namespace lp::testing
