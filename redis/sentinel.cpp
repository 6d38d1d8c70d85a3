// redis/sentinel: see sentinel.hpp.
#include "redis/sentinel.hpp"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <chrono>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "redis/timeval.hpp"

namespace lp::redis {

namespace {

// "flags" of one entry of SENTINEL replicas (a flat name/value array).
std::string field_of(const Reply& entry, std::string_view name) {
    if (entry.type != Reply::Type::Array) return {};
    for (std::size_t i = 0; i + 1 < entry.elements.size(); i += 2) {
        if (entry.elements[i].str == name) return entry.elements[i + 1].str;
    }
    return {};
}

// A replica the sentinels consider usable: not down, not disconnected, its link up.
bool healthy_replica(const Reply& entry) {
    const std::string flags = field_of(entry, "flags");
    return flags.find("s_down") == std::string::npos && flags.find("o_down") == std::string::npos &&
           flags.find("disconnected") == std::string::npos &&
           field_of(entry, "master-link-status") != "err";
}

}  // namespace

bool ask_sentinels(const Client::Options& opt, std::size_t& next, SentinelAnswer& out,
                   std::string& why) {
    std::string errors;
    const std::size_t n = opt.sentinels.size();
    for (std::size_t k = 0; k < n; ++k) {
        const std::size_t i = (next + k) % n;
        const auto& [shost, sport] = opt.sentinels[i];
        const std::string where = shost + ":" + std::to_string(sport);
        redisContext* c =
            redisConnectWithTimeout(shost.c_str(), sport, to_timeval(opt.connect_timeout));
        if (!c || c->err) {
            errors += "; sentinel " + where + ": " + (c ? c->errstr : "out of memory");
            if (c) redisFree(c);
            continue;
        }
        redisSetTimeout(c, to_timeval(opt.command_timeout));
        std::vector<std::vector<std::string>> cmds;
        if (!opt.sentinel_password.empty()) cmds.push_back({"AUTH", opt.sentinel_password});
        cmds.push_back({"SENTINEL", "get-master-addr-by-name", opt.master_name});
        cmds.push_back({"SENTINEL", "replicas", opt.master_name});
        bool sent = true;
        for (const auto& cmd : cmds) {
            std::vector<const char*> argv;
            std::vector<std::size_t> lens;
            for (const auto& a : cmd) {
                argv.push_back(a.data());
                lens.push_back(a.size());
            }
            sent = sent && redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(),
                                                  lens.data()) == REDIS_OK;
        }
        std::vector<Reply> replies;
        for (std::size_t r = 0; sent && r < cmds.size(); ++r) {
            void* raw = nullptr;
            if (redisGetReply(c, &raw) != REDIS_OK || !raw) {
                sent = false;
                break;
            }
            replies.push_back(Reply::from_hiredis(*static_cast<redisReply*>(raw)));
            freeReplyObject(raw);
        }
        if (!sent) {
            errors += "; sentinel " + where + ": " + (c->errstr[0] ? c->errstr : "no reply");
            redisFree(c);
            continue;
        }
        redisFree(c);
        const Reply& addr = replies[replies.size() - 2];
        const Reply& replicas = replies.back();
        if (replies.size() == 3 && replies[0].is_error()) {
            errors += "; sentinel " + where + ": AUTH failed: " + replies[0].str;
            continue;
        }
        if (addr.type != Reply::Type::Array || addr.elements.size() != 2) {
            errors += "; sentinel " + where + ": no master named " + opt.master_name +
                      (addr.is_error() ? " (" + addr.str + ")" : "");
            continue;
        }
        const long p = std::strtol(addr.elements[1].str.c_str(), nullptr, 10);
        if (p <= 0 || p > 65535) {
            errors += "; sentinel " + where + ": bad port " + addr.elements[1].str;
            continue;
        }
        std::int64_t healthy = 0;
        if (replicas.type == Reply::Type::Array) {
            for (const auto& e : replicas.elements) healthy += healthy_replica(e) ? 1 : 0;
        } else {
            healthy = -1;
        }
        out.healthy_replicas = healthy;
        next = i;
        out.host = addr.elements[0].str;
        out.port = static_cast<std::uint16_t>(p);
        return true;
    }
    why = "no sentinel named a master for " + opt.master_name + errors;
    return false;
}

}  // namespace lp::redis
