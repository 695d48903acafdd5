#include "host/pin_write_behind.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iterator>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "host/repeated_error.hpp"
#include "host/storage_client.hpp"
#include "host/work_queue.hpp"
#include "platform/platform.hpp"

namespace blynk::host {

namespace {
// A big batch leaves freed memory in the storage thread's heap arena; it is
// given back (malloc_trim) at most this often, not after every big batch.
constexpr int64_t kTrimIntervalMs = 30000;

// The stored row of one of d's pins or properties (`key` as core::key_type/key_pin read it).
blynk::Pin pin_row(const core::Device& d, uint16_t key, std::string value, int64_t updated_at_ms) {
    blynk::Pin rec;
    rec.email = d.user->email;
    rec.dash_id = d.dash_id;
    rec.device_id = d.id;
    rec.pin_type = core::key_type(key);
    rec.pin = core::key_pin(key);
    rec.value = std::move(value);
    rec.updated_at_ms = updated_at_ms;
    return rec;
}
}  // namespace

// What storage has not taken yet. The vectors belong to the storage thread;
// `pending` tells the loop to retry even when nothing new was written.
struct WriteBehindBacklog {
    std::vector<blynk::Pin> pins;
    std::vector<blynk::Device> states;
    std::atomic<bool> pending{false};
    std::atomic<bool> retry_queued{false};
    // Failure logging (storage thread).
    RepeatedError errors;
    bool final_logged = false;
    // Heap trimming after big batches (storage thread).
    bool trim_owed = false;
    int64_t trimmed_ms = 0;
};

// A flush being copied from the model, a slice per loop turn.
struct WriteBehindBatch {
    std::vector<core::Device*> devices;  // devices stay allocated while the model may point at them
    size_t next = 0;                     // the first not copied yet
    bool final_flush = false;
    std::shared_ptr<std::vector<blynk::Pin>> pins = std::make_shared<std::vector<blynk::Pin>>();
    std::shared_ptr<std::vector<blynk::Device>> states = std::make_shared<std::vector<blynk::Device>>();
};

namespace {

// Keeps only the latest entry per key (entries are oldest first): a backlog
// holds at most one value per (device, pin, property), however long the
// outage, so nothing is dropped to bound it.
template <class T, class KeyFn>
void keep_latest(std::vector<T>& v, KeyFn key) {
    if (v.size() < 2) return;
    std::unordered_map<std::string, size_t> last;
    std::vector<std::string> keys;
    keys.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
        keys.push_back(key(v[i]));
        last[keys.back()] = i;
    }
    if (last.size() == v.size()) return;
    std::vector<T> out;
    out.reserve(last.size());
    for (size_t i = 0; i < v.size(); ++i)
        if (last[keys[i]] == i) out.push_back(std::move(v[i]));
    v = std::move(out);
}

std::string device_key(const std::string& email, int32_t dash_id, int32_t device_id) {
    std::string k = email;
    k += '\0';
    k += std::to_string(dash_id);
    k += '\0';
    k += std::to_string(device_id);
    return k;
}

std::string backlog_pin_key(const blynk::Pin& p) {
    std::string k = device_key(p.email, p.dash_id, p.device_id);
    k += '\0';
    k += p.pin_type;
    k += std::to_string(p.pin);
    k += '\0';
    k += p.property;
    return k;
}

// Logs a failed store unless the same error was logged less than a minute ago.
void log_store_failure(WriteBehindBacklog& b, const std::string& error, size_t pins, size_t states, int64_t interval_ms,
                       bool final_flush) {
    if (final_flush) {
        if (b.final_logged) return;
        b.final_logged = true;
        spdlog::error("storage: {} pin values and the state of {} devices could not be stored before shutdown: {}",
                      pins, states, error);
        return;
    }
    uint64_t held = 0;
    if (!b.errors.admit(error, held)) return;
    spdlog::error(
        "storage: {} pin values and the state of {} devices not stored yet: {}; kept in memory, retrying "
        "every {} ms{}",
        pins, states, error, interval_ms,
        held ? " (failed " + std::to_string(held) + " more times since the last report)" : "");
}

}  // namespace

PinWriteBehind::PinWriteBehind(const StorageClient& storage, uint32_t interval_ms, Hooks hooks)
    : storage_(storage),
      interval_ms_(interval_ms),
      hooks_(std::move(hooks)),
      backlog_(std::make_shared<WriteBehindBacklog>()) {}

PinWriteBehind::~PinWriteBehind() = default;

void PinWriteBehind::flush(bool final_flush) {
    if (batch_) {
        if (!final_flush) return;  // the last one is still being copied; the timer comes back
        copy_slice(true);          // shutting down: finish it now
    }
    hooks_.take_dirty(dirty_);
    if (dirty_.empty()) {
        // Nothing new: retry the backlog, once at a time.
        if (!backlog_->pending.load() || backlog_->retry_queued.exchange(true)) return;
    }
    batch_ = std::make_unique<WriteBehindBatch>();
    batch_->devices.swap(dirty_);
    batch_->final_flush = final_flush;
    copy_slice(final_flush);
}

