// restore_partition against librdkafka's mock cluster: the whole changelog partition comes back
// (tombstones included), a broker that is away makes it wait and retry rather than start with a
// partial state, and a stop ends the wait.
#include "transform/state_restore.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka_mock.h>

#include <future>
#include <optional>
#include <thread>

#include "transform/core/codec.h"
#include "tests/support/mock_kafka.h"

namespace numflow::transform {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class Restore : public ::testing::Test {
 protected:
  void SetUp() override {
    mc_ = kafka_.cluster();
    kafka_.create_topic("state", 2, 1);
    options_.kafka = {{"bootstrap.servers", kafka_.bootstraps()}, {"log_level", "0"}};
    options_.topic = "state";
    options_.group_id = "restore-test";
    options_.backoff_min = 100ms;
    options_.backoff_max = 400ms;
  }

  static NumberState state_of(const std::string& provider, const std::string& status) {
    NumberState s;
    s.provider = provider;
    s.account_id = "acct";
    s.slots[static_cast<std::size_t>(Slot::status)] = SlotValue{"\"" + status + "\"", 1700000000000};
    s.recent_event_ids = {"e-" + status};
    return s;
  }

  // Writes (number, state or tombstone) records to changelog partition `p`.
  void write(std::int32_t p, const std::vector<std::pair<std::string, std::optional<NumberState>>>& records,
             const char* topic = "state") {
    rd_kafka_conf_t* conf = publish::make_conf(options_.kafka, {});
    char err[256];
    publish::KafkaHandle producer(rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err));
    ASSERT_TRUE(producer);
    for (const auto& [number, state] : records) {
      const std::string value = state ? encode_state(*state) : "";
      rd_kafka_vu_t vu[5];
      vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
      vu[0].u.cstr = topic;
      vu[1].vtype = RD_KAFKA_VTYPE_PARTITION;
      vu[1].u.i32 = p;
      vu[2].vtype = RD_KAFKA_VTYPE_KEY;
      vu[2].u.mem = {const_cast<char*>(number.data()), number.size()};
      vu[3].vtype = RD_KAFKA_VTYPE_VALUE;  // a null value is a tombstone
      vu[3].u.mem = {state ? const_cast<char*>(value.data()) : nullptr, state ? value.size() : 0};
      vu[4].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
      vu[4].u.i = RD_KAFKA_MSG_F_COPY;
      rd_kafka_error_t* e = rd_kafka_produceva(producer.get(), vu, 5);
      ASSERT_EQ(e, nullptr) << rd_kafka_error_string(e);
    }
    ASSERT_EQ(rd_kafka_flush(producer.get(), 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  static std::string status_in(const MemoryStateStore& store, const std::string& number) {
    const NumberState* s = store.find(number);
    if (!s || !s->slots[static_cast<std::size_t>(Slot::status)]) return "(none)";
    return s->slots[static_cast<std::size_t>(Slot::status)]->json;
  }

  testing::MockKafka kafka_{1};  // first: destroyed last
  rd_kafka_mock_cluster_t* mc_ = nullptr;
  RestoreOptions options_;
};

TEST_F(Restore, ReadsTheWholePartitionWithTombstonesAndNothingElse) {
  write(0, {{"+14155550001", state_of("8x8", "active")},
            {"+14155550002", state_of("8x8", "active")},
            {"+14155550001", state_of("zoom", "inactive")},  // compaction keeps the newest: so must we
            {"+14155550002", std::nullopt}});                // deleted
  write(1, {{"+14155550003", state_of("8x8", "active")}});
  MemoryStateStore store;
  store.put("+19999999999", NumberState{});  // left over from an earlier assignment: must go
  const std::atomic<bool> stopping{false};
  const RestoreResult r = restore_partition(options_, 0, store, stopping);
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.records, 4u);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(store.size(), 1u);
  EXPECT_EQ(status_in(store, "+14155550001"), "\"inactive\"");
  EXPECT_EQ(store.find("+14155550001")->provider, "zoom");
  EXPECT_EQ(store.find("+14155550001")->recent_event_ids, std::vector<std::string>{"e-inactive"});
  EXPECT_EQ(store.find("+14155550002"), nullptr);
  EXPECT_EQ(store.find("+14155550003"), nullptr) << "partition 1's number restored into partition 0";
}

// A rebalance hands an instance several partitions: they are read side by side by one consumer,
// each into its own store, each to its own end (an empty one among them included).
TEST_F(Restore, SeveralPartitionsAtOnceEachIntoItsOwnStore) {
  kafka_.create_topic("state3", 3);
  options_.topic = "state3";
  write(0, {{"+14155550001", state_of("8x8", "active")}, {"+14155550002", std::nullopt}}, "state3");
  std::vector<std::pair<std::string, std::optional<NumberState>>> many;
  for (int i = 0; i < 500; ++i) many.emplace_back("+1415556" + std::to_string(1000 + i), state_of("zoom", "s" + std::to_string(i)));
  write(2, many, "state3");
  MemoryStateStore s0, s1, s2;
  s1.put("+19999999999", NumberState{});  // stale: partition 1 is empty now
  const std::atomic<bool> stopping{false};
  const RestoreResult r = restore_partitions(options_, {{0, &s0}, {1, &s1}, {2, &s2}}, stopping);
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.records, 502u);
  EXPECT_EQ(s0.size(), 1u);
  EXPECT_EQ(status_in(s0, "+14155550001"), "\"active\"");
  EXPECT_EQ(s1.size(), 0u);
  EXPECT_EQ(s2.size(), 500u);
  EXPECT_EQ(status_in(s2, "+14155561499"), "\"s499\"");
}

TEST_F(Restore, AnEmptyPartitionIsCompleteAtOnce) {
  MemoryStateStore store;
  const std::atomic<bool> stopping{false};
  const RestoreResult r = restore_partition(options_, 1, store, stopping);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.records, 0u);
  EXPECT_EQ(store.size(), 0u);
}

