// codec/body_json: the text envelope v1.1 mapping of a body to JSON and back.
//
// Bodies follow the standard protobuf JSON mapping (lowerCamelCase names, 64-bit integers as
// decimal strings), with fields at their default values left out, except for the three bytes
// fields that carry UTF-8 JSON: BizReq.data, Result.data and Push.payload. In JSON those travel
// as the JSON value itself, so a browser neither base64-encodes what it sends nor decodes what
// it gets. The rule (docs/protocol.md, "Text envelope v1.1"), the same both ways:
//   - "data" / "payload" holding an object, array, number or bool: that JSON value;
//   - null or absent: no bytes (as for every field in the protobuf mapping);
//   - "data" / "payload" holding a string: base64 of the bytes (the v1.0 form, kept on input
//     so existing clients work; never written by the server);
//   - "dataB64" / "payloadB64": base64 of the bytes, written when they are not a JSON value,
//     or are a JSON string or null (so neither a string nor null in "data" is ambiguous).
// The output splices the bytes verbatim (no re-formatting) after checking that they parse as
// JSON within the depth our own envelope parser allows. The printed text is built once per
// message: room fan-out shares it across every receiver of a batch.
#include <google/protobuf/util/json_util.h>
#include <openssl/evp.h>

#include <boost/json.hpp>
#include <memory>

#include "codec/envelope.hpp"
#include "codec/json_numbers.hpp"
#include "livepush.pb.h"

namespace lp::codec {
namespace {

namespace pb = livepush::v1;

// Deep enough for any business payload, and 3 levels under Boost.JSON's default limit (32) so
// the whole envelope {"body":{"payload":...}} still parses in a client using the default.
constexpr std::size_t kMaxPayloadDepth = 29;

struct JsonBytesField {
    const google::protobuf::FieldDescriptor* field = nullptr;
    std::string_view name;      // "data" or "payload": the same in proto and JSON names
    std::string_view b64_name;  // "dataB64" or "payloadB64"
};

// The UTF-8 JSON bytes field of `d`, if it has one.
JsonBytesField json_bytes_field(const google::protobuf::Descriptor* d) {
    if (d == pb::BizReq::descriptor())
        return {d->FindFieldByNumber(pb::BizReq::kDataFieldNumber), "data", "dataB64"};
    if (d == pb::Result::descriptor())
        return {d->FindFieldByNumber(pb::Result::kDataFieldNumber), "data", "dataB64"};
    if (d == pb::Push::descriptor())
        return {d->FindFieldByNumber(pb::Push::kPayloadFieldNumber), "payload", "payloadB64"};
    return {};
}

std::string print_proto_json(const google::protobuf::Message& msg) {
    google::protobuf::util::JsonPrintOptions options;
    options.always_print_primitive_fields = false;  // v1.1: defaults are left out
    std::string out;
    if (!google::protobuf::util::MessageToJsonString(msg, &out, options).ok()) {
        // Not expected for generated messages (protobuf drops invalid UTF-8 in a string field
        // with a log line rather than failing); an empty object keeps the output well-formed.
        return "{}";
    }
    return out;
}

// True when `bytes` is one JSON value other than a string or null, which a client reading the whole
// envelope with default limits parses back (finite numbers, bounded depth, valid UTF-8).
bool is_spliceable_json(std::string_view bytes) {
    unsigned char scratch[2048];
    boost::json::monotonic_resource arena(scratch, sizeof scratch);
    boost::json::parse_options opts;
    opts.max_depth = kMaxPayloadDepth;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(bytes, ec, &arena, opts);
    return !ec && !v.is_string() && !v.is_null() && finite_numbers(v);
}

std::string base64(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()),
                                  static_cast<int>(bytes.size()));
    out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return out;
}

bool parse_proto_json(std::string_view json, google::protobuf::Message& out) {
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;  // newer clients may send fields we do not know yet
    return google::protobuf::util::JsonStringToMessage(
               google::protobuf::StringPiece(json.data(), json.size()), &out, options)
        .ok();
}

}  // namespace

std::string to_json(const google::protobuf::Message& msg) {
    const JsonBytesField f = json_bytes_field(msg.GetDescriptor());
    if (!f.field) return print_proto_json(msg);
    std::string scratch;
    const std::string& bytes = msg.GetReflection()->GetStringReference(msg, f.field, &scratch);
    if (bytes.empty()) return print_proto_json(msg);

    // The other fields through the protobuf printer, then the bytes field appended by hand.
    std::unique_ptr<google::protobuf::Message> rest(msg.New());
    rest->CopyFrom(msg);
    rest->GetReflection()->ClearField(rest.get(), f.field);
    std::string out = print_proto_json(*rest);
    out.pop_back();  // the closing '}'
    if (out.size() > 1) out.push_back(',');
    out.push_back('"');
    if (is_spliceable_json(bytes)) {
        out.append(f.name);
        out.append("\":");
        out.append(bytes);
    } else {
        out.append(f.b64_name);
        out.append("\":\"");
        out.append(base64(bytes));
        out.push_back('"');
    }
    out.push_back('}');
    return out;
}

bool parse_json_body(std::string_view body, google::protobuf::Message& out) {
    out.Clear();
    if (body.empty()) return true;  // same meaning as an empty binary body: no fields
    const JsonBytesField f = json_bytes_field(out.GetDescriptor());
    if (!f.field) return parse_proto_json(body, out);

    boost::system::error_code ec;
    boost::json::value doc = boost::json::parse(body, ec);
    if (ec || !doc.is_object() || !finite_numbers(doc)) return false;
    boost::json::object& obj = doc.as_object();
    boost::json::value* value = obj.if_contains(f.name);
    boost::json::value* b64 = obj.if_contains(f.b64_name);
    if (value && b64) return false;  // two values for one field: refuse rather than pick
    if (b64) {
        if (!b64->is_string()) return false;
        // Base64 under the v1.0 name: protobuf's own decoder reads it, as it always has.
        // Taken out first: inserting into the object may move its elements (and *b64).
        boost::json::value text = std::move(*b64);
        obj.erase(f.b64_name);
        obj[f.name] = std::move(text);
        return parse_proto_json(boost::json::serialize(obj), out);
    }
    if (!value || value->is_string() || value->is_null()) return parse_proto_json(body, out);

    std::string bytes = plain_json(*value);
    obj.erase(f.name);
    if (!parse_proto_json(boost::json::serialize(obj), out)) return false;
    out.GetReflection()->SetString(&out, f.field, std::move(bytes));
    return true;
}

}  // namespace lp::codec
