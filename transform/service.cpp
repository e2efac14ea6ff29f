#include "transform/service.h"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "common/log.h"
#include "common/time.h"

namespace numflow::transform {
namespace {

using Clock = std::chrono::steady_clock;

std::string_view header(const publish::Headers& h, std::string_view name) {
  for (const auto& [k, v] : h)
    if (k == name) return v;
  return {};
}

publish::Headers copy_headers(const rd_kafka_message_t* m) {
  publish::Headers out;
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR || !hdrs) return out;
  const char* name;
  const void* value;
  size_t size;
  for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
    out.emplace_back(name, value ? std::string(static_cast<const char*>(value), size) : std::string());
  return out;
}

}  // namespace

// Outputs of one batch in flight, and the offsets to commit once they are all delivered.
struct Service::Batch {
  struct Sync {
    std::mutex mu;
    std::condition_variable cv;
    std::size_t pending = 0;
    std::size_t failed = 0;
    std::string first_error;
  };
  std::shared_ptr<Sync> sync = std::make_shared<Sync>();
  // partition -> {first offset seen, last offset seen}
  std::map<std::pair<std::string, int32_t>, std::pair<int64_t, int64_t>> offsets;
  std::size_t messages = 0;
  Clock::time_point started = Clock::now();
};

Service::Service(ServiceOptions options, Metrics& metrics) : options_(std::move(options)), metrics_(metrics) {
  publish::ProducerOptions po;
  // Outputs may wait for a broker to come back far longer than a webhook can: a failed delivery
  // only means the batch is retried, so give them the time a broker restart takes.
  po.properties = publish::merged({{"message.timeout.ms", "60000"}}, options_.kafka);
  po.topics = options_.topic_specs;
  po.readiness_topic = options_.topics.number_changes;
  producer_ = std::make_unique<publish::KafkaProducer>(std::move(po));

  const publish::Properties consumer_defaults = {
      {"group.id", options_.group_id},
      {"enable.auto.commit", "false"},
      {"auto.offset.reset", "earliest"},
      {"isolation.level", "read_committed"},
      {"enable.partition.eof", "false"},
      // Eager rebalancing: with cooperative-sticky, librdkafka 2.0.2's consumer_close() sends no
      // LeaveGroup (measured here), so a restarted instance waited a whole session timeout.
      {"partition.assignment.strategy", "range,roundrobin"},
  };
  rd_kafka_conf_t* conf = publish::make_conf(consumer_defaults, options_.kafka);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    throw std::invalid_argument(std::string("cannot create Kafka consumer: ") + err);
  }
  consumer_.reset(rk);
  rd_kafka_poll_set_consumer(rk);
}

Service::~Service() {
  rd_kafka_consumer_close(consumer_.get());
  consumer_.reset();
  producer_.reset();
}

bool Service::ready() const { return assigned_.load() && producer_->ready(); }

bool Service::run() {
  while (!producer_->topics_ready()) {
    if (producer_->misconfigured()) return false;
    if (stop_.load()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, options_.topics.raw.c_str(), RD_KAFKA_PARTITION_UA);
  const auto err = rd_kafka_subscribe(consumer_.get(), topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err) {
    log::error("cannot subscribe", {{"topic", options_.topics.raw}, {"error", rd_kafka_err2str(err)}});
    return false;
  }
  assigned_.store(true);
  log::info("consuming", {{"topic", options_.topics.raw}, {"group", options_.group_id}});

  while (!stop_.load()) {
    Batch batch;
    const auto deadline = Clock::now() + std::chrono::milliseconds(options_.batch_max_ms);
    while (batch.messages < static_cast<std::size_t>(options_.batch_max_messages) && !stop_.load()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0 && batch.messages) break;
      rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_.get(), static_cast<int>(std::max<long>(left, 100)));
      if (!m) {
        if (left <= 0) break;
        continue;
      }
      if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
          log::warn("consumer", {{"error", rd_kafka_err2name(m->err)}, {"reason", rd_kafka_message_errstr(m)}});
      } else {
        handle_message(m, batch);
      }
      rd_kafka_message_destroy(m);
    }
    if (batch.messages == 0) continue;
    if (!process_batch(batch)) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return !producer_->misconfigured();
}

