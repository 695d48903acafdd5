#include "host/notifier_hub.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <blynk/plugin.hpp>

#include "host/table_field.hpp"
#include "host/worker_pool.hpp"

namespace blynk::host {

using core::NotifyChannel;
using core::NotifyOutcome;
using core::NotifyRequest;

namespace {

blynk_str sv(const std::string& s) {
    return blynk_str{s.data(), s.size()};
}

std::string message_of(const blynk_error& err, const char* fallback) {
    std::string m(err.message, strnlen(err.message, sizeof err.message));
    return m.empty() ? fallback : m;
}

}  // namespace

NotifierHub::NotifierHub() = default;
NotifierHub::~NotifierHub() {
    stop();
}

void NotifierHub::add(const std::string& plugin, void* self, const blynk_notifier_v1* table) {
    const bool offers[core::kNotifyChannels] = {
        field_or_null(table, &blynk_notifier_v1::send_mail) != nullptr,
        field_or_null(table, &blynk_notifier_v1::send_sms) != nullptr,
        field_or_null(table, &blynk_notifier_v1::send_push) != nullptr,
    };
    for (size_t i = 0; i < core::kNotifyChannels; ++i)
        if (offers[i] && channels_[i].table)
            throw std::runtime_error("plugins '" + channels_[i].plugin + "' and '" + plugin + "' both send " +
                                     core::channel_name(NotifyChannel(i)) + "; enable only one");
    for (size_t i = 0; i < core::kNotifyChannels; ++i)
        if (offers[i]) channels_[i] = Channel{plugin, self, table};
}

void NotifierHub::start(const NotifierPoolSettings& s, std::function<bool(std::function<void()>)> post) {
    if (pool_) return;
    post_ = std::move(post);
    size_t threads = std::max<size_t>(s.threads, 1);
    pool_ = std::make_unique<WorkerPool>("notify", threads, std::max<size_t>(s.queue / threads, 1),
                                         WorkQueue::Priority::Normal);
}

void NotifierHub::stop() {
    if (pool_) pool_->stop();
}

uint64_t NotifierHub::waiting() const {
    return pool_ ? pool_->waiting() : 0;
}

NotifyOutcome NotifierHub::send_now(const NotifyRequest& r, std::string& error, std::vector<std::string>* invalid) {
    const Channel& ch = channels_[size_t(r.channel)];
    if (!ch.table) {
        error = std::string("no enabled plugin sends ") + core::channel_name(r.channel);
        return NotifyOutcome::NoProvider;
    }
    blynk_error err{};
    int rc = BLYNK_ERROR;
    try {
        switch (r.channel) {
            case NotifyChannel::Mail: {
                blynk_mail m{};
                m.size = sizeof m;
                m.to = sv(r.to);
                m.subject = sv(r.subject);
                m.body = sv(r.body);
                m.content_type = sv(r.content_type);
                rc = ch.table->send_mail(ch.self, &m, &err);
                break;
            }
            case NotifyChannel::Sms: {
                blynk_sms m{};
                m.size = sizeof m;
                m.to = sv(r.to);
                m.body = sv(r.body);
                rc = ch.table->send_sms(ch.self, &m, &err);
                break;
            }
            case NotifyChannel::Push: {
                std::vector<blynk_push_target> targets;
                for (auto& t : r.targets)
                    targets.push_back({sv(t.token), t.ios ? uint32_t(BLYNK_PUSH_IOS) : uint32_t(BLYNK_PUSH_ANDROID)});
                std::vector<uint8_t> gone(targets.size(), 0);
                blynk_push m{};
                m.size = sizeof m;
                m.targets = targets.data();
                m.target_count = targets.size();
                m.title = sv(r.subject);
                m.body = sv(r.body);
                m.priority = r.high_priority ? BLYNK_PUSH_HIGH : BLYNK_PUSH_NORMAL;
                rc = ch.table->send_push(ch.self, &m, gone.data(), &err);
                if (invalid)
                    for (size_t i = 0; i < gone.size(); ++i)
                        if (gone[i]) invalid->push_back(r.targets[i].uid);
                break;
            }
        }
    } catch (const std::exception& e) {
        // A plugin must not throw through the C ABI; one that does fails the send, not the server.
        rc = BLYNK_ERROR;
        std::snprintf(err.message, sizeof err.message, "the plugin threw: %s", e.what());
    }
    if (rc == BLYNK_OK) return NotifyOutcome::Sent;
    error = message_of(err, "the plugin gave no reason");
    return NotifyOutcome::Failed;
}

void NotifierHub::report_failure(NotifyChannel c, const std::string& error) {
    counts_[size_t(c)].failed.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(log_mutex_);
    uint64_t held = 0;
    if (errors_[size_t(c)].admit(error, held))
        spdlog::error("notify: {} via plugin {} failed: {}{}", core::channel_name(c), channels_[size_t(c)].plugin,
                      error, held ? " (" + std::to_string(held) + " more like it not logged)" : std::string());
}

void NotifierHub::report_success(NotifyChannel c) {
    counts_[size_t(c)].sent.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(log_mutex_);
    if (!errors_[size_t(c)].active) return;
    uint64_t held = errors_[size_t(c)].reset();
    spdlog::info("notify: {} sends again{}", core::channel_name(c),
                 held ? " (" + std::to_string(held) + " failures since the last line)" : std::string());
}

void NotifierHub::send(NotifyRequest request, Done done) {
    NotifyChannel c = request.channel;
    auto answer = [this, done](NotifyOutcome o) {
        // Never inside send(): the caller's state must be consistent first.
        if (!post_ || !post_([done, o] { done(o); })) done(o);
    };
    if (!channels_[size_t(c)].table) {
        counts_[size_t(c)].no_provider.fetch_add(1, std::memory_order_relaxed);
        if (!warned_no_provider_[size_t(c)]) {
            warned_no_provider_[size_t(c)] = true;
            spdlog::warn(
                "notify: a device asked to send {}, but no enabled plugin sends it (see "
                "docs/operator-guide.md, \"Notifications\"); such requests fail",
                core::channel_name(c));
        }
        return answer(NotifyOutcome::NoProvider);
    }
    if (!pool_) {
        counts_[size_t(c)].busy.fetch_add(1, std::memory_order_relaxed);
        return answer(NotifyOutcome::Busy);
    }
    auto req = std::make_shared<NotifyRequest>(std::move(request));
    bool queued = pool_->post([this, req, done] {
        std::string error;
        std::vector<std::string> invalid;
        NotifyOutcome o = send_now(*req, error, &invalid);
        if (o == NotifyOutcome::Sent)
            report_success(req->channel);
        else
            report_failure(req->channel, error);
        post_([this, req, done, o, invalid = std::move(invalid)] {
            if (!invalid.empty() && invalid_tokens_) invalid_tokens_(*req, invalid);
            done(o);
        });
    });
    if (!queued) {
        counts_[size_t(c)].busy.fetch_add(1, std::memory_order_relaxed);
        std::lock_guard<std::mutex> lock(log_mutex_);
        uint64_t held = 0;
        if (errors_[size_t(c)].admit("the send queue is full", held))
            spdlog::warn("notify: {} queue full: the provider is slower than requests come; refusing sends{}",
                         core::channel_name(c), held ? " (" + std::to_string(held) + " more)" : std::string());
        answer(NotifyOutcome::Busy);
    }
}

}  // namespace blynk::host
