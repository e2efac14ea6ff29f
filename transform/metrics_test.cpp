// The transform's consumer-lag gauge from librdkafka's statistics: a partition the consumer no
// longer fetches loses its series (no stale lag after a rebalance).
#include "transform/metrics.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace numflow::transform {
namespace {

struct Partition {
  int id;
  std::string fetch_state;
  long long app_offset;
  long long ls_offset;
  long long consumer_lag = -1;
};

// A librdkafka 2.0 consumer statistics snapshot, trimmed to what the transform reads (and the
// "-1" internal UA partition every topic has).
std::string stats(const std::string& client, const std::map<std::string, std::vector<Partition>>& topics) {
  std::string out = R"({"name":")" + client + R"(","type":"consumer","ts":1,"topics":{)";
  bool first_topic = true;
  for (const auto& [topic, partitions] : topics) {
    if (!first_topic) out += ",";
    first_topic = false;
    out += "\"" + topic + R"(":{"topic":")" + topic + R"(","partitions":{)";
    out += R"("-1":{"partition":-1,"fetch_state":"none","app_offset":-1001,"ls_offset":-1001,"consumer_lag":-1})";
    for (const auto& p : partitions) {
      out += ",\"" + std::to_string(p.id) + R"(":{"partition":)" + std::to_string(p.id) + R"(,"fetch_state":")" +
             p.fetch_state + R"(","app_offset":)" + std::to_string(p.app_offset) +
             R"(,"ls_offset":)" + std::to_string(p.ls_offset) + R"(,"consumer_lag":)" +
             std::to_string(p.consumer_lag) + "}";
    }
    out += "}}";
  }
  return out + "}}";
}

// The consumer-lag series the registry exports now: "topic/partition" -> value.
std::map<std::string, double> lag_series(prometheus::Registry& registry) {
  std::map<std::string, double> out;
  for (const auto& family : registry.Collect()) {
    if (family.name != "numflow_transform_consumer_lag") continue;
    for (const auto& m : family.metric) {
      std::string topic, partition;
      for (const auto& l : m.label) {
        if (l.name == "topic") topic = l.value;
        if (l.name == "partition") partition = l.value;
      }
      out[topic + "/" + partition] = m.gauge.value;
    }
  }
  return out;
}

using Lags = std::map<std::string, double>;

TEST(MetricsConsumerStats, LagFromLastStableOffsetMinusPosition) {
  prometheus::Registry r;
  Metrics m(r);
  m.consumer_stats(stats("rdkafka#consumer-1", {{"webhooks.raw", {{0, "active", 100, 130}, {1, "active", 7, 7}}}}));
  EXPECT_EQ(lag_series(r), (Lags{{"webhooks.raw/0", 30}, {"webhooks.raw/1", 0}}));
}

TEST(MetricsConsumerStats, RevokedPartitionLosesItsSeries) {
  prometheus::Registry r;
  Metrics m(r);
  m.consumer_stats(stats("rdkafka#consumer-1",
                         {{"webhooks.raw", {{0, "active", 100, 130}, {1, "active", 50, 60}, {2, "active", 5, 9}}}}));
  ASSERT_EQ(lag_series(r).size(), 3u);
  // A rebalance moved partition 1 away (librdkafka: stopped, position reset) and 2 is being
  // stopped; partition 0 stays here and moved on.
  m.consumer_stats(stats("rdkafka#consumer-1", {{"webhooks.raw",
                                                 {{0, "active", 120, 125},
                                                  {1, "stopped", -1001, 60},
                                                  {2, "stopping", 9, 9}}}}));
  EXPECT_EQ(lag_series(r), (Lags{{"webhooks.raw/0", 5}}));
  // Neither comes back in the text exposition.
  const std::string text = prometheus::TextSerializer().Serialize(r.Collect());
  EXPECT_NE(text.find(R"(numflow_transform_consumer_lag{partition="0",topic="webhooks.raw"} 5)"), std::string::npos)
      << text;
  EXPECT_EQ(text.find(R"(partition="1")"), std::string::npos) << text;
  EXPECT_EQ(text.find(R"(partition="2")"), std::string::npos) << text;
}

TEST(MetricsConsumerStats, NeverAssignedAndAbsentPartitionsHaveNoSeries) {
  prometheus::Registry r;
  Metrics m(r);
  m.consumer_stats(stats("rdkafka#consumer-1", {{"webhooks.raw", {{0, "active", 1, 4}, {1, "none", -1001, 9}}}}));
  EXPECT_EQ(lag_series(r), (Lags{{"webhooks.raw/0", 3}}));
  // The partition is no longer in the statistics at all, nor is its topic.
  m.consumer_stats(stats("rdkafka#consumer-1", {}));
  EXPECT_EQ(lag_series(r), Lags{});
  // Assigned again later: a new series.
  m.consumer_stats(stats("rdkafka#consumer-1", {{"webhooks.raw", {{0, "active", 8, 10}}}}));
  EXPECT_EQ(lag_series(r), (Lags{{"webhooks.raw/0", 2}}));
}

TEST(MetricsConsumerStats, EachStagesConsumerOnlyDropsItsOwnPartitions) {
  prometheus::Registry r;
  Metrics m(r);
  // normalize reads webhooks.raw, merge the repartition topic, each with its own consumer.
  m.consumer_stats(stats("rdkafka#consumer-1", {{"webhooks.raw", {{0, "active", 10, 12}, {1, "active", 3, 3}}}}));
  m.consumer_stats(stats("rdkafka#consumer-3", {{"numflow.fragments", {{0, "active", 4, 8}}}}));
  EXPECT_EQ(lag_series(r), (Lags{{"webhooks.raw/0", 2}, {"webhooks.raw/1", 0}, {"numflow.fragments/0", 4}}));
  // The merge stage loses its partition: the normalize stage's series stay.
  m.consumer_stats(stats("rdkafka#consumer-3", {{"numflow.fragments", {{0, "stopped", -1001, 8}}}}));
  EXPECT_EQ(lag_series(r), (Lags{{"webhooks.raw/0", 2}, {"webhooks.raw/1", 0}}));
  // A fatal error replaced the normalize stage's consumer: the new one fetches partition 0 only,
  // and the old one, gone, reports nothing again: partition 1's series goes with it.
  m.consumer_stats(stats("rdkafka#consumer-5", {{"webhooks.raw", {{0, "active", 11, 12}}}}));
  EXPECT_EQ(lag_series(r), (Lags{{"webhooks.raw/0", 1}}));
}

TEST(MetricsConsumerStats, UnknownLagKeepsTheLastValueOfAPartitionStillFetched) {
  prometheus::Registry r;
  Metrics m(r);
  m.consumer_stats(stats("rdkafka#consumer-1", {{"webhooks.raw", {{0, "active", 10, 17}}}}));
  // Re-fetching after a seek or leader change: no position or stable offset for a moment.
  m.consumer_stats(stats("rdkafka#consumer-1", {{"webhooks.raw", {{0, "offset-query", -1001, -1001}}}}));
  EXPECT_EQ(lag_series(r), (Lags{{"webhooks.raw/0", 7}}));
  // A newly assigned partition with no lag known yet has no series; librdkafka's own
  // consumer_lag (committed offsets) is the fallback.
  m.consumer_stats(stats("rdkafka#consumer-1",
                         {{"webhooks.raw", {{0, "active", 10, 17}, {1, "offset-wait", -1001, -1001}, {2, "active", -1001, -1001, 6}}}}));
  EXPECT_EQ(lag_series(r), (Lags{{"webhooks.raw/0", 7}, {"webhooks.raw/2", 6}}));
}

TEST(MetricsConsumerStats, MalformedStatisticsChangeNothing) {
  prometheus::Registry r;
  Metrics m(r);
  m.consumer_stats(stats("rdkafka#consumer-1", {{"webhooks.raw", {{0, "active", 10, 12}}}}));
  for (const char* bad : {"", "not json", "[]", R"({"name":"rdkafka#consumer-1","topics":[]})",
                          R"({"name":"rdkafka#consumer-1","topics":7})"}) {
    m.consumer_stats(bad);
    EXPECT_EQ(lag_series(r), (Lags{{"webhooks.raw/0", 2}})) << bad;
  }
  // A topic whose "partitions" is not an object (or missing) is read as fetching nothing: no
  // crash, and nothing of it is exported.
  m.consumer_stats(R"({"name":"rdkafka#consumer-1","topics":{"webhooks.raw":{"partitions":[1,2]}}})");
  EXPECT_EQ(lag_series(r), Lags{});
  m.consumer_stats(stats("rdkafka#consumer-1", {{"webhooks.raw", {{0, "active", 10, 12}}}}));
  m.consumer_stats(R"({"name":"rdkafka#consumer-1","topics":{"webhooks.raw":{"partitions":"x"},"other":5}})");
  EXPECT_EQ(lag_series(r), Lags{});
  m.consumer_stats(R"({"name":"rdkafka#consumer-1","topics":{"webhooks.raw":{"topic":"webhooks.raw"}}})");
  EXPECT_EQ(lag_series(r), Lags{});
}

}  // namespace
}  // namespace numflow::transform

namespace numflow::transform {
namespace {

double records_total(prometheus::Registry& registry, const std::string& topic) {
  for (const auto& family : registry.Collect())
    if (family.name == "numflow_transform_records_total")
      for (const auto& m : family.metric)
        for (const auto& l : m.label)
          if (l.name == "topic" && l.value == topic) return m.counter.value;
  return -1;
}

// An aborted batch is redone: its records must be counted once, by the transaction that commits.
TEST(MetricsBatchCounts, OnlyCommittedWorkIsCounted) {
  prometheus::Registry registry;
  Metrics metrics(registry);
  BatchCounts counts;
  prometheus::Counter& numbers = metrics.record("number-changes");
  counts.add(numbers);
  counts.add(numbers);
  counts.add(metrics.record("webhooks.dead-letter"));
  EXPECT_EQ(records_total(registry, "number-changes"), 0) << "counted before the commit";
  counts.abort();
  counts.commit();
  EXPECT_EQ(records_total(registry, "number-changes"), 0) << "an aborted batch was counted";
  counts.add(numbers);
  counts.add(numbers);
  counts.add(metrics.record("webhooks.dead-letter"));
  counts.commit();
  EXPECT_EQ(records_total(registry, "number-changes"), 2);
  EXPECT_EQ(records_total(registry, "webhooks.dead-letter"), 1);
  counts.commit();  // nothing pending: nothing added
  EXPECT_EQ(records_total(registry, "number-changes"), 2);
}

}  // namespace
}  // namespace numflow::transform

namespace numflow::transform {
namespace {

// Stale and duplicate updates are decided at the merge; they are counted with the event's
// provider and kind, like events_total.
TEST(MetricsMerge, VerdictsCarryProviderAndKind) {
  prometheus::Registry registry;
  Metrics metrics(registry);
  metrics.merge(Verdict::stale, "8x8", "VIRTUAL_NUMBER_UPDATE").Increment();
  bool found = false;
  for (const auto& family : registry.Collect())
    if (family.name == "numflow_transform_number_updates_total")
      for (const auto& m : family.metric) {
        std::map<std::string, std::string> labels;
        for (const auto& l : m.label) labels[l.name] = l.value;
        found |= labels["provider"] == "8x8" && labels["kind"] == "VIRTUAL_NUMBER_UPDATE" && labels["result"] == "stale" &&
                 m.counter.value == 1;
      }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace numflow::transform
