// numflow-ingest driven well past its capacity (issue 7), on the real broker.
//
// The producer queue is made tiny (queue.buffering.max.messages, with a linger that keeps
// messages in it a while), so a few dozen clients posting back to back exceed what Kafka may be
// handed at once, while hundreds more connections sit idle. The contract's answer to "the local
// queue is full" is 503 with Retry-After, at once, so providers retry rather than give up on a
// slow endpoint; nothing answered 2xx may be missing; and the process must neither crash nor grow
// without bound while shedding load, and must take deliveries again as soon as the load is gone.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "common/http_test_client.h"
#include "tests/support/pipeline_fixture.h"

namespace numflow::testing {
namespace {

using Ms = std::chrono::milliseconds;

constexpr int kClients = 48;
constexpr int kIdleConnections = 400;
constexpr Ms kLoad = 10000ms;
// Ingest idles at ~20 MiB and stays there under this load, which sends ~150 MB of bodies.
constexpr long kRssBoundKib = 128 * 1024;

#if defined(__SANITIZE_ADDRESS__)  // GCC
constexpr bool kAsan = true;
#elif defined(__has_feature)  // Clang
#if __has_feature(address_sanitizer)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif
#else
constexpr bool kAsan = false;
#endif

// Under AddressSanitizer freed memory waits in a quarantine (256 MiB by default) before it is
// reused, which would hide the bound this test is about; the ingest it starts gets a small one.
void small_asan_quarantine_for_children() {
  if (!kAsan) return;
  const char* current = std::getenv("ASAN_OPTIONS");
  std::string options = current && *current ? std::string(current) + ":" : "";
  options += "quarantine_size_mb=8:thread_local_quarantine_size_kb=64";
  ::setenv("ASAN_OPTIONS", options.c_str(), 1);
}

struct Answer {
  std::string body;
  int status = 0;
  Ms elapsed{0};
  bool retry_after = false;
  bool queue_full = false;
  bool overloaded = false;  // 503 overloaded: shed because Kafka was not keeping up
  bool shed = false;        // overloaded or not_ready: refused before Kafka was handed the body
};

// One client's webhooks: unique, ~4 KB, like a real 8x8 delivery.
std::string load_body(int client, int seq) {
  return R"({"eventType":"VIRTUAL_NUMBER_UPDATE","payload":{"subAccountId":"load"},"client":)" +
         std::to_string(client) + R"(,"seq":)" + std::to_string(seq) + R"(,"pad":")" + std::string(4000, 'p') + "\"}";
}

// What the clients saw, in numbers.
struct Tally {
  std::map<int, int> by_status;
  Ms p99_503{0}, slowest_503{0}, slowest_2xx{0};
  int without_retry_after = 0;

  explicit Tally(const std::vector<Answer>& answers) {
    std::vector<Ms> latency_503;
    for (const auto& a : answers) {
      ++by_status[a.status];
      if (a.status == 503) {
        latency_503.push_back(a.elapsed);
        without_retry_after += !a.retry_after;
      } else if (a.status == 200) {
        slowest_2xx = std::max(slowest_2xx, a.elapsed);
      }
    }
    std::sort(latency_503.begin(), latency_503.end());
    if (!latency_503.empty()) {
      p99_503 = latency_503[latency_503.size() * 99 / 100];
      slowest_503 = latency_503.back();
    }
  }

  std::string summary(long peak_rss_kib) const {
    std::string s = "answers by status:";
    for (const auto& [status, n] : by_status) s += " " + std::to_string(status) + ":" + std::to_string(n);
    return s + ", 503 p99 " + std::to_string(p99_503.count()) + " ms, slowest 503 " +
           std::to_string(slowest_503.count()) + " ms, slowest 2xx " + std::to_string(slowest_2xx.count()) +
           " ms, peak RSS " + std::to_string(peak_rss_kib / 1024) + " MiB";
  }
};

class Overload : public Pipeline {
 protected:
  // kClients threads POST back to back until the load time is over.
  std::vector<Answer> drive_load() {
    std::mutex mu;
    std::vector<Answer> answers;
    const auto until = std::chrono::steady_clock::now() + kLoad;
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c)
      clients.emplace_back([&, c] {
        std::vector<Answer> mine;
        for (int seq = 0; std::chrono::steady_clock::now() < until; ++seq) mine.push_back(deliver(load_body(c, seq)));
        std::lock_guard lock(mu);
        std::move(mine.begin(), mine.end(), std::back_inserter(answers));
      });
    for (auto& t : clients) t.join();
    return answers;
  }

