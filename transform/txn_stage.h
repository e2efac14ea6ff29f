#pragma once
// One exactly-once stage of the transform: a consumer-group member that reads its input topic
// read_committed and, per batch, produces its outputs and the batch's offsets in ONE Kafka
// transaction (consume-transform-produce, KIP-447). What the stage does with a message is the
// Hooks' business; this class owns the Kafka protocol:
//   - a batch is committed on a size/time window, never per message (a transaction costs ~ms);
//     the window lengthens while a backlog waits and shortens once it is gone (batch_window.h);
//   - abortable errors: abort, tell the hooks to drop uncommitted state, rewind to the committed
//     offsets, go on; fatal errors (fenced, ...): the same, with a new producer;
//   - rebalances (eager): an open transaction is aborted before partitions are given up, and the
//     hooks restore state for partitions they are given;
//   - zombies are fenced by the group generation carried in send_offsets_to_transaction and by a
//     stable transactional.id per instance;
//   - partitions are prepared only once their committed offsets are stable: a transaction an
//     earlier owner had already sent its offsets in may still commit after the rebalance.
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "publish/kafka_config.h"
#include "publish/kafka_settings.h"
#include "publish/raw_sink.h"
#include "publish/transactional_handle.h"

namespace numflow::transform {

struct OutMessage {
  std::string topic;
  std::int32_t partition = RD_KAFKA_PARTITION_UA;  // UA: by key (murmur2, as Java clients)
  std::string key;
  std::optional<std::string> value;  // nullopt: tombstone
  publish::Headers headers;
};

class StageHooks {
 public:
  virtual ~StageHooks() = default;
  // Partitions of the input topic given to this instance: prepare them (e.g. restore their
  // state), however long that takes. False: they could not be prepared before `stopping` turned
  // true, and are not consumed.
  virtual bool on_assign(const std::vector<std::int32_t>& partitions, const std::atomic<bool>& stopping) = 0;
  // Partitions taken from this instance.
  virtual void on_revoke(const std::vector<std::int32_t>& partitions) = 0;
  // One input message; append what to publish. Runs inside the batch's transaction.
  virtual void process(const rd_kafka_message_t* message, std::vector<OutMessage>& out) = 0;
  // The batch's transaction committed / was aborted (state changes made since are kept / undone).
  virtual void on_commit() = 0;
  virtual void on_abort() = 0;
};

struct StageOptions {
  std::string name;  // "normalize", "merge": for logs and metrics
  publish::Properties kafka;
  std::string group_id;
  std::string input_topic;
  std::string transactional_id;
  std::string group_instance_id;  // stable per instance and stage
  int batch_max_messages = 1000;
  int batch_max_ms = 100;
  // A batch also commits once its input has been idle this long: under light load a record
  // waits for one commit, not for the whole window; under heavy load the input never idles and
  // batches fill up (group commit). 0: only the two limits above. Not much below 20: under a
  // moderate, bursty load (producers' linger, fetch responses) gaps of 5 ms are common, and a
  // transaction per gap cost the transform 376 µs of CPU per event at 1,000 events/s against 238
  // with 20 (docs/PERFORMANCE.md, section "Runs 30–32", "Idle commits").
  int batch_idle_ms = 20;
  // While the stage is behind (a backlog waits in its input when a window ends) windows double
  // from batch_max_ms up to this (batch_window.h). Below batch_max_ms: fixed windows.
  int batch_max_ms_behind = 0;
};

struct StageCounters {
  // A transaction ended: `batch_seconds` from its first message to the end, `commit_seconds` of
  // that in send_offsets_to_transaction + commit_transaction (the broker round trips).
  std::function<void(bool committed, double batch_seconds, double commit_seconds)> on_transaction;
  // librdkafka's statistics JSON of the stage's consumer (consumer lag per partition), every
  // statistics.interval.ms; called from a librdkafka thread.
  std::function<void(std::string_view json)> on_stats;
};

class TxnStage {
 public:
  TxnStage(StageOptions options, StageHooks& hooks, StageCounters counters = {});
  ~TxnStage();
  // Runs until stop(); returns false on an unrecoverable error.
  bool run();
  void stop() { stop_.store(true); }
  bool ready() const { return ready_.load(); }
  rd_kafka_t* consumer() const { return consumer_.get(); }
  // Transactional producers initialised so far: 1, plus one per rebuild after a fatal error.
  int producers_made() const { return producers_made_.load(); }

 private:
  struct Batch;
  bool make_producer();
  void make_consumer();
  bool subscribe();
  void rebuild_consumer();
  void rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);
  bool fetch_stable_offsets(rd_kafka_topic_partition_list_t* parts);
  static void delivered(rd_kafka_t*, const rd_kafka_message_t*, void*);
  static int stats_cb(rd_kafka_t*, char* json, size_t len, void* opaque);
  static void rebalance_cb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, void* opaque);
  bool commit(Batch& batch);
  void log_committed(const Batch& batch, std::chrono::steady_clock::time_point commit_started,
                     std::chrono::steady_clock::time_point offsets_sent, std::chrono::steady_clock::time_point ended) const;
  void abort_and_rewind(bool rebuild_producer, const Batch& batch);
  void rewind(const Batch& batch);
  void rejoin_after_failed_rewind(rd_kafka_resp_err_t err);
  bool produce(OutMessage&& m);
  static constexpr std::size_t kHeldFirst = 64;
  bool release_held(Batch& batch);

  StageOptions options_;
  StageHooks& hooks_;
  StageCounters counters_;
  publish::TransactionalHandle producer_;
  publish::KafkaHandle consumer_;
  // The consumer's own queue (fetched messages waiting to be polled): how far behind the stage is.
  std::unique_ptr<rd_kafka_queue_t, void (*)(rd_kafka_queue_t*)> consumer_queue_{nullptr, rd_kafka_queue_destroy};
  std::atomic<bool> stop_{false};
  std::atomic<bool> ready_{false};
  std::atomic<int> producers_made_{0};
  bool in_transaction_ = false;
  bool batch_void_ = false;  // the batch's transaction was aborted by a rebalance
};

}  // namespace numflow::transform
