// Hot paths (Google Benchmark): normalize per provider event kind at 1, 10 and 1,000 numbers per
// event, merge into state, record JSON, the internal records' encoding, Zoom's signature check,
// and the cost of holding and restoring one million numbers' state. Results and method: docs/PERFORMANCE.md.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "ingest/ingest_settings.h"
#include "providers/phone.h"
#include "providers/registry.h"
#include "providers/zoom/zoom_auth.h"
#include "transform/core/codec.h"
#include "transform/core/core.h"

namespace {

using namespace numflow;
using namespace numflow::transform;

std::string number(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "+1415%07d", 5550000 + i % 4000000);
  return buf;
}

std::string eight_webhook(int n) {
  std::string list;
  for (int i = 0; i < n; ++i) {
    if (i) list += ',';
    list += R"({"msisdn":")" + number(i) +
            R"(","updatedTimestamp":"2023-02-17T05:10:14.760Z","countryCode":"US","operationalStatus":"Active","referenceId":"MyVirtualNumber-1","rentalPrice":5.0,"incomingRate":0.05,"billingUnit":1,"billingCurrency":"USD","numberHealthCheckEnabled":false,"updateStatus":"UPDATED"})";
  }
  return R"({"namespace":"VOICE","eventType":"VIRTUAL_NUMBER_UPDATE","description":"Status of account virtual number(s) updated","payload":{"subAccountId":"MySubAccount","totalNumbers":)" +
         std::to_string(n) + R"(,"updateEventType":"UPDATES","virtualNumbers":[)" + list + "]}}";
}

std::string zoom_cnam(int n) {
  std::string list;
  for (int i = 0; i < n; ++i) list += (i ? ",\"" : "\"") + number(i) + "\"";
  return R"({"event":"number_management.peering_number_cnam_updated","event_ts":1700000000000,"payload":{"account_id":"abc123","object":{"cnam":"ACME SUPPORT","carrier_code":1234,"phone_numbers":[)" +
         list + "]}}}";
}

const std::string kRingCentral =
    R"({"uuid":"ed1cf00c-0420-4bf5-a0ae-e659cc9f77e0","event":"/restapi/v1.0/account/{accountId}/phone-number?usageType=ContactCenterNumber","timestamp":"2013-06-14T12:00:00.000Z","subscriptionId":"9d38419f-645f-4ee3-a053-8cf1368c21c4","ownerId":"8475874957","body":{"eventType":"Created","phoneNumberInfo":{"uri":"https://platform.ringcentral.com/restapi/v1.0/account/37439510/phone-number/987654321","id":"987654321","phoneNumber":"+12024999741","paymentType":"Local","location":"Washington, DC","type":"VoiceFax","usageType":"ContactCenterNumber","status":"Normal","contactCenterProvider":{"id":"12345","name":"ProviderName"}}}})";

// The whole core (normalize + merge + record JSON), each event as the first one seen.
void run_process(benchmark::State& st, const char* provider, const std::string& body, int numbers) {
  for (auto _ : st) {
    MemoryStateStore state;
    RawEvent ev{provider, "acct", body, 1, std::nullopt};
    benchmark::DoNotOptimize(process(ev, state, {}, 1));
  }
  st.SetItemsProcessed(st.iterations());
  st.counters["ns_per_number"] =
      benchmark::Counter(static_cast<double>(st.iterations()) * numbers, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  st.counters["body_bytes"] = static_cast<double>(body.size());
}

void BM_8x8Webhook(benchmark::State& st) {
  const int n = static_cast<int>(st.range(0));
  run_process(st, "8x8", eight_webhook(n), n);
}
BENCHMARK(BM_8x8Webhook)->Arg(1)->Arg(10)->Arg(1000);

void BM_ZoomCnam(benchmark::State& st) {
  const int n = static_cast<int>(st.range(0));
  run_process(st, "zoom", zoom_cnam(n), n);
}
BENCHMARK(BM_ZoomCnam)->Arg(1)->Arg(10)->Arg(1000);

void BM_RingCentralNumber(benchmark::State& st) { run_process(st, "ringcentral", kRingCentral, 1); }
BENCHMARK(BM_RingCentralNumber);

// E.164 normalization alone: a number seen before (cached) and one never seen (libphonenumber).
void BM_PhoneSeenBefore(benchmark::State& st) {
  for (auto _ : st) benchmark::DoNotOptimize(phone::normalize("+14155550123"));
}
BENCHMARK(BM_PhoneSeenBefore);

void BM_PhoneNeverSeen(benchmark::State& st) {
  std::int64_t i = 0;
  for (auto _ : st) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "+1%010lld", static_cast<long long>(2025550000 + (++i % 7000000000LL)));
    benchmark::DoNotOptimize(phone::normalize(buf));
  }
}
BENCHMARK(BM_PhoneNeverSeen);

// Stage 1 only (parse + validate + normalize), the per-event cost the normalize stage pays.
void BM_Normalize8x8Webhook1(benchmark::State& st) {
  const std::string body = eight_webhook(1);
  for (auto _ : st) {
    RawEvent ev{"8x8", "acct", body, 1, std::nullopt};
    benchmark::DoNotOptimize(normalize_raw(ev, {}, 1));
  }
}
BENCHMARK(BM_Normalize8x8Webhook1);

