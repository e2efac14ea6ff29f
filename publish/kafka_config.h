#pragma once
// librdkafka configuration: numflow's defaults, then the operator's --kafka-property overrides.
#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace numflow::publish {

using Properties = std::vector<std::pair<std::string, std::string>>;

struct KafkaHandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaHandleDeleter>;

// What a durable numflow producer needs, whatever it produces (design.md, Kafka):
// acks=all + idempotence, and Java's partitioner so a key lands where Flink/Spark/ksqlDB put it.
Properties durable_producer_defaults();

// Applies defaults then overrides (later wins). Throws std::invalid_argument naming the property
// when librdkafka refuses one (values are never echoed: they may be SASL passwords), or when an
// override would weaken what numflow's answers promise (check_overrides).
rd_kafka_conf_t* make_conf(const Properties& defaults, const Properties& overrides);

// Refuses (std::invalid_argument) operator overrides of the properties numflow's guarantees rest
// on: acks other than all, idempotence off, isolation.level other than read_committed, auto
// commit on, a transactional.id. Their values may be echoed: none of them is a secret.
void check_overrides(const Properties& overrides);

// Merges b over a (same keys replaced).
Properties merged(Properties a, const Properties& b);

}  // namespace numflow::publish
