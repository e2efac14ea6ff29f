// transform_floor: what numflow-transform's Kafka work alone costs on a broker, with none of its
// own. The same two exactly-once stages (transform/txn_stage.h, the same settings and windows as
// the service) drain a pre-filled raw topic, but their hooks only copy bytes: stage 1 turns each
// raw event into one fragment, stage 2 turns each fragment into a number-changes record and a
// changelog record, all of the sizes numflow writes for an 8x8 update with one number. No
// parsing, validation, normalization, state or JSON. What this costs per event is the floor
// under numflow-transform's CPU per event in its design (two transactional hops, three records
// written and two read per event); bench/compare.sh prints it beside the transform's figures.
//
//   transform_floor --brokers 127.0.0.1:9092 --raw-topic T --events N [--partitions 4]
//                   [--fragment-bytes 370] [--record-bytes 946] [--state-bytes 399]
//
// Prints one line: events/s (first input taken to last record committed) and own CPU µs per event.
//
//   transform_floor --brokers 127.0.0.1:9092 --raw-topic T --follow --run NAME [sizes as above]
//
// --follow: the end-to-end floor's middle (bench/compare.sh, phase "e2e floor"). Instead of
// draining N events, the stages follow the raw topic until SIGTERM or SIGINT, writing to
// NAME.fragments, NAME.number-changes and NAME.number-state, so that a read_committed reader of
// NAME.number-changes sees what bench/ingest_floor took in, one exactly-once hop pair later.
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "bench/process_cpu.h"
#include "publish/kafka_config.h"
#include "publish/topics.h"
#include "transform/service.h"
#include "transform/txn_stage.h"

namespace {

volatile std::sig_atomic_t stopping = 0;

using numflow::transform::OutMessage;
using numflow::transform::StageHooks;
using numflow::transform::StageOptions;
using numflow::transform::TxnStage;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string brokers = "127.0.0.1:9092", raw_topic, run;
  long events = 0;
  bool follow = false;
  int partitions = 4, fragment_bytes = 370, record_bytes = 946, state_bytes = 399;
};

// `size` bytes cut from (or repeating) the message's own payload, so lz4 meets JSON-like text.
std::string filled(const rd_kafka_message_t* m, int size) {
  const std::string_view from(static_cast<const char*>(m->payload), m->len);
  std::string out;
  out.reserve(static_cast<std::size_t>(size));
  while (out.size() < static_cast<std::size_t>(size) && !from.empty())
    out.append(from.substr(0, static_cast<std::size_t>(size) - out.size()));
  return out;
}

// The number a record is keyed by: the first "msisdn" of an 8x8 body (what the e2e sender and
// gen.py raw write), else a 12-byte key already one (a fragment's), else one made from the
// offset, so that records spread over the partitions as numbers do and an end-to-end reader can
// match what it reads to what was sent. A search, not a parse: the least routing by number takes.
std::string number_key(const rd_kafka_message_t* m) {
  const std::string_view body(static_cast<const char*>(m->payload), m->len);
  constexpr std::string_view field = "\"msisdn\":\"";
  if (const auto at = body.find(field); at != std::string_view::npos) {
    const auto from = at + field.size(), to = body.find('"', from);
    if (to != std::string_view::npos && to - from <= 16) return std::string(body.substr(from, to - from));
  }
  if (m->key_len == 12) return std::string(static_cast<const char*>(m->key), 12);
  return "+1202" + std::to_string(m->offset % 10000000 + 1000000);
}

struct CopyHooks : StageHooks {
  std::vector<std::pair<std::string, int>> outputs;  // topic, value bytes: one record each per input
  std::atomic<long>* committed = nullptr;            // counted on commit (stage 2 only)
  std::atomic<bool>* started = nullptr;              // set at the first input (stage 1 only)
  long pending = 0;

  bool on_assign(const std::vector<std::int32_t>&, const std::atomic<bool>&) override { return true; }
  void on_revoke(const std::vector<std::int32_t>&) override {}
  void process(const rd_kafka_message_t* m, std::vector<OutMessage>& out) override {
    if (started && !started->load(std::memory_order_relaxed)) started->store(true);
    const std::string key = number_key(m);
    for (const auto& [topic, bytes] : outputs)
      out.push_back(OutMessage{topic, RD_KAFKA_PARTITION_UA, key, filled(m, bytes), {}});
    ++pending;
  }
  void on_commit() override {
    if (committed) committed->fetch_add(pending);
    pending = 0;
  }
  void on_abort() override { pending = 0; }
};

[[noreturn]] void usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: transform_floor --brokers HOST:PORT --raw-topic TOPIC (--events N | --follow --run NAME)\n"
               "                       [--partitions 4] [--fragment-bytes 370] [--record-bytes 946] [--state-bytes 399]\n");
  std::exit(code);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") usage(0);
    if (a == "--follow") {
      o.follow = true;
      continue;
    }
    if (i + 1 >= argc) usage(2);
    const char* v = argv[++i];
    if (a == "--brokers") o.brokers = v;
    else if (a == "--raw-topic") o.raw_topic = v;
    else if (a == "--events") o.events = std::atol(v);
    else if (a == "--run") o.run = v;
    else if (a == "--partitions") o.partitions = std::atoi(v);
    else if (a == "--fragment-bytes") o.fragment_bytes = std::atoi(v);
    else if (a == "--record-bytes") o.record_bytes = std::atoi(v);
    else if (a == "--state-bytes") o.state_bytes = std::atoi(v);
    else usage(2);
  }
  if (o.raw_topic.empty() || o.partitions <= 0) usage(2);
  if (o.follow ? o.run.empty() || o.events > 0 : o.events <= 0) usage(2);
  return o;
}