  Answer deliver(std::string body) {
    Answer a;
    a.body = std::move(body);
    const auto r = post("8x8", a.body);
    a.status = r.status;
    a.elapsed = r.elapsed;
    a.retry_after = r.headers.count("retry-after") > 0;
    a.queue_full = r.body.find("kafka_queue_full") != std::string::npos;
    a.overloaded = r.body.find("\"overloaded\"") != std::string::npos;
    a.shed = a.overloaded || r.body.find("\"not_ready\"") != std::string::npos;
    return a;
  }

  // Samples VmRSS while `running` is set; returns the largest seen (KiB).
  static long sample_rss(pid_t pid, const std::atomic<bool>& running) {
    long peak = 0;
    while (running) {
      peak = std::max(peak, proc_status_kib(pid, "VmRSS"));
      std::this_thread::sleep_for(100ms);
    }
    return peak;
  }

  // Every 2xx is in the raw topic exactly once; a body refused because the queue was full was
  // never handed to Kafka, so it cannot turn up later.
  void expect_books_balance(const std::vector<Answer>& answers) {
    std::map<std::string, int> raw;
    for (const auto& r : read_topic(brokers_, topics_.raw, 0, 60s)) ++raw[r.value.value_or("")];
    int missing = 0, twice = 0, refused_but_there = 0;
    for (const auto& a : answers) {
      const auto it = raw.find(a.body);
      const int n = it == raw.end() ? 0 : it->second;
      if (a.status == 200) {
        missing += n == 0;
        twice += n > 1;
      } else if (a.queue_full || a.shed) {
        refused_but_there += n > 0;
      }
    }
    EXPECT_EQ(missing, 0) << "answered 2xx but not in Kafka";
    EXPECT_EQ(twice, 0) << "in Kafka more than once";
    EXPECT_EQ(refused_but_there, 0) << "answered 503 (queue full, overloaded, not ready) but in Kafka";
  }
};

TEST_F(Overload, ShedsLoadWith503AndRecovers) {
  small_asan_quarantine_for_children();
  auto ingest =
      start_ingest({"--kafka-property", "queue.buffering.max.messages=16", "--kafka-property", "linger.ms=20"});
  ASSERT_TRUE(wait_http_ok(ingest_port_, "/readyz", 30s)) << ingest->log();
  // Hundreds of connections that only sit there, as a crowd of slow senders would.
  std::vector<std::unique_ptr<http_test::TestClient>> idle;
  for (int i = 0; i < kIdleConnections; ++i)
    idle.push_back(std::make_unique<http_test::TestClient>(static_cast<std::uint16_t>(ingest_port_)));

  std::atomic<bool> loading{true};
  long peak_rss = 0;
  std::thread sampler([&] { peak_rss = sample_rss(ingest->pid(), loading); });
  const auto answers = drive_load();
  loading = false;
  sampler.join();
  ASSERT_TRUE(ingest->running()) << ingest->log();

  const Tally t(answers);
  std::cout << "[ overload ] " << t.summary(peak_rss) << std::endl;
  SCOPED_TRACE(t.summary(peak_rss));
  EXPECT_GT(t.by_status.count(503), 0u) << "the load never exceeded the queue: the test proves nothing";
  EXPECT_GT(t.by_status.count(200), 0u);
  EXPECT_EQ(t.by_status.size(), t.by_status.count(200) + t.by_status.count(503)) << "only 200 or 503, always an answer";
  EXPECT_EQ(t.without_retry_after, 0) << "a 503 without Retry-After";
  EXPECT_LT(t.p99_503, 500ms) << "a full queue is answered at once";
  EXPECT_LT(t.slowest_503, 3000ms) << "providers drop endpoints slower than 3 s";
  EXPECT_LT(t.slowest_2xx, 3000ms);
  EXPECT_GT(peak_rss, 0);
  EXPECT_LT(peak_rss, kRssBoundKib) << "memory must stay bounded while shedding load";
  EXPECT_LT(proc_status_kib(ingest->pid(), "VmHWM"), kRssBoundKib);

  // The load is gone: the next delivery is taken again at once.
  const auto after = deliver(load_body(-1, 0));
  EXPECT_EQ(after.status, 200);
  EXPECT_LT(after.elapsed, 1000ms);

  expect_books_balance(answers);
  ingest->signal(SIGTERM);
  EXPECT_EQ(ingest->wait(20s), 0) << ingest->log();
}