// Stage 2 only: one fragment merged into a known number's state, changing its CNAM.
void BM_MergeIntoKnownNumber(benchmark::State& st) {
  MemoryStateStore state;
  const std::string first_body = eight_webhook(1);
  RawEvent first{"8x8", "acct", first_body, 1, std::nullopt};
  process(first, state, {}, 1);
  const std::string body = zoom_cnam(1);
  RawEvent ev{"zoom", "acct", body, 1, std::nullopt};
  Normalization n = normalize_raw(ev, {}, 1);
  NumberFragment f = n.fragments.at(0);
  std::int64_t i = 0;
  for (auto _ : st) {
    f.update.event_time_ms = 1700000000000 + ++i;
    f.update.event_id = std::to_string(i);
    f.update.slots.set(Slot::cnam, "\"C" + std::to_string(i) + "\"");
    benchmark::DoNotOptimize(apply_fragment(f, state, 1));
  }
}
BENCHMARK(BM_MergeIntoKnownNumber);
// Ingest's most expensive authentication: HMAC-SHA256 over the exact body plus timestamp checks
// and the constant-time comparison, for a ~700 B webhook.
void BM_ZoomSignatureCheck(benchmark::State& st) {
  ZoomAuthOptions o;
  o.secret_tokens = {"old-secret-token", "bench-secret-token"};  // the second one matches: worst case
  o.now_seconds = [] { return std::int64_t{1700000000}; };
  ZoomAuthenticator auth(o);
  http::Request req;
  req.method = "POST";
  req.target = "/webhooks/zoom";
  req.body = zoom_cnam(1) + std::string(500, ' ');
  req.headers.add("x-zm-request-timestamp", "1700000000");
  req.headers.add("x-zm-signature",
                  "v0=" + ZoomAuthenticator::sign_hex("bench-secret-token", "v0:1700000000:" + req.body));
  for (auto _ : st) benchmark::DoNotOptimize(auth.check(req));
  st.counters["body_bytes"] = static_cast<double>(req.body.size());
}
BENCHMARK(BM_ZoomSignatureCheck);

// Ingest's account read per webhook (the raw record's key): the members the provider's account
// lives in, picked out of the body by a SAX parse that stops once they are found.
void BM_IngestAccountRead(benchmark::State& st, const char* provider, std::string body) {
  const auto account_of = ingest::account_extractor(*find_provider(provider));
  if (account_of(body).empty()) {
    st.SkipWithError("no account in the body");
    return;
  }
  for (auto _ : st) benchmark::DoNotOptimize(account_of(body));
  st.counters["body_bytes"] = static_cast<double>(body.size());
}
BENCHMARK_CAPTURE(BM_IngestAccountRead, 8x8, "8x8", eight_webhook(1));
BENCHMARK_CAPTURE(BM_IngestAccountRead, zoom, "zoom", zoom_cnam(1));
BENCHMARK_CAPTURE(BM_IngestAccountRead, ringcentral, "ringcentral", kRingCentral);

// The internal records each event costs on top of the core: a fragment written by the normalize
// stage and read back by the merge stage, and the number's state written to the changelog.
void BM_FragmentEncodeDecode(benchmark::State& st) {
  const std::string body = eight_webhook(1);
  RawEvent ev{"8x8", "acct", body, 1, std::nullopt};
  const NumberFragment f = normalize_raw(ev, {}, 1).fragments.at(0);
  for (auto _ : st) benchmark::DoNotOptimize(decode_fragment(encode_fragment(f)));
}
BENCHMARK(BM_FragmentEncodeDecode);

void BM_StateEncode(benchmark::State& st) {
  MemoryStateStore state;
  const std::string body = eight_webhook(1);
  RawEvent ev{"8x8", "acct", body, 1, std::nullopt};
  process(ev, state, {}, 1);
  const NumberState* s = state.find(number(0));
  if (!s) {
    st.SkipWithError("no state");
    return;
  }
  for (auto _ : st) benchmark::DoNotOptimize(encode_state(*s));
}
BENCHMARK(BM_StateEncode);


long rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

// One million numbers in state, as the merge stage holds them after a restore: the restore's CPU
// cost (decode + insert of each changelog record) and the memory each number takes.
void BM_Restore1MNumbers(benchmark::State& st) {
  constexpr int kNumbers = 1000000;
  MemoryStateStore seed;
  const std::string first_body = eight_webhook(1);
  RawEvent first{"8x8", "acct", first_body, 1, std::nullopt};
  process(first, seed, {}, 1);
  const std::string changelog_value = encode_state(*seed.find(number(0)));
  for (auto _ : st) {
    const long before = rss_kb();
    MemoryStateStore state;
    for (int i = 0; i < kNumbers; ++i) state.put(number(i) + std::to_string(i / 4000000), *decode_state(changelog_value));
    st.counters["bytes_per_number"] = static_cast<double>(rss_kb() - before) * 1024.0 / kNumbers;
    st.counters["changelog_bytes_per_number"] = static_cast<double>(changelog_value.size());
    benchmark::DoNotOptimize(state.size());
  }
}
BENCHMARK(BM_Restore1MNumbers)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
