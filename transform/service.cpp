#include "transform/service.h"

#include <chrono>
#include <map>
#include <thread>

#include "common/log.h"
#include "common/time.h"
#include "transform/core/codec.h"
#include "transform/kafka_bytes.h"
#include "transform/state_restore.h"

namespace numflow::transform {
namespace {

using Clock = std::chrono::steady_clock;

// The first header of that name, read in place (empty when absent); the message outlives the view.
// Only a dead letter needs the headers copied (copy_headers).
std::string_view header(const rd_kafka_message_t* m, const char* name) {
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR || !hdrs) return {};
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get(hdrs, 0, name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR || !value) return {};
  return {static_cast<const char*>(value), size};
}

publish::Headers copy_headers(const rd_kafka_message_t* m) {
  publish::Headers out;
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR || !hdrs) return out;
  const char* name;
  const void* value;
  size_t size;
  for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i)
    out.emplace_back(name, value ? std::string(static_cast<const char*>(value), size) : std::string());
  return out;
}

// A StateStore over a partition's store that remembers, per number, what it held before this
// batch, so an aborted transaction's state changes can be undone.
class UndoStore final : public StateStore {
 public:
  using Log = std::vector<std::tuple<std::int32_t, std::string, std::optional<NumberState>>>;
  UndoStore(MemoryStateStore& base, std::int32_t partition, Log& log) : base_(base), partition_(partition), log_(log) {}
  const NumberState* find(std::string_view number) const override { return base_.find(number); }
  void put(const std::string& number, NumberState state) override {
    auto& before = std::get<2>(log_.emplace_back(partition_, number, std::nullopt));
    base_.replace(number, std::move(state), before);
  }
  void erase(std::string_view number) override {
    log_.emplace_back(partition_, std::string(number), base_.take(number));
  }
  std::size_t size() const override { return base_.size(); }
  void for_each(const std::function<void(const std::string&, const NumberState&)>& fn) const override {
    base_.for_each(fn);
  }

 private:
  MemoryStateStore& base_;
  std::int32_t partition_;
  Log& log_;
};

}  // namespace

// ---- stage 1: raw events -> fragments (by number), extension records, dead letters ----

class Service::NormalizeHooks final : public StageHooks {
 public:
  NormalizeHooks(const ServiceOptions& o, Metrics& metrics, const int& partitions)
      : o_(o),
        metrics_(metrics),
        partitions_(partitions),
        dead_letters_(metrics.record(o.topics.dead_letter)),
        extension_records_(metrics.record(o.topics.extension_changes)) {}
  bool on_assign(const std::vector<std::int32_t>&, const std::atomic<bool>&) override { return true; }
  void on_revoke(const std::vector<std::int32_t>&) override {}
  void on_commit() override { counts_.commit(); }
  void on_abort() override { counts_.abort(); }

  void process(const rd_kafka_message_t* m, std::vector<OutMessage>& out) override {
    const std::string topic = rd_kafka_topic_name(m->rkt);
    const std::string_view key = bytes(m->key, m->key_len);
    const std::string_view body = bytes(m->payload, m->len);
    auto [key_provider, account] = split_raw_key(key);
    std::string_view provider = header(m, "numflow-provider");
    if (provider.empty()) provider = key_provider;
    if (account.empty() && provider == "ringcentral") account = o_.default_ringcentral_account;
    const RawEvent ev{provider, account, body, parse_rfc3339_ms(header(m, "numflow-received-at")).value_or(0),
                      SourcePosition{topic, m->partition, m->offset},
                      header(m, "numflow-source") == "poll" ? Origin::poll : Origin::webhook};
    const auto t0 = Clock::now();
    Normalization n = normalize_raw(ev, o_.core, now_unix_ms());
    metrics_.processing_seconds().Observe(std::chrono::duration<double>(Clock::now() - t0).count());

    for (const NumberFragment& f : n.fragments)
      out.push_back(OutMessage{o_.fragments_topic, RD_KAFKA_PARTITION_UA, f.update.number, encode_fragment(f), {}});
    if (n.snapshot_end) {
      // Every merge partition must learn where the snapshot ends: after its own fragments of it.
      const std::string end = encode_snapshot_end(*n.snapshot_end);
      for (int p = 0; p < partitions_; ++p)
        out.push_back(OutMessage{o_.fragments_topic, p, n.snapshot_end->inventory, end, {}});
    }
    std::string_view first_code;
    for (Output& o : n.outputs) {
      if (o.topic == Topic::dead_letter) {
        if (first_code.empty()) first_code = o.error_code;
        publish::Headers h = copy_headers(m);
        h.emplace_back("numflow-error-code", o.error_code);
        h.emplace_back("numflow-error-detail", o.error_detail);
        h.emplace_back("numflow-source-topic", topic);
        h.emplace_back("numflow-source-partition", std::to_string(m->partition));
        h.emplace_back("numflow-source-offset", std::to_string(m->offset));
        // The detail may quote the event's values (a malformed number): it stays in the
        // dead-letter record's header, not in logs that are kept longer and seen by more people.
        log::warn("dead-lettered", {{"code", o.error_code}, {"topic", topic}, {"partition", m->partition},
                                    {"offset", m->offset}});
        out.push_back(OutMessage{o_.topics.dead_letter, RD_KAFKA_PARTITION_UA, std::string(key), std::string(body),
                                 std::move(h)});
        counts_.add(dead_letters_);
      } else {
        out.push_back(OutMessage{o_.topics.extension_changes, RD_KAFKA_PARTITION_UA, std::move(o.key),
                                 std::move(o.value), {}});
        counts_.add(extension_records_);
      }
    }
    counts_.add(metrics_.event(provider, n.provider_event_type, n.outcome, first_code));
  }

