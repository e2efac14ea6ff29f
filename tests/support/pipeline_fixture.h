#pragma once
// The integration tests' fixture: unique topics per test, numflow-ingest and numflow-transform
// started as processes against the broker in NUMFLOW_TEST_BROKERS.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "common/crypto.h"
#include "tests/support/http_client.h"
#include "tests/support/kafka_reader.h"
#include "tests/support/process.h"

namespace numflow::testing {

using namespace std::chrono_literals;

struct Topics {
  std::string raw, numbers, extensions, dead;
  std::vector<std::string> args() const {
    return {"--raw-topic", raw, "--number-changes-topic", numbers, "--extension-changes-topic", extensions,
            "--dead-letter-topic", dead};
  }
  std::vector<std::string> internal_args() const {
    return {"--fragments-topic", raw + ".fragments", "--state-topic", raw + ".state"};
  }
};

inline Topics unique_topics() {
  const std::string id = crypto::random_hex_id().substr(0, 8);
  return {"t" + id + ".raw", "t" + id + ".numbers", "t" + id + ".extensions", "t" + id + ".dead"};
}

inline std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

class Pipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    brokers_ = test_brokers();
    ASSERT_FALSE(brokers_.empty()) << "integration tests need a broker: run scripts/test.sh, or start one with "
                                      "scripts/kafka.sh start and export NUMFLOW_TEST_BROKERS=127.0.0.1:9092";
    topics_ = unique_topics();
  }

  std::unique_ptr<Process> start_ingest(std::vector<std::string> extra = {}, std::string brokers = "") {
    ingest_port_ = free_port();
    ingest_metrics_port_ = free_port();
    auto args = concat({"--brokers", brokers.empty() ? brokers_ : brokers, "--listen",
                        "127.0.0.1:" + std::to_string(ingest_port_), "--metrics-listen",
                        "127.0.0.1:" + std::to_string(ingest_metrics_port_),
                        "--8x8-auth", "none", "--zoom-auth", "none", "--ringcentral-auth", "none"},
                       topics_.args());
    return std::make_unique<Process>(NUMFLOW_INGEST_BIN, concat(args, extra), log_path("ingest"));
  }

  // `name` tells the log files of several instances apart.
  std::unique_ptr<Process> start_transform(std::vector<std::string> extra = {}, std::string brokers = "",
                                           const std::string& name = "transform") {
    transform_port_ = free_port();
    auto args = concat({"--brokers", brokers.empty() ? brokers_ : brokers, "--metrics-listen",
                        "127.0.0.1:" + std::to_string(transform_port_), "--group-id", "g-" + topics_.raw,
                        "--ringcentral-account", "99", "--batch-max-ms", "50"},
                       concat(topics_.args(), topics_.internal_args()));
    return std::make_unique<Process>(NUMFLOW_TRANSFORM_BIN, concat(args, extra), log_path(name));
  }

  std::string log_path(const std::string& what) const {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return "/tmp/numflow-test-" + std::string(info->name()) + "-" + what + ".log";
  }

  HttpResult post(const std::string& provider, const std::string& body) {
    return http_request(ingest_port_, "POST", "/webhooks/" + provider, body, {{"Content-Type", "application/json"}});
  }

  std::string brokers_;
  Topics topics_;
  int ingest_port_ = 0, ingest_metrics_port_ = 0, transform_port_ = 0;
};

// Runs scripts/kafka.sh against the test broker (its port is the one in NUMFLOW_TEST_BROKERS).
inline int kafka_script(const std::string& command, const std::string& brokers) {
  const std::string port = brokers.substr(brokers.rfind(':') + 1);
  return std::system(("bash scripts/kafka.sh " + command + " --port " + port + " >/dev/null 2>&1").c_str());
}

}  // namespace numflow::testing