// Copies the batch's next slice (all of it for `all`); once it is copied,
// hands it to the storage thread.
void PinWriteBehind::copy_slice(bool all) {
    WriteBehindBatch& batch = *batch_;
    auto& out = *batch.pins;
    int64_t now_wall = hooks_.now_wall();
    size_t end = all ? batch.devices.size() : std::min(batch.devices.size(), batch.next + kSlice);
    for (; batch.next < end; ++batch.next) {
        core::Device* d = batch.devices[batch.next];
        d->dirty_pins_listed = false;
        if (d->removed) continue;
        for (auto& p : d->pins) {
            if (!p.dirty) continue;
            p.dirty = false;
            out.push_back(pin_row(*d, p.key, p.value, p.updated_ms));
        }
        if (d->state_dirty) {
            for (auto& prop : d->properties) {
                blynk::Pin rec = pin_row(*d, prop.key, prop.value, now_wall);
                rec.property = prop.name;
                out.push_back(std::move(rec));
            }
        }
        // Last-seen and reported info travel with the values.
        d->state_dirty = false;
        batch.states->push_back(StorageClient::snapshot(*d));
    }
    if (batch.next < batch.devices.size()) {
        hooks_.next_turn([this] {
            if (batch_) copy_slice(false);
        });
        return;
    }
    auto pins = std::move(batch.pins);
    auto states = std::move(batch.states);
    bool final_flush = batch.final_flush;
    batch.devices.clear();
    dirty_.swap(batch.devices);  // keeps its capacity for the next flush
    batch_.reset();
    store(std::move(pins), std::move(states), final_flush);
}

void PinWriteBehind::store(std::shared_ptr<std::vector<blynk::Pin>> pins,
                           std::shared_ptr<std::vector<blynk::Device>> states, bool final_flush) {
    auto job = [this, pins, states, final_flush, backlog = backlog_] {
        WriteBehindBacklog& b = *backlog;
        b.retry_queued = false;
        // The backlog is older than this batch: it goes first, and only the
        // newest value per pin (and state per device) is kept.
        if (!b.pins.empty()) {
            pins->insert(pins->begin(), std::make_move_iterator(b.pins.begin()), std::make_move_iterator(b.pins.end()));
            b.pins.clear();
            keep_latest(*pins, backlog_pin_key);
        }
        if (!b.states.empty()) {
            states->insert(states->begin(), std::make_move_iterator(b.states.begin()),
                           std::make_move_iterator(b.states.end()));
            b.states.clear();
            keep_latest(*states, [](const blynk::Device& d) { return device_key(d.email, d.dash_id, d.device_id); });
        }
        size_t n_pins = pins->size(), n_states = states->size();
        std::string error;
        auto started = std::chrono::steady_clock::now();
        try {
            storage_.put_pins(*pins);
        } catch (const std::exception& e) {
            error = e.what();
            b.pins = std::move(*pins);
        }
        try {
            if (!error.empty()) throw std::runtime_error(error);  // keep the order: states after their values
            std::vector<bool> gone = storage_.update_devices(*states);
            // Devices removed from storage meanwhile (CLI): their tokens stop
            // working and their connections close.
            auto removed = std::make_shared<std::vector<blynk::Device>>();
            for (size_t i = 0; i < gone.size(); ++i)
                if (gone[i]) removed->push_back((*states)[i]);
            if (!removed->empty() && !final_flush)
                hooks_.to_loop([this, removed] {
                    for (auto& r : *removed)
                        hooks_.evict(r);
                });
        } catch (const std::exception& e) {
            if (error.empty()) error = e.what();
            b.states = std::move(*states);
        }
        b.pending = !b.pins.empty() || !b.states.empty();
        flush_stats_.record(
            uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started)
                         .count()),
            error.empty(), n_pins);
        if (!error.empty()) {
            log_store_failure(b, error, n_pins, n_states, interval_ms_, final_flush);
        } else if (b.errors.active) {
            uint64_t held = b.errors.reset();
            spdlog::info("storage: works again; stored {} pin values and the state of {} devices kept in memory{}",
                         n_pins, n_states,
                         held ? " (" + std::to_string(held) + " more failed attempts since the last report)" : "");
        }
        // A big batch (many devices at once) leaves freed memory in this
        // thread's heap arena: give it back instead of holding it at rest,
        // once the batches are small again (or every kTrimIntervalMs while
        // they stay big: trimming after each would only fault it back in).
        bool big = n_pins + n_states >= 1000;
        b.trim_owed = b.trim_owed || big;
        int64_t now = WorkQueue::steady_ms();
        if (b.trim_owed && (!big || now - b.trimmed_ms >= kTrimIntervalMs)) {
            pins->clear();
            pins->shrink_to_fit();
            states->clear();
            states->shrink_to_fit();
            platform::trim_heap();
            b.trim_owed = false;
            b.trimmed_ms = now;
        }
    };
    // After shutdown the storage thread is gone: store on this thread.
    if (!hooks_.to_storage(job)) job();
}

}  // namespace blynk::host
