// Hostile bodies against the transform's core (issue 7): one test per row of the bad-input matrix.
// Each body goes through process() and through the service's split pipeline (normalize_raw, each
// fragment through the repartition topic's codec, apply_fragment), which must agree; each row
// asserts the contract's dead-letter code or the records, and that the core answers in bounded time
// (a row that went quadratic would take hours, not seconds).
//
// What numflow decided where the contract is silent (also in README "Record details"):
//   - duplicate member names: invalid_json, wherever they are (I-JSON, RFC 7493);
//   - a byte-order mark: ignored when whole (RFC 8259 §8.1), invalid_json when partial;
//   - nesting deeper than schemas::kMaxDepth (64): schema_violation "maxDepth", even in an unknown
//     member;
//   - a number beyond the double range (1e400): invalid_json, as no JSON reader of the records
//     could hold it; prices are the provider's number with its exact text (5.0, -0, 0e-23);
//   - strings numflow copies into records are bounded by the provider schemas (maxLength), so one
//     body cannot make a record Kafka refuses; a too-long one is schema_violation.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>

#include "schemas/schema_store.h"
#include "tests/support/normalize_helpers.h"
#include "transform/core/codec.h"
#include "transform/core/core.h"

namespace numflow::transform {
namespace {

using namespace numflow::testing;
using namespace std::chrono_literals;

// Far above what any row takes, far below what a quadratic row would (hours). 100,000 numbers take
// about 6 s here, several times that under the sanitizers, which also slow libphonenumber's calls.
#if defined(__SANITIZE_ADDRESS__)  // GCC
#define NUMFLOW_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)  // clang
#define NUMFLOW_ASAN 1
#endif
#endif
#ifdef NUMFLOW_ASAN
constexpr auto kTimeBudget = 300s;
#else
constexpr auto kTimeBudget = 60s;
#endif
constexpr std::size_t kMany = 100'000;
constexpr std::size_t kHuge = 1'100'000;  // "1 MB+"

// ---- bodies ----

std::string eight_by_eight(const std::string& entries) {
  return R"({"eventType":"VIRTUAL_NUMBER_UPDATE","payload":{"subAccountId":"sub","virtualNumbers":[)" + entries +
         "]}}";
}
std::string entry_8x8(const std::string& msisdn, const std::string& extra = "") {
  return R"({"msisdn":")" + msisdn + R"(","updatedTimestamp":"2024-01-01T00:00:00.000Z")" + extra + "}";
}
std::string numbers_api(const std::string& entries) { return R"({"numbers":[)" + entries + "]}"; }
std::string zoom_cnam(const std::string& numbers, const std::string& cnam = R"("ACME")") {
  return R"({"event":"number_management.peering_number_cnam_updated","event_ts":1700000000000,)"
         R"("payload":{"account_id":"acct","object":{"cnam":)" + cnam + R"(,"carrier_code":1,"phone_numbers":[)" +
         numbers + "]}}}";
}
std::string zoom_address(const std::string& numbers) {
  return R"({"event":"number_management.peering_number_emergency_address_updated","event_ts":1700000000000,)"
         R"("payload":{"account_id":"acct","object":{"carrier_code":1,"phone_numbers":[)" + numbers +
         R"(],"emergency_address":{"country":"US","address_line1":"1 Main St","city":"SF","zip":"94105",)"
         R"("state_code":"CA"}}}})";
}
std::string rc_number(const std::string& phone_number = R"("+14155550123")") {
  return R"({"uuid":"u-1","event":"/restapi/v1.0/account/111/phone-number?usageType=ContactCenterNumber",)"
         R"("timestamp":"2024-01-01T00:00:00.000Z","body":{"eventType":"Updated","phoneNumberInfo":)"
         R"({"phoneNumber":)" + phone_number + R"(,"status":"Normal"}}})";
}
std::string rc_extension(const std::string& extension_id) {
  return R"({"uuid":"u-2","event":"/restapi/v1.0/account/111/extension/12","timestamp":"2024-01-01T00:00:00.000Z",)"
         R"("body":{"extensionId":")" + extension_id + R"(","eventType":"Update","hints":["AccountStatus"]}})";
}

// One valid body per provider event kind, for rows that apply to all of them.
struct Kind {
  const char* provider;
  std::string body;
};
std::vector<Kind> every_kind() {
  return {{"8x8", eight_by_eight(entry_8x8("+14155550123"))},
          {"8x8", numbers_api(entry_8x8("+14155550123"))},
          {"zoom", zoom_cnam(R"("+14155550123")")},
          {"zoom", zoom_address(R"("+14155550123")")},
          {"ringcentral", rc_number()},
          {"ringcentral", rc_extension("12")}};
}

// `count` distinct numbers (+1 415 200-0000 onwards), each formatted by `one`.
std::string many(std::size_t count, const std::function<std::string(const std::string&)>& one) {
  std::string out;
  out.reserve(count * 96);
  for (std::size_t i = 0; i < count; ++i) {
    if (i) out += ',';
    out += one("+1415" + std::to_string(2000000 + i));
  }
  return out;
}

// `count` distinct numbers as JSON strings, for Zoom's phone_numbers.
std::string json_strings(std::size_t count) {
  return many(count, [](const std::string& n) { return "\"" + n + "\""; });
}

std::string nested(std::size_t depth, char open, const std::string& inner, char close) {
  return std::string(depth, open) + inner + std::string(depth, close);
}

// ---- running the core ----

RawEvent event(std::string_view provider, std::string_view body, std::string_view account) {
  return RawEvent{provider, account, body, kNow, SourcePosition{"webhooks.raw", 0, 7}};
}

// The service's split pipeline from no state: stage 1, the repartition topic's codec, stage 2
// (transform/service).
Result split(const RawEvent& ev) {
  MemoryStateStore state;
  Normalization n = normalize_raw(ev, {}, kNow);
  Result r;
  r.outcome = n.outcome;
  r.detail = n.detail;
  for (const NumberFragment& f : n.fragments) {
    auto decoded = decode_fragment(encode_fragment(f));
    EXPECT_TRUE(decoded && std::holds_alternative<NumberFragment>(*decoded));
    if (!decoded) continue;
    for (auto& o : apply_fragment(std::get<NumberFragment>(*decoded), state, kNow).outputs)
      r.outputs.push_back(std::move(o));
  }
  if (n.snapshot_end)
    for (auto& o : apply_snapshot_end(*n.snapshot_end, state, kNow)) r.outputs.push_back(std::move(o));
  for (auto& o : n.outputs) r.outputs.push_back(std::move(o));
  return r;
}

bool same(const std::vector<Output>& a, const std::vector<Output>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].topic != b[i].topic || a[i].key != b[i].key || a[i].value != b[i].value ||
        a[i].error_code != b[i].error_code || a[i].error_detail != b[i].error_detail)
      return false;
  return true;
}

