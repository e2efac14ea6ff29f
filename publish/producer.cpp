#include "publish/producer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <system_error>

#include "common/log.h"

namespace numflow::publish {
namespace {

struct Pending {
  DeliveryCallback done;
  std::chrono::steady_clock::time_point submitted = std::chrono::steady_clock::now();
};

}  // namespace

KafkaProducer::WakePipe::~WakePipe() {
  if (read_end >= 0) ::close(read_end);
  if (write_end >= 0) ::close(write_end);
}

KafkaProducer::KafkaProducer(ProducerOptions options) : options_(std::move(options)) {
  if (options_.caller_serves_reports) {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    wake_.read_end = fds[0];
    wake_.write_end = fds[1];
  }
  rk_.store(create_handle());
  if (options_.topics.empty()) topics_ok_.store(true);
  poller_ = std::thread([this] { poll_loop(); });
  prober_ = std::thread([this] { probe_loop(); });
}

std::shared_ptr<rd_kafka_t> KafkaProducer::create_handle() {
  rd_kafka_conf_t* conf = make_conf(durable_producer_defaults(), options_.properties);
  rd_kafka_conf_set_dr_msg_cb(conf, &KafkaProducer::on_delivery);
  rd_kafka_conf_set_error_cb(conf, &KafkaProducer::on_error);
  rd_kafka_conf_set_opaque(conf, this);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    throw std::invalid_argument(std::string("cannot create Kafka producer: ") + err);
  }
  if (wake_.write_end >= 0) {
    // librdkafka writes the byte when the queue of reports goes from empty to non-empty.
    rd_kafka_queue_t* reports = rd_kafka_queue_get_main(rk);
    rd_kafka_queue_io_event_enable(reports, wake_.write_end, "r", 1);
    rd_kafka_queue_destroy(reports);
  }
  return std::shared_ptr<rd_kafka_t>(rk, [](rd_kafka_t* h) { rd_kafka_destroy(h); });
}

KafkaProducer::~KafkaProducer() {
  stop_.store(true);
  if (prober_.joinable()) prober_.join();
  flush(2000);
  // Whatever is still queued fails now, so every submit() still gets its one callback.
  const auto rk = rk_.load();
  rd_kafka_purge(rk.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  if (poller_.joinable()) poller_.join();
  rd_kafka_poll(rk.get(), 0);
}

// After a fatal error the producer can do nothing more: requests get 503 while a new one is
// made; whatever the old one still held fails (503, the provider retries), nothing is lost.
void KafkaProducer::rebuild() {
  ready_.store(false);
  std::shared_ptr<rd_kafka_t> fresh;
  try {
    fresh = create_handle();
  } catch (const std::exception& e) {
    log::error("cannot rebuild the Kafka producer", {{"reason", e.what()}});
    return;
  }
  auto old = rk_.exchange(fresh);
  fatal_.store(false);
  rebuilds_.fetch_add(1);
  rd_kafka_purge(old.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  std::lock_guard lock(retired_mu_);
  retired_.push_back(std::move(old));
  log::warn("kafka producer rebuilt after a fatal error", {{"rebuilds", static_cast<std::int64_t>(rebuilds_.load())}});
}

void KafkaProducer::submit(Message msg, DeliveryCallback done) {
  if (!ready() || fatal_.load()) {
    done({Delivery::unavailable, "Kafka is not reachable or the topic is not ready"});
    return;
  }
  rd_kafka_headers_t* hdrs = rd_kafka_headers_new(msg.headers.size());
  for (const auto& [k, v] : msg.headers)
    rd_kafka_header_add(hdrs, k.data(), static_cast<ssize_t>(k.size()), v.data(), static_cast<ssize_t>(v.size()));
  auto* pending = new Pending{std::move(done)};
  in_flight_.fetch_add(1);
  // rd_kafka_produceva rather than the RD_KAFKA_V_* macros: same call, no C casts.
  rd_kafka_vu_t vus[6];
  vus[0].vtype = RD_KAFKA_VTYPE_TOPIC;
  vus[0].u.cstr = msg.topic.c_str();
  vus[1].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  vus[1].u.i = RD_KAFKA_MSG_F_COPY;
  vus[2].vtype = RD_KAFKA_VTYPE_KEY;
  vus[2].u.mem = {msg.key.data(), msg.key.size()};  // RD_KAFKA_MSG_F_COPY: never written through
  vus[3].vtype = RD_KAFKA_VTYPE_VALUE;
  vus[3].u.mem = {msg.tombstone ? nullptr : msg.value.data(), msg.tombstone ? 0 : msg.value.size()};
  vus[4].vtype = RD_KAFKA_VTYPE_HEADERS;
  vus[4].u.headers = hdrs;
  vus[5].vtype = RD_KAFKA_VTYPE_OPAQUE;
  vus[5].u.ptr = pending;
  const auto rk = rk_.load();
  rd_kafka_error_t* error = rd_kafka_produceva(rk.get(), vus, 6);
  const rd_kafka_resp_err_t err = error ? rd_kafka_error_code(error) : RD_KAFKA_RESP_ERR_NO_ERROR;
  if (error) rd_kafka_error_destroy(error);
  if (err) {
    rd_kafka_headers_destroy(hdrs);  // ownership passes to librdkafka only on success
    in_flight_.fetch_sub(1);
    DeliveryCallback cb = std::move(pending->done);
    delete pending;
    cb({err == RD_KAFKA_RESP_ERR__QUEUE_FULL ? Delivery::queue_full : Delivery::failed, rd_kafka_err2str(err)});
  }
}

void KafkaProducer::on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  auto* self = static_cast<KafkaProducer*>(opaque);
  auto* pending = static_cast<Pending*>(msg->_private);
  if (!pending) return;
  DeliveryResult r{Delivery::persisted, {}};
  if (msg->err) r = {Delivery::failed, rd_kafka_err2str(msg->err)};
  self->in_flight_.fetch_sub(1);
  const auto now = std::chrono::steady_clock::now();
  if (!msg->err) self->last_persisted_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
  if (self->options_.on_delivery)
    self->options_.on_delivery(std::chrono::duration<double>(now - pending->submitted).count(), !msg->err);
  pending->done(std::move(r));
  delete pending;
}

void KafkaProducer::on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* self = static_cast<KafkaProducer*>(opaque);
  const auto code = static_cast<rd_kafka_resp_err_t>(err);
  if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    // Answer 503 at once from now on instead of letting requests wait for a timeout.
    self->brokers_down_.store(true);
    self->ready_.store(false);
  }
  if (code == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    const auto orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
    log::error("kafka producer fatal error", {{"error", rd_kafka_err2name(orig)}, {"reason", std::string_view(buf)}});
    self->ready_.store(false);
    self->fatal_.store(true);
    return;
  }
  log::warn("kafka", {{"error", rd_kafka_err2name(code)}, {"reason", reason ? reason : ""}});
}

