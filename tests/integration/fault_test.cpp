// Nothing lost, nothing twice, whatever crashes (issue: per-number state, exactly-once).
//
// Each test streams webhooks through the real pipeline while something breaks, then checks the
// books: every webhook answered 2xx is in the raw topic; every raw event's record is in
// number-changes exactly once and every dead-lettered one in the dead-letter topic exactly once;
// and the final compacted table equals the table computed by replaying all raw events in order
// through the pure core.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include <librdkafka/rdkafka.h>

#include "tests/support/normalize_helpers.h"
#include "tests/support/pipeline_fixture.h"
#include "transform/core/codec.h"
#include "transform/core/core.h"

namespace numflow::testing {
namespace {

constexpr int kAccounts = 4;
constexpr int kNumbersPerAccount = 25;

// The prelude: one 8x8 update per number, setting fields that no Zoom event sets, all published
// before the stream below starts. Every later record carries them in its state, and the stream's
// first record of a number is an `updated` one: a transform restarted without restoring its state
// would publish `created` records with those fields gone, which the books below catch.
std::string number_of(int n) {
  char number[16];
  std::snprintf(number, sizeof number, "+1415555%04d", n);
  return number;
}

// An 8x8 update of number n (from subaccount n % kAccounts).
std::string eight_by_eight_body(int n, const char* status, const std::string& when) {
  return R"({"eventType":"VIRTUAL_NUMBER_UPDATE","payload":{"subAccountId":"sub-)" + std::to_string(n % kAccounts) +
         R"(","virtualNumbers":[{"msisdn":")" + number_of(n) + R"(","operationalStatus":")" + status +
         R"(","updatedTimestamp":")" + when + R"(","countryCode":"US"}]}})";
}

std::string eight_by_eight_update(int n) { return eight_by_eight_body(n, "Active", "2023-11-01T00:00:00.000Z"); }