// ---- Twice the measured capacity, open loop ----------------------------------------------------
//
// The capacity measured in docs/PERFORMANCE.md (~9-11k webhooks/s) is what ingest and the broker
// do with this machine's two cores to themselves; a load generator offering twice that would take
// those cores from them (measured there: it cannot). So here Kafka's own producer quota on this
// ingest's client.id makes the broker the bottleneck, as a saturated or slow cluster is in
// production. The test offers six times the quota's nominal rate on a fixed timetable (open
// loop: a slow answer does not slow the offered load, as it would not slow a provider's retries)
// and checks that this was at least twice the capacity, measured as the rate ingest took
// webhooks at meanwhile. The nominal rate is only an estimate: the broker measures a client's
// rate over a window of seconds and lets early bursts through, so ingest took 114-137/s of the
// nominal 83/s here and 180/s once in CI, which four times nominal (332/s) no longer doubled. Ingest must shed the excess with fast 503s
// (--shed-backlog-ms), answer everything under the providers' 3 s, keep its memory bounded, lose
// nothing it answered 200, and take webhooks again once the load drops.

constexpr int kQuotaBytesPerSecond = 256 << 10;
constexpr int kPadHex = 3000;  // ~3.1 KB bodies of random hex: lz4 does not shrink them
constexpr int kBodyBytes = kPadHex + 150;
constexpr double kOfferedTimesNominal = 6;  // ~500/s
constexpr int kOpenLoopThreads = 1536;      // enough for ~500/s answered within 3 s
constexpr Ms kOverloadRun = 10000ms;

std::string random_body(std::mt19937_64& rng, const std::string& tag, int seq) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string pad(kPadHex, '0');
  for (char& c : pad) c = kHex[rng() & 15];
  return R"({"eventType":"VIRTUAL_NUMBER_UPDATE","payload":{"subAccountId":"quota"},"tag":")" + tag + R"(","seq":)" +
         std::to_string(seq) + R"(,"pad":")" + pad + "\"}";
}

// kafka.sh's `tool` runs a Kafka admin class against the test broker.
int kafka_config(const std::string& brokers, const std::string& what) {
  const std::string port = brokers.substr(brokers.rfind(':') + 1);
  return std::system(("bash scripts/kafka.sh --port " + port + " tool kafka.admin.ConfigCommand --bootstrap-server " +
                      brokers + " --alter " + what + " >/dev/null 2>&1")
                         .c_str());
}

// What open-loop clients saw of the shedding: the rate taken, and how fast the shed were answered.
struct Shedding {
  double taken_per_second = 0;
  int shed_count = 0, overloaded = 0;  // shed: 503 overloaded or not_ready
  Ms p99_2xx{0}, p99_shed{0};

  Shedding(const std::vector<Answer>& answers, Ms run) {
    std::vector<Ms> taken, refused;
    for (const auto& a : answers) {
      overloaded += a.overloaded;
      if (a.status == 200) taken.push_back(a.elapsed);
      if (a.shed) refused.push_back(a.elapsed);
    }
    taken_per_second = static_cast<double>(taken.size()) / std::chrono::duration<double>(run).count();
    shed_count = static_cast<int>(refused.size());
    p99_2xx = p99(taken);
    p99_shed = p99(refused);
  }

  static Ms p99(std::vector<Ms>& v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? Ms{0} : v[v.size() * 99 / 100];
  }

  std::string summary() const {
    return "taken " + std::to_string(static_cast<int>(taken_per_second)) + "/s (p99 " + std::to_string(p99_2xx.count()) +
           " ms), shed " + std::to_string(shed_count) + " (" + std::to_string(overloaded) + " overloaded, p99 " +
           std::to_string(p99_shed.count()) + " ms)";
  }
};

class OverloadOpenLoop : public Overload {
 protected:
  void SetUp() override {
    Overload::SetUp();
    client_id_ = "numflow-overload-" + topics_.raw;
    ASSERT_EQ(kafka_config(brokers_, "--add-config producer_byte_rate=" + std::to_string(kQuotaBytesPerSecond) +
                                         " --entity-type clients --entity-name " + client_id_),
              0);
  }
  void TearDown() override {
    kafka_config(brokers_, "--delete-config producer_byte_rate --entity-type clients --entity-name " + client_id_);
    Overload::TearDown();
  }

  // Offers `rate` webhooks per second for `run`, each at its own scheduled time; an answer's
  // elapsed time counts from that time. `late` counts requests sent >100 ms after theirs.
  std::vector<Answer> open_loop(const std::string& tag, double rate, Ms run, int& late) {
    const int total = static_cast<int>(rate * std::chrono::duration<double>(run).count());
    std::atomic<int> next{0}, late_n{0};
    std::mutex mu;
    std::vector<Answer> answers;
    const auto start = std::chrono::steady_clock::now() + 100ms;
    std::vector<std::thread> pool;
    for (int t = 0; t < kOpenLoopThreads; ++t)
      pool.emplace_back([&, t] {
        std::mt19937_64 rng(std::hash<std::string>{}(tag) + t);
        std::vector<Answer> mine;
        for (int i = next++; i < total; i = next++) {
          const auto at = start + std::chrono::microseconds(static_cast<std::int64_t>(i * 1e6 / rate));
          std::this_thread::sleep_until(at);
          if (std::chrono::steady_clock::now() - at > 100ms) ++late_n;
          Answer a = deliver(random_body(rng, tag, i));
          a.elapsed = std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - at);
          mine.push_back(std::move(a));
        }
        std::lock_guard lock(mu);
        std::move(mine.begin(), mine.end(), std::back_inserter(answers));
      });
    for (auto& t : pool) t.join();
    late = late_n;
    return answers;
  }

  std::string client_id_;
};

