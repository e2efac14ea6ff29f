#include "transform/txn_stage.h"

#include <chrono>
#include <map>
#include <memory>
#include <thread>

#include "common/log.h"
#include "transform/batch_window.h"

namespace numflow::transform {
namespace {

using Clock = std::chrono::steady_clock;

struct ErrorDeleter {
  void operator()(rd_kafka_error_t* e) const { rd_kafka_error_destroy(e); }
};
using Error = std::unique_ptr<rd_kafka_error_t, ErrorDeleter>;

std::vector<std::int32_t> partitions_of(const rd_kafka_topic_partition_list_t* parts) {
  std::vector<std::int32_t> out;
  for (int i = 0; i < parts->cnt; ++i) out.push_back(parts->elems[i].partition);
  return out;
}

}  // namespace

struct TxnStage::Batch {
  std::map<std::int32_t, std::int64_t> first_offsets;  // input partition -> where this batch began
  std::map<std::int32_t, std::int64_t> next_offsets;   // input partition -> offset to commit
  std::size_t messages = 0;
  Clock::time_point started = Clock::now();
  // The transaction's first outputs, held until kHeldFirst of them or the batch's end (see
  // release_held). Never produced if the batch is dropped.
  std::vector<OutMessage> held;
  bool holding = true;
  // How the batch ended, for the debug line: its input idled, what already waited in the
  // consumer, the window it had and the one the next batch gets.
  bool idled = false;
  std::size_t waiting = 0;
  Clock::duration busy{0};  // processing the batch's messages, not waiting for them
  std::chrono::milliseconds window{0}, next_window{0};
};

TxnStage::TxnStage(StageOptions options, StageHooks& hooks, StageCounters counters)
    : options_(std::move(options)), hooks_(hooks), counters_(std::move(counters)) {
  make_consumer();
}

void TxnStage::make_consumer() {
  consumer_queue_.reset();
  if (consumer_) {
    rd_kafka_consumer_close(consumer_.get());
    consumer_.reset();
  }
  const publish::Properties consumer_defaults = {
      {"group.id", options_.group_id},
      {"enable.auto.commit", "false"},
      {"auto.offset.reset", "earliest"},
      {"isolation.level", "read_committed"},
      {"enable.partition.eof", "false"},
      // Eager rebalancing: with cooperative-sticky, librdkafka 2.0.2's consumer_close() sends no
      // LeaveGroup (measured here), so a restarted instance waited a whole session timeout.
      {"partition.assignment.strategy", "range,roundrobin"},
      // Static membership (KIP-345): an instance restarted under the same id (a crashed pod,
      // kill -9) takes its partitions back at once instead of waiting out a rebalance.
      {"group.instance.id", options_.group_instance_id},
      {"session.timeout.ms", "10000"},
      {"statistics.interval.ms", counters_.on_stats ? "5000" : "0"},
  };
  rd_kafka_conf_t* conf = publish::make_conf(consumer_defaults, options_.kafka);
  rd_kafka_conf_set_rebalance_cb(conf, &TxnStage::rebalance_cb);
  rd_kafka_conf_set_stats_cb(conf, &TxnStage::stats_cb);
  rd_kafka_conf_set_opaque(conf, this);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    throw std::invalid_argument(std::string("cannot create Kafka consumer: ") + err);
  }
  consumer_.reset(rk);
  rd_kafka_poll_set_consumer(rk);
  consumer_queue_.reset(rd_kafka_queue_get_consumer(rk));
}

bool TxnStage::subscribe() {
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, options_.input_topic.c_str(), RD_KAFKA_PARTITION_UA);
  const auto err = rd_kafka_subscribe(consumer_.get(), topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err) log::error("cannot subscribe", {{"stage", options_.name}, {"error", rd_kafka_err2str(err)}});
  return !err;
}

// A fatal consumer error (e.g. a static member fenced after a broker restart) leaves the consumer
// unusable: drop the batch, give up the partitions' state and join again with a new consumer.
void TxnStage::rebuild_consumer() {
  if (in_transaction_) {
    Error e(rd_kafka_abort_transaction(producer_.get(), 10000));
    in_transaction_ = false;
    hooks_.on_abort();
  }
  rd_kafka_topic_partition_list_t* parts = nullptr;
  if (!rd_kafka_assignment(consumer_.get(), &parts) && parts) {
    std::vector<std::int32_t> ps;
    for (int i = 0; i < parts->cnt; ++i) ps.push_back(parts->elems[i].partition);
    hooks_.on_revoke(ps);
    rd_kafka_topic_partition_list_destroy(parts);
  }
  ready_.store(false);
  make_consumer();
  subscribe();
}

