// What durable_producer_defaults() buys, against librdkafka's mock cluster, each beside
// librdkafka's own default of five requests in flight per connection (kafka_config.cpp says why
// numflow allows one):
//  - a message reported delivered is in the topic once, even when the broker writes batches but
//    answers later than message.timeout.ms and librdkafka bumps the producer epoch;
//  - the broker thread sleeps while answers are outstanding instead of polling in a loop.
#include "publish/kafka_config.h"
#include "tests/support/kafka_reader.h"
#include "tests/support/mock_kafka.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace numflow::publish {
namespace {

// numflow's defaults with librdkafka's own number of requests in flight, which --kafka-property
// may not set (kafka_config.cpp, pinned()).
Properties with_five_in_flight() {
  Properties d = durable_producer_defaults();
  for (auto& [k, v] : d)
    if (k == "max.in.flight.requests.per.connection") v = "5";
  return d;
}

// Produces value to topic t with `opaque` for its delivery report.
void produce(rd_kafka_t* rk, const std::string& value, void* opaque) {
  rd_kafka_vu_t vus[5];
  vus[0].vtype = RD_KAFKA_VTYPE_TOPIC;
  vus[0].u.cstr = "t";
  vus[1].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  vus[1].u.i = RD_KAFKA_MSG_F_COPY;
  vus[2].vtype = RD_KAFKA_VTYPE_KEY;
  vus[2].u.mem = {const_cast<char*>(value.data()), value.size()};  // copied, never written through
  vus[3].vtype = RD_KAFKA_VTYPE_VALUE;
  vus[3].u.mem = {const_cast<char*>(value.data()), value.size()};
  vus[4].vtype = RD_KAFKA_VTYPE_OPAQUE;
  vus[4].u.ptr = opaque;
  if (rd_kafka_error_t* e = rd_kafka_produceva(rk, vus, 5)) {
    ADD_FAILURE() << rd_kafka_error_string(e);
    rd_kafka_error_destroy(e);
  }
}

KafkaHandle new_client(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[256];
  KafkaHandle rk(rd_kafka_new(type, conf, err, sizeof err));
  if (!rk) throw std::runtime_error(err);
  return rk;
}

// ---- Late answers and message timeouts: nothing delivered twice ---------------------------------

enum class Report : char { none, delivered, failed };

struct Books {
  int delivered = 0, failed = 0, unreported = 0, delivered_twice = 0, delivered_missing = 0;
};

// 2 messages a millisecond for 8 s to 4 partitions; from 1.5 s to 5 s the broker answers 1.9 s
// after each request (the mock writes the batch at once: a slow follower under acks=all, a slow
// disk), against a message.timeout.ms of 2 s (numflow-ingest's until 2026-11-29; 30 s since,
// ingest/main.cpp says why: one in flight narrows the window, a long timeout avoids it).
// In-flight requests time out ("possibly persisted", retried), queued messages time out and are
// failed, and librdkafka bumps the producer epoch to close the gap in the sequence numbers.
Books late_answers(const Properties& defaults) {
  testing::MockKafka kafka;
  kafka.create_topic("t", 4);
  constexpr int kMs = 8000, kPerMs = 2;
  std::vector<Report> reports(kMs * kPerMs, Report::none);
  {
    rd_kafka_conf_t* conf = make_conf(defaults, {{"bootstrap.servers", kafka.bootstraps()},
                                                 {"log_level", "0"},
                                                 {"linger.ms", "1"},
                                                 {"message.timeout.ms", "2000"}});
    rd_kafka_conf_set_opaque(conf, &reports);  // the reports are written by rd_kafka_poll, on this thread
    rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
      auto& r = *static_cast<std::vector<Report>*>(opaque);
      r[reinterpret_cast<std::uintptr_t>(m->_private)] = m->err ? Report::failed : Report::delivered;
    });
    KafkaHandle rk = new_client(RD_KAFKA_PRODUCER, conf);
    const auto start = std::chrono::steady_clock::now();
    for (int ms = 0; ms < kMs; ++ms) {
      if (ms == 1500) rd_kafka_mock_broker_set_rtt(kafka.cluster(), 1, 1900);
      if (ms == 5000) rd_kafka_mock_broker_set_rtt(kafka.cluster(), 1, 0);
      for (int i = 0; i < kPerMs; ++i) {
        const std::uintptr_t n = ms * kPerMs + i;
        produce(rk.get(), "m" + std::to_string(n), reinterpret_cast<void*>(n));
      }
      rd_kafka_poll(rk.get(), 0);
      std::this_thread::sleep_until(start + std::chrono::milliseconds(ms + 1));
    }
    EXPECT_EQ(rd_kafka_flush(rk.get(), 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  std::map<std::string, int> seen;  // every value in the topic, with how often it is there
  for (const auto& r : testing::read_topic(kafka.bootstraps(), "t", 0, std::chrono::seconds(30)))
    ++seen[r.value.value_or("")];
  Books b;
  for (std::size_t n = 0; n < reports.size(); ++n) {
    const auto it = seen.find("m" + std::to_string(n));
    const int copies = it == seen.end() ? 0 : it->second;
    if (reports[n] == Report::delivered) {
      ++b.delivered;
      b.delivered_twice += copies > 1;
      b.delivered_missing += copies == 0;
    }
    b.failed += reports[n] == Report::failed;
    b.unreported += reports[n] == Report::none;
  }
  return b;
}

TEST(DurableDefaultsOnMock, LateAnswersAndMessageTimeoutsWriteNothingDeliveredTwice) {
  const Books ours = late_answers(durable_producer_defaults());
  EXPECT_GT(ours.failed, 0) << "no message timed out: librdkafka had no reason to bump its epoch";
  EXPECT_GT(ours.delivered, 0);
  EXPECT_EQ(ours.unreported, 0);
  EXPECT_EQ(ours.delivered_missing, 0);
  EXPECT_EQ(ours.delivered_twice, 0) << "reported delivered, written twice";
  // The same with five requests in flight: the test sees what the setting prevents. The requests
  // in flight beside an expired one fail with it (librdkafka closes the connection) and hold
  // younger messages; they are retried, the epoch is bumped for the older ones' timeouts, and
  // they go out again under new sequence numbers the broker cannot match to the copies it has.
  const Books five = late_answers(with_five_in_flight());
  EXPECT_GT(five.delivered_twice, 0) << "with 5 in flight nothing was written twice: the test proves nothing";
  std::printf("delivered and written twice: %d of %d with numflow's defaults, %d of %d with 5 in flight\n",
              ours.delivered_twice, ours.delivered, five.delivered_twice, five.delivered);
}

// ---- The broker thread waits for answers instead of spinning ------------------------------------

// The broker thread's loop count ("wakeups" in librdkafka's statistics) while an idempotent
// producer writes 10 messages a millisecond for a second to 4 partitions of a broker answering
// after 20 ms: every partition has more than 5 messages in flight nearly all the time, the case
// where librdkafka 2.0.2 busy-polls when several requests may be in flight.
long long broker_loops(const Properties& defaults) {
  testing::MockKafka kafka;
  kafka.create_topic("t", 4);
  rd_kafka_mock_broker_set_rtt(kafka.cluster(), 1, 20);
  rd_kafka_conf_t* conf = make_conf(defaults, {{"bootstrap.servers", kafka.bootstraps()},
                                               {"log_level", "0"},
                                               {"linger.ms", "1"},
                                               {"statistics.interval.ms", "100"}});
  std::string last_stats;  // written by rd_kafka_poll below, on this thread
  rd_kafka_conf_set_opaque(conf, &last_stats);
  rd_kafka_conf_set_stats_cb(conf, [](rd_kafka_t*, char* json, size_t len, void* opaque) {
    static_cast<std::string*>(opaque)->assign(json, len);
    return 0;
  });
  KafkaHandle rk = new_client(RD_KAFKA_PRODUCER, conf);
  const auto start = std::chrono::steady_clock::now();
  for (int ms = 0; ms < 1000; ++ms) {
    for (int i = 0; i < 10; ++i) produce(rk.get(), std::to_string(ms * 10 + i) + std::string(100, 'x'), nullptr);
    rd_kafka_poll(rk.get(), 0);
    std::this_thread::sleep_until(start + std::chrono::milliseconds(ms + 1));
  }
  EXPECT_EQ(rd_kafka_flush(rk.get(), 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  last_stats.clear();
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (last_stats.empty() && std::chrono::steady_clock::now() < give_up) rd_kafka_poll(rk.get(), 50);
  EXPECT_FALSE(last_stats.empty()) << "no statistics from librdkafka";
  long long loops = 0;  // summed over the client's brokers: the mock's, the bootstrap, the internal one
  for (auto at = last_stats.find("\"wakeups\":"); at != std::string::npos; at = last_stats.find("\"wakeups\":", at + 1))
    loops += std::atoll(last_stats.c_str() + at + 10);
  return loops;
}

TEST(DurableDefaultsOnMock, TheBrokerThreadWaitsForAnswersInsteadOfSpinning) {
  const long long ours = broker_loops(durable_producer_defaults());
  // Fewer loops than messages: the thread wakes for answers and batches, not in a loop.
  EXPECT_LT(ours, 10000) << "broker thread loops for 10,000 messages";
  const long long five = broker_loops(with_five_in_flight());
  EXPECT_GT(five, 50 * ours) << "numflow's defaults: " << ours;
  std::printf("broker thread loops for 10,000 messages: %lld with numflow's defaults, %lld with 5 in flight\n", ours,
              five);
}

}  // namespace
}  // namespace numflow::publish
