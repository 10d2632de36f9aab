// The event bus of one berthd: services publish envelopes (namespace, topic, payload), and
// every subscriber whose filters match gets a copy. A slow subscriber never stalls a
// publisher: each has a bounded queue, and one that falls that far behind is dropped with an
// error rather than kept waiting forever.
#ifndef BERTH_SERVICES_EVENTS_EXCHANGE_H_
#define BERTH_SERVICES_EVENTS_EXCHANGE_H_

#include <cstddef>
#include <deque>
#include <list>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "berth/services/events/v1/events.pb.h"
#include "common/filter.h"

namespace berth::events {

class Exchange {
 public:
  class Subscription {
   public:
    // The next envelope, or nullopt when `timeout` passes first. An error when the
    // subscription was dropped for falling behind.
    absl::StatusOr<absl::optional<::berth::services::events::v1::Envelope>> Next(
        absl::Duration timeout);

   private:
    friend class Exchange;
    Filter filter;
    absl::Mutex mu;
    std::deque<::berth::services::events::v1::Envelope> queue ABSL_GUARDED_BY(mu);
    bool overflowed ABSL_GUARDED_BY(mu) = false;
  };

  explicit Exchange(size_t queue_limit = 4096) : queue_limit_(queue_limit) {}

  // Sends the envelope to every matching subscriber.
  void Publish(const ::berth::services::events::v1::Envelope& envelope);

  // Registers a subscriber; the filters are validated here (INVALID_ARGUMENT on a bad one).
  absl::StatusOr<std::shared_ptr<Subscription>> Subscribe(const std::vector<std::string>& filters);
  void Unsubscribe(const std::shared_ptr<Subscription>& sub);

  size_t subscribers() const;

 private:
  const size_t queue_limit_;
  mutable absl::Mutex mu_;
  std::list<std::shared_ptr<Subscription>> subs_ ABSL_GUARDED_BY(mu_);
};

// The value of a filter field path on an envelope: "topic", "namespace", and "event.<field>"
// (nested with dots) read from the payload through protobuf reflection. Maps are addressed as
// event.labels.<key>.
absl::optional<std::string> EnvelopeField(const ::berth::services::events::v1::Envelope& envelope,
                                          const std::vector<std::string>& path);

}  // namespace berth::events

#endif  // BERTH_SERVICES_EVENTS_EXCHANGE_H_
