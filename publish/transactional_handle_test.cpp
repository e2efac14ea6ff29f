// destroy_with_nothing_in_flight against librdkafka's mock cluster.
//
// The fault it exists for: a transactional producer that is already fenced still has a
// ProduceRequest out, and the application destroys it. librdkafka's main thread frees the
// transaction's error string as it terminates; if the broker thread handles the late "fenced"
// response after that, it frees the string again. The window is tens of microseconds wide, so
// the test sweeps the moment of destruction across the late response's arrival. With a plain
// rd_kafka_destroy in place of the purge, this sweep crashed the ASan build in 3 runs of 3 on the
// development machine (double free in rd_kafka_txn_set_fatal_error, the stack CI showed).
#include "publish/transactional_handle.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/support/mock_kafka.h"

namespace numflow::publish {
namespace {

using namespace std::chrono_literals;
using numflow::testing::MockKafka;

constexpr int kProduce = 0;  // Kafka API key
constexpr int kLateResponseMs = 100;

rd_kafka_t* transactional_producer(const MockKafka& kafka) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[256];
  for (const auto& [k, v] : {std::pair<const char*, std::string>{"bootstrap.servers", kafka.bootstraps()},
                             {"transactional.id", "handle-test"},
                             {"linger.ms", "0"},
                             {"log_level", "0"}})
    EXPECT_EQ(rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err), RD_KAFKA_CONF_OK) << err;
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  EXPECT_NE(rk, nullptr) << err;
  return rk;
}

// A transactional producer with its transaction begun, that already knows the topic's partitions
// (so produce() sends at once instead of at the next metadata refresh); nullptr, the failure
// reported, if it cannot be had.
rd_kafka_t* producer_in_transaction(const MockKafka& kafka) {
  rd_kafka_t* rk = transactional_producer(kafka);
  if (!rk) return nullptr;
  rd_kafka_error_t* e = rd_kafka_init_transactions(rk, 10000);
  if (!e) {
    rd_kafka_topic_t* t = rd_kafka_topic_new(rk, "numbers", nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    EXPECT_EQ(rd_kafka_metadata(rk, 0, t, &md, 5000), RD_KAFKA_RESP_ERR_NO_ERROR);
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    e = rd_kafka_begin_transaction(rk);
  }
  if (e) {
    ADD_FAILURE() << rd_kafka_error_string(e);
    rd_kafka_error_destroy(e);
    rd_kafka_destroy(rk);
    return nullptr;
  }
  return rk;
}

void produce(rd_kafka_t* rk, std::int32_t partition) {
  static char value[] = "v";
  rd_kafka_vu_t vus[3];
  vus[0].vtype = RD_KAFKA_VTYPE_TOPIC;
  vus[0].u.cstr = "numbers";
  vus[1].vtype = RD_KAFKA_VTYPE_PARTITION;
  vus[1].u.i32 = partition;
  vus[2].vtype = RD_KAFKA_VTYPE_VALUE;
  vus[2].u.mem = {value, 1};
  rd_kafka_error_t* e = rd_kafka_produceva(rk, vus, 3);
  EXPECT_EQ(e, nullptr) << rd_kafka_error_string(e);
  if (e) rd_kafka_error_destroy(e);
}

TEST(TransactionalHandle, FencedProducerWithAResponseStillToComeIsDestroyedCleanly) {
  for (int us = (kLateResponseMs - 1) * 1000; us <= (kLateResponseMs + 1) * 1000; us += 50) {
    SCOPED_TRACE("destroyed " + std::to_string(us) + " us after the producer was fenced");
    MockKafka kafka;
    kafka.create_topic("numbers", 2);
    rd_kafka_t* rk = producer_in_transaction(kafka);
    ASSERT_NE(rk, nullptr);
    // One ProduceRequest per partition: the first is answered "fenced" at once (a fatal error,
    // which sets the error string), the second the same way kLateResponseMs later.
    rd_kafka_mock_broker_push_request_error_rtts(kafka.cluster(), 1, kProduce, 2,
                                                 RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH, 0,
                                                 RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH, kLateResponseMs);
    produce(rk, 0);
    produce(rk, 1);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (rd_kafka_fatal_error(rk, nullptr, 0) == RD_KAFKA_RESP_ERR_NO_ERROR &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(100us);
    ASSERT_EQ(rd_kafka_fatal_error(rk, nullptr, 0), RD_KAFKA_RESP_ERR__FENCED);
    std::this_thread::sleep_for(std::chrono::microseconds(us));
    EXPECT_EQ(destroy_with_nothing_in_flight(rk), 0);
  }
}

TEST(TransactionalHandle, MessagesQueuedForAnUnreachableClusterAreDroppedWithoutWaiting) {
  MockKafka kafka;
  kafka.create_topic("numbers", 2);
  rd_kafka_t* rk = producer_in_transaction(kafka);
  ASSERT_NE(rk, nullptr);
  rd_kafka_mock_broker_set_down(kafka.cluster(), 1);
  for (int i = 0; i < 100; ++i) produce(rk, i % 2);
  EXPECT_GE(rd_kafka_outq_len(rk), 100);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(destroy_with_nothing_in_flight(rk), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s) << "purged, not waited for";
}

}  // namespace
}  // namespace numflow::publish
