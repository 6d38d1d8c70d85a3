// push/push_metrics: see push_metrics.hpp.
#include "push/push_metrics.hpp"

#include <string>

#include "codec/prometheus_text.hpp"
#include "push/push_service.hpp"

namespace lp::push {

void write_metrics(codec::PromText& m, const PushStats& s) {
    const char* qos[] = {"0", "1"};
    for (int q = 0; q < 2; ++q)
        for (int k = 0; k < 4; ++k)
            m.counter("livepush_pushes_total", "pushes accepted by qos and target",
                      s.accepted[q][k].load(),
                      std::string("qos=\"") + qos[q] + "\",target=\"" +
                          PushService::target_name(static_cast<Target>(k)) + "\"");
    m.counter("livepush_pushes_rejected_total", "pushes refused by the service", s.rejected.load());
    m.counter("livepush_pushes_unavailable_total", "pushes answered 503 (Redis needed and down)",
              s.unavailable.load());
}

}  // namespace lp::push