void Service::handle_message(const rd_kafka_message_t* m, Batch& batch) {
  const std::string topic = rd_kafka_topic_name(m->rkt);
  auto& range = batch.offsets.try_emplace({topic, m->partition}, m->offset, m->offset).first->second;
  range.second = m->offset;
  ++batch.messages;

  const std::string_view key(static_cast<const char*>(m->key), m->key ? m->key_len : 0);
  const std::string_view body(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
  publish::Headers headers = copy_headers(m);
  auto [key_provider, account] = split_raw_key(key);
  std::string_view provider = header(headers, "numflow-provider");
  if (provider.empty()) provider = key_provider;
  if (account.empty() && provider == "ringcentral") account = options_.default_ringcentral_account;

  RawEvent ev{provider, account, body,
              parse_rfc3339_ms(header(headers, "numflow-received-at")).value_or(0),
              SourcePosition{topic, m->partition, m->offset}};
  // State across events arrives with per-number partitioning; until then each event is merged
  // against an empty state, so a record carries what its own event says.
  MemoryStateStore state;
  const auto t0 = Clock::now();
  Result r = process(ev, state, options_.core, now_unix_ms());
  metrics_.processing_seconds().Observe(std::chrono::duration<double>(Clock::now() - t0).count());

  std::string_view first_code;
  for (Output& o : r.outputs) {
    publish::Message msg;
    switch (o.topic) {
      case Topic::number_changes: msg.topic = options_.topics.number_changes; break;
      case Topic::extension_changes: msg.topic = options_.topics.extension_changes; break;
      case Topic::dead_letter: msg.topic = options_.topics.dead_letter; break;
    }
    if (o.topic == Topic::dead_letter) {
      if (first_code.empty()) first_code = o.error_code;
      msg.key = std::string(key);
      msg.value = std::string(body);
      msg.headers = headers;
      msg.headers.emplace_back("numflow-error-code", o.error_code);
      msg.headers.emplace_back("numflow-error-detail", o.error_detail);
      msg.headers.emplace_back("numflow-source-topic", topic);
      msg.headers.emplace_back("numflow-source-partition", std::to_string(m->partition));
      msg.headers.emplace_back("numflow-source-offset", std::to_string(m->offset));
      log::warn("dead-lettered", {{"code", o.error_code}, {"detail", o.error_detail}, {"topic", topic},
                                  {"partition", m->partition}, {"offset", m->offset}});
    } else {
      msg.key = std::move(o.key);
      if (o.value) msg.value = std::move(*o.value);
    }
    const bool tombstone = o.topic != Topic::dead_letter && !o.value;
    metrics_.record(msg.topic);
    auto sync = batch.sync;
    {
      std::lock_guard lock(sync->mu);
      ++sync->pending;
    }
    auto done = [sync](publish::DeliveryResult res) {
      std::lock_guard lock(sync->mu);
      if (res.status != publish::Delivery::persisted) {
        if (sync->failed++ == 0) sync->first_error = res.error;
      }
      if (--sync->pending == 0) sync->cv.notify_all();
    };
    msg.tombstone = tombstone;
    producer_->submit(std::move(msg), std::move(done));
  }
  metrics_.event(provider, r.outcome, first_code);
}

bool Service::process_batch(Batch& batch) {
  auto& sync = *batch.sync;
  {
    std::unique_lock lock(sync.mu);
    sync.cv.wait(lock, [&] { return sync.pending == 0; });
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - batch.started).count();
  if (sync.failed) {
    log::warn("batch not delivered: rewinding", {{"failed", static_cast<std::int64_t>(sync.failed)},
                                                 {"error", sync.first_error}});
    rewind(batch);
    metrics_.batch(seconds, false);
    return false;
  }
  const bool ok = commit(batch);
  metrics_.batch(seconds, ok);
  return ok;
}

bool Service::commit(const Batch& batch) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(batch.offsets.size()));
  for (const auto& [tp, range] : batch.offsets)
    rd_kafka_topic_partition_list_add(list, tp.first.c_str(), tp.second)->offset = range.second + 1;
  const auto err = rd_kafka_commit(consumer_.get(), list, 0);
  rd_kafka_topic_partition_list_destroy(list);
  if (err) {
    // A rebalance took a partition away: its new owner starts from the last commit (at-least-once).
    log::warn("offset commit failed", {{"error", rd_kafka_err2str(err)}});
    return false;
  }
  return true;
}

void Service::rewind(const Batch& batch) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(batch.offsets.size()));
  for (const auto& [tp, range] : batch.offsets)
    rd_kafka_topic_partition_list_add(list, tp.first.c_str(), tp.second)->offset = range.first;
  if (rd_kafka_error_t* e = rd_kafka_seek_partitions(consumer_.get(), list, 5000)) {
    log::warn("seek failed", {{"error", rd_kafka_error_string(e)}});
    rd_kafka_error_destroy(e);
  }
  rd_kafka_topic_partition_list_destroy(list);
}

}  // namespace numflow::transform