TxnStage::~TxnStage() {
  consumer_queue_.reset();
  if (consumer_) rd_kafka_consumer_close(consumer_.get());
  consumer_.reset();
  producer_.reset();
}

bool TxnStage::make_producer() {
  producer_.reset();
  publish::Properties defaults = publish::durable_producer_defaults();
  defaults.emplace_back("transactional.id", options_.transactional_id);
  // A transaction left open by a crashed instance blocks read_committed readers until it times
  // out: keep that short. Deliveries must give up before their transaction does.
  defaults.emplace_back("transaction.timeout.ms", "10000");
  defaults.emplace_back("message.timeout.ms", "9000");
  // A dead letter carries its raw record back out: room for the largest one ingest can accept
  // (librdkafka's default, 1,000,000 bytes, refuses a 1 MiB body before it is even sent).
  defaults.emplace_back("message.max.bytes", std::to_string(publish::kLargestDeadLetterBytes));
  rd_kafka_conf_t* conf = publish::make_conf(defaults, options_.kafka);
  rd_kafka_conf_set_dr_msg_cb(conf, &TxnStage::delivered);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    log::error("cannot create transactional producer", {{"stage", options_.name}, {"reason", err}});
    return false;
  }
  producer_.reset(rk);
  // init_transactions fences any older producer with our transactional.id; retried while Kafka
  // is away (the service keeps running, not ready).
  while (!stop_.load()) {
    Error e(rd_kafka_init_transactions(rk, 10000));
    if (!e) {
      ++producers_made_;
      return true;
    }
    log::warn("init_transactions failed: retrying", {{"stage", options_.name}, {"error", rd_kafka_error_string(e.get())}});
    if (rd_kafka_error_is_fatal(e.get())) {
      producer_.reset();
      return make_producer();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return false;
}

// Delivery reports are not needed for correctness (a failed delivery fails the transaction's
// commit), but without them commit_transaction's flush cannot tell when its last write was
// acknowledged: librdkafka 2.0.2 then waits for its report queue in rd_kafka_poll(rk, 10) slices
// and sleeps out a whole slice after the broker answered. A report wakes that poll at once.
// Measured at 5,000 webhooks/s: the normalize stage's commit took ~11 ms at the median with the
// broker's answers back in ~1 (docs/PERFORMANCE.md, "Commits that waited for nothing").
void TxnStage::delivered(rd_kafka_t*, const rd_kafka_message_t*, void*) {}

int TxnStage::stats_cb(rd_kafka_t*, char* json, size_t len, void* opaque) {
  auto* self = static_cast<TxnStage*>(opaque);
  if (self->counters_.on_stats) self->counters_.on_stats(std::string_view(json, len));
  return 0;  // librdkafka frees the JSON
}

void TxnStage::rebalance_cb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                            void* opaque) {
  static_cast<TxnStage*>(opaque)->rebalance(err, parts);
}

void TxnStage::rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    const auto ps = partitions_of(parts);
    log::info("partitions assigned", {{"stage", options_.name}, {"count", static_cast<std::int64_t>(ps.size())}});
    std::unique_ptr<rd_kafka_topic_partition_list_t, void (*)(rd_kafka_topic_partition_list_t*)> start(
        rd_kafka_topic_partition_list_copy(parts), rd_kafka_topic_partition_list_destroy);
    // Offsets first, state second: the state restored must include everything the offsets we
    // start from were committed with.
    if (!fetch_stable_offsets(start.get()) || !hooks_.on_assign(ps, stop_)) {
      log::info("partitions not taken: stopping", {{"stage", options_.name}});
      return;
    }
    rd_kafka_assign(consumer_.get(), start.get());
    ready_.store(true);
  } else {
    // Whatever this instance did with these partitions since the last commit must not be
    // committed now: their next owner starts from the committed offsets.
    if (in_transaction_) {
      Error e(rd_kafka_abort_transaction(producer_.get(), 10000));
      in_transaction_ = false;
      batch_void_ = true;
      hooks_.on_abort();
    }
    hooks_.on_revoke(partitions_of(parts));
    rd_kafka_assign(consumer_.get(), nullptr);
  }
}