template <typename F>
Result within_budget(std::string_view provider, std::string_view body, F run) {
  const auto t0 = std::chrono::steady_clock::now();
  Result r = run();
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, kTimeBudget) << provider << " body of " << body.size() << " bytes";
  return r;
}

// process() and the split pipeline, each from no state, within the time budget; they must agree.
Result core(std::string_view provider, std::string_view body, std::string_view account = "acct") {
  return within_budget(provider, body, [&] {
    MemoryStateStore state;
    Result r = process(event(provider, body, account), state, {}, kNow);
    EXPECT_TRUE(same(r.outputs, split(event(provider, body, account)).outputs))
        << "process() and the split pipeline disagree";
    return r;
  });
}

// The split pipeline alone, for the 100,000-number rows: comparing with process() too would only
// double the cost of 100,000 libphonenumber calls (every other row compares the two).
Result service_path(std::string_view provider, std::string_view body, std::string_view account = "acct") {
  return within_budget(provider, body, [&] { return split(event(provider, body, account)); });
}

void expect_dead_letter(const Result& r, std::string_view code, std::string_view detail_part = "") {
  ASSERT_EQ(r.outcome, Outcome::dead_lettered) << r.detail;
  ASSERT_EQ(r.outputs.size(), 1u) << r.detail;
  EXPECT_EQ(r.outputs[0].topic, Topic::dead_letter);
  EXPECT_EQ(r.outputs[0].error_code, code) << r.outputs[0].error_detail;
  EXPECT_NE(r.outputs[0].error_detail.find(detail_part), std::string::npos) << r.outputs[0].error_detail;
  EXPECT_LE(r.outputs[0].error_detail.size(), 1100u) << "details stay small whatever the body";
}

