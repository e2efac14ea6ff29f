// TxnStage against librdkafka's mock cluster, with faults injected into produce, transaction and
// offset requests and a broker going down: every input message must come out (read_committed),
// whatever is retried, aborted or rebuilt on the way, and exactly once when no transaction had
// to be aborted. The mock cluster writes no transaction markers, so records of an aborted
// transaction stay visible there: exactly-once across aborts is checked on the real broker
// (tests/integration/fault_test.cpp), here only that an abort redoes its batch and loses nothing.
#include "transform/txn_stage.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "common/log.h"
#include "publish/kafka_config.h"
#include "tests/support/mock_kafka.h"

namespace numflow::transform {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Kafka API keys (not in librdkafka's public headers).
constexpr int16_t kProduce = 0, kInitProducerId = 22, kAddOffsetsToTxn = 25, kEndTxn = 26, kTxnOffsetCommit = 28;

class EchoHooks final : public StageHooks {
 public:
  bool on_assign(const std::vector<std::int32_t>&, const std::atomic<bool>&) override { return true; }
  void on_revoke(const std::vector<std::int32_t>&) override {}
  void process(const rd_kafka_message_t* m, std::vector<OutMessage>& out) override {
    out.push_back(OutMessage{"out", RD_KAFKA_PARTITION_UA,
                             std::string(static_cast<const char*>(m->key), m->key_len),
                             std::string(static_cast<const char*>(m->payload), m->len), {}});
  }
  void on_commit() override { ++commits; }
  void on_abort() override { ++aborts; }
  std::atomic<int> commits{0}, aborts{0};
};

// Slower than the consumer fetches, so a backlog builds up in front of the stage.
class SlowEchoHooks final : public StageHooks {
 public:
  bool on_assign(const std::vector<std::int32_t>&, const std::atomic<bool>&) override { return true; }
  void on_revoke(const std::vector<std::int32_t>&) override {}
  void process(const rd_kafka_message_t* m, std::vector<OutMessage>& out) override {
    std::this_thread::sleep_for(std::chrono::microseconds(50));
    echo_.process(m, out);
  }
  void on_commit() override {}
  void on_abort() override {}

 private:
  EchoHooks echo_;
};

class MockCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    mc_ = kafka_.cluster();
    bootstraps_ = kafka_.bootstraps();
    kafka_.create_topic("in", 2, 3);
    kafka_.create_topic("out", 2, 3);
  }