// Fills in the group's committed offsets of `parts`, waiting while any is unstable. An earlier
// owner that had already sent its offsets in a transaction (KIP-447 fencing checks the generation
// there, not at the commit) may still end it after the rebalance: frozen between
// send_offsets_to_transaction and commit_transaction, it wakes up, flushes the rest of its
// records and commits, unless the coordinator times the transaction out first. Until then its
// offsets are pending; with isolation.level=read_committed rd_kafka_committed() asks for stable
// offsets only (OffsetFetch require_stable) and fails with UNSTABLE_OFFSET_COMMIT or a timeout.
// Restoring state before that would miss the changelog records that transaction still writes
// while starting from the offsets it commits.
bool TxnStage::fetch_stable_offsets(rd_kafka_topic_partition_list_t* parts) {
  bool told = false;
  while (!stop_.load()) {
    rd_kafka_resp_err_t err = rd_kafka_committed(consumer_.get(), parts, 3000);
    for (int i = 0; !err && i < parts->cnt; ++i) err = parts->elems[i].err;
    if (!err) return true;
    if (!told)
      log::warn("committed offsets not settled: waiting before taking the partitions",
                {{"stage", options_.name}, {"error", rd_kafka_err2name(err)}});
    told = true;
    for (int i = 0; i < parts->cnt; ++i) parts->elems[i].err = RD_KAFKA_RESP_ERR_NO_ERROR;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

bool TxnStage::produce(OutMessage&& m) {
  rd_kafka_headers_t* hdrs = rd_kafka_headers_new(m.headers.size());
  for (const auto& [k, v] : m.headers)
    rd_kafka_header_add(hdrs, k.data(), static_cast<ssize_t>(k.size()), v.data(), static_cast<ssize_t>(v.size()));
  rd_kafka_vu_t vus[6];
  vus[0].vtype = RD_KAFKA_VTYPE_TOPIC;
  vus[0].u.cstr = m.topic.c_str();
  vus[1].vtype = RD_KAFKA_VTYPE_PARTITION;
  vus[1].u.i32 = m.partition;
  vus[2].vtype = RD_KAFKA_VTYPE_KEY;
  vus[2].u.mem = {m.key.data(), m.key.size()};
  vus[3].vtype = RD_KAFKA_VTYPE_VALUE;
  vus[3].u.mem = {m.value ? m.value->data() : nullptr, m.value ? m.value->size() : 0};
  vus[4].vtype = RD_KAFKA_VTYPE_HEADERS;
  vus[4].u.headers = hdrs;
  vus[5].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  vus[5].u.i = RD_KAFKA_MSG_F_COPY;
  for (;;) {
    rd_kafka_error_t* e = rd_kafka_produceva(producer_.get(), vus, 6);
    if (!e) return true;
    const auto code = rd_kafka_error_code(e);
    rd_kafka_error_destroy(e);
    if (code == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(producer_.get(), 10);  // back-pressure: let deliveries drain
      continue;
    }
    rd_kafka_headers_destroy(hdrs);
    log::warn("produce failed", {{"stage", options_.name}, {"error", rd_kafka_err2name(code)}});
    return false;
  }
}

// A transaction's outputs start out held, then go to librdkafka together. librdkafka registers a
// transaction's partitions with the coordinator (AddPartitionsToTxn) 1 ms after the first write to
// a new one, one request at a time. Written one by one as input trickled in, outputs reached the
// partitions at different moments and most transactions took more than one round: each a request
// the coordinator writes to its log, ~1 ms of librdkafka 2.0.2's main thread polling without
// sleeping (it rounds waits down to whole milliseconds; fixed in 2.3.1), and, when a round met the
// coordinator still finishing the previous transaction, CONCURRENT_TRANSACTIONS and a 20 ms retry.
// The first kHeldFirst outputs of a batch reach all of a stage's partitions nearly always; written
// together they are registered in one round. Measured at 5,000 webhooks/s (docs/PERFORMANCE.md,
// "Runs 36-38"): 2.2 rounds per transaction before, 1.6 after; CONCURRENT_TRANSACTIONS 42 -> 9 in 5 s.
bool TxnStage::release_held(Batch& batch) {
  batch.holding = false;
  bool ok = true;
  for (auto& o : batch.held)
    if (ok && !produce(std::move(o))) ok = false;
  batch.held.clear();
  return ok;
}

// Back to where the aborted batch began: everything before it is committed. (Asking the group
// coordinator instead would also do on a real broker, but this needs no request and no
// assumption about when transactional offsets become visible.)
void TxnStage::rewind(const Batch& batch) {
  if (batch.first_offsets.empty()) return;
  rd_kafka_topic_partition_list_t* parts =
      rd_kafka_topic_partition_list_new(static_cast<int>(batch.first_offsets.size()));
  for (const auto& [p, off] : batch.first_offsets)
    rd_kafka_topic_partition_list_add(parts, options_.input_topic.c_str(), p)->offset = off;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (rd_kafka_error_t* e = rd_kafka_seek_partitions(consumer_.get(), parts, 10000)) {
    err = rd_kafka_error_code(e);
    rd_kafka_error_destroy(e);
  }
  for (int i = 0; !err && i < parts->cnt; ++i) err = parts->elems[i].err;
  rd_kafka_topic_partition_list_destroy(parts);
  if (err) rejoin_after_failed_rewind(err);
}

// Going on from where the consumer is would skip the aborted batch's messages. Start over as a
// new owner does: a new consumer, partitions (and their state) taken again from the committed
// offsets.
void TxnStage::rejoin_after_failed_rewind(rd_kafka_resp_err_t err) {
  log::warn("seek to the aborted batch failed: joining the group again", {{"stage", options_.name},
                                                                        {"error", rd_kafka_err2name(err)}});
  rebuild_consumer();
}

void TxnStage::abort_and_rewind(bool rebuild_producer, const Batch& batch) {
  if (!rebuild_producer) Error e(rd_kafka_abort_transaction(producer_.get(), 30000));
  in_transaction_ = false;
  hooks_.on_abort();
  rewind(batch);
  if (rebuild_producer) make_producer();
}

// Where a transaction's time went, for whoever chases a latency tail (--log-level debug): the
// window (first message to the commit calls), then the two commit calls, whose broker round trips
// go to different coordinators (the group's for the offsets, the transaction's for the end).
void TxnStage::log_committed(const Batch& batch, Clock::time_point commit_started, Clock::time_point offsets_sent,
                             Clock::time_point ended) const {
  if (!log::enabled(log::Level::debug)) return;
  const auto ms = [](Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double, std::milli>(to - from).count();
  };
  log::debug("transaction committed", {{"stage", options_.name},
                                       {"messages", static_cast<std::int64_t>(batch.messages)},
                                       {"window_ms", ms(batch.started, commit_started)},
                                       {"window_limit_ms", static_cast<std::int64_t>(batch.window.count())},
                                       {"idled", batch.idled},
                                       {"waiting", static_cast<std::int64_t>(batch.waiting)},
                                       {"busy_ms", std::chrono::duration<double, std::milli>(batch.busy).count()},
                                       {"next_window_ms", static_cast<std::int64_t>(batch.next_window.count())},
                                       {"offsets_ms", ms(commit_started, offsets_sent)},
                                       {"commit_ms", ms(offsets_sent, ended)}});
}

bool TxnStage::commit(Batch& batch) {
  rd_kafka_topic_partition_list_t* offsets = rd_kafka_topic_partition_list_new(static_cast<int>(batch.next_offsets.size()));
  for (const auto& [p, off] : batch.next_offsets)
    rd_kafka_topic_partition_list_add(offsets, options_.input_topic.c_str(), p)->offset = off;
  const auto commit_started = Clock::now();
  rd_kafka_consumer_group_metadata_t* meta = rd_kafka_consumer_group_metadata(consumer_.get());
  Error e(rd_kafka_send_offsets_to_transaction(producer_.get(), offsets, meta, 30000));
  rd_kafka_consumer_group_metadata_destroy(meta);
  rd_kafka_topic_partition_list_destroy(offsets);
  const auto offsets_sent = Clock::now();
  if (!e) {
    e.reset(rd_kafka_commit_transaction(producer_.get(), 30000));
    while (e && rd_kafka_error_is_retriable(e.get()) && !stop_.load())
      e.reset(rd_kafka_commit_transaction(producer_.get(), 30000));
  }
  const auto ended = Clock::now();
  const double seconds = std::chrono::duration<double>(ended - batch.started).count();
  const double commit_seconds = std::chrono::duration<double>(ended - commit_started).count();
  if (!e) {
    in_transaction_ = false;
    hooks_.on_commit();
    if (counters_.on_transaction) counters_.on_transaction(true, seconds, commit_seconds);
    log_committed(batch, commit_started, offsets_sent, ended);
    return true;
  }
  const bool fatal = rd_kafka_error_is_fatal(e.get());
  log::warn("transaction failed: aborting and rewinding",
            {{"stage", options_.name}, {"error", rd_kafka_error_string(e.get())}, {"fatal", fatal}});
  if (counters_.on_transaction) counters_.on_transaction(false, seconds, commit_seconds);
  abort_and_rewind(fatal, batch);
  return false;
}

bool TxnStage::run() {
  if (!make_producer()) return stop_.load();
  if (!subscribe()) return false;
  log::info("stage consuming", {{"stage", options_.name}, {"topic", options_.input_topic}});

  std::vector<OutMessage> out;
  BatchWindow window(options_.batch_max_ms, options_.batch_max_ms_behind);
  while (!stop_.load()) {
    Batch batch;
    batch_void_ = false;
    const auto deadline = Clock::now() + window.current();
    bool failed = false, idled = false;
    while (batch.messages < static_cast<std::size_t>(options_.batch_max_messages) && !stop_.load()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0 && batch.messages) break;
      // Once the batch holds something, wait for more only as long as the input may idle.
      const bool idle_commit = batch.messages && options_.batch_idle_ms > 0 && options_.batch_idle_ms < left;
      const long wait_ms = idle_commit ? options_.batch_idle_ms : std::max<long>(left, 50);
      rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_.get(), static_cast<int>(wait_ms));
      if (producer_) rd_kafka_poll(producer_.get(), 0);  // serve delivery reports: frees their messages
      if (batch_void_) {
        // A rebalance aborted this batch's transaction: start over. The poll that ran the
        // rebalance callbacks may have gone on to return the first message of the new
        // assignment: it belongs to the new batch. (It used to be dropped with the old one, and
        // the consumer's position was already past it: lost. The real broker's rebalances are
        // quick enough for that, tests/integration/txn_stage_rebalance_test.cpp.)
        batch = Batch{};
        batch_void_ = false;
        if (!m) continue;
      }
      if (!m) {
        idled = idle_commit;
        if (left <= 0 || idle_commit) break;
        continue;
      }
      if (m->err) {
        const bool fatal = m->err == RD_KAFKA_RESP_ERR__FATAL;
        log::warn("consumer", {{"stage", options_.name}, {"error", rd_kafka_err2name(m->err)}, {"fatal", fatal}});
        rd_kafka_message_destroy(m);
        if (fatal) {
          rebuild_consumer();
          batch = Batch{};
        }
        continue;
      }
      if (!in_transaction_) {
        Error e(rd_kafka_begin_transaction(producer_.get()));
        if (e) {
          log::warn("begin_transaction failed", {{"stage", options_.name}, {"error", rd_kafka_error_string(e.get())}});
          batch.first_offsets.try_emplace(m->partition, m->offset);  // this message is redone too
          rd_kafka_message_destroy(m);
          abort_and_rewind(true, batch);
          failed = true;
          break;
        }
        in_transaction_ = true;
      }
      const auto taken = Clock::now();
      if (batch.messages == 0) batch.started = taken;  // the metric's "first message to committed"
      out.clear();
      hooks_.process(m, out);
      batch.first_offsets.try_emplace(m->partition, m->offset);
      batch.next_offsets[m->partition] = m->offset + 1;
      ++batch.messages;
      rd_kafka_message_destroy(m);
      for (auto& o : out) {
        if (batch.holding)
          batch.held.push_back(std::move(o));
        else if (!produce(std::move(o)))
          failed = true;
      }
      if (batch.held.size() >= kHeldFirst && !release_held(batch)) failed = true;
      batch.busy += Clock::now() - taken;
      if (failed) break;
    }
    if (!failed && batch.holding && !release_held(batch)) failed = true;
    if (failed) {
      if (in_transaction_) abort_and_rewind(false, batch);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    if (batch.messages == 0 || !in_transaction_) continue;
    batch.idled = idled;
    batch.waiting = rd_kafka_queue_length(consumer_queue_.get());
    batch.window = window.current();
    window.ended(batch.messages, batch.waiting, idled, batch.busy);
    batch.next_window = window.current();
    if (!commit(batch)) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (in_transaction_) {
    // Stopping mid-batch: abort; whoever owns the partitions next redoes it from the committed offsets.
    Error e(rd_kafka_abort_transaction(producer_.get(), 10000));
    in_transaction_ = false;
    hooks_.on_abort();
  }
  ready_.store(false);
  return true;
}

}  // namespace numflow::transform