void expect_valid_record(const Output& o) {
  ASSERT_TRUE(o.value);
  const auto doc = parse(*o.value);
  const auto v = schemas::validate(o.topic == Topic::number_changes ? "number-change.v1" : "extension-change.v1", doc);
  EXPECT_FALSE(v) << (v ? v->detail : "") << "\n" << *o.value;
}

// Every output a number-changes record (no dead letter), each valid, `count` of them.
void expect_records(const Result& r, std::size_t count) {
  ASSERT_EQ(r.outcome, Outcome::published) << r.detail;
  ASSERT_EQ(r.outputs.size(), count);
  for (const auto& o : r.outputs) ASSERT_NE(o.topic, Topic::dead_letter) << o.error_detail;
  expect_valid_record(r.outputs.front());
  expect_valid_record(r.outputs.back());
}

// The JSON text of a pricing member in the record, as written (not re-read as a double).
std::string price_text(const Output& o, std::string_view member) {
  const std::string key = "\"" + std::string(member) + "\":";
  const auto at = o.value->find(key);
  if (at == std::string::npos) return "<absent>";
  const auto begin = at + key.size();
  return o.value->substr(begin, o.value->find_first_of(",}", begin) - begin);
}

// ---- JSON nesting 100,000 deep ----

TEST(CoreHostileInput, ArraysNested100000DeepAreNotAnObject) {
  const std::string body = nested(kMany, '[', "", ']');
  for (const char* provider : {"8x8", "zoom", "ringcentral"})
    expect_dead_letter(core(provider, body), "schema_violation", "must be a JSON object");
}

TEST(CoreHostileInput, ObjectsNested100000DeepAreSchemaViolations) {
  const std::string body = nested(kMany, '{', "", '}');  // not even valid: "{{" has no member name
  expect_dead_letter(core("8x8", body), "invalid_json", "Missing a name for object member");
  std::string deep;  // {"a":{"a":...{}...}}
  deep.reserve(kMany * 6);
  for (std::size_t i = 0; i < kMany; ++i) deep += R"({"a":)";
  deep += "{}" + std::string(kMany, '}');
  expect_dead_letter(core("8x8", deep), "schema_violation", "nested deeper than 64");
  expect_dead_letter(core("zoom", deep), "schema_violation", "'event'");
  expect_dead_letter(core("ringcentral", deep), "schema_violation", "'event'");
}

// Unknown members are ignored, but not below the validator's depth limit: the body is refused
// whole (the walk stops at level 65, so the limit costs nothing however deep the body goes).
TEST(CoreHostileInput, DeepUnknownMemberInAValidEventIsASchemaViolation) {
  for (const char open : {'[', '{'}) {
    std::string junk = open == '[' ? nested(kMany, '[', "", ']') : "";
    if (open == '{') {
      for (std::size_t i = 0; i < kMany; ++i) junk += R"({"x":)";
      junk += "0" + std::string(kMany, '}');
    }
    for (const Kind& k : every_kind()) {
      SCOPED_TRACE(k.body.substr(0, 60));
      const std::string body = k.body.substr(0, k.body.size() - 1) + R"(,"junk":)" + junk + "}";
      expect_dead_letter(core(k.provider, body), "schema_violation", "at /junk/");
      expect_dead_letter(core(k.provider, body), "schema_violation", "nested deeper than 64");
    }
  }
}