// Zoom CNAM updates: number n always comes from account n % kAccounts, so its events stay in
// one raw partition and in order; every event changes its number's CNAM, so each one must yield
// exactly one record. Every 50th delivery is garbage, to be dead-lettered exactly once.
std::string webhook(int i, std::string& provider) {
  provider = "zoom";
  if (i % 50 == 49) return "garbage #" + std::to_string(i);
  const int n = i % (kAccounts * kNumbersPerAccount);
  return R"({"event":"number_management.peering_number_cnam_updated","event_ts":)" +
         std::to_string(1700000000000LL + i) + R"(,"payload":{"account_id":"acct-)" + std::to_string(n % kAccounts) +
         R"(","object":{"cnam":"CNAM )" + std::to_string(i) + R"(","carrier_code":1,"phone_numbers":[")" + number_of(n) +
         "\"]}}}";
}

// The Zoom stream with every 5th delivery an 8x8 status flip of the same numbers instead: a
// number's events come through two raw partitions (8x8 sub-k and Zoom acct-k) and, with two
// instances, often through both instances before they meet in the number's merge partition.
// The two providers set different fields, each with increasing event times, so any interleaving
// across partitions gives the same records and the same table.
std::string mixed_webhook(int i, std::string& provider) {
  if (i % 5 != 4 || i % 50 == 49) return webhook(i, provider);
  provider = "8x8";
  char when[32];
  std::snprintf(when, sizeof when, "2023-11-%02dT%02d:%02d:%02d.000Z", 2 + i / 86400, i / 3600 % 24, i / 60 % 60, i % 60);
  const char* status = (i / 100) % 2 == 0 ? "Unhealthy" : "Active";  // the prelude left it Active
  return eight_by_eight_body(i % (kAccounts * kNumbersPerAccount), status, when);
}

struct Books {
  std::set<std::string> answered_2xx;  // bodies
  int sent = 0;
};

class Faults : public Pipeline {
 protected:
  // POSTs the prelude (an 8x8 update for every number) and waits until all its records are out.
  void prelude(Books& books) {
    for (int n = 0; n < kAccounts * kNumbersPerAccount; ++n) {
      const std::string body = eight_by_eight_update(n);
      if (post_until_ok("8x8", body, 60s)) books.answered_2xx.insert(body);
      ++books.sent;
    }
    const auto records = read_topic(brokers_, topics_.numbers, kAccounts * kNumbersPerAccount, 120s);
    ASSERT_EQ(records.size(), static_cast<std::size_t>(kAccounts * kNumbersPerAccount)) << "the prelude did not get through";
  }

  // POSTs until answered 200, as providers retry; false when still refused after `give_up`.
  bool post_until_ok(const std::string& provider, const std::string& body, std::chrono::seconds give_up) {
    const auto until = std::chrono::steady_clock::now() + give_up;
    while (std::chrono::steady_clock::now() < until) {
      if (post(provider, body).status == 200) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  // POSTs `count` webhooks one after another (retrying 503s, as providers do) while `chaos` runs;
  // a webhook still refused after `give_up` is abandoned.
  Books stream(int count, const std::function<void(std::atomic<bool>&)>& chaos,
               std::chrono::seconds give_up = 60s, Books books = {},
               const std::function<std::string(int, std::string&)>& make = webhook) {
    std::atomic<bool> done{false};
    std::thread chaos_thread([&] { chaos(done); });
    for (int i = 0; i < count; ++i) {
      std::string provider;
      const std::string body = make(i, provider);
      if (post_until_ok(provider, body, give_up)) books.answered_2xx.insert(body);
      ++books.sent;
    }
    done = true;
    chaos_thread.join();
    return books;
  }

  void check_books(const Books& books) {
    // 1. Every 2xx is in the raw topic.
    const auto raw = read_topic(brokers_, topics_.raw, 0, 60s);
    std::set<std::string> raw_bodies;
    for (const auto& r : raw) raw_bodies.insert(r.value.value_or(""));
    for (const auto& b : books.answered_2xx) ASSERT_TRUE(raw_bodies.count(b)) << "answered 2xx but not in Kafka: " << b;

    // 2. Replay the raw topic, partition by partition in order, through the pure core: the
    // prelude's 8x8 events first, as the pipeline saw them (all published before the stream).
    std::vector<const KafkaRecord*> order;
    for (const auto& r : raw) order.push_back(&r);
    std::stable_partition(order.begin(), order.end(), [](const KafkaRecord* r) { return r->key.rfind("8x8:", 0) == 0; });
    transform::MemoryStateStore replay_state;
    std::map<std::string, std::string> replay_table;  // number -> state JSON
    std::multiset<RecordId> replay_records;
    std::size_t replay_dead = 0;
    for (const KafkaRecord* rp : order) {
      const KafkaRecord& r = *rp;
      const auto [provider, account] = transform::split_raw_key(r.key);
      const std::string body = r.value.value_or("");
      const transform::RawEvent ev{provider, account, body, 0, std::nullopt};
      for (const auto& o : transform::process(ev, replay_state, {}, kNow).outputs) {
        if (o.topic == transform::Topic::dead_letter) {
          ++replay_dead;
        } else if (o.topic == transform::Topic::number_changes && o.value) {
          const auto v = parse(*o.value);
          replay_records.insert(record_id(o.key, v));
          replay_table[o.key] = json_text(v["state"]);
        }
      }
    }

    // 3. Wait until the pipeline has published as many records, then compare.
    std::vector<KafkaRecord> numbers;
    const auto until = std::chrono::steady_clock::now() + 120s;
    while (std::chrono::steady_clock::now() < until) {
      numbers = read_topic(brokers_, topics_.numbers, replay_records.size(), 30s);
      if (numbers.size() >= replay_records.size()) break;
    }
    std::this_thread::sleep_for(2s);
    numbers = read_topic(brokers_, topics_.numbers, 0, 60s);  // everything, including any duplicate
    std::multiset<RecordId> records;
    std::map<std::string, std::string> table;
    for (const auto& r : numbers) {
      if (!r.value) continue;
      const auto v = parse(*r.value);
      records.insert(record_id(r.key, v));
      table[r.key] = json_text(v["state"]);
    }
    EXPECT_EQ(records.size(), replay_records.size()) << "records published more or less than once";
    EXPECT_TRUE(records == replay_records)
        << "the records (number, event_id, change, changed_fields) differ from the replay: " << first_difference(records, replay_records);
    EXPECT_TRUE(table == replay_table) << "the compacted table differs from the replay";

    const auto dead = read_topic(brokers_, topics_.dead, 0, 30s);
    EXPECT_EQ(dead.size(), replay_dead) << "dead letters published more or less than once";
  }

  // What identifies a record, and what a transform that lost its state would get wrong.
  using RecordId = std::tuple<std::string, std::string, std::string, std::string>;  // number, event_id, change, changed_fields
  static RecordId record_id(const std::string& number, const rapidjson::Value& v) {
    return {number, v["event_id"].GetString(), v["change"].GetString(), json_text(v["changed_fields"])};
  }
  // The first record that differs, then every record of its number on both sides: enough to
  // tell a lost record from one published with the wrong change.
  static std::string first_difference(const std::multiset<RecordId>& got, const std::multiset<RecordId>& want) {
    std::string number, what;
    for (const auto& w : want)
      if (got.count(w) != want.count(w)) {
        number = std::get<0>(w);
        what = "e.g. " + text(w) + " published " + std::to_string(got.count(w)) + " times, expected " +
               std::to_string(want.count(w));
        break;
      }
    if (number.empty())
      for (const auto& g : got)
        if (!want.count(g)) {
          number = std::get<0>(g);
          what = "e.g. unexpected " + text(g);
          break;
        }
    if (number.empty()) return "(none found)";
    auto of_number = [&](const std::multiset<RecordId>& rs) {
      std::string out;
      for (const auto& r : rs)
        if (std::get<0>(r) == number) out += "\n    " + text(r);
      return out;
    };
    return what + "\n  published for " + number + ":" + of_number(got) + "\n  replay for " + number + ":" + of_number(want);
  }
  static std::string text(const RecordId& r) {
    return std::get<0>(r) + " " + std::get<1>(r) + " " + std::get<2>(r) + " " + std::get<3>(r);
  }

  static bool wait_for_log(const Process& p, const std::string& text, std::chrono::seconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (; std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(100ms))
      if (p.log().find(text) != std::string::npos) return true;
    return false;
  }

  static std::string json_text(const rapidjson::Value& v) {
    rapidjson::StringBuffer b;
    rapidjson::Writer<rapidjson::StringBuffer> w(b);
    v.Accept(w);
    return b.GetString();
  }
};

TEST_F(Faults, TransformKilledAgainAndAgain) {
  auto ingest = start_ingest();
  auto transform = start_transform();
  ASSERT_TRUE(wait_http_ok(ingest_port_, "/readyz", 30s)) << ingest->log();
  Books seeded;
  ASSERT_NO_FATAL_FAILURE(prelude(seeded));
  const Books books = stream(2000, [&](std::atomic<bool>& done) {
    for (int kills = 0; !done && kills < 8; ++kills) {
      std::this_thread::sleep_for(700ms);
      transform->signal(SIGKILL);
      transform->wait(10s);
      transform = start_transform();
    }
  }, 60s, seeded);
  EXPECT_EQ(books.answered_2xx.size(), 2000u + seeded.answered_2xx.size());
  check_books(books);
  transform->signal(SIGTERM);
  ingest->signal(SIGTERM);
  EXPECT_EQ(ingest->wait(20s), 0);
}

TEST_F(Faults, BrokerStoppedAndRestartedMidStream) {
  auto ingest = start_ingest();
  auto transform = start_transform();
  ASSERT_TRUE(wait_http_ok(ingest_port_, "/readyz", 30s)) << ingest->log();
  Books seeded;
  ASSERT_NO_FATAL_FAILURE(prelude(seeded));
  const Books books = stream(1000, [&](std::atomic<bool>&) {
    std::this_thread::sleep_for(1s);
    kafka_script("stop", brokers_);
    std::this_thread::sleep_for(3s);
    kafka_script("start", brokers_);
  }, 60s, seeded);
  EXPECT_EQ(books.answered_2xx.size(), 1000u + seeded.answered_2xx.size())
      << "providers retry 503s: everything gets in eventually";
  check_books(books);
  EXPECT_TRUE(transform->running()) << transform->log();
  transform->signal(SIGTERM);
  ingest->signal(SIGTERM);
}

TEST_F(Faults, IngestStoppedWithSigtermUnderLoad) {
  auto ingest = start_ingest();
  auto transform = start_transform();
  ASSERT_TRUE(wait_http_ok(ingest_port_, "/readyz", 30s)) << ingest->log();
  // Concurrent clients; SIGTERM in the middle. Whatever got 2xx must be in Kafka.
  std::mutex mu;
  Books books;
  ASSERT_NO_FATAL_FAILURE(prelude(books));
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c)
    clients.emplace_back([&, c] {
      for (int i = c; !stop; i += 8) {
        std::string provider;
        const std::string body = webhook(i, provider);
        const auto r = post(provider, body);
        if (r.status == 0) break;  // the server has gone
        std::lock_guard lock(mu);
        ++books.sent;
        if (r.status == 200) books.answered_2xx.insert(body);
      }
    });
  std::this_thread::sleep_for(1500ms);
  ingest->signal(SIGTERM);
  EXPECT_EQ(ingest->wait(20s), 0) << ingest->log();
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_GT(books.answered_2xx.size(), 100u + kAccounts * kNumbersPerAccount) << "the prelude, then over a hundred";
  check_books(books);
  transform->signal(SIGTERM);
}

// Two instances share the work; one freezes (SIGSTOP: a stalled VM, a long pause) mid-stream past
// its session timeout, the other takes its partitions over, then the frozen one wakes up with a
// transaction open under a group generation that is gone. Nothing it still tries to commit may
// get through (KIP-447 fencing: send_offsets_to_transaction carries the old generation), and the
// books must balance with the numbers' events split across both instances.
TEST_F(Faults, FrozenInstanceIsFencedAfterItsPartitionsMove) {
  auto ingest = start_ingest();
  auto a = start_transform({"--instance-id", "a"}, "", "transform-a");
  auto b = start_transform({"--instance-id", "b"}, "", "transform-b");
  ASSERT_TRUE(wait_http_ok(ingest_port_, "/readyz", 30s)) << ingest->log();
  Books seeded;
  ASSERT_NO_FATAL_FAILURE(prelude(seeded));
  const Books books = stream(
      4000,
      [&](std::atomic<bool>&) {
        std::this_thread::sleep_for(1s);
        a->signal(SIGSTOP);
        std::this_thread::sleep_for(16s);  // session.timeout.ms is 10 s: b has taken everything over
        a->signal(SIGCONT);
      },
      60s, seeded, mixed_webhook);
  EXPECT_EQ(books.answered_2xx.size(), 4000u + seeded.answered_2xx.size());
  check_books(books);
  EXPECT_TRUE(a->running()) << a->log();
  EXPECT_TRUE(b->running()) << b->log();
  a->signal(SIGTERM);
  b->signal(SIGTERM);
  EXPECT_EQ(a->wait(30s), 0) << a->log();
  EXPECT_EQ(b->wait(30s), 0) << b->log();
  ingest->signal(SIGTERM);
}

// The owner the next test plays: a member of the merge stage's group with a transactional
// producer of its own, driven step by step.
class FrozenOwner {
 public:
  FrozenOwner(const std::string& brokers, const std::string& group, const std::string& input, const std::string& id) {
    char err[512];
    rd_kafka_conf_t* c = rd_kafka_conf_new();
    set(c, "bootstrap.servers", brokers);
    set(c, "group.id", group);
    set(c, "enable.auto.commit", "false");
    set(c, "isolation.level", "read_committed");
    set(c, "session.timeout.ms", "10000");
    consumer_ = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
    rd_kafka_poll_set_consumer(consumer_);
    rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, input.c_str(), RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(consumer_, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    rd_kafka_conf_t* p = rd_kafka_conf_new();
    set(p, "bootstrap.servers", brokers);
    set(p, "transactional.id", id);
    set(p, "transaction.timeout.ms", "60000");  // it must outlive the test's waits
    producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, p, err, sizeof err);
  }
  ~FrozenOwner() {
    rd_kafka_destroy(producer_);
    if (!closed_) rd_kafka_consumer_close(consumer_);
    rd_kafka_destroy(consumer_);
  }
  // Waits until the group has given this member its partitions.
  bool join(std::chrono::seconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_, 200)) rd_kafka_message_destroy(m);
      rd_kafka_topic_partition_list_t* parts = nullptr;
      const bool assigned = !rd_kafka_assignment(consumer_, &parts) && parts && parts->cnt > 0;
      if (parts) rd_kafka_topic_partition_list_destroy(parts);
      if (assigned) return true;
    }
    return false;
  }
  // Begins a transaction and sends `offset` for input partition `partition` in it, as the owner.
  bool send_offsets(const std::string& topic, int partition, long long offset) {
    if (!ok(rd_kafka_init_transactions(producer_, 30000)) || !ok(rd_kafka_begin_transaction(producer_))) return false;
    rd_kafka_topic_partition_list_t* offsets = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(offsets, topic.c_str(), partition)->offset = offset;
    rd_kafka_consumer_group_metadata_t* meta = rd_kafka_consumer_group_metadata(consumer_);
    const bool sent = ok(rd_kafka_send_offsets_to_transaction(producer_, offsets, meta, 30000));
    rd_kafka_consumer_group_metadata_destroy(meta);
    rd_kafka_topic_partition_list_destroy(offsets);
    return sent;
  }
  // Out of the group: its partitions go to whoever is left.
  void leave() {
    rd_kafka_consumer_close(consumer_);
    closed_ = true;
  }
  void produce(const std::string& topic, int partition, const std::string& key, const std::string& value) {
    rd_kafka_vu_t vus[5];
    vus[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vus[0].u.cstr = topic.c_str();
    vus[1].vtype = RD_KAFKA_VTYPE_PARTITION;
    vus[1].u.i32 = partition;
    vus[2].vtype = RD_KAFKA_VTYPE_KEY;
    vus[2].u.mem = {const_cast<char*>(key.data()), key.size()};
    vus[3].vtype = RD_KAFKA_VTYPE_VALUE;
    vus[3].u.mem = {const_cast<char*>(value.data()), value.size()};
    vus[4].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vus[4].u.i = RD_KAFKA_MSG_F_COPY;
    ok(rd_kafka_produceva(producer_, vus, 5));
  }
  bool commit() { return ok(rd_kafka_commit_transaction(producer_, 30000)); }

 private:
  static void set(rd_kafka_conf_t* c, const char* k, const std::string& v) {
    char err[256];
    ASSERT_EQ(rd_kafka_conf_set(c, k, v.c_str(), err, sizeof err), RD_KAFKA_CONF_OK) << err;
  }
  static bool ok(rd_kafka_error_t* e) {
    if (!e) return true;
    ADD_FAILURE() << rd_kafka_error_string(e);
    rd_kafka_error_destroy(e);
    return false;
  }
  rd_kafka_t* consumer_ = nullptr;
  rd_kafka_t* producer_ = nullptr;
  bool closed_ = false;
};

