// push/push_metrics: the push service's Prometheus families — pushes accepted by qos and
// target, refused, and answered 503 because Redis was needed and down.
//
// It owns the names, HELP texts and labels of those families; it reads PushStats and must never
// count anything itself. The HTTP API's own request families are the API's (http_api).
#pragma once

namespace lp::codec {
class PromText;
}

namespace lp::push {

struct PushStats;

void write_metrics(codec::PromText& m, const PushStats& s);

}  // namespace lp::push