// The old code logged "incomplete" and went on merging with whatever it had read (nothing, when
// the end offset could not even be asked): every number of the partition would be `created`
// again with its fields lost.
TEST_F(Restore, WaitsForABrokerThatIsAwayAndThenReadsEverything) {
  write(0, {{"+14155550001", state_of("8x8", "active")}, {"+14155550004", state_of("8x8", "pending")}});
  options_.attempt_timeout = 1s;
  rd_kafka_mock_broker_set_down(mc_, 1);
  MemoryStateStore store;
  const std::atomic<bool> stopping{false};
  auto restored = std::async(std::launch::async, [&] { return restore_partition(options_, 0, store, stopping); });
  ASSERT_EQ(restored.wait_for(3s), std::future_status::timeout) << "returned while the broker was down";
  rd_kafka_mock_broker_set_up(mc_, 1);
  ASSERT_EQ(restored.wait_for(30s), std::future_status::ready);
  const RestoreResult r = restored.get();
  EXPECT_TRUE(r.complete);
  EXPECT_GE(r.attempts, 2);
  EXPECT_EQ(r.records, 2u);
  EXPECT_EQ(status_in(store, "+14155550001"), "\"active\"");
  EXPECT_EQ(status_in(store, "+14155550004"), "\"pending\"");
}

TEST_F(Restore, AStopEndsTheWaitWithNoState) {
  write(0, {{"+14155550001", state_of("8x8", "active")}});
  options_.attempt_timeout = 1s;
  rd_kafka_mock_broker_set_down(mc_, 1);
  MemoryStateStore store;
  std::atomic<bool> stopping{false};
  auto restored = std::async(std::launch::async, [&] { return restore_partition(options_, 0, store, stopping); });
  std::this_thread::sleep_for(1500ms);
  const auto t0 = Clock::now();
  stopping = true;
  ASSERT_EQ(restored.wait_for(15s), std::future_status::ready);
  EXPECT_LT(Clock::now() - t0, 12s);
  const RestoreResult r = restored.get();
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(store.size(), 0u) << "a partial state was left for someone to use";
  rd_kafka_mock_broker_set_up(mc_, 1);
}

}  // namespace
}  // namespace numflow::transform
