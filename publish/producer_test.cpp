// KafkaProducer on librdkafka's mock cluster: answers after delivery, refuses fast when Kafka is
// away, and after a fatal error rebuilds itself while callers get "unavailable" (503 in ingest).
#include "publish/producer.h"
#include "tests/support/mock_kafka.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

namespace numflow::publish {
namespace {

using namespace std::chrono_literals;

class ProducerMock : public ::testing::Test {
 protected:
  void SetUp() override {
    mc_ = kafka_.cluster();
    kafka_.create_topic("raw", 2, 1);
    ProducerOptions o;
    o.properties = {{"bootstrap.servers", kafka_.bootstraps()}, {"log_level", "0"},
                    {"message.timeout.ms", "2000"}};
    o.readiness_topic = "raw";
    o.metadata_interval_ms = 100;
    producer_ = std::make_unique<KafkaProducer>(o);
  }
  void TearDown() override { producer_.reset(); }

  bool wait_ready(bool want, std::chrono::milliseconds timeout = 10s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (producer_->ready() == want) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  // The delivery's status, or failed when no report came within 10 s (on a loaded machine the
  // report of a message to a down broker can come later than message.timeout.ms: the promise is
  // shared so that a late report finds it alive).
  Delivery send(const std::string& value) {
    auto p = std::make_shared<std::promise<Delivery>>();
    auto f = p->get_future();
    producer_->submit(Message{"raw", "8x8:a", value, {{"numflow-provider", "8x8"}}},
                      [p](DeliveryResult r) { p->set_value(r.status); });
    if (f.wait_for(10s) != std::future_status::ready) return Delivery::failed;
    return f.get();
  }

  testing::MockKafka kafka_{1};  // first: destroyed last
  rd_kafka_mock_cluster_t* mc_ = nullptr;
  std::unique_ptr<KafkaProducer> producer_;
};

TEST_F(ProducerMock, PersistedOnlyAfterTheDeliveryReport) {
  ASSERT_TRUE(wait_ready(true));
  EXPECT_EQ(send("{}"), Delivery::persisted);
  EXPECT_EQ(producer_->in_flight(), 0u);
}

TEST_F(ProducerMock, BrokerDownMeansUnavailableOrFailedNeverPersisted) {
  ASSERT_TRUE(wait_ready(true));
  rd_kafka_mock_broker_set_down(mc_, 1);
  const auto status = send("{\"while\":\"down\"}");
  EXPECT_NE(status, Delivery::persisted);
  rd_kafka_mock_broker_set_up(mc_, 1);
  ASSERT_TRUE(wait_ready(true, 15s));
  EXPECT_EQ(send("{}"), Delivery::persisted);
}

TEST_F(ProducerMock, FatalErrorRebuildsTheProducer) {
  ASSERT_TRUE(wait_ready(true));
  ASSERT_EQ(send("{\"n\":1}"), Delivery::persisted);
  // What librdkafka 2.0.2's idempotent producer raises after a sequence desynchronization.
  rd_kafka_test_fatal_error(producer_->handle().get(), RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                            "test: sequence desynchronization");
  // Until the new producer is up, requests are refused at once (ingest answers 503).
  EXPECT_NE(send("{\"n\":2}"), Delivery::persisted);
  const auto until = std::chrono::steady_clock::now() + 15s;
  while (producer_->rebuilds() == 0 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(producer_->rebuilds(), 1u) << "a new producer must take over";
  ASSERT_TRUE(wait_ready(true, 15s));
  EXPECT_EQ(send("{\"n\":3}"), Delivery::persisted);
  EXPECT_EQ(producer_->in_flight(), 0u);
}

}  // namespace
}  // namespace numflow::publish