  void produce_inputs(int n) {
    rd_kafka_conf_t* conf = publish::make_conf({{"bootstrap.servers", bootstraps_}, {"log_level", "0"}}, {});
    char err[256];
    publish::KafkaHandle p(rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err));
    for (int i = 0; i < n; ++i) {
      const std::string key = "k" + std::to_string(i);
      rd_kafka_vu_t vu[4];
      vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
      vu[0].u.cstr = "in";
      vu[1].vtype = RD_KAFKA_VTYPE_KEY;
      vu[1].u.mem = {const_cast<char*>(key.data()), key.size()};
      vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
      vu[2].u.mem = {const_cast<char*>(key.data()), key.size()};
      vu[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
      vu[3].u.i = RD_KAFKA_MSG_F_COPY;  // `key` dies with this iteration
      if (rd_kafka_error_t* e = rd_kafka_produceva(p.get(), vu, 4)) rd_kafka_error_destroy(e);
    }
    ASSERT_EQ(rd_kafka_flush(p.get(), 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  // Everything committed on "out" (read_committed), as a multiset of keys.
  std::multiset<std::string> committed_outputs(std::size_t expected, std::chrono::milliseconds timeout) {
    rd_kafka_conf_t* conf = publish::make_conf({{"bootstrap.servers", bootstraps_},
                                                {"group.id", "reader"},
                                                {"isolation.level", "read_committed"},
                                                {"enable.partition.eof", "true"},
                                                {"log_level", "0"}},
                                               {});
    char err[256];
    publish::KafkaHandle c(rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err));
    rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(2);
    for (int p = 0; p < 2; ++p) rd_kafka_topic_partition_list_add(parts, "out", p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(c.get(), parts);
    rd_kafka_topic_partition_list_destroy(parts);
    std::multiset<std::string> keys;
    const auto until = Clock::now() + timeout;
    int eofs = 0;
    while (Clock::now() < until && (keys.size() < expected || eofs < 2)) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(c.get(), 100);
      if (!m) continue;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) ++eofs;
      else if (!m->err) keys.insert(std::string(static_cast<const char*>(m->key), m->key_len));
      rd_kafka_message_destroy(m);
      if (keys.size() >= expected && eofs >= 2) break;
    }
    rd_kafka_consumer_close(c.get());
    return keys;
  }

  // Runs the stage until `n` outputs are committed (or the timeout), with `chaos` alongside.
  std::multiset<std::string> run_stage(int n, const std::function<void()>& chaos) {
    EchoHooks hooks;
    TxnStage stage(StageOptions{"test", {{"bootstrap.servers", bootstraps_}, {"log_level", "0"}}, "g", "in", "txn-1",
                                "member-1", 50, 50},
                   hooks);
    std::thread t([&] { stage.run(); });
    chaos();
    std::multiset<std::string> out;
    const auto until = Clock::now() + 60s;
    while (Clock::now() < until) {
      out = committed_outputs(n, 5s);
      if (out.size() >= static_cast<std::size_t>(n)) break;
    }
    std::this_thread::sleep_for(500ms);
    out = committed_outputs(n, 5s);
    stage.stop();
    t.join();
    producers_ = stage.producers_made();
    commits_ = hooks.commits;
    aborts_ = hooks.aborts;
    return out;
  }

  void expect_exactly_once(const std::multiset<std::string>& out, int n) const {
    for (int i = 0; i < n; ++i) EXPECT_GE(out.count("k" + std::to_string(i)), 1u) << "lost: k" << i;
    if (aborts_ == 0) {
      EXPECT_EQ(out.size(), static_cast<std::size_t>(n)) << "outputs committed more than once";
      for (int i = 0; i < n; ++i) EXPECT_EQ(out.count("k" + std::to_string(i)), 1u) << "k" << i;
    }
  }

  testing::MockKafka kafka_{3};  // first: destroyed last
  rd_kafka_mock_cluster_t* mc_ = nullptr;
  std::string bootstraps_;
  int commits_ = 0, aborts_ = 0, producers_ = 0;
};

TEST_F(MockCluster, NoFaults) {
  produce_inputs(300);
  expect_exactly_once(run_stage(300, [] {}), 300);
  EXPECT_GT(commits_, 0);
}

TEST_F(MockCluster, RetriableProduceErrors) {
  produce_inputs(300);
  rd_kafka_mock_push_request_errors(mc_, kProduce, 4, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                    RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
  expect_exactly_once(run_stage(300, [] {}), 300);
}

TEST_F(MockCluster, ProduceFailureAbortsRewindsAndRedoes) {
  produce_inputs(300);
  // A message that fails for good makes the transaction abortable: the stage must abort, undo,
  // rewind to where the batch began and redo it.
  rd_kafka_mock_push_request_errors(mc_, kProduce, 1, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  const auto out = run_stage(300, [] {});
  EXPECT_GE(aborts_, 1);
  expect_exactly_once(out, 300);
}

TEST_F(MockCluster, TransactionAndOffsetRequestErrors) {
  produce_inputs(300);
  rd_kafka_mock_push_request_errors(mc_, kAddOffsetsToTxn, 2, RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
                                    RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE);
  rd_kafka_mock_push_request_errors(mc_, kTxnOffsetCommit, 2, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                                    RD_KAFKA_RESP_ERR_NOT_COORDINATOR);
  rd_kafka_mock_push_request_errors(mc_, kEndTxn, 2, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
                                    RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS);
  rd_kafka_mock_push_request_errors(mc_, kInitProducerId, 1, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
  expect_exactly_once(run_stage(300, [] {}), 300);
}

TEST_F(MockCluster, FencedProducerIsRebuilt) {
  produce_inputs(300);
  // A fatal error: the producer must be thrown away and a new one initialised.
  rd_kafka_mock_push_request_errors(mc_, kProduce, 1, RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH);
  expect_exactly_once(run_stage(300, [] {}), 300);
  EXPECT_GE(producers_, 2) << "no new producer was made";
  EXPECT_GE(aborts_, 1);
}

TEST_F(MockCluster, ProducerFencedAtCommitIsRebuilt) {
  produce_inputs(300);
  // Another producer with our transactional.id (a zombie's successor) fenced us at the commit.
  rd_kafka_mock_push_request_errors(mc_, kEndTxn, 1, RD_KAFKA_RESP_ERR_PRODUCER_FENCED);
  expect_exactly_once(run_stage(300, [] {}), 300);
  EXPECT_GE(producers_, 2) << "no new producer was made";
}

TEST_F(MockCluster, StaleGroupGenerationAtOffsetCommitAbortsAndRedoes) {
  produce_inputs(300);
  // KIP-447 zombie fencing: the group moved on (a rebalance this member missed), so the broker
  // refuses the offsets of its transaction. Nothing of that batch may be committed; it is redone.
  rd_kafka_mock_push_request_errors(mc_, kTxnOffsetCommit, 2, RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION,
                                    RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID);
  const auto out = run_stage(300, [] {});
  EXPECT_GE(aborts_, 1);
  expect_exactly_once(out, 300);
}

TEST_F(MockCluster, BrokerGoingDown) {
  produce_inputs(3000);
  std::size_t committed_when_down = 0;
  expect_exactly_once(run_stage(3000,
                                [&] {
                                  committed_when_down = committed_outputs(1, 10s).size();
                                  rd_kafka_mock_broker_set_down(mc_, 1);
                                  std::this_thread::sleep_for(2s);
                                  rd_kafka_mock_broker_set_up(mc_, 1);
                                }),
                      3000);
  // Down mid-stream: after the first commit, before the last.
  EXPECT_GE(committed_when_down, 1u);
  EXPECT_LT(committed_when_down, 3000u);
}

// At --log-level debug each committed transaction says where its time went; together the lines
// account for every input once (no aborts without faults).
TEST_F(MockCluster, DebugLogTellsWhereEachTransactionsTimeWent) {
  produce_inputs(120);
  log::set_level(log::Level::debug);
  ::testing::internal::CaptureStderr();
  const auto out = run_stage(120, [] {});
  const std::string logs = ::testing::internal::GetCapturedStderr();
  log::set_level(log::Level::info);
  expect_exactly_once(out, 120);
  ASSERT_EQ(aborts_, 0);
  int lines = 0;
  long messages = 0;
  std::size_t from = 0;
  for (std::size_t at; (at = logs.find("\"msg\":\"transaction committed\"", from)) != std::string::npos; from = at + 1) {
    const std::string line = logs.substr(at, logs.find('\n', at) - at);
    ++lines;
    EXPECT_NE(line.find("\"stage\":\"test\""), std::string::npos) << line;
    for (const char* field : {"\"window_ms\":", "\"offsets_ms\":", "\"commit_ms\":"}) {
      const auto f = line.find(field);
      ASSERT_NE(f, std::string::npos) << field << " missing: " << line;
      EXPECT_GE(std::stod(line.substr(f + std::string_view(field).size())), 0.0) << line;
    }
    const auto m = line.find("\"messages\":");
    ASSERT_NE(m, std::string::npos) << line;
    messages += std::stol(line.substr(m + 11));
  }
  EXPECT_EQ(lines, commits_);
  EXPECT_EQ(messages, 120);
}

// The committed transactions' timings, as the stage reports them (StageCounters::on_transaction,
// called from the stage's thread): per transaction its window (first message to the commit
// calls) and its commit calls, in ms.
class CommittedTransactions {
 public:
  struct Timing {
    double window_ms, commit_ms;
  };
  StageCounters counters() {
    return StageCounters{[this](bool committed, double seconds, double commit_seconds) {
                           std::lock_guard lock(mu_);
                           if (committed) taken_.push_back({(seconds - commit_seconds) * 1000, commit_seconds * 1000});
                         },
                         {}};
  }
  // Those committed since the last call.
  std::vector<Timing> take() {
    std::lock_guard lock(mu_);
    return std::exchange(taken_, {});
  }

 private:
  std::mutex mu_;
  std::vector<Timing> taken_;
};

// commit_transaction flushes the transaction's last writes first. Without delivery reports
// librdkafka 2.0.2 cannot tell when the last one is acknowledged and sleeps out a 10 ms poll slice
// after the broker answered: every commit took >= 10 ms longer than its round trips. linger.ms
// 100 keeps every output unsent until the commit, so each flush has work to do.
TEST_F(MockCluster, ACommitDoesNotSleepOutItsFlush) {
  EchoHooks hooks;
  CommittedTransactions committed;
  StageOptions o{"test",
                 {{"bootstrap.servers", bootstraps_}, {"log_level", "0"}, {"linger.ms", "100"}, {"fetch.wait.max.ms", "5"}},
                 "g", "in", "txn-1", "member-1", 1000, 20, 0};
  TxnStage stage(o, hooks, committed.counters());
  std::thread t([&] { stage.run(); });
  std::vector<double> commit_ms;
  produce_inputs(3);  // once this is committed the group has settled: the rest trickle in
  for (const auto until = Clock::now() + 20s; commit_ms.empty() && Clock::now() < until;) {
    std::this_thread::sleep_for(10ms);
    for (const auto& c : committed.take()) commit_ms.push_back(c.commit_ms);
  }
  for (int i = 1; i < 15; ++i) {
    produce_inputs(3);
    std::this_thread::sleep_for(60ms);
  }
  EXPECT_EQ(committed_outputs(45, 20s).size(), 45u);
  stage.stop();
  t.join();
  for (const auto& c : committed.take()) commit_ms.push_back(c.commit_ms);
  ASSERT_GE(commit_ms.size(), 5u);
  std::sort(commit_ms.begin(), commit_ms.end());
  // The mock broker answers in well under a millisecond; 10 ms and more is the sleep.
  std::string all;
  for (double ms : commit_ms) all += std::to_string(ms) + " ";
  EXPECT_LT(commit_ms[commit_ms.size() / 2], 9.0) << "commits (ms): " << all;
}

// A backlog lengthens the transactions (fewer commits while catching up); once it is drained a
// lone message is committed after a short window again, not after the long one.
TEST_F(MockCluster, TransactionsLengthenWhileBehindAndShortenOnceCaughtUp) {
  produce_inputs(20000);
  SlowEchoHooks hooks;
  CommittedTransactions committed;
  StageOptions o{"test", {{"bootstrap.servers", bootstraps_}, {"log_level", "0"}}, "g", "in", "txn-1", "member-1",
                 1000000, 20, 5, 640};
  TxnStage stage(o, hooks, committed.counters());
  std::thread t([&] { stage.run(); });
  ASSERT_EQ(committed_outputs(20000, 60s).size(), 20000u);
  double longest = 0;
  for (const auto& c : committed.take()) longest = std::max(longest, c.window_ms / 1000);
  EXPECT_GE(longest, 0.080) << "no window grew past 4x the 20 ms base while 20,000 messages waited";
  for (int i = 0; i < 3; ++i) {  // light input: one message now and then
    produce_inputs(1);
    std::this_thread::sleep_for(300ms);
  }
  std::this_thread::sleep_for(1s);
  stage.stop();
  t.join();
  const auto after = committed.take();
  ASSERT_FALSE(after.empty());
  EXPECT_LT(after.back().window_ms / 1000, 0.070) << "a lone message waited for a long window after the backlog was gone";
}

// Outputs trickling into a transaction (two output partitions, an input every few ms, 150 ms
// windows) are registered with the coordinator together: librdkafka logs one "Registering
// partitions" per AddPartitionsToTxn round. Written one by one, the second partition's first
// output came after the first round and took a round of its own in most transactions.
// Each input's output goes to the partition after the previous one's.
class RoundRobinEchoHooks final : public StageHooks {
 public:
  bool on_assign(const std::vector<std::int32_t>&, const std::atomic<bool>&) override { return true; }
  void on_revoke(const std::vector<std::int32_t>&) override {}
  void process(const rd_kafka_message_t* m, std::vector<OutMessage>& out) override {
    echo_.process(m, out);
    out.back().partition = next_++ % 2;
  }
  void on_commit() override { ++commits; }
  void on_abort() override { ++aborts; }
  std::atomic<int> commits{0}, aborts{0};

 private:
  EchoHooks echo_;
  int next_ = 0;
};

TEST_F(MockCluster, TrickledOutputsRegisterTheirPartitionsInOneRound) {
  RoundRobinEchoHooks hooks;
  std::size_t committed = 0;
  log::set_level(log::Level::debug);
  ::testing::internal::CaptureStderr();
  {
    TxnStage stage(StageOptions{"test", {{"bootstrap.servers", bootstraps_}, {"debug", "eos"}, {"fetch.wait.max.ms", "5"}}, "g", "in", "txn-1",
                                "member-1", 1000, 150, 0},
                   hooks);
    std::thread t([&] { stage.run(); });
    while (!stage.ready()) std::this_thread::sleep_for(10ms);
    for (int i = 0; i < 150; ++i) {
      produce_inputs(1);
      std::this_thread::sleep_for(4ms);
    }
    committed = committed_outputs(150, 20s).size();
    stage.stop();
    t.join();
  }
  const std::string logs = ::testing::internal::GetCapturedStderr();
  log::set_level(log::Level::info);
  int rounds = 0;
  for (auto at = logs.find("Registering partitions"); at != std::string::npos;
       at = logs.find("Registering partitions", at + 1))
    ++rounds;
  EXPECT_EQ(committed, 150u);
  ASSERT_GE(hooks.commits, 2);
  EXPECT_EQ(hooks.aborts, 0);
  // One round per transaction, with room for a thread descheduled for more than librdkafka's
  // 1 ms registration timer between two of the held outputs on a busy machine (CI, tests
  // running two at a time: 1.30 rounds per transaction once). Written one by one: 1.7-1.9.
  EXPECT_LE(rounds * 2, hooks.commits * 3 + 2) << rounds << " rounds in " << hooks.commits << " transactions";
}

}  // namespace
}  // namespace numflow::transform
