#include "publish/kafka_config.h"
#include "tests/support/mock_kafka.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

namespace numflow::publish {
namespace {

std::string refusal(const Properties& overrides) {
  try {
    rd_kafka_conf_destroy(make_conf(durable_producer_defaults(), overrides));
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(KafkaConfig, OverridesWin) {
  const auto p = merged(durable_producer_defaults(), {{"linger.ms", "0"}, {"client.id", "x"}});
  EXPECT_NE(std::find(p.begin(), p.end(), std::pair<std::string, std::string>{"linger.ms", "0"}), p.end());
  EXPECT_NE(std::find(p.begin(), p.end(), std::pair<std::string, std::string>{"client.id", "x"}), p.end());
  EXPECT_EQ(refusal({{"linger.ms", "0"}, {"security.protocol", "SASL_SSL"}, {"sasl.mechanisms", "PLAIN"}}), "");
}

// --kafka-property must not be able to take back what a 2xx or a record promises.
TEST(KafkaConfig, OverridesThatWeakenTheGuaranteesAreRefused) {
  for (const Properties& bad : {Properties{{"acks", "1"}}, Properties{{"acks", "0"}},
                                Properties{{"request.required.acks", "1"}}, Properties{{"enable.idempotence", "false"}},
                                Properties{{"isolation.level", "read_uncommitted"}},
                                Properties{{"enable.auto.commit", "true"}}, Properties{{"transactional.id", "mine"}}}) {
    const std::string why = refusal(bad);
    EXPECT_NE(why.find("'" + bad[0].first + "'"), std::string::npos) << bad[0].first << ": " << why;
  }
  // The values that keep the guarantee are accepted, so explicit configs keep working.
  EXPECT_EQ(refusal({{"acks", "all"}, {"acks", "-1"}, {"enable.idempotence", "true"},
                     {"isolation.level", "read_committed"}, {"enable.auto.commit", "false"}}),
            "");
}

TEST(KafkaConfig, LibrdkafkaRefusalsNameThePropertyButNotTheValue) {
  const std::string why = refusal({{"sasl.password", "s3cret"}, {"no.such.property", "s3cret"}});
  EXPECT_NE(why.find("no.such.property"), std::string::npos) << why;
  EXPECT_EQ(why.find("s3cret"), std::string::npos) << why;
}

// The broker thread's loop count ("wakeups" in librdkafka's statistics) while an idempotent
// producer with numflow's defaults writes 10 messages a millisecond for a second to 4 partitions
// of a broker answering after 20 ms: every partition has more than 5 messages in flight nearly
// all the time, the case where librdkafka 2.0.2 busy-polls unless requests wait in its output
// queue (kafka_config.cpp, max.in.flight.requests.per.connection).
long long broker_loops(const Properties& overrides) {
  testing::MockKafka kafka;
  kafka.create_topic("t", 4);
  rd_kafka_mock_broker_set_rtt(kafka.cluster(), 1, 20);
  Properties props = {{"bootstrap.servers", kafka.bootstraps()}, {"log_level", "0"}, {"linger.ms", "1"},
                      {"statistics.interval.ms", "100"}};
  for (const auto& p : overrides) props.push_back(p);
  rd_kafka_conf_t* conf = make_conf(durable_producer_defaults(), props);
  std::string last_stats;  // written by rd_kafka_poll below, on this thread
  rd_kafka_conf_set_opaque(conf, &last_stats);
  rd_kafka_conf_set_stats_cb(conf, [](rd_kafka_t*, char* json, size_t len, void* opaque) {
    static_cast<std::string*>(opaque)->assign(json, len);
    return 0;
  });
  char err[256];
  KafkaHandle rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err));
  if (!rk) throw std::runtime_error(err);
  const std::string value(100, 'x');
  const auto start = std::chrono::steady_clock::now();
  for (int ms = 0; ms < 1000; ++ms) {
    for (int i = 0; i < 10; ++i) {
      const std::string key = std::to_string(ms * 10 + i);
      rd_kafka_vu_t vus[4];
      vus[0].vtype = RD_KAFKA_VTYPE_TOPIC;
      vus[0].u.cstr = "t";
      vus[1].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
      vus[1].u.i = RD_KAFKA_MSG_F_COPY;
      vus[2].vtype = RD_KAFKA_VTYPE_KEY;
      vus[2].u.mem = {const_cast<char*>(key.data()), key.size()};  // copied, never written through
      vus[3].vtype = RD_KAFKA_VTYPE_VALUE;
      vus[3].u.mem = {const_cast<char*>(value.data()), value.size()};
      if (rd_kafka_error_t* e = rd_kafka_produceva(rk.get(), vus, 4)) {
        ADD_FAILURE() << rd_kafka_error_string(e);
        rd_kafka_error_destroy(e);
      }
    }
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

TEST(KafkaConfigOnMock, TheIdempotentProducersBrokerThreadWaitsForAnswersInsteadOfSpinning) {
  const long long with_defaults = broker_loops({});
  // Fewer loops than messages: the thread wakes for answers and batches, not in a loop.
  EXPECT_LT(with_defaults, 10000) << "broker thread loops for 10,000 messages";
  // What the setting prevents: librdkafka's default for an idempotent producer, 5 in flight.
  const long long with_five = broker_loops({{"max.in.flight.requests.per.connection", "5"}});
  EXPECT_GT(with_five, 50 * with_defaults) << "defaults: " << with_defaults;
  std::printf("broker thread loops for 10,000 messages: %lld with numflow's defaults, %lld with 5 in flight\n",
              with_defaults, with_five);
}

}  // namespace
}  // namespace numflow::publish