// ---- 100,000 numbers in one event ----

TEST(CoreHostileInput, HundredThousandNumbersIn8x8Webhook) {
  const Result r = service_path("8x8", eight_by_eight(many(kMany, [](const std::string& n) {
                          return entry_8x8(n, R"(,"operationalStatus":"Active","rentalPrice":5.0)");
                        })));
  expect_records(r, kMany);
  EXPECT_EQ(r.outputs.back().key, "+14152099999");
}

TEST(CoreHostileInput, HundredThousandNumbersIn8x8NumbersApiSnapshot) {
  const Result r = service_path("8x8", numbers_api(many(kMany, [](const std::string& n) { return entry_8x8(n); })));
  expect_records(r, kMany);
  EXPECT_NE(r.outputs.front().value->find(R"("change":"created")"), std::string::npos);
}

TEST(CoreHostileInput, HundredThousandNumbersInZoomCnamUpdate) {
  const Result r = service_path("zoom", zoom_cnam(json_strings(kMany)));
  expect_records(r, kMany);
}

TEST(CoreHostileInput, HundredThousandNumbersInZoomEmergencyAddressUpdate) {
  const Result r = service_path("zoom", zoom_address(json_strings(kMany)));
  expect_records(r, kMany);
}

// 100,000 numbers none of which is a number: one dead letter naming the first few, not a 10 MB
// detail.
TEST(CoreHostileInput, HundredThousandInvalidNumbersGiveOneBoundedDeadLetter) {
  const Result r = core("zoom", zoom_cnam(many(kMany, [](const std::string&) { return R"("12")"; })));
  expect_dead_letter(r, "invalid_number", "/payload/object/phone_numbers/0: '12' is not a phone number");
  EXPECT_NE(r.outputs[0].error_detail.find(" more"), std::string::npos) << r.outputs[0].error_detail;
}

// ---- invalid UTF-8 ----

TEST(CoreHostileInput, InvalidUtf8InStringsAndKeysIsInvalidJson) {
  const std::string bad[] = {
      "\xC0\x80",          // overlong NUL
      "\xE0\x80\xAF",      // overlong '/'
      "\x80",              // continuation byte alone
      "\xE2\x82",          // cut short
      "\xED\xA0\x80",      // a UTF-16 surrogate written as UTF-8
      "\xF4\x90\x80\x80",  // beyond U+10FFFF
      "\xFF",
      "\\uDC00",           // a low-surrogate escape alone: RapidJSON 1.1.0 let it through as ED B0 80
      "\\uD800x",          // a high-surrogate escape without its partner
  };
  for (const std::string& b : bad) {
    SCOPED_TRACE(b);
    expect_dead_letter(core("zoom", zoom_cnam(R"("+14155550123")", "\"AC" + b + "ME\"")), "invalid_json");
    const std::string in_key = eight_by_eight(entry_8x8("+14155550123", ",\"k" + b + "\":1"));
    expect_dead_letter(core("8x8", in_key), "invalid_json");
  }
}

TEST(CoreHostileInput, WellFormedNonAsciiIsKeptExactly) {
  const Result r = core("zoom", zoom_cnam(R"("+14155550123")", R"("Zürich \ud83d\ude00 東京")"));
  expect_records(r, 1);
  EXPECT_EQ(std::string(value_of(r.outputs[0])["state"]["cnam"].GetString()), "Zürich \xF0\x9F\x98\x80 東京");
}

// ---- NUL bytes ----

