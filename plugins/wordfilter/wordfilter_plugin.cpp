// plugins/wordfilter: see wordfilter_plugin.hpp.
#include "plugins/wordfilter/wordfilter_plugin.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "plugins/wordfilter/word_list.hpp"

namespace lp::plugins {

namespace {

using wordfilter::Limits;
using wordfilter::WordList;

struct FileStamp {
    bool exists = false;
    std::int64_t mtime_ns = 0;
    std::int64_t size = 0;
    bool operator==(const FileStamp&) const = default;
};

FileStamp stamp_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return {};
    return {true, static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
            static_cast<std::int64_t>(st.st_size)};
}

class WordFilterPlugin final : public sdk::Plugin {
public:
    ~WordFilterPlugin() override { stop(); }
    std::string name() const override { return "wordfilter"; }
    sdk::RoomHooks room_hooks() const override { return {false, true}; }

    void start(sdk::Context& ctx) override {
        ctx_ = &ctx;
        path_ = ctx.config_value("file", "");
        limits_.max_bytes = static_cast<std::size_t>(ctx.config_int("max_bytes", 1 << 20));
        limits_.max_words = static_cast<std::size_t>(ctx.config_int("max_words", 10000));
        limits_.max_word_bytes = static_cast<std::size_t>(ctx.config_int("max_word_bytes", 64));
        const auto reload_ms = std::max<std::int64_t>(10, ctx.config_int("reload_ms", 1000));
        if (path_.empty()) {
            ctx.log->warn("plugins.wordfilter.file is not set: no word is masked");
            return;
        }
        reload_if_changed();
        watcher_ = std::thread([this, every = std::chrono::milliseconds(reload_ms)] {
            std::unique_lock lock(stop_mu_);
            while (!stopping_) {
                stop_cv_.wait_for(lock, every, [this] { return stopping_; });
                if (stopping_) break;
                lock.unlock();
                reload_if_changed();
                lock.lock();
            }
        });
    }

    void stop() override {
        {
            std::lock_guard lock(stop_mu_);
            stopping_ = true;
        }
        stop_cv_.notify_all();
        if (watcher_.joinable()) watcher_.join();
    }

    sdk::ChatVerdict filter_chat(const sdk::ChatToFilter& chat) override {
        std::shared_ptr<const WordList> list;
        {
            std::lock_guard lock(list_mu_);
            list = list_;
        }
        if (!list) return sdk::ChatVerdict::allow();
        auto masked = list->mask(chat.text);
        if (!masked) return sdk::ChatVerdict::allow();
        ctx_->metrics->count("masked");
        return sdk::ChatVerdict::rewrite(std::move(*masked));
    }

private:
    void reload_if_changed() {
        const FileStamp now = stamp_of(path_);
        if (now == seen_) return;
        seen_ = now;
        if (!now.exists) {
            ctx_->log->warn("word list " + path_ + " is gone; keeping the last one");
            return;
        }
        if (static_cast<std::size_t>(now.size) > limits_.max_bytes) {
            fail("is " + std::to_string(now.size) +
                 " bytes, over max_bytes = " + std::to_string(limits_.max_bytes));
            return;
        }
        std::ifstream in(path_, std::ios::binary);
        std::string text;
        text.resize(limits_.max_bytes + 1);
        in.read(text.data(), static_cast<std::streamsize>(text.size()));
        if (in.bad()) {
            fail("cannot be read");
            return;
        }
        text.resize(static_cast<std::size_t>(in.gcount()));
        std::string error;
        auto list = WordList::parse(text, limits_, error);
        if (!list) {
            fail(error);
            return;
        }
        ctx_->log->info("word list " + path_ + ": " + std::to_string(list->size()) + " words" +
                        (list->skipped() ? ", " + std::to_string(list->skipped()) +
                                               " lines skipped (not UTF-8 or too long)"
                                         : std::string()));
        {
            std::lock_guard lock(list_mu_);
            list_ = std::make_shared<const WordList>(std::move(*list));
        }
        ctx_->metrics->count("reloads");
    }

    void fail(const std::string& why) {
        ctx_->log->error("word list " + path_ + " " + why + "; keeping the last one");
        ctx_->metrics->count("reload_failed");
    }

    sdk::Context* ctx_ = nullptr;
    std::string path_;
    Limits limits_;
    FileStamp seen_;  // the watcher's only

    std::mutex list_mu_;
    std::shared_ptr<const WordList> list_;

    std::mutex stop_mu_;
    std::condition_variable stop_cv_;
    bool stopping_ = false;
    std::thread watcher_;
};

}  // namespace

std::unique_ptr<sdk::Plugin> make_wordfilter_plugin() {
    return std::make_unique<WordFilterPlugin>();
}

}  // namespace lp::plugins
