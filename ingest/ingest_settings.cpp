#include "ingest/ingest_settings.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cstddef>
#include <stdexcept>

#include "providers/json_util.h"
#include "publish/kafka_settings.h"

namespace numflow::ingest {

Settings ingest_settings() {
  Settings s("numflow-ingest [OPTIONS]",
             "Receives webhooks from 8x8, Zoom and RingCentral and writes each raw body durably to Kafka\n"
             "(acks=all, idempotent) before answering 200; answers 503 with Retry-After when Kafka cannot take it.");
  publish::add_kafka_options(s);
  using Kind = Option::Kind;
  s.add({"listen", "0.0.0.0:8080", "address of the webhook routes, /healthz and /readyz"})
      .add({"metrics-listen", "0.0.0.0:9090", "address of /metrics (and /healthz, /readyz)"})
      .add({"max-body-bytes", "1048576", "largest accepted body; larger ones get 413", Kind::integer, false, 1,
            publish::kLargestBodyBytes})
      .add({"response-deadline-ms", "2500",
            "answer 503 when Kafka has not confirmed a body by then (providers give up at 3 s)", Kind::integer})
      .add({"retry-after-seconds", "5", "Retry-After sent with 503", Kind::integer})
      .add({"shed-backlog-ms", "1000",
            "load shedding: while the oldest body handed to Kafka has waited this long unacknowledged, "
            "new webhooks get 503 overloaded + Retry-After at once; never longer than --response-deadline-ms "
            "(0: only then)",
            Kind::integer, false, 0, 3600000})
      .add({"io-threads", "1", "HTTP io threads (0: one per core)", Kind::integer, false, 0, 256})
      .add({"max-connections", "10000", "concurrent connections; more are refused with 503", Kind::integer, false,
            1, 1000000})
      .add({"max-body-memory-bytes", "268435456",
            "bodies being received or awaiting Kafka, summed over all connections; a request that would "
            "exceed it gets 503 + Retry-After at once (bounds memory against many slow senders)",
            Kind::integer, false, 1 << 20, 1LL << 40})
      .add({"read-timeout-ms", "10000",
            "longest a request may take to arrive, first byte to last; slower clients are disconnected", Kind::integer,
            false, 1, 3600000})
      .add({"shutdown-grace-ms", "10000", "at SIGTERM, how long requests in flight may take", Kind::integer})
      .add({"zoom-auth", "", "'none' accepts Zoom webhooks unauthenticated (warns)"})
      .add({"ringcentral-auth", "", "'none' accepts RingCentral webhooks unauthenticated (warns)"})
      .add({"8x8-auth", "", "'none' accepts 8x8 webhooks unauthenticated (warns)"})
      .add({"zoom-secret-token", "", "Zoom app secret token(s), comma-separated", Kind::list, true})
      .add({"zoom-max-skew", "300", "seconds a signed Zoom timestamp may differ from now", Kind::integer, false,
            0, 86400})
      .add({"ringcentral-verification-token", "", "expected RingCentral Verification-Token", Kind::string, true})
      .add({"ringcentral-query-secret", "", "expected secret query parameter of RingCentral webhook addresses",
            Kind::string, true})
      .add({"ringcentral-query-parameter", "token", "name of that query parameter"})
      .add({"ringcentral-account", "",
            "account id for RingCentral events that name their account '~' (goes into the raw key)"})
      .add({"8x8-allow-cidr", "", "source networks allowed to post 8x8 webhooks", Kind::list})
      .add({"8x8-auth-header", "", "expected Authorization header value of 8x8 webhooks", Kind::string, true})
      .add({"trusted-proxies", "", "networks whose X-Forwarded-For is believed", Kind::list})
      .add({"8x8-poll-subaccounts", "", "8x8 subaccounts whose numbers API is polled for snapshots (empty: no poller)",
            Kind::list})
      .add({"8x8-api-key", "", "8x8 API key (Bearer) of the polled subaccounts that have none in --8x8-api-keys",
            Kind::string, true})
      .add({"8x8-api-keys", "",
            "per-subaccount 8x8 API keys (Bearer): id=key,id=key (commas or newlines); a polled subaccount "
            "without one uses --8x8-api-key",
            Kind::string, true})
      .add({"8x8-api-base", "https://voice.8x8.com", "8x8 API base URL"})
      .add({"8x8-poll-interval-seconds", "300", "time between snapshots of a subaccount", Kind::integer})
      .add({"8x8-poll-jitter-percent", "10", "random spread of intervals and backoffs", Kind::integer})
      .add({"8x8-poll-timeout-ms", "15000", "longest one snapshot request may take", Kind::integer})
      .add({"8x8-poll-backoff-min-seconds", "5", "first wait after a failure (doubles up to the max)", Kind::integer})
      .add({"8x8-poll-backoff-max-seconds", "300", "longest wait after failures (also caps Retry-After)",
            Kind::integer})
      .add({"8x8-poll-max-body-bytes", "16777216",
            "largest 8x8 numbers API response stored; a larger one is not stored (poll result too_large, "
            "retried no sooner than the interval). With the poller on, the Kafka producer and the raw topic "
            "ingest creates are sized for the larger of this and --max-body-bytes",
            Kind::integer, false, 1024, publish::kLargestBodyBytes})
      .add({"log-level", "info", "debug, info, warn or error"});
  return s;
}

std::int64_t largest_raw_body(const Settings& s) {
  const std::int64_t webhooks = s.integer("max-body-bytes");
  if (s.list("8x8-poll-subaccounts").empty()) return webhooks;
  return std::max(webhooks, s.integer("8x8-poll-max-body-bytes"));
}

namespace {

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t' || v.front() == '\r')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) v.remove_suffix(1);
  return v;
}

// A subaccount id as it may appear in an error message: printable, bounded.
std::string printable(std::string_view id) {
  std::string out;
  for (char c : id.substr(0, 60)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_api_keys(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t position = 0;
  while (!text.empty()) {
    const std::size_t end = text.find_first_of(",\n");
    const std::string_view entry = trim(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (entry.empty()) continue;
    ++position;
    const std::size_t eq = entry.find('=');
    // The entry itself is never quoted: it may be a key.
    if (eq == std::string_view::npos)
      throw std::invalid_argument("--8x8-api-keys: entry " + std::to_string(position) +
                                  " is not id=key (keys are not shown)");
    const std::string_view id = trim(entry.substr(0, eq));
    const std::string_view key = trim(entry.substr(eq + 1));
    if (id.empty())
      throw std::invalid_argument("--8x8-api-keys: entry " + std::to_string(position) + " has no subaccount id");
    if (key.empty())
      throw std::invalid_argument("--8x8-api-keys: the key of subaccount '" + printable(id) + "' is empty");
    for (const auto& [seen, _] : out)
      if (seen == id)
        throw std::invalid_argument("--8x8-api-keys: subaccount '" + printable(id) + "' is given twice");
    out.emplace_back(std::string(id), std::string(key));
  }
  return out;
}

std::vector<Subaccount> poll_subaccounts(const Settings& s) {
  const auto ids = s.list("8x8-poll-subaccounts");
  const auto keys = parse_api_keys(s.str("8x8-api-keys"));
  for (const auto& [id, _] : keys)
    if (std::find(ids.begin(), ids.end(), id) == ids.end())
      throw std::invalid_argument("--8x8-api-keys has a key for subaccount '" + printable(id) +
                                  "', which --8x8-poll-subaccounts does not list");
  const std::string& shared = s.str("8x8-api-key");
  std::vector<Subaccount> out;
  for (const auto& id : ids) {
    const auto own = std::find_if(keys.begin(), keys.end(), [&](const auto& kv) { return kv.first == id; });
    if (own != keys.end()) {
      out.push_back({id, own->second});
    } else if (!shared.empty()) {
      out.push_back({id, shared});
    } else {
      throw std::invalid_argument("8x8 subaccount '" + printable(id) +
                                  "' is polled but has no API key: give it one in --8x8-api-keys (id=key) or set "
                                  "--8x8-api-key (or their _FILE forms)");
    }
  }
  return out;
}

PollerOptions poller_options(const Settings& s) {
  PollerOptions pp;
  pp.base_url = s.str("8x8-api-base");
  pp.subaccounts = poll_subaccounts(s);
  pp.interval = std::chrono::seconds(s.integer("8x8-poll-interval-seconds"));
  pp.jitter = static_cast<double>(s.integer("8x8-poll-jitter-percent")) / 100.0;
  pp.request_timeout = std::chrono::milliseconds(s.integer("8x8-poll-timeout-ms"));
  pp.backoff_max = std::chrono::seconds(s.integer("8x8-poll-backoff-max-seconds"));
  pp.backoff_min =
      std::min<std::chrono::milliseconds>(std::chrono::seconds(s.integer("8x8-poll-backoff-min-seconds")), pp.backoff_max);
  pp.max_body_bytes = static_cast<std::size_t>(s.integer("8x8-poll-max-body-bytes"));
  pp.raw_topic = s.str("raw-topic");
  return pp;
}

bool names_tilde_account(std::string_view path) {
  constexpr std::string_view kMarker = "/account/~";
  for (auto pos = path.find(kMarker); pos != std::string_view::npos; pos = path.find(kMarker, pos + 1)) {
    const auto next = pos + kMarker.size();
    if (next == path.size() || path[next] == '/' || path[next] == '?' || path[next] == '#') return true;
  }
  return false;
}

AccountOf account_extractor(const Provider& provider, std::string tilde_account) {
  const bool ringcentral = provider.name() == "ringcentral";
  // Only the members account_of() reads are parsed out of each body (json::pick_paths); the
  // '~' fallback below reads RingCentral's event and uri, which are among them.
  return [&provider, ringcentral, paths = provider.account_paths(), tilde = std::move(tilde_account)](std::string_view body) {
    // The few values picked fit in a buffer kept per thread: no heap for the Document (its own
    // allocator would take a 64 KiB chunk per webhook). Declared first: it outlives `doc`.
    alignas(std::max_align_t) thread_local char buffer[1024];
    rapidjson::Document::AllocatorType pool(buffer, sizeof buffer);
    const rapidjson::Document doc = json::pick_paths(body, paths, &pool);
    std::string account = provider.account_of(doc);
    if (account.empty() && ringcentral && !tilde.empty()) {
      // Neither the event path nor the number's uri names a real account; one of them says `~`.
      const auto event = json::string_member(doc, "event");
      std::optional<std::string_view> uri;
      if (const auto* b = json::member(doc, "body"))
        if (const auto* info = json::member(*b, "phoneNumberInfo")) uri = json::string_member(*info, "uri");
      if ((event && names_tilde_account(*event)) || (uri && names_tilde_account(*uri))) account = tilde;
    }
    return account;
  };
}

}  // namespace numflow::ingest