// "\u0000" is legal inside a JSON string: the value keeps it (strings are read with their length;
// RingCentral's extension id was read as a C string, so "12\u00003" became extension "12").
TEST(CoreHostileInput, EscapedNulInsideStringsIsKept) {
  const Result zoom = core("zoom", zoom_cnam(R"("+14155550123")", R"("AC\u0000ME")"));
  expect_records(zoom, 1);
  const auto v = value_of(zoom.outputs[0]);
  EXPECT_EQ(std::string(v["state"]["cnam"].GetString(), v["state"]["cnam"].GetStringLength()),
            std::string("AC\0ME", 5));

  const Result rc = core("ringcentral", rc_extension(R"(12\u00003)"));
  ASSERT_EQ(rc.outputs.size(), 1u) << rc.detail;
  EXPECT_EQ(rc.outputs[0].key, std::string("ringcentral:111:12\0" "3", 20));
}

// A raw NUL byte is never JSON: inside a string, before the body, or after it (RapidJSON stopped
// reading at a NUL after the value and ignored the rest).
TEST(CoreHostileInput, RawNulBytesAreInvalidJson) {
  const std::string valid = zoom_cnam(R"("+14155550123")");
  const std::string nul(1, '\0');
  expect_dead_letter(core("zoom", zoom_cnam(R"("+14155550123")", "\"AC" + nul + "ME\"")), "invalid_json");
  expect_dead_letter(core("zoom", nul + valid), "invalid_json");
  expect_dead_letter(core("zoom", valid + nul), "invalid_json", "NUL byte");
  expect_dead_letter(core("zoom", valid + nul + R"({"event":"x"})"), "invalid_json", "NUL byte");
  expect_dead_letter(core("zoom", nul), "invalid_json");
}

// ---- duplicate keys ----

// Refused wherever they are: RapidJSON would answer the first, JavaScript/Python readers of the raw
// topic the last.
TEST(CoreHostileInput, DuplicateKeysAreInvalidJson) {
  const std::string account_twice =
      R"({"eventType":"VIRTUAL_NUMBER_UPDATE","payload":{"subAccountId":"a","subAccountId":"b","virtualNumbers":[]}})";
  expect_dead_letter(core("8x8", account_twice), "invalid_json",
                     "'subAccountId' appears twice in the object at /payload");
  const std::string msisdn_twice = eight_by_eight(entry_8x8("+14155550123", R"(,"msisdn":"+14155550124")"));
  expect_dead_letter(core("8x8", msisdn_twice), "invalid_json", "at /payload/virtualNumbers/0");
  const std::string unknown_twice = rc_number().substr(0, rc_number().size() - 1) + R"(,"x":{"y":1,"y":1}})";
  expect_dead_letter(core("ringcentral", unknown_twice), "invalid_json", "'y' appears twice in the object at /x");
  // The same name written two ways is the same name.
  expect_dead_letter(core("zoom", R"({"event":"a","\u0065vent":"b"})"), "invalid_json", "'event' appears twice");
}

TEST(CoreHostileInput, DuplicateKeyAmong100000MembersIsFoundFast) {
  std::string members;
  for (std::size_t i = 0; i < kMany; ++i) members += "\"m" + std::to_string(i) + "\":0,";
  const std::string body = zoom_cnam(R"("+14155550123")").substr(1);
  expect_dead_letter(core("zoom", "{" + members + R"("m5":0,)" + body), "invalid_json", "'m5' appears twice");
}

// ---- numbers where the schema wants strings (and the reverse) ----

TEST(CoreHostileInput, NumbersWhereStringsAreWantedAreSchemaViolations) {
  expect_dead_letter(core("8x8", eight_by_eight(R"({"msisdn":14155550123})")), "schema_violation",
                     "expected string at /payload/virtualNumbers/0/msisdn, found integer");
  const std::string account_number =
      R"({"eventType":"VIRTUAL_NUMBER_UPDATE","payload":{"subAccountId":42,"virtualNumbers":[]}})";
  expect_dead_letter(core("8x8", account_number), "schema_violation", "/payload/subAccountId");
  expect_dead_letter(core("zoom", zoom_cnam("14155550123")), "schema_violation", "/payload/object/phone_numbers/0");
  expect_dead_letter(core("zoom", zoom_cnam(R"("+14155550123")", "1.5")), "schema_violation", "/payload/object/cnam");
  expect_dead_letter(core("ringcentral", rc_number("14155550123")), "schema_violation",
                     "/body/phoneNumberInfo/phoneNumber");
  expect_dead_letter(core("8x8", eight_by_eight(entry_8x8("+14155550123", R"(,"rentalPrice":"5.0")"))),
                     "schema_violation", "expected number at /payload/virtualNumbers/0/rentalPrice, found string");
}

