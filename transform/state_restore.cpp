#include "transform/state_restore.h"

#include <algorithm>
#include <map>
#include <optional>
#include <thread>

#include "common/log.h"
#include "transform/core/codec.h"
#include "transform/kafka_bytes.h"

namespace numflow::transform {
namespace {

using Clock = std::chrono::steady_clock;

struct Pending {
  std::int32_t partition;
  MemoryStateStore* store;
  std::int64_t high = 0;  // read up to here: the high watermark when the attempt began
  bool done = false;
  std::size_t records = 0;  // applied by the attempt that read it whole
};

// Why an attempt did not read every partition whole.
using Failure = std::optional<std::string>;

void apply(const rd_kafka_message_t* m, MemoryStateStore& store) {
  const std::string number(bytes(m->key, m->key_len));
  if (!m->payload) {
    store.erase(number);
  } else if (auto s = decode_state(bytes(m->payload, m->len))) {
    store.put(number, std::move(*s));
  }
}

// One attempt over the partitions not done yet; marks those it reads whole.
Failure read_partitions(const RestoreOptions& o, std::vector<Pending>& pending, const std::atomic<bool>& stopping) {
  rd_kafka_conf_t* conf = publish::make_conf({{"isolation.level", "read_committed"},
                                              {"enable.partition.eof", "true"},
                                              {"enable.auto.commit", "false"},
                                              {"group.id", o.group_id}},
                                             o.kafka);
  char err[512];
  publish::KafkaHandle rk(rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err));
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    return std::string("cannot create a consumer: ") + err;
  }
  const int query_ms = static_cast<int>(std::min<long long>(o.attempt_timeout.count(), 10000));
  std::map<std::int32_t, Pending*> reading;
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(static_cast<int>(pending.size()));
  for (Pending& p : pending) {
    if (p.done) continue;
    p.store->clear();
    p.records = 0;
    std::int64_t low = 0;
    if (const auto e = rd_kafka_query_watermark_offsets(rk.get(), o.topic.c_str(), p.partition, &low, &p.high, query_ms)) {
      rd_kafka_topic_partition_list_destroy(parts);
      return "cannot read partition " + std::to_string(p.partition) + "'s end offset: " + rd_kafka_err2name(e);
    }
    p.done = p.high <= low;  // nothing to read
    if (p.done) continue;
    reading[p.partition] = &p;
    rd_kafka_topic_partition_list_add(parts, o.topic.c_str(), p.partition)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(rk.get(), parts);
  rd_kafka_topic_partition_list_destroy(parts);

  // Up to each high watermark, not just the first EOF: an open transaction of a fenced instance
  // holds the read_committed end back until it is resolved (transaction.timeout.ms).
  // The attempt gives up after attempt_timeout without a record or an end (a broker away, an end
  // held back), not after attempt_timeout in all: many large partitions read side by side may
  // rightly take longer.
  std::size_t left = reading.size();
  auto idle_since = Clock::now();
  while (left > 0 && Clock::now() - idle_since < o.attempt_timeout && !stopping.load()) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 200);
    if (!m) continue;
    const auto it = reading.find(m->partition);
    Pending* p = it == reading.end() ? nullptr : it->second;
    if (p && !p->done) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        p->done = m->offset >= p->high;
        idle_since = Clock::now();
      } else if (!m->err) {
        apply(m, *p->store);
        ++p->records;
        p->done = m->offset + 1 >= p->high;
        idle_since = Clock::now();
      }
      if (p->done) --left;
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk.get());
  if (left == 0) return std::nullopt;
  if (stopping.load()) return "stopping";
  std::string which;
  for (const auto& [partition, p] : reading)
    if (!p->done) which += (which.empty() ? "" : ",") + std::to_string(partition);
  return "partitions " + which + " not read to their end: nothing came for " + std::to_string(o.attempt_timeout.count()) +
         " ms";
}

// Sleeps up to `d`, waking early when stopping.
void pause(std::chrono::milliseconds d, const std::atomic<bool>& stopping) {
  const auto until = Clock::now() + d;
  while (!stopping.load() && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

}  // namespace

RestoreResult restore_partitions(const RestoreOptions& o, const std::vector<RestoreTarget>& targets,
                                 const std::atomic<bool>& stopping) {
  std::vector<Pending> pending;
  for (const auto& [partition, store] : targets) pending.push_back({partition, store});
  RestoreResult r;
  auto backoff = o.backoff_min;
  while (!stopping.load()) {
    ++r.attempts;
    const Failure failure = read_partitions(o, pending, stopping);
    if (!failure) {
      r.complete = true;
      for (const Pending& p : pending) r.records += p.records;
      return r;
    }
    if (stopping.load()) break;
    log::warn("state restore failed; retrying, the partitions wait",
              {{"attempt", r.attempts}, {"reason", *failure}, {"retry_in_ms", static_cast<std::int64_t>(backoff.count())}});
    pause(backoff, stopping);
    backoff = std::min(backoff * 2, o.backoff_max);
  }
  for (const auto& [partition, store] : targets) store->clear();  // a partial state must not be used by anyone
  return r;
}

RestoreResult restore_partition(const RestoreOptions& o, std::int32_t p, MemoryStateStore& store,
                                const std::atomic<bool>& stopping) {
  return restore_partitions(o, {{p, &store}}, stopping);
}

}  // namespace numflow::transform
