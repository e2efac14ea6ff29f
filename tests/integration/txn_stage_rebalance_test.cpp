// TxnStage (transform/txn_stage.h) on the real broker while its group rebalances under it: a
// second member joins while the first has a batch open. The first one's partitions are revoked
// (its transaction aborted, the batch voided) and handed out again; on a real broker that second
// half of the rebalance takes milliseconds, so the consumer_poll() that served the revocation
// goes on to serve the new assignment and may return its first message. Every input must come
// out exactly once (read_committed), whichever member ends up with it.
// (librdkafka's mock cluster takes seconds over the same rebalance: transform/txn_stage_test.cpp
// cannot show this.)
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "common/crypto.h"
#include "publish/kafka_config.h"
#include "publish/topics.h"
#include "tests/support/kafka_reader.h"
#include "transform/txn_stage.h"

namespace numflow::transform {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class EchoHooks final : public StageHooks {
 public:
  explicit EchoHooks(std::string out) : out_(std::move(out)) {}
  bool on_assign(const std::vector<std::int32_t>&, const std::atomic<bool>&) override { return true; }
  void on_revoke(const std::vector<std::int32_t>&) override {}
  void process(const rd_kafka_message_t* m, std::vector<OutMessage>& out) override {
    out.push_back(OutMessage{out_, RD_KAFKA_PARTITION_UA, std::string(static_cast<const char*>(m->key), m->key_len),
                             std::string(static_cast<const char*>(m->payload), m->len), {}});
  }
  void on_commit() override {}
  void on_abort() override { ++aborts; }
  std::atomic<int> aborts{0};

 private:
  std::string out_;
};

class TxnStageRebalance : public ::testing::Test {
 protected:
  void SetUp() override {
    brokers_ = testing::test_brokers();
    ASSERT_FALSE(brokers_.empty()) << "needs a broker: scripts/kafka.sh start, NUMFLOW_TEST_BROKERS=127.0.0.1:9092";
    const std::string id = crypto::random_hex_id().substr(0, 8);
    in_ = "s" + id + ".in";
    out_ = "s" + id + ".out";
    group_ = "g-" + in_;
    publish::KafkaHandle admin(make_producer());
    const auto r = publish::ensure_topics(admin.get(), {{in_, "delete", -2, 2, 1}, {out_, "delete", -2, 2, 1}}, 30000);
    ASSERT_EQ(r.status, publish::TopicsResult::ok) << r.message;
  }

  rd_kafka_t* make_producer() const {
    rd_kafka_conf_t* conf = publish::make_conf({{"bootstrap.servers", brokers_}, {"acks", "all"}}, {});
    char err[256];
    return rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  }

  // `n` inputs keyed k0..k(n-1), alternating between the two partitions, one every `gap`.
  void trickle(int n, std::chrono::microseconds gap) const {
    publish::KafkaHandle p(make_producer());
    for (int i = 0; i < n; ++i) {
      const std::string key = "k" + std::to_string(i);
      rd_kafka_vu_t vu[5];
      vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
      vu[0].u.cstr = in_.c_str();
      vu[1].vtype = RD_KAFKA_VTYPE_PARTITION;
      vu[1].u.i32 = i % 2;
      vu[2].vtype = RD_KAFKA_VTYPE_KEY;
      vu[2].u.mem = {const_cast<char*>(key.data()), key.size()};
      vu[3].vtype = RD_KAFKA_VTYPE_VALUE;
      vu[3].u.mem = {const_cast<char*>(key.data()), key.size()};
      vu[4].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
      vu[4].u.i = RD_KAFKA_MSG_F_COPY;
      if (rd_kafka_error_t* e = rd_kafka_produceva(p.get(), vu, 5)) rd_kafka_error_destroy(e);
      rd_kafka_poll(p.get(), 0);
      std::this_thread::sleep_for(gap);
    }
    rd_kafka_flush(p.get(), 10000);
  }

  StageOptions stage(const std::string& member) const {
    // Long windows and no idle commit: the stage spends its time inside one long consumer_poll(),
    // where the rebalance callbacks run. A short heartbeat: members learn of the rebalance at once.
    return StageOptions{"test",
                        {{"bootstrap.servers", brokers_}, {"heartbeat.interval.ms", "100"}},
                        group_,
                        in_,
                        group_ + "-" + member,
                        group_ + "-" + member,
                        1000000,
                        3000,
                        0,
                        0};
  }

  std::string brokers_, in_, out_, group_;
};

TEST_F(TxnStageRebalance, MembersJoiningMidBatchLoseAndRepeatNothing) {
  constexpr int kInputs = 3000;
  EchoHooks first_hooks(out_), second_hooks(out_), third_hooks(out_);
  TxnStage first(stage("a"), first_hooks), second(stage("b"), second_hooks), third(stage("c"), third_hooks);
  std::thread producer([&] { trickle(kInputs, 2ms); });  // ~6 s of input
  std::thread t1([&] { first.run(); });
  const auto until = Clock::now() + 30s;
  while (!first.ready() && Clock::now() < until) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(first.ready());
  // Members join one after the other while the input flows: each join voids whatever batch the
  // others hold open.
  std::this_thread::sleep_for(1s);
  std::thread t2([&] { second.run(); });
  std::this_thread::sleep_for(1500ms);
  std::thread t3([&] { third.run(); });
  producer.join();

  std::vector<testing::KafkaRecord> out;
  const auto deadline = Clock::now() + 60s;
  while (Clock::now() < deadline && (out = testing::read_topic(brokers_, out_, kInputs, 10s)).size() < kInputs) {
  }
  std::this_thread::sleep_for(1s);
  out = testing::read_topic(brokers_, out_, 0, 30s);  // everything, including any duplicate
  first.stop();
  second.stop();
  third.stop();
  t1.join();
  t2.join();
  t3.join();

  std::map<std::string, int> seen;
  for (const auto& r : out) ++seen[r.key];
  int lost = 0, repeated = 0;
  for (int i = 0; i < kInputs; ++i) {
    const int n = seen["k" + std::to_string(i)];
    if (n == 0 && ++lost <= 5) ADD_FAILURE() << "lost: k" << i;
    if (n > 1 && ++repeated <= 5) ADD_FAILURE() << "committed " << n << " times: k" << i;
  }
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(repeated, 0);
  EXPECT_GE(first_hooks.aborts + second_hooks.aborts, 1) << "no rebalance caught a batch open: the test proves nothing";
}

}  // namespace
}  // namespace numflow::transform