 private:
  const ServiceOptions& o_;
  Metrics& metrics_;
  const int& partitions_;
  // records_total counts the topics analytics read, not the internal ones (numflow.fragments,
  // numflow.number-state): the dashboards' "records per second" is what users get.
  prometheus::Counter &dead_letters_, &extension_records_;
  BatchCounts counts_;
};

// ---- stage 2: fragments + per-number state -> number-changes, changelog ----

class Service::MergeHooks final : public StageHooks {
 public:
  MergeHooks(const ServiceOptions& o, Metrics& metrics)
      : o_(o),
        metrics_(metrics),
        number_records_(metrics.record(o.topics.number_changes)) {}

  bool on_assign(const std::vector<std::int32_t>& partitions, const std::atomic<bool>& stopping) override {
    const auto t0 = Clock::now();
    const RestoreOptions ro{o_.kafka, o_.state_topic, o_.group_id + ".restore"};
    std::vector<RestoreTarget> targets;
    for (auto p : partitions) targets.emplace_back(p, &stores_[p]);
    const RestoreResult r = restore_partitions(ro, targets, stopping);
    if (!r.complete) {  // stopping: no state, so no partition either
      for (auto p : partitions) stores_.erase(p);
      return false;
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    for (auto p : partitions)
      log::info("state restored", {{"partition", p}, {"numbers", static_cast<std::int64_t>(stores_[p].size())}});
    log::info("state restore done", {{"partitions", static_cast<std::int64_t>(partitions.size())},
                                     {"records", static_cast<std::int64_t>(r.records)}, {"attempts", r.attempts},
                                     {"seconds", seconds}});
    metrics_.restored(seconds, numbers());
    return true;
  }
  void on_revoke(const std::vector<std::int32_t>& partitions) override {
    for (auto p : partitions) stores_.erase(p);
    metrics_.numbers_in_state(numbers());
  }
  void on_commit() override {
    undo_.clear();
    counts_.commit();
    metrics_.numbers_in_state(numbers());
  }
  void on_abort() override {
    counts_.abort();
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
      auto& [p, number, before] = *it;
      auto s = stores_.find(p);
      if (s == stores_.end()) continue;
      if (before)
        s->second.put(number, std::move(*before));
      else
        s->second.erase(number);
    }
    undo_.clear();
  }

  void process(const rd_kafka_message_t* m, std::vector<OutMessage>& out) override {
    const auto decoded = decode_fragment(bytes(m->payload, m->len));
    if (!decoded) {
      log::error("not a numflow fragment: skipped", {{"topic", o_.fragments_topic}, {"partition", m->partition},
                                                     {"offset", m->offset}});
      return;
    }
    UndoStore state(stores_[m->partition], m->partition, undo_);
    const std::int64_t now = now_unix_ms();
    std::vector<std::string> changed;
    std::vector<Output> records;
    if (const auto* f = std::get_if<NumberFragment>(&*decoded)) {
      Applied a = apply_fragment(*f, state, now);
      counts_.add(metrics_.merge(a.verdict, f->provider, f->event_type));
      if (a.state_changed) changed.push_back(f->update.number);
      records = std::move(a.outputs);
      if (a.verdict == Verdict::record) metrics_.event_lag(now - f->update.event_time_ms);
    } else {
      records = apply_snapshot_end(std::get<SnapshotEnd>(*decoded), state, now, &changed);
    }
    for (Output& r : records) {
      out.push_back(OutMessage{o_.topics.number_changes, RD_KAFKA_PARTITION_UA, std::move(r.key), std::move(r.value), {}});
      counts_.add(number_records_);
    }
    for (const auto& number : changed) {
      const NumberState* s = state.find(number);
      out.push_back(OutMessage{o_.state_topic, RD_KAFKA_PARTITION_UA, number,
                               s ? std::optional<std::string>(encode_state(*s)) : std::nullopt, {}});
    }
  }

