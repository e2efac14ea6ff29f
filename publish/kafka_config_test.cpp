#include "publish/kafka_config.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

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
                                Properties{{"enable.auto.commit", "true"}}, Properties{{"transactional.id", "mine"}},
                                Properties{{"max.in.flight.requests.per.connection", "5"}},
                                Properties{{"max.in.flight", "2"}}}) {
    const std::string why = refusal(bad);
    EXPECT_NE(why.find("'" + bad[0].first + "'"), std::string::npos) << bad[0].first << ": " << why;
  }
  // The values that keep the guarantee are accepted, so explicit configs keep working.
  EXPECT_EQ(refusal({{"acks", "all"}, {"acks", "-1"}, {"enable.idempotence", "true"},
                     {"isolation.level", "read_committed"}, {"enable.auto.commit", "false"},
                     {"max.in.flight.requests.per.connection", "1"}}),
            "");
}

TEST(KafkaConfig, LibrdkafkaRefusalsNameThePropertyButNotTheValue) {
  const std::string why = refusal({{"sasl.password", "s3cret"}, {"no.such.property", "s3cret"}});
  EXPECT_NE(why.find("no.such.property"), std::string::npos) << why;
  EXPECT_EQ(why.find("s3cret"), std::string::npos) << why;
}

}  // namespace
}  // namespace numflow::publish