// ---- huge strings ----

TEST(CoreHostileInput, HugeUnknownStringIsIgnored) {
  const std::string body = eight_by_eight(entry_8x8("+14155550123", R"(,"notes":")" + std::string(kHuge, 'x') + "\""));
  const Result r = core("8x8", body);
  expect_records(r, 1);
  EXPECT_LT(r.outputs[0].value->size(), 2000u);
}

// Strings numflow copies into records are bounded by the schemas: a 1 MB CNAM would make each of
// the event's records (and the number's state) a message Kafka refuses, and the transaction
// carrying it would be retried for ever.
TEST(CoreHostileInput, HugeStringCopiedIntoRecordsIsASchemaViolation) {
  const std::string huge = "\"" + std::string(kHuge, 'x') + "\"";
  expect_dead_letter(core("zoom", zoom_cnam(R"("+14155550123")", huge)), "schema_violation",
                     "string at /payload/object/cnam is longer than");
  expect_dead_letter(core("8x8", eight_by_eight(entry_8x8("+14155550123", R"(,"referenceId":)" + huge))),
                     "schema_violation", "/payload/virtualNumbers/0/referenceId");
  expect_dead_letter(core("ringcentral", rc_extension(std::string(kHuge, '7'))), "schema_violation",
                     "/body/extensionId");
}

// Quoted in the detail, a 1 MB value would make the dead letter's header as big as the body.
TEST(CoreHostileInput, HugeStringsQuotedInErrorsAreCut) {
  const std::string huge(kHuge, '9');
  const Result r = core("8x8", eight_by_eight(entry_8x8(huge) + "," + entry_8x8("+14155550123")));
  ASSERT_EQ(r.outputs.size(), 2u) << "the event's other numbers are still published";
  EXPECT_EQ(r.outputs[0].key, "+14155550123");
  EXPECT_EQ(r.outputs[1].error_code, "invalid_number");
  EXPECT_LE(r.outputs[1].error_detail.size(), 1100u);
  expect_dead_letter(core("8x8", R"({"eventType":")" + huge + R"(","payload":{}})"), "unknown_event");
  expect_dead_letter(core("zoom", R"({"event":")" + huge + R"("})"), "unknown_event");
}

// ---- empty, truncated, BOM, not an object ----

TEST(CoreHostileInput, EmptyBodyIsInvalidJson) {
  for (const char* provider : {"8x8", "zoom", "ringcentral"}) {
    expect_dead_letter(core(provider, ""), "invalid_json", "empty");
    expect_dead_letter(core(provider, " \r\n\t"), "invalid_json", "empty");
  }
}

TEST(CoreHostileInput, EveryTruncationOfAValidBodyIsInvalidJson) {
  for (const Kind& k : every_kind())
    for (std::size_t cut = 0; cut < k.body.size(); ++cut) {
      SCOPED_TRACE(k.body.substr(0, cut));
      expect_dead_letter(core(k.provider, std::string_view(k.body).substr(0, cut)), "invalid_json");
    }
}

