#include "transform/state_restore.h"

#include <algorithm>
#include <optional>
#include <thread>

#include "common/log.h"
#include "transform/core/codec.h"
#include "transform/kafka_bytes.h"

namespace numflow::transform {
namespace {

using Clock = std::chrono::steady_clock;

struct Attempt {
  std::optional<std::string> failure;  // why it did not read the whole partition
  std::size_t records = 0;
};

Attempt read_partition(const RestoreOptions& o, std::int32_t p, MemoryStateStore& store,
                       const std::atomic<bool>& stopping) {
  store.clear();
  rd_kafka_conf_t* conf = publish::make_conf({{"isolation.level", "read_committed"},
                                              {"enable.partition.eof", "true"},
                                              {"enable.auto.commit", "false"},
                                              {"group.id", o.group_id}},
                                             o.kafka);
  char err[512];
  publish::KafkaHandle rk(rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err));
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    return {std::string("cannot create a consumer: ") + err};
  }
  const auto deadline = Clock::now() + o.attempt_timeout;
  const int query_ms = static_cast<int>(std::min<long long>(o.attempt_timeout.count(), 10000));
  std::int64_t low = 0, high = 0;
  if (const auto e = rd_kafka_query_watermark_offsets(rk.get(), o.topic.c_str(), p, &low, &high, query_ms))
    return {std::string("cannot read the changelog's end offset: ") + rd_kafka_err2name(e)};

  Attempt a;
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, o.topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk.get(), parts);
  rd_kafka_topic_partition_list_destroy(parts);
  // Up to the high watermark, not just the first EOF: an open transaction of a fenced instance
  // holds the read_committed end back until it is resolved (transaction.timeout.ms).
  bool done = high <= low;
  while (!done && Clock::now() < deadline && !stopping.load()) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 200);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      done = m->offset >= high;
    } else if (!m->err) {
      const std::string number(bytes(m->key, m->key_len));
      if (!m->payload) {
        store.erase(number);
      } else if (auto s = decode_state(bytes(m->payload, m->len))) {
        store.put(number, std::move(*s));
      }
      ++a.records;
      done = m->offset + 1 >= high;
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk.get());
  if (!done)
    a.failure = stopping.load() ? "stopping"
                                : "the end offset " + std::to_string(high) + " was not reached in " +
                                      std::to_string(o.attempt_timeout.count()) + " ms";
  return a;
}

// Sleeps up to `d`, waking early when stopping.
void pause(std::chrono::milliseconds d, const std::atomic<bool>& stopping) {
  const auto until = Clock::now() + d;
  while (!stopping.load() && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

}  // namespace

RestoreResult restore_partition(const RestoreOptions& o, std::int32_t p, MemoryStateStore& store,
                                const std::atomic<bool>& stopping) {
  RestoreResult r;
  auto backoff = o.backoff_min;
  while (!stopping.load()) {
    ++r.attempts;
    const Attempt a = read_partition(o, p, store, stopping);
    if (!a.failure) {
      r.complete = true;
      r.records = a.records;
      return r;
    }
    if (stopping.load()) break;
    log::warn("state restore failed; retrying, the partition waits",
              {{"partition", p}, {"attempt", r.attempts}, {"reason", *a.failure},
               {"retry_in_ms", static_cast<std::int64_t>(backoff.count())}});
    pause(backoff, stopping);
    backoff = std::min(backoff * 2, o.backoff_max);
  }
  store.clear();  // a partial state must not be used by anyone
  return r;
}

}  // namespace numflow::transform
