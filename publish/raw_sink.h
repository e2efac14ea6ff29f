#pragma once
// The one thing ingest needs from Kafka: put a message on a topic and be told, exactly once,
// whether it is durably there. Kept abstract so the HTTP layer can be tested without a broker.
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace numflow::publish {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Message {
  std::string topic;
  std::string key;
  std::string value;
  Headers headers;
  bool tombstone = false;  // a null value: deletes the key from a compacted topic
};

enum class Delivery {
  persisted,    // acks=all delivery report received: safe to answer 2xx
  failed,       // Kafka refused or timed out: answer 503 so the provider retries
  queue_full,   // local queue at its bound: answer 503 at once (back-pressure)
  unavailable,  // Kafka known to be unreachable right now: answer 503 at once
};

struct DeliveryResult {
  Delivery status;
  std::string error;  // human-readable, empty when persisted
};

// Called exactly once per submit(), from a producer thread (never from the caller's stack
// unless the message was refused synchronously). Must be cheap and must not block.
using DeliveryCallback = std::function<void(DeliveryResult)>;

class RawSink {
 public:
  virtual ~RawSink() = default;
  virtual void submit(Message msg, DeliveryCallback done) = 0;
  // True when Kafka is reachable and the raw topic is known (readiness).
  virtual bool ready() const = 0;
  // Messages submitted whose callback has not run yet.
  virtual std::size_t in_flight() const = 0;
  // Waits up to timeout_ms for every submitted message's callback; returns false on timeout.
  virtual bool flush(int timeout_ms) = 0;
};

}  // namespace numflow::publish
