#pragma once
// librdkafka's mock cluster (rdkafka_mock.h), for unit tests that inject broker errors. A hidden
// client owns the cluster and takes it down with it; the code under test connects to bootstraps().
// Integration tests use the real broker instead (scripts/kafka.sh).
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <stdexcept>
#include <string>

namespace numflow::testing {

class MockKafka {
 public:
  explicit MockKafka(int brokers = 1) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[256];
    rd_kafka_conf_set(conf, "test.mock.num.brokers", std::to_string(brokers).c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    host_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!host_) throw std::runtime_error(std::string("cannot start librdkafka's mock cluster: ") + err);
    cluster_ = rd_kafka_handle_mock_cluster(host_);
  }
  ~MockKafka() { rd_kafka_destroy(host_); }
  MockKafka(const MockKafka&) = delete;
  MockKafka& operator=(const MockKafka&) = delete;

  rd_kafka_mock_cluster_t* cluster() const { return cluster_; }
  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  void create_topic(const char* name, int partitions, int replication = 1) const {
    rd_kafka_mock_topic_create(cluster_, name, partitions, replication);
  }

 private:
  rd_kafka_t* host_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

}  // namespace numflow::testing
