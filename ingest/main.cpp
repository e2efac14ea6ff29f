// numflow-ingest: receives provider webhooks and writes each raw body durably to Kafka before
// answering (contract §1).
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <atomic>
#include <condition_variable>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/admin.h"
#include "common/log.h"
#include "common/log_budget.h"
#include "common/settings.h"
#include "ingest/ingest_handler.h"
#include "ingest/ingest_settings.h"
#include "ingest/metric_tally.h"
#include "ingest/poller.h"
#include "common/net.h"
#include "providers/8x8/eight_by_eight_auth.h"
#include "providers/registry.h"
#include "providers/ringcentral/ringcentral_auth.h"
#include "providers/zoom/zoom_auth.h"
#include "publish/kafka_settings.h"
#include "publish/producer.h"

using namespace numflow;

namespace {

// librdkafka's message timeout, decoupled from the HTTP answer's deadline and far beyond any
// throttle or slow acks=all answer. librdkafka gives a produce request its oldest message's
// deadline; when a broker that has written the batch answers after it (a client quota holds
// answers back for seconds), librdkafka drops the connection and retries the batch, and once
// other messages time out it bumps the idempotent producer's epoch: the retry is then a new
// producer's write to the broker and the batch lands twice, reported delivered. At 2 s this
// wrote bodies answered 200 twice in CI (tests/integration/overload_test.cpp, 8 and 22 of
// ~1,100-1,600 under a quota, docs/PERFORMANCE.md). A body answered 503 kafka_timeout may
// therefore still land later (as the provider's retry does; the transform's merge applies an
// event id once); one refused at once (not ready, queue full, overloaded) never does. It counts
// as backlog until its report, so shedding keeps the queue from filling with answered bodies
// (waiting_list.h).
constexpr int kMessageTimeoutMs = 30000;

// Each provider route needs an explicit authentication decision (contract §1): its provider's
// authenticator built from the settings, or `--<provider>-auth none`. Returns an error to refuse
// to start with.
struct AuthChoice {
  std::shared_ptr<const Authenticator> auth;
  std::string describe;  // for the start-up log, no secrets
};

std::optional<std::string> build_auth(const Settings& s, std::string_view provider, AuthChoice& out) {
  const std::string p(provider);
  const std::string mode = s.str(p + "-auth");
  if (!mode.empty() && mode != "none") return "--" + p + "-auth accepts only 'none' (got '" + mode + "')";
  bool configured = false;
  try {
    if (p == "zoom" && s.is_set("zoom-secret-token")) {
      out.auth = std::make_shared<ZoomAuthenticator>(ZoomAuthOptions{
          s.list("zoom-secret-token"), std::chrono::seconds(s.integer("zoom-max-skew")), nullptr});
      out.describe = "x-zm-signature with " + std::to_string(s.list("zoom-secret-token").size()) + " secret token(s)";
      configured = true;
    } else if (p == "ringcentral" && (s.is_set("ringcentral-verification-token") || s.is_set("ringcentral-query-secret"))) {
      out.auth = std::make_shared<RingCentralAuthenticator>(RingCentralAuthOptions{
          s.str("ringcentral-verification-token"), s.str("ringcentral-query-secret"),
          s.str("ringcentral-query-parameter")});
      out.describe = s.is_set("ringcentral-verification-token") ? "Verification-Token" : "";
      if (s.is_set("ringcentral-query-secret"))
        out.describe += (out.describe.empty() ? "" : " + ") + std::string("query parameter ") +
                        s.str("ringcentral-query-parameter");
      configured = true;
    } else if (p == "8x8" && (s.is_set("8x8-allow-cidr") || s.is_set("8x8-auth-header"))) {
      out.auth = std::make_shared<EightByEightAuthenticator>(EightByEightAuthOptions{
          net::CidrSet::parse(s.list("8x8-allow-cidr")), net::CidrSet::parse(s.list("trusted-proxies")),
          s.str("8x8-auth-header")});
      out.describe = s.is_set("8x8-allow-cidr") ? "source allowlist" : "";
      if (s.is_set("8x8-auth-header")) out.describe += out.describe.empty() ? "Authorization header" : " + Authorization header";
      configured = true;
    }
  } catch (const std::invalid_argument& e) {
    return std::string(e.what());
  }
  if (configured && mode == "none")
    return "--" + p + "-auth none conflicts with the " + p + " authentication settings given: choose one";
  if (configured) return std::nullopt;
  if (mode == "none") {
    log::warn("webhooks accepted WITHOUT authentication", {{"provider", provider}, {"setting", p + "-auth"}});
    // Handshakes are answered even here (contract §1): they are never events to store.
    Handshake handshake;
    if (p == "zoom") handshake = zoom_handshake_without_secret;
    if (p == "ringcentral") handshake = ringcentral_handshake;
    out.auth = std::make_shared<NoAuth>(std::move(handshake));
    out.describe = "none";
    return std::nullopt;
  }
  return "no authentication configured for " + p + " webhooks: set its credentials (see --help) or --" + p +
         "-auth none to accept them unauthenticated";
}

struct IngestMetrics {
  explicit IngestMetrics(prometheus::Registry& r)
      : requests(prometheus::BuildCounter()
                     .Name("numflow_ingest_requests_total")
                     .Help("Webhook requests by provider, route, outcome and HTTP status")
                     .Register(r)),
        duration(prometheus::BuildHistogram()
                     .Name("numflow_ingest_request_duration_seconds")
                     .Help("Time from a webhook's first byte to its answer")
                     .Register(r)),
        bytes(prometheus::BuildCounter()
                  .Name("numflow_ingest_body_bytes_total")
                  .Help("Body bytes of webhook requests")
                  .Register(r)),
        refusals(prometheus::BuildCounter()
                     .Name("numflow_ingest_refusals_total")
                     .Help("Deliveries refused by authentication, by provider and reason")
                     .Register(r)),
        polls(prometheus::BuildCounter()
                  .Name("numflow_ingest_poller_runs_total")
                  .Help("8x8 numbers API snapshots attempted, by result")
                  .Register(r)),
        produce(prometheus::BuildHistogram()
                    .Name("numflow_ingest_produce_seconds")
                    .Help("Time from handing a body to Kafka to its delivery report, by result")
                    .Register(r)),
        in_flight(prometheus::BuildGauge()
                      .Name("numflow_ingest_in_flight")
                      .Help("Webhook requests waiting for their delivery report")
                      .Register(r)
                      .Add({})),
        queue_depth(prometheus::BuildGauge()
                        .Name("numflow_ingest_queue_depth")
                        .Help("Messages in the Kafka producer's queues")
                        .Register(r)
                        .Add({})),
        backlog_age(prometheus::BuildGauge()
                        .Name("numflow_ingest_kafka_backlog_seconds")
                        .Help("How long the oldest body handed to Kafka has waited for its acknowledgement "
                              "(webhooks are shed at --shed-backlog-ms)")
                        .Register(r)
                        .Add({})),
        connections(prometheus::BuildGauge()
                        .Name("numflow_ingest_connections")
                        .Help("Open webhook connections")
                        .Register(r)
                        .Add({})),
        http_rejections(prometheus::BuildCounter()
                            .Name("numflow_ingest_http_rejections_total")
                            .Help("Requests and connections the HTTP server turned away before any provider "
                                  "route saw them, by reason")
                            .Register(r)) {
    for (const char* reason : {"connection_limit", "read_timeout", "bad_request", "body_too_large",
                               "headers_too_large", "client_abort", "body_memory_full", "not_found",
                               "method_not_allowed"})
      rejection_counters.emplace(reason, &http_rejections.Add({{"reason", reason}}));
  }
  // Brings the server's monotonic counters into the registry (called every 200 ms).
  void observe_server(const http::ServerStats& s) {
    connections.Set(static_cast<double>(s.connections_active));
    const std::pair<const char*, std::uint64_t> now[] = {
        {"connection_limit", s.connections_rejected}, {"read_timeout", s.read_timeouts},
        {"bad_request", s.bad_requests},              {"body_too_large", s.bodies_too_large},
        {"headers_too_large", s.headers_too_large},   {"client_abort", s.client_aborts},
        {"body_memory_full", s.body_memory_full}};
    for (const auto& [reason, value] : now) catch_up(reason, value);
  }
  // 404s and 405s: asked for no route, or a route with the wrong method (the handler's counters).
  void observe_routing(const ingest::IngestStats& s) {
    catch_up("not_found", s.not_found);
    catch_up("method_not_allowed", s.wrong_method);
  }
  // The server and the handler keep plain totals; the rejection counter of `reason` is brought up
  // to `total` (counters only go up).
  void catch_up(const char* reason, std::uint64_t total) {
    prometheus::Counter* c = rejection_counters.at(reason);
    if (static_cast<double>(total) > c->Value()) c->Increment(static_cast<double>(total) - c->Value());
  }
  void observe_produce(double seconds, bool ok) { (ok ? produce_persisted_tally : produce_failed_tally).observe(seconds); }
  void observe_poll(const ingest::PollOutcome& o) {
    // The poller logs each attempt itself (a too_large or auth failure as an error).
    polls.Add({{"result", std::string(ingest::to_string(o.result))}}).Increment();
  }
  void observe(const ingest::RequestOutcome& o) {
    RequestSeries& m = request_series(o);
    m.requests.add();
    m.duration.observe(std::chrono::duration<double>(o.latency).count());
    m.bytes.add(o.body_bytes);
    if (o.outcome == ingest::Outcome::refused) {
      refusals.Add({{"provider", std::string(o.provider)}, {"reason", std::string(o.reason)}}).Increment();
      if (const auto unlogged = refusal_log.admit(); unlogged >= 0)
        log::warn("delivery refused", {{"provider", o.provider}, {"reason", o.reason}, {"status", o.status},
                                       {"client", o.client}, {"request_id", o.request_id},
                                       {"refusals_not_logged_before", unlogged}});
    }
  }
  // Each webhook's series are created once and kept, with their tallies (ingest/metric_tally.h:
  // counted with atomics, moved into the series by flush()). A thread finds them in its own small
  // cache, without a lock; the shared map behind it builds a string key under one.
  struct RequestSeries {
    RequestSeries(prometheus::Counter& r, prometheus::Histogram& d, prometheus::Counter& b)
        : requests_series(r), duration_series(d), bytes_series(b) {}
    prometheus::Counter& requests_series;
    prometheus::Histogram& duration_series;
    prometheus::Counter& bytes_series;
    ingest::CounterTally requests;
    ingest::SecondsHistogramTally duration{kRequestBuckets};
    ingest::CounterTally bytes;
  };
  RequestSeries& request_series(const ingest::RequestOutcome& o) {
    struct Cached {
      const IngestMetrics* metrics;
      std::string provider, route;
      ingest::Outcome outcome;
      int status;
      RequestSeries* series;
    };
    thread_local std::vector<Cached> cache;
    for (const Cached& c : cache) {
      if (c.metrics == this && c.outcome == o.outcome && c.status == o.status && c.provider == o.provider &&
          c.route == o.route)
        return *c.series;
    }
    if (cache.size() >= 64) cache.clear();  // bounded (routes × outcomes × statuses seen are few)
    RequestSeries& found = shared_series(o);
    cache.push_back({this, std::string(o.provider), std::string(o.route), o.outcome, o.status, &found});
    return found;
  }
  RequestSeries& shared_series(const ingest::RequestOutcome& o) {
    std::string key(o.provider);
    key.append(1, '\n').append(o.route).append(1, '\n');
    key.append(ingest::to_string(o.outcome)).append(1, '\n').append(std::to_string(o.status));
    std::lock_guard lock(series_m);
    auto it = series.find(key);
    if (it == series.end()) {
      const std::string provider(o.provider);
      auto m = std::make_unique<RequestSeries>(requests.Add({{"provider", provider},
                                                             {"route", std::string(o.route)},
                                                             {"outcome", std::string(ingest::to_string(o.outcome))},
                                                             {"status", std::to_string(o.status)}}),
                                               duration.Add({{"provider", provider}}, kRequestBuckets),
                                               bytes.Add({{"provider", provider}}));
      it = series.emplace(key, std::move(m)).first;
    }
    return *it->second;
  }
  // Moves the tallies into their series (every 200 ms).
  void flush() {
    {
      std::lock_guard lock(series_m);
      for (auto& [_, m] : series) {
        m->requests.flush(m->requests_series);
        m->duration.flush(m->duration_series);
        m->bytes.flush(m->bytes_series);
      }
    }
    produce_persisted_tally.flush(produce_persisted);
    produce_failed_tally.flush(produce_failed);
  }
  inline static const prometheus::Histogram::BucketBoundaries kRequestBuckets{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
  inline static const prometheus::Histogram::BucketBoundaries kProduceBuckets{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
  std::mutex series_m;
  std::unordered_map<std::string, std::unique_ptr<RequestSeries>> series;

  // A flood of forged deliveries must not become a flood of log lines (the counter has them all).
  log::LogBudget refusal_log{20};
  prometheus::Family<prometheus::Counter>& requests;
  prometheus::Family<prometheus::Histogram>& duration;
  prometheus::Family<prometheus::Counter>& bytes;
  prometheus::Family<prometheus::Counter>& refusals;
  prometheus::Family<prometheus::Counter>& polls;
  prometheus::Family<prometheus::Histogram>& produce;
  prometheus::Histogram& produce_persisted{produce.Add({{"result", "persisted"}}, kProduceBuckets)};
  prometheus::Histogram& produce_failed{produce.Add({{"result", "failed"}}, kProduceBuckets)};
  ingest::SecondsHistogramTally produce_persisted_tally{kProduceBuckets}, produce_failed_tally{kProduceBuckets};
  prometheus::Gauge& in_flight;
  prometheus::Gauge& queue_depth;
  prometheus::Gauge& backlog_age;
  prometheus::Gauge& connections;
  prometheus::Family<prometheus::Counter>& http_rejections;
  std::map<std::string, prometheus::Counter*> rejection_counters;
};

}  // namespace

int main(int argc, char** argv) {
  Settings s = ingest::ingest_settings();
  if (auto code = s.parse_command_line("numflow-ingest", std::vector<std::string>(argv + 1, argv + argc))) return *code;

  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  handle_stop_signals([&](int sig) {
    log::info("stopping", {{"signal", sig}});
    std::lock_guard lock(mu);
    stop = true;
    cv.notify_all();
  });

  ingest::IngestOptions io;
  io.raw_topic = s.str("raw-topic");
  io.max_body_bytes = static_cast<std::size_t>(s.integer("max-body-bytes"));
  io.response_deadline = std::chrono::milliseconds(s.integer("response-deadline-ms"));
  io.retry_after = std::chrono::seconds(s.integer("retry-after-seconds"));
  io.shed_backlog = std::chrono::milliseconds(s.integer("shed-backlog-ms"));
  for (const Provider* p : all_providers()) {
    AuthChoice auth;
    if (auto err = build_auth(s, p->name(), auth)) {
      log::error("refusing to start", {{"reason", *err}});
      return 2;
    }
    log::info("route", {{"provider", p->name()}, {"authentication", auth.describe}});
    // --ringcentral-account: the account of RingCentral events that name theirs `~` (contract §3),
    // in the raw key, where the transform takes it from.
    const std::string tilde_account = p->name() == "ringcentral" ? s.str("ringcentral-account") : std::string();
    io.routes.push_back(
        ingest::ProviderRoute{std::string(p->name()), "", auth.auth, ingest::account_extractor(*p, tilde_account)});
  }

  auto registry = std::make_shared<prometheus::Registry>();
  register_build_info(*registry, "ingest");
  IngestMetrics metrics(*registry);
  io.on_outcome = [&metrics](const ingest::RequestOutcome& o) { metrics.observe(o); };

  const std::int64_t largest_body = ingest::largest_raw_body(s);
  publish::ProducerOptions po;
  // A 2xx needs the delivery report inside the response deadline (--response-deadline-ms); the
  // handler answers 503 kafka_timeout when it does not come by then. librdkafka's own message
  // timeout is far longer on purpose (kMessageTimeoutMs, at the top of this file).
  // librdkafka refuses messages over message.max.bytes (default 1,000,000) before sending them,
  // and the broker those over the topic's max.message.bytes: both need room for the largest body
  // ingest writes plus its key and headers, or a webhook just under --max-body-bytes (default
  // 1 MiB) would get 503 on every retry, and an 8x8 snapshot up to --8x8-poll-max-body-bytes
  // (default 16 MiB) would fail on every poll: so both are sized by the larger of the two.
  // linger.ms 0.5, not the shared default 5: each request waits for its own delivery report, so
  // with C connections throughput is at most C / latency, and the broker alone allows ~11,600
  // answers/s at 64 connections with 5 ms against ~96,000 with 0 (bench/kafka_floor,
  // docs/PERFORMANCE.md). Half a millisecond still batches the webhooks that arrive together
  // (0: a produce request per webhook, ~50% more broker CPU and fewer webhooks/s); against 1 ms
  // it took 42,000 webhooks/s instead of 32,000 at the same CPU per webhook. With one request in
  // flight per connection (publish/kafka_config.cpp) batches grow while a request is out, and 0.2
  // gained little more: 47,100-52,800 webhooks/s against 46,100-49,700 at 0.5.
  po.properties = publish::merged({{"linger.ms", "0.5"},
                                   {"message.timeout.ms", std::to_string(kMessageTimeoutMs)},
                                   {"queue.buffering.max.messages", "100000"},
                                   {"queue.buffering.max.kbytes", "131072"},
                                   {"message.max.bytes", std::to_string(largest_body + publish::kRecordOverheadBytes)}},
                                  publish::kafka_properties(s));
  auto specs = publish::topic_specs(s, largest_body);
  po.topics = {specs.front()};  // ingest provisions only the raw topic it writes
  po.readiness_topic = io.raw_topic;
  po.on_delivery = [&metrics](double seconds, bool ok) { metrics.observe_produce(seconds, ok); };
  // Delivery reports are served on the HTTP io thread that writes the answers they trigger, not
  // handed over from the producer's poll thread: paired runs, 64 connections, the signed mix:
  // 25.7-28.1 -> 22.9-23.7 µs of CPU per webhook, 34,300-36,600 -> 41,300 webhooks/s.
  po.caller_serves_reports = true;
  std::unique_ptr<publish::KafkaProducer> producer;
  std::unique_ptr<ingest::IngestHandler> handler;
  try {
    producer = std::make_unique<publish::KafkaProducer>(po);
    handler = std::make_unique<ingest::IngestHandler>(io, *producer);
  } catch (const std::exception& e) {
    log::error("cannot start", {{"reason", e.what()}});
    return 2;
  }

  // The 8x8 snapshot poller writes through the same durable producer as the webhooks.
  std::unique_ptr<ingest::EightByEightPoller> poller;
  if (auto ids = s.list("8x8-poll-subaccounts"); !ids.empty()) {
    ingest::PollerOptions pp;
    try {
      pp = ingest::poller_options(s);  // each subaccount's own key, else the shared one
    } catch (const std::invalid_argument& e) {
      log::error("refusing to start", {{"reason", e.what()}});
      return 2;
    }
    pp.on_outcome = [&metrics](const ingest::PollOutcome& o) { metrics.observe_poll(o); };
    try {
      poller = std::make_unique<ingest::EightByEightPoller>(pp, *producer);
    } catch (const std::exception& e) {
      log::error("refusing to start", {{"reason", e.what()}});
      return 2;
    }
    poller->start();
    log::info("8x8 poller started", {{"subaccounts", static_cast<std::int64_t>(ids.size())},
                                     {"interval_seconds", s.integer("8x8-poll-interval-seconds")}});
  }

  http::ServerOptions ho;
  ho.listen = s.str("listen");
  ho.io_threads = static_cast<unsigned>(s.integer("io-threads"));
  ho.max_body_bytes = io.max_body_bytes;
  ho.max_connections = static_cast<std::size_t>(s.integer("max-connections"));
  ho.read_timeout = std::chrono::milliseconds(s.integer("read-timeout-ms"));
  ho.max_body_memory_bytes = static_cast<std::size_t>(s.integer("max-body-memory-bytes"));
  http::Server server(ho, handler->handler());
  http::ServerOptions mo;
  mo.listen = s.str("metrics-listen");
  http::Server admin(mo, admin_handler(registry, [&] { return producer->ready(); }));
  try {
    server.start();
    server.watch(producer->report_fd(), [&producer] { producer->serve_reports(); });
    admin.start();
  } catch (const std::exception& e) {
    log::error("cannot listen", {{"reason", e.what()}});
    return 2;
  }
  log::info("numflow-ingest started", {{"listen", ho.listen}, {"metrics_listen", mo.listen},
                                       {"port", static_cast<std::int64_t>(server.port())},
                                       {"brokers", s.str("brokers")}});

  {
    std::unique_lock lock(mu);
    while (!stop && !producer->misconfigured()) {
      cv.wait_for(lock, std::chrono::milliseconds(200));
      metrics.in_flight.Set(static_cast<double>(handler->in_flight()));
      metrics.queue_depth.Set(static_cast<double>(producer->queue_depth()));
      metrics.backlog_age.Set(std::chrono::duration<double>(handler->backlog_age()).count());
      metrics.observe_server(server.stats());
      metrics.observe_routing(handler->stats());
      metrics.flush();
    }
  }
  const bool misconfigured = producer->misconfigured();
  // Graceful stop: stop taking connections, let requests in flight get their answers, flush.
  const auto grace = std::chrono::milliseconds(s.integer("shutdown-grace-ms"));
  if (poller) poller->stop();
  handler->set_draining(true);
  server.stop_accepting();
  handler->wait_idle(grace);
  server.shutdown(grace);
  admin.stop();
  producer->flush(static_cast<int>(grace.count()));
  poller.reset();
  handler.reset();
  producer.reset();
  log::info("numflow-ingest stopped", {{"misconfigured", misconfigured}});
  return misconfigured ? 3 : 0;
}
