#pragma once
// KafkaProducer: a durable (acks=all, idempotent) librdkafka producer behind the RawSink
// interface. Every submit() gets exactly one callback: from the delivery report, or at once when
// the message cannot even be queued (Kafka unreachable, local queue full).
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>
#include <string>
#include <thread>

#include "publish/kafka_config.h"
#include "publish/raw_sink.h"
#include "publish/topics.h"

namespace numflow::publish {

struct ProducerOptions {
  Properties properties;                // bootstrap.servers etc., defaults applied first
  std::vector<TopicSpec> topics;        // provisioned at start (create missing, check policy)
  std::string readiness_topic;          // ready() needs this topic in the metadata
  int metadata_interval_ms = 1000;      // readiness probe period
  // Called for every delivery report with the time since submit(); from whichever thread serves
  // the reports (the producer's poll thread, or the caller's: below).
  std::function<void(double seconds, bool persisted)> on_delivery;
  // The caller serves the delivery reports on its own event loop: it watches report_fd() and
  // calls serve_reports() when the fd is readable. A service whose answers go out on an io
  // thread saves a thread handoff per batch of reports that way (numflow-ingest: the poll thread
  // cost 3.9 µs per webhook, see docs/PERFORMANCE.md). The poll thread still polls every 50 ms as
  // a backstop, and serves everything after the caller's loop has stopped.
  bool caller_serves_reports = false;
};

class KafkaProducer final : public RawSink {
 public:
  // Throws std::invalid_argument for properties librdkafka refuses. Never blocks on the network:
  // topic provisioning and readiness run in the background and retry while Kafka is away.
  explicit KafkaProducer(ProducerOptions options);
  ~KafkaProducer() override;
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  void submit(Message msg, DeliveryCallback done) override;
  // With caller_serves_reports: readable when delivery reports wait (-1 otherwise). The fd
  // belongs to the producer and lives as long as it does.
  int report_fd() const { return wake_.read_end; }
  // Runs the delivery callbacks waiting now, on the calling thread; never blocks.
  void serve_reports();
  bool ready() const override { return ready_.load(std::memory_order_acquire); }
  std::size_t in_flight() const override { return in_flight_.load(std::memory_order_acquire); }
  bool flush(int timeout_ms) override;
  // Messages in librdkafka's queues (waiting to be sent or acknowledged).
  std::size_t queue_depth() const { return static_cast<std::size_t>(rd_kafka_outq_len(rk_.load().get())); }

  // Set when an existing topic has the wrong cleanup.policy (or similar): the service must stop.
  bool misconfigured() const { return misconfigured_.load(); }
  std::string misconfiguration() const;
  bool topics_ready() const { return topics_ok_.load(); }
  // The current librdkafka handle (for admin requests). A fatal error replaces it.
  std::shared_ptr<rd_kafka_t> handle() const { return rk_.load(); }
  std::uint64_t rebuilds() const { return rebuilds_.load(); }

 private:
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque);
  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque);
  std::shared_ptr<rd_kafka_t> create_handle();
  void rebuild();
  void poll_loop();
  void probe_loop();
  bool probe_once();
  bool persisted_within(std::chrono::steady_clock::duration d) const;
  // A metadata probe that times out while deliveries are acknowledged this recently is a slow
  // broker, not an unreachable one: readiness holds.
  static constexpr std::chrono::seconds kSlowNotAway{5};

  // The pipe librdkafka writes to when its report queue turns non-empty (caller_serves_reports).
  // Declared before the handles: closed only after every handle using it is destroyed.
  struct WakePipe {
    int read_end = -1, write_end = -1;
    WakePipe() = default;
    WakePipe(const WakePipe&) = delete;
    WakePipe& operator=(const WakePipe&) = delete;
    ~WakePipe();
  };

  ProducerOptions options_;
  WakePipe wake_;
  // Swapped for a new producer after a fatal error (e.g. the idempotent producer's sequence
  // desynchronization in librdkafka 2.0.2); submitters and the poll thread load it each time.
  std::atomic<std::shared_ptr<rd_kafka_t>> rk_;
  std::atomic<bool> fatal_{false};
  std::atomic<std::uint64_t> rebuilds_{0};
  std::mutex retired_mu_;
  std::vector<std::shared_ptr<rd_kafka_t>> retired_;  // old producers draining their callbacks
  std::atomic<bool> stop_{false};
  std::atomic<bool> ready_{false};
  std::atomic<bool> topics_ok_{false};
  std::atomic<bool> misconfigured_{false};
  std::atomic<bool> brokers_down_{false};
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<std::chrono::steady_clock::rep> last_persisted_{0};  // steady clock; 0: never
  mutable std::mutex mu_;
  std::string misconfiguration_;
  std::thread poller_, prober_;
};

}  // namespace numflow::publish