// The stage settings numflow-transform runs with by default (its command line's defaults in
// transform/main.cpp, which ServiceOptions' member defaults repeat).
StageOptions stage(const std::string& name, const std::string& group, const std::string& input,
                   const numflow::publish::Properties& kafka) {
  const std::string id = group + "." + name;
  const numflow::transform::ServiceOptions d;
  return StageOptions{name, kafka, group, input, id, id, d.batch_max_messages, d.batch_max_ms, d.batch_idle_ms,
                      d.batch_max_ms_behind};
}

bool make_topics(const Options& o, const std::vector<std::string>& names, const numflow::publish::Properties& kafka) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, numflow::publish::make_conf(kafka, {}), err, sizeof err);
  if (!rk) return std::fprintf(stderr, "transform_floor: %s\n", err), false;
  std::vector<numflow::publish::TopicSpec> specs;
  for (const auto& n : names) specs.push_back({n, n.ends_with(".fragments") ? "delete" : "compact", -2, o.partitions});
  // A topic just created may not be described yet ("unknown topic"): that is a retry, as the
  // services' own probe loops treat it, not a failure.
  auto r = numflow::publish::ensure_topics(rk, specs, 30000);
  for (int attempt = 1; r.status == numflow::publish::TopicsResult::retry && attempt < 30; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    r = numflow::publish::ensure_topics(rk, specs, 30000);
  }
  rd_kafka_destroy(rk);
  if (r.status != numflow::publish::TopicsResult::ok)
    return std::fprintf(stderr, "transform_floor: topics: %s\n", r.message.c_str()), false;
  return true;
}

// --follow: until SIGTERM or SIGINT; prints what was committed and the CPU it took.
int follow(TxnStage& normalize, TxnStage& merge, const std::atomic<long>& committed) {
  std::signal(SIGTERM, [](int) { stopping = 1; });
  std::signal(SIGINT, [](int) { stopping = 1; });
  const double cpu0 = numflow::bench::process_cpu_seconds();
  while (!stopping) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const double cpu = numflow::bench::process_cpu_seconds() - cpu0;
  normalize.stop();
  merge.stop();
  const long n = committed.load();
  std::printf("transform floor (copy-only stages, exactly-once, following): events=%ld cpu_us_per_event=%.1f\n", n,
              cpu * 1e6 / static_cast<double>(n ? n : 1));
  return 0;
}

// Drains o.events: from the first input taken to the last record committed.
int drain(const Options& o, TxnStage& normalize, TxnStage& merge, const std::atomic<long>& committed,
          const std::atomic<bool>& started) {
  while (!started.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto t0 = Clock::now();
  const double cpu0 = numflow::bench::process_cpu_seconds();
  const auto give_up = t0 + std::chrono::minutes(5);
  while (committed.load() < o.events && Clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = numflow::bench::process_cpu_seconds() - cpu0;
  normalize.stop();
  merge.stop();
  const long n = committed.load();
  std::printf("transform floor (copy-only stages, exactly-once): events=%ld events_per_s=%.0f seconds=%.2f "
              "cpu_us_per_event=%.1f fragment_bytes=%d record_bytes=%d state_bytes=%d%s\n",
              n, n / seconds, seconds, cpu * 1e6 / static_cast<double>(n ? n : 1), o.fragment_bytes, o.record_bytes,
              o.state_bytes, n < o.events ? " INCOMPLETE (gave up after 5 minutes)" : "");
  return n < o.events ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const auto stamp = std::chrono::system_clock::now().time_since_epoch().count();
  // This run's topics and groups.
  const std::string run = o.follow ? o.run : "floor" + std::to_string(stamp % 1000000000);
  const numflow::publish::Properties kafka{{"bootstrap.servers", o.brokers}};
  const std::string fragments = run + ".fragments", changes = run + ".number-changes", state = run + ".number-state";
  if (!make_topics(o, {fragments, changes, state}, kafka)) return 1;

  std::atomic<long> committed{0};
  std::atomic<bool> started{false};
  CopyHooks first, second;
  first.outputs = {{fragments, o.fragment_bytes}};
  first.started = &started;
  second.outputs = {{changes, o.record_bytes}, {state, o.state_bytes}};
  second.committed = &committed;
  TxnStage normalize(stage("normalize", run, o.raw_topic, kafka), first);
  TxnStage merge(stage("merge", run + ".merge", fragments, kafka), second);
  std::thread t1([&] { normalize.run(); });
  std::thread t2([&] { merge.run(); });
  const int rc = o.follow ? follow(normalize, merge, committed) : drain(o, normalize, merge, committed, started);
  t1.join();
  t2.join();
  return rc;
}