 private:
  std::size_t numbers() const {
    std::size_t n = 0;
    for (const auto& [p, s] : stores_) n += s.size();
    return n;
  }

  const ServiceOptions& o_;
  Metrics& metrics_;
  std::map<std::int32_t, MemoryStateStore> stores_;
  UndoStore::Log undo_;
  prometheus::Counter& number_records_;
  BatchCounts counts_;
};

// ---- the service ----

Service::Service(ServiceOptions options, Metrics& metrics) : options_(std::move(options)), metrics_(metrics) {
  publish::ProducerOptions po;
  po.properties = options_.kafka;
  po.topics = options_.topic_specs;
  po.readiness_topic = options_.topics.number_changes;
  admin_ = std::make_unique<publish::KafkaProducer>(std::move(po));
  normalize_hooks_ = std::make_unique<NormalizeHooks>(options_, metrics_, partitions_);
  merge_hooks_ = std::make_unique<MergeHooks>(options_, metrics_);
  auto counters = [this](const std::string& stage) {
    return StageCounters{[this, stage](bool committed, double seconds, double commit_seconds) {
                           metrics_.transaction(stage, committed, seconds, commit_seconds);
                         },
                         [this](std::string_view json) { metrics_.consumer_stats(json); }};
  };
  // Both stages batch alike; each has its own group, input and (stable, per instance) ids.
  auto stage = [this](const std::string& name, const std::string& group, const std::string& input) {
    const std::string id = options_.group_id + "-" + name + "-" + options_.instance_id;
    return StageOptions{name, options_.kafka, group, input, id, id, options_.batch_max_messages,
                        options_.batch_max_ms, options_.batch_idle_ms, options_.batch_max_ms_behind};
  };
  normalize_ = std::make_unique<TxnStage>(stage("normalize", options_.group_id, options_.topics.raw),
                                          *normalize_hooks_, counters("normalize"));
  merge_ = std::make_unique<TxnStage>(stage("merge", options_.group_id + ".merge", options_.fragments_topic),
                                      *merge_hooks_, counters("merge"));
}

Service::~Service() {
  normalize_.reset();
  merge_.reset();
  admin_.reset();
}

void Service::stop() {
  stop_.store(true);
  normalize_->stop();
  merge_->stop();
}

bool Service::ready() const { return admin_->ready() && normalize_->ready() && merge_->ready(); }

bool Service::provision() {
  while (!admin_->topics_ready()) {
    if (admin_->misconfigured() || stop_.load()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // The internal topics follow number-changes' partition count, whatever it is.
  const int n = publish::partition_count(admin_->handle().get(), options_.topics.number_changes);
  const int rf = options_.topic_specs.empty() ? -1 : options_.topic_specs.front().replication_factor;
  constexpr std::int64_t kWeek = 7LL * 24 * 3600 * 1000;
  for (;;) {
    const auto r = publish::ensure_topics(admin_->handle().get(),
                                          {{options_.fragments_topic, "delete", kWeek, n, rf},
                                           {options_.state_topic, "compact", -2, n, rf}},
                                          10000);
    if (r.status == publish::TopicsResult::ok) break;
    if (r.status == publish::TopicsResult::misconfigured || stop_.load()) {
      log::error("topic misconfigured: refusing to run", {{"reason", r.message}});
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  for (const auto& t : {options_.fragments_topic, options_.state_topic}) {
    const int c = publish::partition_count(admin_->handle().get(), t);
    if (c != n) {
      log::error("topic misconfigured: refusing to run",
                 {{"reason", t + " has " + std::to_string(c) + " partitions but " + options_.topics.number_changes +
                                 " has " + std::to_string(n) + ": they must match (state lives per partition)"}});
      return false;
    }
  }
  partitions_ = n;
  return true;
}

bool Service::run() {
  if (!provision()) return stop_.load() && !admin_->misconfigured();
  std::atomic<bool> ok_merge{true};
  std::thread merge([&] { ok_merge = merge_->run(); });
  const bool ok = normalize_->run();
  merge.join();
  return ok && ok_merge && !admin_->misconfigured();
}

}  // namespace numflow::transform
