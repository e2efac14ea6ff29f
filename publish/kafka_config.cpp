#include "publish/kafka_config.h"

#include <algorithm>
#include <stdexcept>
#include <string_view>

#include "common/log.h"

namespace numflow::publish {

Properties durable_producer_defaults() {
  return {
      {"acks", "all"},
      {"enable.idempotence", "true"},  // librdkafka 2.0.2 defaults it to false
      {"partitioner", "murmur2_random"},
      {"linger.ms", "5"},
      {"compression.type", "lz4"},
      {"socket.nagle.disable", "true"},
      // One request in flight per broker connection, not librdkafka's 5. With several, a request
      // passing its deadline (its oldest message's) while the broker has written its batch (a
      // slow follower under acks=all, a slow disk) closes the connection, and every request in
      // flight on it fails and is retried, those holding younger messages too; when the old
      // messages time out librdkafka bumps the producer epoch, and the younger ones go out again
      // under new sequence numbers the broker cannot match to the copies it has: written twice,
      // reported delivered (durable_defaults_test: 750-3,200 of 13,000 with 5; with 1 none in
      // quiet runs, but 999 once on a loaded machine, so one narrows this and does not close it:
      // what closes it is keeping requests inside the timeout, numflow-ingest's 30 s
      // message.timeout.ms). One in flight also stops librdkafka 2.0.2's broker thread
      // from busy-polling while a partition's next batch waits (it holds a partition back while
      // 5 of its *messages* are in flight, after setting its wake-up to now): numflow-ingest took
      // 47,000-50,000 webhooks/s instead of 38,000-43,500, at 15-16 µs of CPU instead of 19-21
      // (docs/PERFORMANCE.md, "One request in flight").
      {"max.in.flight.requests.per.connection", "1"},
  };
}

Properties merged(Properties a, const Properties& b) {
  for (const auto& [k, v] : b) {
    auto it = std::find_if(a.begin(), a.end(), [&](const auto& p) { return p.first == k; });
    if (it == a.end())
      a.emplace_back(k, v);
    else
      it->second = v;
  }
  return a;
}

namespace {

// librdkafka's own log lines, as numflow's JSON lines (syslog levels: 0-3 error, 4 warn, 5-6 info).
void json_log(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  const log::Level l = level <= 3 ? log::Level::error : level == 4 ? log::Level::warn
                     : level <= 6 ? log::Level::info : log::Level::debug;
  log::write(l, "librdkafka", {{"client", rd_kafka_name(rk)}, {"facility", facility}, {"detail", message}});
}

// What numflow's guarantees rest on, so no --kafka-property may change it: a 2xx means a write
// acknowledged by every in-sync replica exactly once (acks, idempotence); the transform reads only
// committed records and commits its offsets inside its own transactions (isolation, auto commit,
// transactional ids). Each entry: the property, the values that keep the guarantee, and why.
struct Pinned {
  std::string_view key;
  std::vector<std::string_view> allowed;
  std::string_view why;
};
constexpr std::string_view kOneInFlight =
    "with more, a late answer and a message timeout can write a body twice (durable_producer_defaults)";
const std::vector<Pinned>& pinned() {
  static const std::vector<Pinned> p = {
      {"acks", {"all", "-1"}, "a 2xx means the body is on every in-sync replica"},
      {"request.required.acks", {"all", "-1"}, "a 2xx means the body is on every in-sync replica"},
      {"enable.idempotence", {"true"}, "retries must not write a body twice"},
      {"max.in.flight.requests.per.connection", {"1"}, kOneInFlight},
      {"max.in.flight", {"1"}, kOneInFlight},  // librdkafka's alias
      {"isolation.level", {"read_committed"}, "aborted transactions must never be read"},
      {"enable.auto.commit", {"false"}, "offsets are committed inside the output transactions"},
      {"transactional.id", {}, "numflow names its transactional producers itself"},
  };
  return p;
}

}  // namespace

void check_overrides(const Properties& overrides) {
  for (const auto& [k, v] : overrides)
    for (const auto& pin : pinned())
      if (k == pin.key && std::find(pin.allowed.begin(), pin.allowed.end(), v) == pin.allowed.end())
        throw std::invalid_argument("Kafka property '" + k + "' cannot be set to '" + v + "' here: " +
                                    std::string(pin.why));
}

rd_kafka_conf_t* make_conf(const Properties& defaults, const Properties& overrides) {
  check_overrides(overrides);
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, &json_log);
  char err[512];
  for (const auto& [k, v] : merged(defaults, overrides)) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::invalid_argument("Kafka property '" + k + "' refused: " + err);
    }
  }
  return conf;
}

}  // namespace numflow::publish
