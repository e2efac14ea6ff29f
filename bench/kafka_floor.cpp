// kafka_floor: what the broker alone allows a webhook receiver that answers only after a durable
// write. N "clients" each produce one message, wait for its delivery report, and produce the next
// (a closed loop, like N keep-alive connections of a load generator against an ingest service);
// no HTTP, no parsing, no authentication. Same producer settings as numflow-ingest (acks=all,
// idempotent, lz4, linger.ms as given). Its throughput is the ceiling for numflow-ingest *and*
// Benthos at that concurrency on that broker: an ingest service can only add work to this loop.
//
//   kafka_floor --brokers 127.0.0.1:9092 --topic t [--in-flight 64] [--seconds 10] [--bytes 700]
//               [--linger-ms 5] [-X key=value ...]
//
// Prints one line: messages/s, p50/p99 delivery latency (ms), own CPU µs per message.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/process_cpu.h"
#include "bench/produce_webhook.h"
#include "publish/kafka_config.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string brokers = "127.0.0.1:9092", topic;
  int in_flight = 64, seconds = 10, bytes = 700;
  std::string linger_ms = "5";
  numflow::publish::Properties extra;
};

struct Loop {
  rd_kafka_t* rk = nullptr;
  const Options* o = nullptr;
  std::string payload;
  Clock::time_point measure_from, stop_at;
  std::vector<double> latencies_ms;
  long failures = 0;
  bool producing = true;

  std::size_t next_key = 0;

  // Keys rotate over 1,000 accounts, spreading the messages over the partitions like webhooks.
  void send() {
    const std::string key = "8x8:bench-" + std::to_string(next_key++ % 1000);
    auto* sent = new Clock::time_point(Clock::now());
    if (rd_kafka_error_t* e = numflow::bench::produce_webhook(rk, o->topic, key, payload, sent)) {
      rd_kafka_error_destroy(e);
      delete sent;
      ++failures;
    }
  }

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<Loop*>(opaque);
    auto* sent = static_cast<Clock::time_point*>(m->_private);
    const auto now = Clock::now();
    if (m->err)
      ++self->failures;
    else if (*sent >= self->measure_from && now <= self->stop_at)
      self->latencies_ms.push_back(std::chrono::duration<double, std::milli>(now - *sent).count());
    delete sent;
    if (self->producing) self->send();  // that "connection" sends its next request
  }
};

[[noreturn]] void usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: kafka_floor --brokers HOST:PORT --topic T [--in-flight N] [--seconds S] [--bytes B]\n"
               "                   [--linger-ms MS] [-X key=value ...]\n");
  std::exit(code);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage(2);
      return argv[++i];
    };
    if (a == "--brokers") o.brokers = next();
    else if (a == "--topic") o.topic = next();
    else if (a == "--in-flight") o.in_flight = std::atoi(next().c_str());
    else if (a == "--seconds") o.seconds = std::atoi(next().c_str());
    else if (a == "--bytes") o.bytes = std::atoi(next().c_str());
    else if (a == "--linger-ms") o.linger_ms = next();
    else if (a == "-X") {
      const std::string kv = next();
      const auto eq = kv.find('=');
      if (eq == std::string::npos) usage(2);
      o.extra.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    } else if (a == "-h" || a == "--help") usage(0);
    else usage(2);
  }
  if (o.topic.empty() || o.in_flight < 1 || o.seconds < 1 || o.bytes < 1) usage(2);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  Loop loop;
  loop.o = &o;
  // A webhook-like body: JSON text compresses about as well as the fixtures do.
  const std::string unit = R"({"eventType":"VIRTUAL_NUMBER_UPDATE","number":"+14155550100","status":"ACTIVE"},)";
  while (loop.payload.size() < static_cast<std::size_t>(o.bytes)) loop.payload += unit;
  loop.payload.resize(static_cast<std::size_t>(o.bytes));

  auto props = numflow::publish::durable_producer_defaults();
  props = numflow::publish::merged(props, {{"bootstrap.servers", o.brokers}, {"linger.ms", o.linger_ms}});
  rd_kafka_conf_t* conf = numflow::publish::make_conf(props, o.extra);
  rd_kafka_conf_set_dr_msg_cb(conf, &Loop::on_delivery);
  rd_kafka_conf_set_opaque(conf, &loop);
  char err[512];
  loop.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!loop.rk) {
    std::fprintf(stderr, "kafka_floor: %s\n", err);
    return 1;
  }
  // Warm up (metadata, producer id) before measuring: one second.
  loop.measure_from = Clock::now() + std::chrono::seconds(1);
  loop.stop_at = loop.measure_from + std::chrono::seconds(o.seconds);
  for (int c = 0; c < o.in_flight; ++c) loop.send();
  double cpu_from = -1;
  while (Clock::now() < loop.stop_at) {
    rd_kafka_poll(loop.rk, 1);
    if (cpu_from < 0 && Clock::now() >= loop.measure_from) cpu_from = numflow::bench::process_cpu_seconds();
  }
  const double cpu = numflow::bench::process_cpu_seconds() - cpu_from;
  loop.producing = false;
  rd_kafka_flush(loop.rk, 10000);
  rd_kafka_destroy(loop.rk);

  auto& l = loop.latencies_ms;
  std::sort(l.begin(), l.end());
  auto pct = [&](double p) { return l.empty() ? 0.0 : l[std::min(l.size() - 1, static_cast<std::size_t>(p * static_cast<double>(l.size())))]; };
  std::printf("in_flight=%d bytes=%d linger_ms=%s messages_per_s=%.0f p50_ms=%.2f p99_ms=%.2f cpu_us_per_msg=%.1f failures=%ld\n",
              o.in_flight, o.bytes, o.linger_ms.c_str(), static_cast<double>(l.size()) / o.seconds, pct(0.5), pct(0.99),
              l.empty() ? 0.0 : cpu * 1e6 / static_cast<double>(l.size()), loop.failures);
  if (l.empty()) std::fprintf(stderr, "kafka_floor: no message was delivered (does topic %s exist?)\n", o.topic.c_str());
  return loop.failures || l.empty() ? 1 : 0;
}