TEST_F(OverloadOpenLoop, TwiceTheMeasuredCapacityIsShedFastAndRecovers) {
  small_asan_quarantine_for_children();
  auto ingest = start_ingest({"--kafka-property", "client.id=" + client_id_});
  ASSERT_TRUE(wait_http_ok(ingest_port_, "/readyz", 30s)) << ingest->log();

  const double offered = kOfferedTimesNominal * kQuotaBytesPerSecond / kBodyBytes;
  std::atomic<bool> loading{true};
  long peak_rss = 0;
  std::thread sampler([&] { peak_rss = sample_rss(ingest->pid(), loading); });
  int late = 0;
  const auto answers = open_loop("overload", offered, kOverloadRun, late);
  loading = false;
  sampler.join();
  ASSERT_TRUE(ingest->running()) << ingest->log();

  const Tally t(answers);
  const Shedding shed(answers, kOverloadRun);
  const std::string summary = "offered " + std::to_string(static_cast<int>(offered)) + "/s (" +
                              std::to_string(late) + " sent late); " + shed.summary() + "; " + t.summary(peak_rss);
  std::cout << "[ overload ] " << summary << std::endl;
  SCOPED_TRACE(summary);

  EXPECT_LT(late, static_cast<int>(answers.size()) / 20) << "the load generator fell behind its timetable";
  EXPECT_GE(offered, 2 * shed.taken_per_second) << "the test did not offer twice the capacity";
  EXPECT_GT(t.by_status.count(503), 0u);
  EXPECT_GT(t.by_status.count(200), 0u);
  EXPECT_GT(shed.overloaded, 0) << "the excess was not shed";
  // A throttled broker is slow, not away: readiness holds (publish/producer.cpp, probe_once).
  EXPECT_EQ(shed.overloaded, shed.shed_count) << "answered not_ready under a quota";
  EXPECT_EQ(t.by_status.size(), t.by_status.count(200) + t.by_status.count(503)) << "only 200 or 503, always an answer";
  EXPECT_EQ(t.without_retry_after, 0);
  EXPECT_LT(shed.p99_shed, 500ms) << "the excess is answered at once";
  // What Kafka was handed is confirmed, or answered 503 kafka_timeout, by the response deadline.
  EXPECT_LT(t.slowest_2xx, 3000ms) << "providers drop endpoints slower than 3 s";
  EXPECT_LT(t.slowest_503, 3000ms) << "providers drop endpoints slower than 3 s";
  EXPECT_LT(peak_rss, kRssBoundKib) << "memory must stay bounded while shedding load";

  // The load drops to ~20 webhooks/s: once the broker's quota window has passed (its throttle
  // outlasts the load by seconds), 20 in a row are taken, each within a second.
  const auto dropped = std::chrono::steady_clock::now();
  std::mt19937_64 rng(7);
  int in_a_row = 0, seq = 0;
  while (in_a_row < 20 && std::chrono::steady_clock::now() - dropped < 40s) {
    const Answer a = deliver(random_body(rng, "after", seq++));
    in_a_row = a.status == 200 && a.elapsed < 1000ms ? in_a_row + 1 : 0;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(in_a_row, 20) << "ingest did not recover within 40 s of the load dropping";
  std::cout << "[ overload ] recovered after "
            << std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - dropped).count() << " ms" << std::endl;

  expect_books_balance(answers);
  // How a body answered 200 got written twice (CI, 2026-11-29: 8 of ~1,100 and 22 of ~1,600):
  // with a message timeout of 2 s, librdkafka timed out produce requests the throttling broker
  // had written, retried them and bumped the producer's epoch. Ingest's message timeout is now
  // far beyond any throttle (ingest/main.cpp): no in-flight request may time out here at all.
  EXPECT_EQ(ingest->log().find("Timed out ProduceRequest"), std::string::npos) << "an in-flight request timed out";
  // librdkafka's warnings (a timed-out request, an epoch bump) say what happened.
  if (HasFailure()) std::cout << "[ overload ] ingest log:\n" << ingest->log() << std::endl;
  ingest->signal(SIGTERM);
  EXPECT_EQ(ingest->wait(20s), 0) << ingest->log();
}

}  // namespace
}  // namespace numflow::testing