// KIP-447 fences an old owner at TxnOffsetCommit, by its group generation, not at EndTxn: one that
// froze after sending its offsets, with records still unsent, can wake up after the rebalance,
// flush them and commit (unless the coordinator times its transaction out first). The next owner
// must start from those offsets with that transaction's state changes: restoring the changelog
// before the transaction ends would miss them. The test plays that owner itself, so the order of
// the steps is exact: number 0's first Zoom event (E2) is the frozen owner's, its second (E3)
// must then change the CNAM only; on a state restored too early it changes the carrier too.
TEST_F(Faults, LateCommitOfAFencedOwnerIsInTheStateItsSuccessorRestores) {
  auto ingest = start_ingest();
  auto transform = start_transform();
  ASSERT_TRUE(wait_http_ok(ingest_port_, "/readyz", 30s)) << ingest->log();
  std::string provider;
  const std::string e1 = eight_by_eight_update(0), e2 = webhook(0, provider), e3 = webhook(100, provider);
  const std::string number = number_of(0), fragments = topics_.raw + ".fragments", state_topic = topics_.raw + ".state";
  ASSERT_EQ(post("8x8", e1).status, 200);
  const auto changelog = read_topic(brokers_, state_topic, 1, 60s);
  ASSERT_EQ(changelog.size(), 1u) << transform->log();
  const int partition = changelog[0].partition;  // the number's partition, in the changelog and the fragments alike
  transform->signal(SIGTERM);
  ASSERT_EQ(transform->wait(30s), 0) << transform->log();

  // What the frozen owner makes of E2, computed by the core as the merge stage would.
  transform::MemoryStateStore replay;
  const transform::RawEvent ev1{"8x8", "sub-0", e1, 0, std::nullopt}, ev2{"zoom", "acct-0", e2, 0, std::nullopt},
      ev3{"zoom", "acct-0", e3, 0, std::nullopt};
  transform::process(ev1, replay, {}, kNow);
  const auto normalized = transform::normalize_raw(ev2, {}, kNow);
  ASSERT_EQ(normalized.fragments.size(), 1u);
  const auto e2_outputs = transform::process(ev2, replay, {}, kNow).outputs;
  ASSERT_EQ(e2_outputs.size(), 1u);
  const std::string state_after_e2 = transform::encode_state(*replay.find(number));
  const auto e3_outputs = transform::process(ev3, replay, {}, kNow).outputs;
  ASSERT_EQ(e3_outputs.size(), 1u);
  const auto e3_expected = parse(*e3_outputs[0].value);

  // E2's fragment, then the owner: in the group, it sends the offset past that fragment in its
  // transaction, and is gone before its successor arrives.
  FrozenOwner owner(brokers_, "g-" + topics_.raw + ".merge", fragments, "frozen-" + topics_.raw);
  ASSERT_TRUE(produce_one(brokers_, fragments, number, transform::encode_fragment(normalized.fragments[0]), partition));
  ASSERT_TRUE(owner.join(60s)) << "the frozen owner never got its partitions";
  ASSERT_TRUE(owner.send_offsets(fragments, partition, end_offset(brokers_, fragments, partition)));
  owner.leave();

  transform = start_transform();
  const bool waited = wait_for_log(*transform, "committed offsets not settled", 30s);
  // It wakes up: the rest of its transaction (E2's state and record), then the commit.
  owner.produce(state_topic, partition, number, state_after_e2);
  owner.produce(topics_.numbers, 0, e2_outputs[0].key, *e2_outputs[0].value);
  ASSERT_TRUE(owner.commit());

  ASSERT_EQ(post("zoom", e3).status, 200);
  const std::string e3_id = e3_expected["event_id"].GetString();
  KafkaRecord got;
  ASSERT_TRUE(wait_for_record(brokers_, topics_.numbers, [&](const KafkaRecord& r) {
    if (!r.value || r.value->find(e3_id) == std::string::npos) return false;
    got = r;
    return true;
  }, 60s)) << transform->log();
  const auto v = parse(*got.value);
  EXPECT_EQ(json_text(v["changed_fields"]), json_text(e3_expected["changed_fields"])) << "E3 was merged into a state without E2";
  EXPECT_EQ(json_text(v["state"]), json_text(e3_expected["state"]));
  EXPECT_TRUE(waited) << "the successor did not wait for the owner's transaction\n" << transform->log();
  transform->signal(SIGTERM);
  EXPECT_EQ(transform->wait(30s), 0) << transform->log();
  ingest->signal(SIGTERM);
}

