// KafkaProducer on librdkafka's mock cluster: answers after delivery, refuses fast when Kafka is
// away, and after a fatal error rebuilds itself while callers get "unavailable" (503 in ingest).
#include "publish/producer.h"
#include "tests/support/mock_kafka.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

namespace numflow::publish {
namespace {

using namespace std::chrono_literals;

// Every test runs twice: reports served by the producer's poll thread, and by the caller's event
// loop (caller_serves_reports, as numflow-ingest does on its HTTP io thread): here a thread that
// waits on report_fd() and calls serve_reports().
class ProducerMock : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    mc_ = kafka_.cluster();
    kafka_.create_topic("raw", 2, 1);
    ProducerOptions o;
    o.properties = {{"bootstrap.servers", kafka_.bootstraps()}, {"log_level", "0"},
                    {"message.timeout.ms", "2000"}};
    o.readiness_topic = "raw";
    o.metadata_interval_ms = 100;
    o.caller_serves_reports = GetParam();
    producer_ = std::make_unique<KafkaProducer>(o);
    if (GetParam()) loop_ = std::thread([this] { serve_loop(); });
  }
  void TearDown() override {
    loop_stop_.store(true);
    if (loop_.joinable()) loop_.join();
    producer_.reset();
  }

  void serve_loop() {
    pollfd p{producer_->report_fd(), POLLIN, 0};
    while (!loop_stop_.load()) {
      if (::poll(&p, 1, 20) > 0) {
        wakeups_.fetch_add(1);
        producer_->serve_reports();
      }
    }
  }

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

  // The thread that ran the last delivery callback.
  Delivery send_from(const std::string& value, std::thread::id& ran_on) {
    auto p = std::make_shared<std::promise<std::pair<Delivery, std::thread::id>>>();
    auto f = p->get_future();
    producer_->submit(Message{"raw", "8x8:a", value, {}},
                      [p](DeliveryResult r) { p->set_value({r.status, std::this_thread::get_id()}); });
    if (f.wait_for(10s) != std::future_status::ready) return Delivery::failed;
    const auto [status, id] = f.get();
    ran_on = id;
    return status;
  }

  testing::MockKafka kafka_{1};  // first: destroyed last
  rd_kafka_mock_cluster_t* mc_ = nullptr;
  std::unique_ptr<KafkaProducer> producer_;
  std::thread loop_;
  std::atomic<bool> loop_stop_{false};
  std::atomic<int> wakeups_{0};
};

INSTANTIATE_TEST_SUITE_P(Reports, ProducerMock, ::testing::Values(false, true),
                         [](const auto& param_info) { return param_info.param ? "ServedByCaller" : "ServedByPollThread"; });

TEST_P(ProducerMock, ReportsRunWhereTheyAreServed) {
  ASSERT_TRUE(wait_ready(true));
  EXPECT_EQ(producer_->report_fd() >= 0, GetParam());
  // The poll thread backstops a caller that is slow to serve (every 50 ms), so one report may
  // run there by chance; most must run on the serving loop.
  int on_loop = 0;
  for (int i = 0; i < 10; ++i) {
    std::thread::id ran_on;
    ASSERT_EQ(send_from("{\"i\":" + std::to_string(i) + "}", ran_on), Delivery::persisted);
    if (GetParam() && ran_on == loop_.get_id()) ++on_loop;
  }
  if (GetParam()) {
    EXPECT_GE(on_loop, 8);
    EXPECT_GE(wakeups_.load(), 8) << "the fd must turn readable for each report";
  }
}

TEST(ProducerCallerServes, WithNobodyServingTheBackstopStillDelivers) {
  testing::MockKafka kafka{1};
  kafka.create_topic("raw", 1, 1);
  ProducerOptions o;
  o.properties = {{"bootstrap.servers", kafka.bootstraps()}, {"log_level", "0"}, {"message.timeout.ms", "2000"}};
  o.readiness_topic = "raw";
  o.metadata_interval_ms = 100;
  o.caller_serves_reports = true;
  KafkaProducer producer(o);
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (!producer.ready() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(producer.ready());
  auto p = std::make_shared<std::promise<Delivery>>();
  auto f = p->get_future();
  producer.submit(Message{"raw", "8x8:a", "{}", {}}, [p](DeliveryResult r) { p->set_value(r.status); });
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(f.get(), Delivery::persisted);
}

TEST_P(ProducerMock, PersistedOnlyAfterTheDeliveryReport) {
  ASSERT_TRUE(wait_ready(true));
  EXPECT_EQ(send("{}"), Delivery::persisted);
  EXPECT_EQ(producer_->in_flight(), 0u);
}

TEST_P(ProducerMock, BrokerDownMeansUnavailableOrFailedNeverPersisted) {
  ASSERT_TRUE(wait_ready(true));
  rd_kafka_mock_broker_set_down(mc_, 1);
  const auto status = send("{\"while\":\"down\"}");
  EXPECT_NE(status, Delivery::persisted);
  rd_kafka_mock_broker_set_up(mc_, 1);
  ASSERT_TRUE(wait_ready(true, 15s));
  EXPECT_EQ(send("{}"), Delivery::persisted);
}

// A broker answering every request 1.5 s late (a quota's throttle, a slow follower): the
// readiness probe's metadata request times out at 1 s, but deliveries keep being acknowledged,
// so the producer stays ready (ingest keeps shedding with 503 overloaded rather than answering
// not_ready and failing its readiness check). With no delivery acknowledged lately, the same
// timeout is not evidence enough: readiness drops.
TEST_P(ProducerMock, ASlowBrokerThatAcknowledgesIsStillReady) {
  ASSERT_TRUE(wait_ready(true));
  ASSERT_EQ(send("{}"), Delivery::persisted);
  rd_kafka_mock_broker_set_rtt(mc_, 1, 1500);
  std::atomic<int> persisted{0};
  bool stayed_ready = true;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; std::chrono::steady_clock::now() - start < 4s; ++i) {
    if (i % 10 == 0)
      producer_->submit(Message{"raw", "8x8:a", "{}", {}}, [&persisted](DeliveryResult r) {
        persisted += r.status == Delivery::persisted;
      });
    stayed_ready = stayed_ready && producer_->ready();
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_GT(persisted.load(), 0);
  EXPECT_TRUE(stayed_ready) << "a slow broker that acknowledges writes is not unreachable";

  // Nothing acknowledged for longer than the grace (5 s): the timed-out probe now counts.
  EXPECT_TRUE(wait_ready(false, 15s));
  rd_kafka_mock_broker_set_rtt(mc_, 1, 0);
  ASSERT_TRUE(wait_ready(true, 15s));
  EXPECT_TRUE(producer_->flush(10000));
}

TEST_P(ProducerMock, FatalErrorRebuildsTheProducer) {
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
