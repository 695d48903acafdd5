// host::NotifierHub against fake notifier tables: one plugin per channel
// (a second is refused naming both), sends on the pool with the answer
// posted back, a provider's error as Failed, a full queue as Busy at once.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>

#include "host/notifier_hub.hpp"

using namespace blynk;
using core::NotifyChannel;
using core::NotifyOutcome;

namespace {

// What the fake plugin does with a mail: "ok", "fail", or block until released.
struct FakeProvider {
    std::mutex mu;
    std::condition_variable cv;
    bool block = false;
    bool fail = false;
    int entered = 0;  // sends that reached the provider
    int sent = 0;
    std::string last_to;
};

int fake_send_mail(void* self, const blynk_mail* m, blynk_error* err) {
    auto* p = static_cast<FakeProvider*>(self);
    std::unique_lock<std::mutex> lock(p->mu);
    ++p->entered;
    p->cv.notify_all();
    p->cv.wait_for(lock, std::chrono::seconds(5), [p] { return !p->block; });
    if (p->fail) {
        std::snprintf(err->message, sizeof err->message, "550 no such mailbox");
        return BLYNK_ERROR;
    }
    ++p->sent;
    p->last_to.assign(m->to.data, m->to.size);
    return BLYNK_OK;
}

// The loop thread, as far as the hub sees it: posted functions run on take().
struct FakeLoop {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<void()>> q;
    bool post(std::function<void()> fn) {
        std::lock_guard<std::mutex> lock(mu);
        q.push_back(std::move(fn));
        cv.notify_all();
        return true;
    }
    // Runs the next posted function; false if none came within 5 s.
    bool run_one() {
        std::function<void()> fn;
        {
            std::unique_lock<std::mutex> lock(mu);
            if (!cv.wait_for(lock, std::chrono::seconds(5), [this] { return !q.empty(); })) return false;
            fn = std::move(q.front());
            q.pop_front();
        }
        fn();
        return true;
    }
};

core::NotifyRequest mail(const std::string& to) {
    core::NotifyRequest r;
    r.channel = NotifyChannel::Mail;
    r.to = to;
    r.subject = "s";
    r.body = "b";
    return r;
}

blynk_notifier_v1 mail_table() {
    blynk_notifier_v1 t{};
    t.size = sizeof t;
    t.send_mail = fake_send_mail;
    return t;
}

TEST(NotifierHub, ASecondPluginForTheSameChannelIsRefusedNamingBoth) {
    host::NotifierHub hub;
    FakeProvider a, b;
    blynk_notifier_v1 t = mail_table();
    hub.add("mail-work", &a, &t);
    try {
        hub.add("mail-home", &b, &t);
        FAIL() << "no error";
    } catch (const std::exception& e) {
        EXPECT_NE(std::strstr(e.what(), "mail-work"), nullptr) << e.what();
        EXPECT_NE(std::strstr(e.what(), "mail-home"), nullptr) << e.what();
    }
    EXPECT_TRUE(hub.serves(NotifyChannel::Mail));
    EXPECT_FALSE(hub.serves(NotifyChannel::Push));
    EXPECT_EQ(hub.plugin_of(NotifyChannel::Mail), "mail-work");
}

TEST(NotifierHub, SendsOnThePoolAndAnswersOnTheLoop) {
    host::NotifierHub hub;
    FakeProvider p;
    blynk_notifier_v1 t = mail_table();
    hub.add("mail", &p, &t);
    FakeLoop loop;
    hub.start({1, 4}, [&](std::function<void()> fn) { return loop.post(std::move(fn)); });
    std::vector<NotifyOutcome> got;
    hub.send(mail("a@b.cd"), [&](NotifyOutcome o) { got.push_back(o); });
    EXPECT_TRUE(got.empty()) << "never answered inside send()";
    ASSERT_TRUE(loop.run_one());
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], NotifyOutcome::Sent);
    EXPECT_EQ(p.last_to, "a@b.cd");
    p.fail = true;
    hub.send(mail("a@b.cd"), [&](NotifyOutcome o) { got.push_back(o); });
    ASSERT_TRUE(loop.run_one());
    EXPECT_EQ(got.back(), NotifyOutcome::Failed);
    EXPECT_EQ(hub.counts(NotifyChannel::Mail).sent.load(), 1u);
    EXPECT_EQ(hub.counts(NotifyChannel::Mail).failed.load(), 1u);
    hub.stop();
}

TEST(NotifierHub, AFullQueueIsBusyAtOnceWhileTheProviderHangs) {
    host::NotifierHub hub;
    FakeProvider p;
    p.block = true;
    blynk_notifier_v1 t = mail_table();
    hub.add("mail", &p, &t);
    FakeLoop loop;
    hub.start({1, 1}, [&](std::function<void()> fn) { return loop.post(std::move(fn)); });
    std::vector<NotifyOutcome> got;
    auto record = [&](NotifyOutcome o) { got.push_back(o); };
    hub.send(mail("1@b.cd"), record);  // runs, blocks in the provider
    {
        std::unique_lock<std::mutex> lock(p.mu);
        ASSERT_TRUE(p.cv.wait_for(lock, std::chrono::seconds(5), [&] { return p.entered == 1; }));
    }
    EXPECT_EQ(hub.waiting(), 0u) << "the running send is not waiting";
    hub.send(mail("2@b.cd"), record);  // the one waiting place
    EXPECT_EQ(hub.counts(NotifyChannel::Mail).busy.load(), 0u);
    EXPECT_EQ(hub.waiting(), 1u);
    hub.send(mail("3@b.cd"), record);  // no room
    EXPECT_EQ(hub.counts(NotifyChannel::Mail).busy.load(), 1u);
    EXPECT_EQ(hub.waiting(), 1u) << "a refused send never waited";
    ASSERT_TRUE(loop.run_one());  // the Busy answer, posted at once
    EXPECT_EQ(got.back(), NotifyOutcome::Busy);
    {
        std::lock_guard<std::mutex> lock(p.mu);
        p.block = false;
    }
    p.cv.notify_all();
    hub.stop();
    EXPECT_EQ(hub.waiting(), 0u) << "stop() ran what waited";
    EXPECT_EQ(hub.counts(NotifyChannel::Mail).sent.load(), 2u);
}

TEST(NotifierHub, BeforeStartASendIsBusyAndCounted) {
    host::NotifierHub hub;
    FakeProvider p;
    blynk_notifier_v1 t = mail_table();
    hub.add("mail", &p, &t);
    NotifyOutcome got = NotifyOutcome::Sent;
    hub.send(mail("a@b.cd"), [&](NotifyOutcome o) { got = o; });  // no loop to post to: answered inline
    EXPECT_EQ(got, NotifyOutcome::Busy);
    EXPECT_EQ(hub.counts(NotifyChannel::Mail).busy.load(), 1u);
    EXPECT_EQ(p.entered, 0);
}

TEST(NotifierHub, AChannelWithoutAPluginIsNoProvider) {
    host::NotifierHub hub;
    FakeLoop loop;
    hub.start({1, 1}, [&](std::function<void()> fn) { return loop.post(std::move(fn)); });
    NotifyOutcome got = NotifyOutcome::Sent;
    core::NotifyRequest r = mail("a@b.cd");
    r.channel = NotifyChannel::Sms;
    hub.send(r, [&](NotifyOutcome o) { got = o; });
    ASSERT_TRUE(loop.run_one());
    EXPECT_EQ(got, NotifyOutcome::NoProvider);
    EXPECT_EQ(hub.counts(NotifyChannel::Sms).no_provider.load(), 1u);
    hub.stop();
}

}  // namespace
