#pragma once
// numflow-transform as a Kafka service: a consumer-group member on the raw topic that runs every
// event through the pure core and publishes what it returns. Offsets are committed only after
// every output of the batch has a successful delivery report (at-least-once; records carry their
// event_id, so a replay after a crash is recognisable downstream).
#include <atomic>
#include <memory>
#include <string>

#include "publish/kafka_config.h"
#include "publish/kafka_settings.h"
#include "publish/producer.h"
#include "transform/core/core.h"
#include "transform/metrics.h"

namespace numflow::transform {

struct ServiceOptions {
  publish::Properties kafka;  // bootstrap.servers + pass-through properties
  publish::TopicNames topics;
  std::vector<publish::TopicSpec> topic_specs;
  std::string group_id = "numflow-transform";
  int batch_max_messages = 500;
  int batch_max_ms = 100;
  std::string default_ringcentral_account;  // for events whose account is "~"
  CoreOptions core;
};

class Service {
 public:
  Service(ServiceOptions options, Metrics& metrics);
  ~Service();
  // Runs until stop() (from a signal handler thread) or a fatal misconfiguration (returns false).
  bool run();
  void stop() { stop_.store(true); }
  bool ready() const;

 private:
  struct Batch;
  bool process_batch(Batch& batch);
  void handle_message(const rd_kafka_message_t* m, Batch& batch);
  bool commit(const Batch& batch);
  void rewind(const Batch& batch);

  ServiceOptions options_;
  Metrics& metrics_;
  std::unique_ptr<publish::KafkaProducer> producer_;
  publish::KafkaHandle consumer_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> assigned_{false};
};

}  // namespace numflow::transform
