#include "publish/kafka_settings.h"

namespace numflow::publish {

using Kind = Option::Kind;

void add_kafka_options(Settings& s) {
  s.add({"brokers", "127.0.0.1:9092", "Kafka bootstrap servers (host:port,...)"})
      .add({"kafka-property", "", "librdkafka property passed through, e.g. security.protocol=SASL_SSL", Kind::map})
      .add({"raw-topic", "webhooks.raw", "topic of raw provider bodies"})
      .add({"number-changes-topic", "number-changes", "compacted topic of number-change records"})
      .add({"extension-changes-topic", "extension-changes", "compacted topic of extension-change records"})
      .add({"dead-letter-topic", "webhooks.dead-letter", "topic of raw bodies that could not be processed"})
      .add({"topic-partitions", "-1", "partitions of topics numflow creates (-1: the broker's num.partitions)",
            Kind::integer, false, -1, 100000})
      .add({"topic-replication-factor", "-1",
            "replication factor of topics numflow creates (-1: the broker's default.replication.factor)",
            Kind::integer, false, -1, 32767});
}

Properties kafka_properties(const Settings& s) {
  Properties p{{"bootstrap.servers", s.str("brokers")}};
  for (auto& kv : s.pairs("kafka-property")) p.push_back(std::move(kv));
  return p;
}

TopicNames topic_names(const Settings& s) {
  return {s.str("raw-topic"), s.str("number-changes-topic"), s.str("extension-changes-topic"),
          s.str("dead-letter-topic")};
}

std::vector<TopicSpec> topic_specs(const Settings& s, std::int64_t largest_body) {
  const auto names = topic_names(s);
  const int partitions = static_cast<int>(s.integer("topic-partitions"));
  const int rf = static_cast<int>(s.integer("topic-replication-factor"));
  constexpr std::int64_t kDay = 24LL * 3600 * 1000;
  return {
      {names.raw, "delete", 7 * kDay, partitions, rf, largest_body + kRecordOverheadBytes},
      {names.number_changes, "compact", -2, partitions, rf},
      {names.extension_changes, "compact", -2, partitions, rf},
      {names.dead_letter, "delete", 30 * kDay, partitions, rf, largest_body + 2 * kRecordOverheadBytes},
  };
}

}  // namespace numflow::publish