// How long BrokerGoneForMinutesWhileEventsWait keeps the broker away: NUMFLOW_TEST_OUTAGE_SECONDS,
// default 120. (ctest gives each fault test 400 s: raise its TIMEOUT for much longer outages.)
std::chrono::seconds outage_duration() {
  const char* env = std::getenv("NUMFLOW_TEST_OUTAGE_SECONDS");
  return std::chrono::seconds(env && *env ? std::atoi(env) : 120);
}

// The broker vanishes for minutes (a lost zone, a slow rolling restart) while raw events wait for
// the transform and providers keep retrying. Far longer than any timeout of the transform's
// clients (sessions, transactions, metadata), so every one of them expires: the transform must
// not exit, must go on serving /healthz, must resume by itself when the broker is back, and must
// still account for every raw event exactly once.
TEST_F(Faults, BrokerGoneForMinutesWhileEventsWait) {
  const auto outage = outage_duration();
  auto ingest = start_ingest();
  ASSERT_TRUE(wait_http_ok(ingest_port_, "/readyz", 30s)) << ingest->log();
  std::unique_ptr<Process> transform;
  bool running_in_outage = false;
  int healthz_in_outage = 0;
  const Books books = stream(
      1000,
      [&](std::atomic<bool>&) {
        std::this_thread::sleep_for(2s);  // a backlog waits in the raw topic before the transform starts
        transform = start_transform();
        // Gone at its first record: both stages are mid-stream, with transactions open and most
        // of the backlog still waiting.
        read_topic(brokers_, topics_.numbers, 1, 60s);
        ASSERT_EQ(kafka_script("stop", brokers_), 0);
        std::this_thread::sleep_for(outage);  // webhooks keep coming: ingest answers 503, they retry
        running_in_outage = transform->running();
        healthz_in_outage = http_request(transform_port_, "GET", "/healthz", {}, {}, 2000ms).status;
        ASSERT_EQ(kafka_script("start", brokers_), 0);
      },
      outage + 60s);
  ASSERT_TRUE(transform);
  EXPECT_TRUE(running_in_outage) << transform->log();
  EXPECT_EQ(healthz_in_outage, 200) << "the transform must go on answering /healthz without Kafka";
  EXPECT_EQ(books.answered_2xx.size(), 1000u) << "providers retry 503s: everything gets in eventually";
  EXPECT_TRUE(wait_http_ok(transform_port_, "/readyz", 120s)) << "the transform did not resume\n" << transform->log();
  check_books(books);
  EXPECT_TRUE(transform->running()) << transform->log();
  transform->signal(SIGTERM);
  EXPECT_EQ(transform->wait(30s), 0) << transform->log();
  ingest->signal(SIGTERM);
  EXPECT_EQ(ingest->wait(20s), 0) << ingest->log();
}

}  // namespace
}  // namespace numflow::testing
