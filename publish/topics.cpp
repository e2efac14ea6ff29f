#include "publish/topics.h"

#include <map>
#include <memory>
#include <set>

namespace numflow::publish {
namespace {

struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
using Queue = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;
using Event = std::unique_ptr<rd_kafka_event_t, EventDeleter>;

const char* or_else(const char* s, const char* fallback) { return s ? s : fallback; }

Event wait_for(rd_kafka_queue_t* q, rd_kafka_event_type_t type, int timeout_ms) {
  Event ev(rd_kafka_queue_poll(q, timeout_ms));
  if (!ev || rd_kafka_event_type(ev.get()) != type) return nullptr;
  return ev;
}

TopicsResult retry(std::string msg) { return {TopicsResult::retry, std::move(msg)}; }

std::set<std::string> existing_topics(rd_kafka_t* rk, int timeout_ms, std::string& error) {
  const rd_kafka_metadata_t* md = nullptr;
  const auto err = rd_kafka_metadata(rk, 1, nullptr, &md, timeout_ms);
  std::set<std::string> names;
  if (err) {
    error = rd_kafka_err2str(err);
    return names;
  }
  for (int i = 0; i < md->topic_cnt; ++i)
    if (!md->topics[i].err) names.insert(md->topics[i].topic);
  rd_kafka_metadata_destroy(md);
  return names;
}

TopicsResult create(rd_kafka_t* rk, const std::vector<const TopicSpec*>& missing, int timeout_ms) {
  std::vector<rd_kafka_NewTopic_t*> nts;
  char err[512];
  for (const TopicSpec* s : missing) {
    rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(s->name.c_str(), s->partitions, s->replication_factor, err, sizeof err);
    if (!nt) {
      for (auto* t : nts) rd_kafka_NewTopic_destroy(t);
      return {TopicsResult::misconfigured, "topic " + s->name + ": " + err};
    }
    rd_kafka_NewTopic_set_config(nt, "cleanup.policy", s->cleanup_policy.c_str());
    if (s->retention_ms != -2) rd_kafka_NewTopic_set_config(nt, "retention.ms", std::to_string(s->retention_ms).c_str());
    if (s->max_message_bytes > 0)
      rd_kafka_NewTopic_set_config(nt, "max.message.bytes", std::to_string(s->max_message_bytes).c_str());
    nts.push_back(nt);
  }
  Queue q(rd_kafka_queue_new(rk));
  rd_kafka_CreateTopics(rk, nts.data(), nts.size(), nullptr, q.get());
  for (auto* t : nts) rd_kafka_NewTopic_destroy(t);
  Event ev = wait_for(q.get(), RD_KAFKA_EVENT_CREATETOPICS_RESULT, timeout_ms);
  if (!ev) return retry("CreateTopics timed out");
  if (rd_kafka_event_error(ev.get())) return retry(std::string("CreateTopics: ") + rd_kafka_event_error_string(ev.get()));
  size_t n = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev.get()), &n);
  for (size_t i = 0; i < n; ++i) {
    const auto code = rd_kafka_topic_result_error(results[i]);
    if (code == RD_KAFKA_RESP_ERR_NO_ERROR || code == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) continue;
    const std::string msg = std::string("creating topic ") + rd_kafka_topic_result_name(results[i]) + ": " +
                            or_else(rd_kafka_topic_result_error_string(results[i]), rd_kafka_err2str(code));
    // Bad partition/replication settings will not fix themselves; anything else may.
    if (code == RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR || code == RD_KAFKA_RESP_ERR_INVALID_PARTITIONS ||
        code == RD_KAFKA_RESP_ERR_INVALID_CONFIG || code == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
        code == RD_KAFKA_RESP_ERR_POLICY_VIOLATION)
      return {TopicsResult::misconfigured, msg};
    return retry(msg);
  }
  return {};
}

TopicsResult check_policies(rd_kafka_t* rk, const std::vector<TopicSpec>& specs, int timeout_ms) {
  std::vector<std::string> names;
  for (const auto& s : specs) names.push_back(s.name);
  std::string error;
  const auto policy = topic_configs(rk, names, "cleanup.policy", timeout_ms, error);
  if (!error.empty()) return retry(error);
  for (const auto& s : specs) {
    const auto it = policy.find(s.name);
    if (it == policy.end()) return retry("no cleanup.policy reported for topic " + s.name);
    if (it->second != s.cleanup_policy)
      return {TopicsResult::misconfigured, "topic " + s.name + " has cleanup.policy=" + it->second + " but numflow needs " +
                                               s.cleanup_policy + " (contract §2); fix the topic (kafka-configs --alter) "
                                               "or point numflow at another topic name"};
  }
  return {};
}

}  // namespace

std::map<std::string, std::string> topic_configs(rd_kafka_t* rk, const std::vector<std::string>& topics,
                                                 const std::string& key, int timeout_ms, std::string& error) {
  std::map<std::string, std::string> values;
  std::vector<rd_kafka_ConfigResource_t*> resources;
  for (const auto& name : topics) resources.push_back(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name.c_str()));
  Queue q(rd_kafka_queue_new(rk));
  rd_kafka_DescribeConfigs(rk, resources.data(), resources.size(), nullptr, q.get());
  for (auto* r : resources) rd_kafka_ConfigResource_destroy(r);
  Event ev = wait_for(q.get(), RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT, timeout_ms);
  if (!ev) {
    error = "DescribeConfigs timed out";
    return values;
  }
  if (rd_kafka_event_error(ev.get())) {
    error = std::string("DescribeConfigs: ") + rd_kafka_event_error_string(ev.get());
    return values;
  }
  size_t n = 0;
  const rd_kafka_ConfigResource_t** rs =
      rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev.get()), &n);
  for (size_t i = 0; i < n; ++i) {
    if (rd_kafka_ConfigResource_error(rs[i])) {
      error = std::string("DescribeConfigs ") + rd_kafka_ConfigResource_name(rs[i]) + ": " +
              or_else(rd_kafka_ConfigResource_error_string(rs[i]), "error");
      return {};
    }
    size_t cn = 0;
    const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(rs[i], &cn);
    for (size_t j = 0; j < cn; ++j)
      if (rd_kafka_ConfigEntry_name(entries[j]) == key)
        values[rd_kafka_ConfigResource_name(rs[i])] = or_else(rd_kafka_ConfigEntry_value(entries[j]), "");
  }
  return values;
}

int partition_count(rd_kafka_t* rk, const std::string& topic, int timeout_ms) {
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  int n = 0;
  if (rd_kafka_metadata(rk, 0, t, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (md->topic_cnt == 1 && !md->topics[0].err) n = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
  }
  rd_kafka_topic_destroy(t);
  return n;
}

TopicsResult ensure_topics(rd_kafka_t* rk, const std::vector<TopicSpec>& specs, int timeout_ms) {
  std::string error;
  const auto existing = existing_topics(rk, timeout_ms, error);
  if (!error.empty()) return retry("cannot read cluster metadata: " + error);
  std::vector<const TopicSpec*> missing;
  for (const auto& s : specs)
    if (!existing.count(s.name)) missing.push_back(&s);
  if (!missing.empty())
    if (auto r = create(rk, missing, timeout_ms); r.status != TopicsResult::ok) return r;
  return check_policies(rk, specs, timeout_ms);
}

}  // namespace numflow::publish
