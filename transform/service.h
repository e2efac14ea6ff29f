#pragma once
// numflow-transform as a Kafka service: two exactly-once stages in one process.
//
//   webhooks.raw ──[normalize]──▶ numflow.fragments (keyed by E.164) ──[merge]──▶ number-changes
//                      │                                                   └──▶ numflow.number-state (changelog)
//                      └──▶ extension-changes, webhooks.dead-letter
//
// Raw records are keyed by provider and account, but one number can be named by events of any
// provider or account: the normalize stage repartitions per-number fragments by number, so every
// event about a number reaches the one merge-stage owner of that number's state, whatever the
// number of instances. numflow.fragments, numflow.number-state and number-changes have the same
// partition count and partitioner, so merge partition p rebuilds its state from changelog
// partition p when it is assigned.
#include <atomic>
#include <memory>
#include <string>

#include "publish/kafka_settings.h"
#include "publish/producer.h"
#include "transform/core/core.h"
#include "transform/metrics.h"
#include "transform/txn_stage.h"

namespace numflow::transform {

struct ServiceOptions {
  publish::Properties kafka;  // bootstrap.servers + pass-through properties
  publish::TopicNames topics;
  std::vector<publish::TopicSpec> topic_specs;
  std::string fragments_topic = "numflow.fragments";
  std::string state_topic = "numflow.number-state";
  std::string group_id = "numflow-transform";
  std::string instance_id;  // stable per instance: part of the transactional ids
  // The command line's defaults (transform/main.cpp).
  int batch_max_messages = 50000;
  int batch_max_ms = 50;
  int batch_idle_ms = 20;
  int batch_max_ms_behind = 1000;
  std::string default_ringcentral_account;  // for events whose account is "~"
  CoreOptions core;
};

class Service {
 public:
  Service(ServiceOptions options, Metrics& metrics);
  ~Service();
  // Runs until stop() or a fatal misconfiguration (returns false).
  bool run();
  void stop();
  bool ready() const;

 private:
  class NormalizeHooks;
  class MergeHooks;
  bool provision();

  ServiceOptions options_;
  Metrics& metrics_;
  std::unique_ptr<publish::KafkaProducer> admin_;
  std::unique_ptr<NormalizeHooks> normalize_hooks_;
  std::unique_ptr<MergeHooks> merge_hooks_;
  std::unique_ptr<TxnStage> normalize_, merge_;
  std::atomic<bool> stop_{false};
  int partitions_ = 0;
};

}  // namespace numflow::transform