// RFC 8259 §8.1 lets a parser ignore a byte-order mark: a whole one is skipped. RapidJSON skipped
// EF, BB and BF one by one, so a body starting with a stray byte of it was accepted.
TEST(CoreHostileInput, ByteOrderMarkIsIgnoredOnlyWhenWhole) {
  const std::string bom = "\xEF\xBB\xBF";
  for (const Kind& k : every_kind()) {
    SCOPED_TRACE(k.body);
    const Result plain = core(k.provider, k.body);
    const Result with_bom = core(k.provider, bom + k.body);
    ASSERT_EQ(with_bom.outcome, plain.outcome) << with_bom.detail;
    EXPECT_TRUE(same(with_bom.outputs, plain.outputs));
    for (const std::string partial : {"\xBF", "\xBB\xBF", "\xEF\xBB", "\xEF\xBF"})
      expect_dead_letter(core(k.provider, partial + k.body), "invalid_json");
    expect_dead_letter(core(k.provider, bom + bom + k.body), "invalid_json");
    expect_dead_letter(core(k.provider, " " + bom + k.body), "invalid_json");
  }
}

TEST(CoreHostileInput, TopLevelNonObjectIsASchemaViolation) {
  for (const char* body : {"[]", R"([{"event":"x"}])", R"("{}")", "42", "-0", "null", "true", "false"})
    for (const char* provider : {"8x8", "zoom", "ringcentral"}) {
      SCOPED_TRACE(std::string(provider) + " " + body);
      expect_dead_letter(core(provider, body), "schema_violation", "must be a JSON object, at /");
    }
}

// ---- prices: exact (the fuzzer's precision mismatch) ----

// Prices are the provider's JSON number with the text it was sent as, through process(), the
// repartition topic and the state changelog alike; RapidJSON's double used to change them.
TEST(ExactPrices, PricesKeepTheirExactText) {
  for (const std::string price : {"0.1234567890123456789", "1.9223372036854775807", "-0", "0e-23",
                                  "0.000000000000000000000000", "5.0", "5", "1E2", "1e-400",
                                  "123456789012345678901234567890", "0.05"}) {
    SCOPED_TRACE(price);
    const Result r = core("8x8", eight_by_eight(entry_8x8("+14155550123", R"(,"rentalPrice":)" + price +
                                                          R"(,"incomingRate":)" + price)));
    expect_records(r, 1);
    EXPECT_EQ(price_text(r.outputs[0], "rental_price"), price);
    EXPECT_EQ(price_text(r.outputs[0], "incoming_rate"), price);
    const Result api = core("8x8", numbers_api(entry_8x8("+14155550123", R"(,"rentalPrice":)" + price)));
    expect_records(api, 1);
    EXPECT_EQ(price_text(api.outputs[0], "rental_price"), price);
  }
}

// Outside the double range no reader of the records could hold it: the body is invalid_json, as
// RapidJSON's own parse says.
TEST(ExactPrices, NumberBeyondTheDoubleRangeIsInvalidJson) {
  for (const std::string& price : {std::string("1e400"), std::string("-1e400"), "1" + std::string(400, '0')})
    expect_dead_letter(core("8x8", eight_by_eight(entry_8x8("+14155550123", R"(,"rentalPrice":)" + price))),
                       "invalid_json", "Number too big");
}

// The same text again changes nothing; a price sent as a different text is a change (the record
// carries what the provider sent).
TEST(ExactPrices, MergeComparesTheExactText) {
  MemoryStateStore state;
  const auto send = [&](const std::string& price, const std::string& when) {
    const std::string body = eight_by_eight(R"({"msisdn":"+14155550123","updatedTimestamp":")" + when +
                                            R"(","rentalPrice":)" + price + "}");
    return run("8x8", body, "", &state);
  };
  ASSERT_EQ(send("0.1234567890123456789", "2024-01-01T00:00:00.000Z").outputs.size(), 1u);
  EXPECT_EQ(send("0.1234567890123456789", "2024-01-02T00:00:00.000Z").outputs.size(), 0u);
  const Result changed = send("0.1234567890123456788", "2024-01-03T00:00:00.000Z");
  ASSERT_EQ(changed.outputs.size(), 1u) << "differs from the first only beyond a double's precision";
  EXPECT_EQ(price_text(changed.outputs[0], "rental_price"), "0.1234567890123456788");
}

}  // namespace
}  // namespace numflow::transform
