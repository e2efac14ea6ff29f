// numflow-transform: the consumer-group service, and its offline `normalize` command.
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "common/admin.h"
#include "common/log.h"
#include "common/settings.h"
#include "publish/kafka_settings.h"
#include "transform/normalize_command.h"
#include "transform/service.h"

using namespace numflow;

namespace {

Settings service_settings() {
  Settings s("numflow-transform [OPTIONS]\n       numflow-transform normalize --provider P [--account A] [FILE|-]",
             "Consumes raw provider webhooks, validates and normalizes them into per-number change records on\n"
             "compacted topics, and dead-letters what cannot be processed. `normalize --help` for the offline "
             "command.");
  publish::add_kafka_options(s);
  s.add({"metrics-listen", "0.0.0.0:9091", "address of /metrics, /healthz and /readyz"})
      .add({"group-id", "numflow-transform", "Kafka consumer group (the merge stage uses GROUP.merge)"})
      .add({"instance-id", "", "stable name of this instance, part of its transactional ids (default: host name)"})
      .add({"fragments-topic", "numflow.fragments", "internal: per-number fragments, repartitioned by number"})
      .add({"state-topic", "numflow.number-state", "internal: compacted changelog of per-number state"})
      .add({"batch-max-messages", "50000", "messages per transaction (the time windows usually end it first)",
            Option::Kind::integer, false, 1, 1000000})
      .add({"batch-max-ms", "50", "longest a transaction collects before it commits while the stage keeps up",
            Option::Kind::integer, false, 1, 5000})
      .add({"batch-max-ms-behind", "1000",
            "while a backlog waits (work for at least half of --batch-max-ms at the last batch's pace), windows "
            "double from --batch-max-ms up to this (fewer commits, faster "
            "catch-up); back to --batch-max-ms once caught up. Below --batch-max-ms: fixed windows",
            Option::Kind::integer, false, 0, 5000})
      .add({"batch-idle-ms", "20", "a transaction also commits once no input came for this long (0: never early)",
            Option::Kind::integer, false, 0, 5000})
      .add({"ringcentral-account", "", "account id for RingCentral events that name their account '~'"})
      .add({"8x8-snapshot-webhooks-complete", "false",
            "treat 8x8 SNAPSHOT webhooks whose totalNumbers matches the list as complete inventories",
            Option::Kind::boolean})
      .add({"log-level", "info", "debug, info, warn or error"});
  return s;
}

int run_service(const std::vector<std::string>& args) {
  Settings s = service_settings();
  if (auto code = s.parse_command_line("numflow-transform", args)) return *code;
  std::unique_ptr<transform::Service> service;
  // A signal can come while the service is still being built: remember it, and stop the service
  // as soon as it exists (otherwise that first SIGTERM would be lost).
  std::atomic<bool> stop_requested{false};
  std::atomic<transform::Service*> running{nullptr};
  handle_stop_signals([&](int sig) {
    log::info("stopping", {{"signal", sig}});
    stop_requested.store(true);
    if (auto* svc = running.load()) svc->stop();
  });

  auto registry = std::make_shared<prometheus::Registry>();
  register_build_info(*registry, "transform");
  transform::Metrics metrics(*registry);

  transform::ServiceOptions o;
  o.kafka = publish::kafka_properties(s);
  o.topics = publish::topic_names(s);
  // The dead-letter topic must take back any raw record ingest can write (webhooks up to its
  // --max-body-bytes, 8x8 snapshots up to --8x8-poll-max-body-bytes), which the transform cannot
  // know: sized for the largest either setting allows. Too small, one dead letter would abort its
  // transaction again and again and stall its raw partition.
  o.topic_specs = publish::topic_specs(s, publish::kLargestBodyBytes);
  o.group_id = s.str("group-id");
  o.fragments_topic = s.str("fragments-topic");
  o.state_topic = s.str("state-topic");
  o.instance_id = s.str("instance-id");
  if (o.instance_id.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    o.instance_id = host;
  }
  o.batch_max_messages = static_cast<int>(s.integer("batch-max-messages"));
  o.batch_max_ms = static_cast<int>(s.integer("batch-max-ms"));
  o.batch_idle_ms = static_cast<int>(s.integer("batch-idle-ms"));
  o.batch_max_ms_behind = static_cast<int>(s.integer("batch-max-ms-behind"));
  o.default_ringcentral_account = s.str("ringcentral-account");
  o.core.snapshot_webhooks_complete = s.boolean("8x8-snapshot-webhooks-complete");
  try {
    service = std::make_unique<transform::Service>(std::move(o), metrics);
  } catch (const std::exception& e) {
    log::error("cannot start", {{"reason", e.what()}});
    return 2;
  }
  running.store(service.get());
  if (stop_requested.load()) service->stop();

  http::ServerOptions ho;
  ho.listen = s.str("metrics-listen");
  http::Server admin(ho, admin_handler(registry, [&] { return service->ready(); }));
  try {
    admin.start();
  } catch (const std::exception& e) {
    log::error("cannot listen", {{"address", ho.listen}, {"reason", e.what()}});
    return 2;
  }
  log::info("numflow-transform started", {{"metrics_listen", ho.listen}, {"brokers", s.str("brokers")}});
  const bool ok = service->run();
  admin.stop();
  running.store(nullptr);
  service.reset();
  log::info("numflow-transform stopped", {{"clean", ok}});
  return ok ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "normalize") return transform::normalize_command({args.begin() + 1, args.end()});
  return run_service(args);
}