void KafkaProducer::serve_reports() {
  char drained[256];
  while (::read(wake_.read_end, drained, sizeof drained) > 0) {
  }
  // One poll serves every report queued now; one queued after it finds the queue empty and
  // writes to the pipe again.
  rd_kafka_poll(rk_.load().get(), 0);
}

void KafkaProducer::poll_loop() {
  // Delivery reports are served here (or by the caller, with this loop as a backstop every 50 ms);
  // keep going after stop_ until the destructor's purge has reported every message.
  for (;;) {
    const auto rk = rk_.load();
    if (stop_.load() && rd_kafka_outq_len(rk.get()) == 0) break;
    if (wake_.read_end >= 0 && !stop_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      rd_kafka_poll(rk.get(), 0);
    } else {
      rd_kafka_poll(rk.get(), 50);
    }
    // Retired producers: serve their remaining (failed) delivery reports, then let them go.
    std::lock_guard lock(retired_mu_);
    for (auto it = retired_.begin(); it != retired_.end();) {
      rd_kafka_poll(it->get(), 0);
      it = rd_kafka_outq_len(it->get()) == 0 ? retired_.erase(it) : it + 1;
    }
  }
}

bool KafkaProducer::probe_once() {
  if (!topics_ok_.load()) {
    const auto r = ensure_topics(rk_.load().get(), options_.topics, 5000);
    if (r.status == TopicsResult::misconfigured) {
      std::lock_guard lock(mu_);
      misconfiguration_ = r.message;
      misconfigured_.store(true);
      log::error("topic misconfigured: refusing to run", {{"reason", r.message}});
      return false;
    }
    if (r.status == TopicsResult::retry) {
      log::warn("kafka not ready: topics not provisioned yet", {{"reason", r.message}});
      return false;
    }
    topics_ok_.store(true);
    log::info("topics ready", {{"count", static_cast<std::int64_t>(options_.topics.size())}});
  }
  const auto rk = rk_.load();
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk.get(), options_.readiness_topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  const auto err = rd_kafka_metadata(rk.get(), 0, t, &md, 1000);
  bool ok = false;
  if (!err) {
    ok = md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0;
    rd_kafka_metadata_destroy(md);
  }
  rd_kafka_topic_destroy(t);
  // A broker holding a client to its quota mutes the connection for seconds, and the metadata
  // request waits behind it: slow, not away, while writes keep being acknowledged. Readiness
  // flapping there would turn shedding (503 overloaded) into 503 not_ready and, in Kubernetes,
  // take every ingest pod out of service at once (tests/integration/overload_test.cpp).
  if (err == RD_KAFKA_RESP_ERR__TIMED_OUT && ready_.load() && !brokers_down_.load() && persisted_within(kSlowNotAway))
    ok = true;
  return ok;
}

bool KafkaProducer::persisted_within(std::chrono::steady_clock::duration d) const {
  const std::chrono::steady_clock::time_point last{
      std::chrono::steady_clock::duration(last_persisted_.load(std::memory_order_relaxed))};
  return last.time_since_epoch().count() != 0 && std::chrono::steady_clock::now() - last < d;
}

void KafkaProducer::probe_loop() {
  using namespace std::chrono;
  while (!stop_.load() && !misconfigured_.load()) {
    if (fatal_.load()) rebuild();
    const bool ok = !fatal_.load() && probe_once();
    const bool was = ready_.exchange(ok);
    if (ok) brokers_down_.store(false);
    if (ok != was) log::info(ok ? "kafka ready" : "kafka not ready", {{"topic", options_.readiness_topic}});
    const auto until = steady_clock::now() + milliseconds(ok ? options_.metadata_interval_ms : 500);
    while (!stop_.load() && steady_clock::now() < until) std::this_thread::sleep_for(milliseconds(50));
  }
}

bool KafkaProducer::flush(int timeout_ms) {
  return rd_kafka_flush(rk_.load().get(), timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

std::string KafkaProducer::misconfiguration() const {
  std::lock_guard lock(mu_);
  return misconfiguration_;
}

}  // namespace numflow::publish
