// Hostile input, end to end (issue 7): the real numflow-ingest and numflow-transform on the real
// broker, one TEST per row of the bad-input matrix. Each row asserts the contract's answer: the
// HTTP status and, for bodies answered 2xx, the dead-letter code (contract §2) or the published
// record (§3). Every row then ends the same way (HostileInput::TearDown): nothing is lost.
//   - the services still run and answer the next good request 200;
//   - the raw topic holds exactly the bodies that must be there, byte for byte and as many times
//     as sent (every 2xx; nothing refused, cut off or half-sent);
//   - the transform gets past every body of the row (it publishes the next good event), and the
//     dead-letter topic holds exactly the row's dead letters, each once, with the raw bytes.
// Many of these are covered at unit level in common/http_server_test.cpp and
// ingest/ingest_handler_test.cpp; this file checks the assembled services.
//
// | row                             | test                              | contract's answer                           |
// |---------------------------------|-----------------------------------|---------------------------------------------|
// | JSON nested 100,000 deep        | NestedOneHundredThousandDeep      | 200; dead letter: schema_violation (a Zoom  |
// |                                 |                                   | event with a deep member: "nested deeper    |
// |                                 |                                   | than 64 levels"; a bare deep array; deep    |
// |                                 |                                   | objects), invalid_json (unclosed)           |
// | 100,000 numbers in one event    | OneHundredThousandNumbers         | Zoom (a plain list of numbers): over the 1  |
// |                                 |                                   | MiB limit, 413 and not in Kafka; a body of  |
// |                                 |                                   | exactly the limit with as many as fit, one  |
// |                                 |                                   | bad: 200, every good number published once, |
// |                                 |                                   | the body dead-lettered once as              |
// |                                 |                                   | invalid_number                              |
// | invalid UTF-8                   | InvalidUtf8                       | 200; invalid_json (bad byte, overlong,      |
// |                                 |                                   | surrogate, truncated sequence, escaped half |
// |                                 |                                   | surrogate)                                  |
// | NUL bytes                       | NulBytes                          | 200; raw NUL in a string, after the         |
// |                                 |                                   | document or alone: invalid_json; escaped    |
// |                                 |                                   | \u0000: published with the NUL in the CNAM  |
// | duplicate keys                  | DuplicateKeys                     | 200; invalid_json (I-JSON: readers disagree |
// |                                 |                                   | on which one counts;                        |
// |                                 |                                   | providers/exact_json.h)                     |
// | numbers as JSON numbers         | NumbersGivenAsJsonNumbers         | 200; schema_violation naming the JSON       |
// |                                 |                                   | pointer                                     |
// | huge strings (900 KB)           | HugeStrings                       | 200; in a member the event does not use:    |
// |                                 |                                   | ignored, published; as the CNAM or the      |
// |                                 |                                   | account id: schema_violation (copied        |
// |                                 |                                   | strings are bounded); the raw key leaves a  |
// |                                 |                                   | huge account out ("zoom:")                  |
// | wrong or missing Content-Type   | WrongOrMissingContentType         | 200; raw content-type header as sent, or    |
// |                                 |                                   | none; published                             |
// | chunked request bodies          | ChunkedBodies                     | 200, the decoded bytes; over the limit: 413 |
// | oversized headers               | OversizedHeaders                  | 431: a huge header, many small ones (too    |
// |                                 |                                   | large only in total), a huge target         |
// | slow client trickling headers   | SlowHeadersAreCutAtTheReadTimeout | closed at --read-timeout-ms, no 2xx; other  |
// |                                 |                                   | clients served at once meanwhile            |
// | slow client trickling the body  | SlowBodyIsCutAtTheReadTimeout     | the same; the partial body is not in Kafka  |
// | more connections than the limit | ConnectionsOverTheLimit           | 503 + Retry-After, closed; the held         |
// |                                 |                                   | connections are still served; served again  |
// |                                 |                                   | when they go                                |
// | pipelined requests              | PipelinedRequests                 | answers in order; bodies in Kafka in that   |
// |                                 |                                   | order                                       |
// | client gone before the answer   | ClientGoneBeforeTheAnswer         | a complete body is in Kafka exactly once    |
// |                                 |                                   | (it got no 2xx, so the provider retries:    |
// |                                 |                                   | the transform absorbs the copy by           |
// |                                 |                                   | event_id); a half-sent body is not in Kafka |

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <future>
#include <map>
#include <set>

#include "common/http_test_client.h"
#include "tests/support/normalize_helpers.h"
#include "tests/support/pipeline_fixture.h"

namespace numflow::testing {
namespace {

using http_test::TestClient;
using Ms = std::chrono::milliseconds;

constexpr std::size_t kMaxBody = 1024 * 1024;  // ingest's default --max-body-bytes
constexpr Ms kReadTimeout = 1500ms;             // --read-timeout-ms for every row: slow rows stay quick
constexpr const char* kLastNumber = "+14155550000";  // the good event that ends every row

// A Zoom CNAM update. Every field is JSON text spliced in as is, so a row can make any part of it
// hostile.
class Zoom {
 public:
  Zoom& numbers(std::string v) { return set(numbers_, std::move(v)); }
  Zoom& cnam(std::string v) { return set(cnam_, std::move(v)); }
  Zoom& account(std::string v) { return set(account_, std::move(v)); }
  Zoom& event_ts(std::string v) { return set(event_ts_, std::move(v)); }
  Zoom& extra(std::string v) { return set(extra_, std::move(v)); }  // more members of payload.object

  std::string json() const {
    return R"({"event":"number_management.peering_number_cnam_updated","event_ts":)" + event_ts_ +
           R"(,"payload":{"account_id":)" + account_ + R"(,"object":{"carrier_code":1,"cnam":)" + cnam_ +
           R"(,"phone_numbers":)" + numbers_ + (extra_.empty() ? "" : "," + extra_) + "}}}";
  }

 private:
  Zoom& set(std::string& field, std::string v) {
    field = std::move(v);
    return *this;
  }
  std::string numbers_ = R"(["+14155550100"])";
  std::string cnam_ = R"("ACME")";
  std::string account_ = R"("acct")";
  std::string event_ts_ = "1700000000000";
  std::string extra_;
};

std::string one_number(const std::string& number) { return "[\"" + number + "\"]"; }

// Numbers as Zoom may send them, without the "+": "14150000000", "14150000001", ...
std::string numbers_array(int count) {
  std::string out = "[";
  char buf[32];
  for (int i = 0; i < count; ++i) {
    std::snprintf(buf, sizeof buf, "%s\"1415%07d\"", i ? "," : "", i);
    out += buf;
  }
  return out + "]";
}

const std::map<std::string, std::string> kJson{{"Content-Type", "application/json"}};

// The last `n` characters: logs can be huge when a body is logged.
std::string tail(const std::string& s, std::size_t n = 4000) { return s.size() > n ? s.substr(s.size() - n) : s; }
std::string head(const std::string& s) { return s.substr(0, 120); }

bool has_header(const KafkaRecord& r, const std::string& name) {
  return std::any_of(r.headers.begin(), r.headers.end(), [&](const auto& h) { return h.first == name; });
}

// Sends `request` one byte every `gap` until the server closes the connection (or all is sent).
// Returns the time from the first byte until the close was seen.
Ms trickle_until_closed(TestClient& c, std::string_view request, Ms gap) {
  const auto t0 = std::chrono::steady_clock::now();
  for (char byte : request) {
    if (!c.send(std::string_view(&byte, 1)) || c.wait_closed(gap)) break;
  }
  return std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - t0);
}

class HostileInput : public Pipeline {
 protected:
  // Ingest, and the transform unless the row is about HTTP alone. One partition everywhere: the
  // transform handles raw records in order, so once it has published the last good event it is
  // done with every body before it.
  void start(bool with_transform, std::vector<std::string> ingest_extra = {}) {
    const std::vector<std::string> one_partition{"--topic-partitions", "1"};
    ingest_ = start_ingest(concat(concat(one_partition, {"--read-timeout-ms", std::to_string(kReadTimeout.count())}),
                                  ingest_extra));
    if (with_transform) transform_ = start_transform(one_partition);
    ASSERT_TRUE(wait_http_ok(ingest_port_, "/readyz", 30s)) << ingest_->log();
    if (transform_) {
      ASSERT_TRUE(wait_http_ok(transform_port_, "/readyz", 30s)) << transform_->log();
    }
  }

  // POSTs like a provider; a body answered 2xx must be in the raw topic.
  HttpResult send(const std::string& body, const std::map<std::string, std::string>& headers = kJson) {
    auto r = http_request(ingest_port_, "POST", "/webhooks/zoom", body, headers);
    if (r.status / 100 == 2) must_be_raw_.insert(body);
    return r;
  }
  // Sends requests on one raw connection and reads as many answers, in order; 2xx bodies as above.
  std::vector<int> send_raw(TestClient& c, const std::vector<std::string>& bodies, std::string_view wire) {
    std::vector<int> statuses;
    if (!c.send(wire)) return statuses;
    for (const auto& body : bodies) {
      const auto r = c.read_response(10000ms);
      statuses.push_back(r ? r->status : 0);
      if (r && r->status / 100 == 2) must_be_raw_.insert(body);
    }
    return statuses;
  }

  // Sends `first` at once, then `slow` a byte every 100 ms from another thread, and meanwhile
  // `good` as a provider would: the server must cut the slow client at the read timeout, serving
  // the good one at once.
  void expect_cut_at_read_timeout(const std::string& first, const std::string& slow, const std::string& good) {
    TestClient c(static_cast<std::uint16_t>(ingest_port_));
    ASSERT_TRUE(c.send(first));
    auto cut = std::async(std::launch::async, [&] { return trickle_until_closed(c, slow, 100ms); });
    std::this_thread::sleep_for(200ms);
    const auto r = send(good);
    EXPECT_EQ(r.status, 200);
    EXPECT_LT(r.elapsed, kReadTimeout - 500ms) << "a slow client must not hold up the others";
    const Ms took = cut.get();
    EXPECT_GE(took, kReadTimeout - 200ms);
    EXPECT_LT(took, kReadTimeout + 1500ms) << "the slow client was not cut at the read timeout";
    expect_metric(R"(numflow_ingest_http_rejections_total{reason="read_timeout"} 1)");
  }

  // A sample line of ingest's /metrics; the server's counters reach the registry every 200 ms.
  void expect_metric(const std::string& sample) {
    std::string metrics;
    for (int i = 0; i < 20 && metrics.find(sample) == std::string::npos; ++i) {
      std::this_thread::sleep_for(100ms);
      metrics = http_request(ingest_metrics_port_, "GET", "/metrics").body;
    }
    EXPECT_NE(metrics.find(sample), std::string::npos) << metrics;
  }

  void expect_dead_letter(const std::string& body, const std::string& code, const std::string& detail_part) {
    dead_letters_.push_back({body, code, detail_part});
  }
  // `records` number-change records keyed `number`; `check` sees the last one.
  void expect_published(const std::string& number, std::size_t records = 1,
                        std::function<void(const rapidjson::Document&)> check = {}) {
    published_.push_back({number, records, std::move(check)});
  }

  void TearDown() override {
    if (!ingest_ || HasFatalFailure()) return;
    const auto r = send(Zoom().numbers(one_number(kLastNumber)).cnam(R"("LAST")").json());
    EXPECT_EQ(r.status, 200) << "the next good request after the row\n" << tail(ingest_->log());
    EXPECT_TRUE(ingest_->running()) << tail(ingest_->log());
    check_raw_topic();
    if (transform_) check_transform();
  }

  void check_raw_topic() {
    std::multiset<std::string> raw;
    for (const auto& rec : read_topic(brokers_, topics_.raw, 0, 30s)) raw.insert(rec.value.value_or(""));
    EXPECT_EQ(raw.size(), must_be_raw_.size()) << "records in the raw topic";
    for (const auto& body : must_be_raw_)
      EXPECT_EQ(raw.count(body), must_be_raw_.count(body)) << "times in the raw topic: " << head(body);
  }

  void check_transform() {
    ASSERT_TRUE(wait_for_record(brokers_, topics_.numbers, [](const KafkaRecord& r) { return r.key == kLastNumber; },
                                90s))
        << "the transform did not get past the row's bodies\n" << tail(transform_->log());
    EXPECT_TRUE(transform_->running()) << tail(transform_->log());
    check_dead_letters();
    check_published();
  }

  void check_dead_letters() {
    const auto dead = read_topic(brokers_, topics_.dead, 0, 30s);
    EXPECT_EQ(dead.size(), dead_letters_.size()) << "each expected dead letter once, and no other";
    for (const auto& want : dead_letters_) {
      const auto it = std::find_if(dead.begin(), dead.end(), [&](const auto& d) { return d.value == want.body; });
      if (it == dead.end()) {
        ADD_FAILURE() << "not dead-lettered (with its exact bytes): " << head(want.body);
        continue;
      }
      EXPECT_EQ(it->header("numflow-error-code"), want.code) << head(want.body);
      EXPECT_NE(it->header("numflow-error-detail").find(want.detail_part), std::string::npos)
          << it->header("numflow-error-detail");
      EXPECT_EQ(it->header("numflow-source-topic"), topics_.raw);
    }
  }

  void check_published() {
    std::map<std::string, std::vector<std::string>> by_number;
    for (const auto& r : read_topic(brokers_, topics_.numbers, 0, 60s))
      by_number[r.key].push_back(r.value.value_or(""));
    for (const auto& want : published_) {
      const auto& values = by_number[want.number];
      ASSERT_EQ(values.size(), want.records) << "records of " << want.number;
      if (want.check && !values.empty()) want.check(parse(values.back()));
    }
  }

  struct DeadLetter {
    std::string body, code, detail_part;
  };
  struct Published {
    std::string number;
    std::size_t records;
    std::function<void(const rapidjson::Document&)> check;
  };
  std::unique_ptr<Process> ingest_, transform_;
  std::multiset<std::string> must_be_raw_;
  std::vector<DeadLetter> dead_letters_;
  std::vector<Published> published_;
};

auto cnam_is(std::string expected) {
  return [expected](const rapidjson::Document& v) {
    const auto& cnam = v["state"]["cnam"];
    ASSERT_TRUE(cnam.IsString());
    EXPECT_EQ(std::string(cnam.GetString(), cnam.GetStringLength()), expected);
  };
}

TEST_F(HostileInput, NestedOneHundredThousandDeep) {
  start(true);
  const std::string open(100000, '['), close(100000, ']');
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += R"({"a":)";
  objects += "1" + std::string(100000, '}');
  const std::string member = Zoom().extra(R"("extra":)" + open + close).json();
  for (const auto& body : {member, open + close, objects, open}) EXPECT_EQ(send(body).status, 200) << head(body);
  expect_dead_letter(member, "schema_violation", "nested deeper than 64 levels");
  expect_dead_letter(open + close, "schema_violation", "must be a JSON object");
  expect_dead_letter(objects, "schema_violation", "missing required property");
  expect_dead_letter(open, "invalid_json", "not well-formed");
}

TEST_F(HostileInput, OneHundredThousandNumbers) {
  start(true);
  const std::string too_many = Zoom().numbers(numbers_array(100000)).json();
  ASSERT_GT(too_many.size(), kMaxBody);
  EXPECT_EQ(send(too_many).status, 413);

  // As many numbers as fit ("14150000000", is 14 bytes), padded with whitespace to exactly the
  // limit; the first is no phone number: the others are published, the body is dead-lettered.
  const int fit = static_cast<int>((kMaxBody - Zoom().numbers("[]").json().size()) / 14);
  std::string at_limit = Zoom().numbers(R"(["12",)" + numbers_array(fit - 1).substr(1)).json();
  ASSERT_LE(at_limit.size(), kMaxBody);
  at_limit.append(kMaxBody - at_limit.size(), ' ');
  const auto r = send(at_limit);
  EXPECT_EQ(r.status, 200) << r.body;
  expect_dead_letter(at_limit, "invalid_number", "/payload/object/phone_numbers/0");
  char number[32];  // room for any int: -Wformat-truncation at -O1 cannot see that i < fit
  for (int i = 0; i < fit - 1; ++i) {
    std::snprintf(number, sizeof number, "+1415%07d", i);
    expect_published(number);
  }
}

TEST_F(HostileInput, InvalidUtf8) {
  start(true);
  const std::vector<std::pair<std::string, std::string>> cases{
      {"\xff", "Invalid encoding"},
      {"\xc0\xaf", "Invalid encoding"},      // an overlong '/'
      {"\xed\xa0\x80", "Invalid encoding"},  // a UTF-16 surrogate, encoded
      {"\xe2\x82", "Invalid encoding"},      // truncated
      {"\\uDC00", "surrogate"},             // half a surrogate pair, escaped: no UTF-8 can say it
  };
  for (const auto& [bad, detail] : cases) {
    const std::string body = Zoom().cnam("\"AC" + bad + "ME\"").json();
    EXPECT_EQ(send(body).status, 200);
    expect_dead_letter(body, "invalid_json", detail);
  }
}

TEST_F(HostileInput, NulBytes) {
  start(true);
  const std::string in_string = Zoom().cnam(std::string("\"AC\0ME\"", 7)).json();
  const std::string after_document = Zoom().json() + std::string("\0 and then anything", 19);
  const std::string only_nuls(3, '\0');
  const std::string escaped = Zoom().numbers(one_number("+14155550104")).cnam(R"("AC\u0000ME")").json();
  for (const auto& body : {in_string, after_document, only_nuls, escaped}) EXPECT_EQ(send(body).status, 200);
  expect_dead_letter(in_string, "invalid_json", "not well-formed");
  expect_dead_letter(after_document, "invalid_json", "not well-formed");
  expect_dead_letter(only_nuls, "invalid_json", "not well-formed");
  expect_published("+14155550104", 1, cnam_is(std::string("AC\0ME", 5)));
}

TEST_F(HostileInput, DuplicateKeys) {
  start(true);
  const std::string body = Zoom().cnam(R"("FIRST","cnam":"SECOND")").json();
  EXPECT_EQ(send(body).status, 200);
  expect_dead_letter(body, "invalid_json", "'cnam' appears twice");
}

TEST_F(HostileInput, NumbersGivenAsJsonNumbers) {
  start(true);
  const std::string number = Zoom().numbers("[14155550106]").json();
  const std::string event_ts = Zoom().event_ts(R"("1700000000000")").json();
  const std::string account = Zoom().account("12345").json();
  for (const auto& body : {number, event_ts, account}) EXPECT_EQ(send(body).status, 200);
  expect_dead_letter(number, "schema_violation", "/payload/object/phone_numbers/0");
  expect_dead_letter(event_ts, "schema_violation", "/event_ts");
  expect_dead_letter(account, "schema_violation", "/payload/account_id");
}

TEST_F(HostileInput, HugeStrings) {
  start(true);
  const std::string huge(900 * 1000, 'A');
  // A member the event does not use is ignored, however large.
  const std::string unused = Zoom().numbers(one_number("+14155550107")).extra(R"("note":")" + huge + '"').json();
  // Members copied into records are bounded (schemas/): no record may outgrow what Kafka takes.
  const std::string cnam = Zoom().numbers(one_number("+14155550108")).cnam('"' + huge + '"').json();
  const std::string account = Zoom().numbers(one_number("+14155550109")).account('"' + huge + '"').json();
  for (const auto& body : {unused, cnam, account}) EXPECT_EQ(send(body).status, 200);
  expect_published("+14155550107");
  expect_dead_letter(cnam, "schema_violation", "/payload/object/cnam is longer than");
  expect_dead_letter(account, "schema_violation", "/payload/account_id is longer than");
  for (const auto& rec : read_topic(brokers_, topics_.raw, 3, 30s)) {
    if (rec.value == account) {
      EXPECT_EQ(rec.key, "zoom:") << "the key leaves a huge account out";
    }
  }
}

TEST_F(HostileInput, WrongOrMissingContentType) {
  start(true);
  const std::string plain = Zoom().numbers(one_number("+14155550109")).json();
  const std::string none = Zoom().numbers(one_number("+14155550110")).json();
  EXPECT_EQ(send(plain, {{"Content-Type", "text/plain"}}).status, 200);
  EXPECT_EQ(send(none, {}).status, 200);
  for (const auto& rec : read_topic(brokers_, topics_.raw, 2, 30s)) {
    if (rec.value == plain) {
      EXPECT_EQ(rec.header("content-type"), "text/plain");
    } else if (rec.value == none) {
      EXPECT_FALSE(has_header(rec, "content-type"));
    }
  }
  expect_published("+14155550109");
  expect_published("+14155550110");
}

// `body` as a chunked request, in chunks of `piece` bytes (hex sizes upper case, with a chunk
// extension on the first: both are legal and rarely seen).
std::string chunked_request(const std::string& body, std::size_t piece) {
  std::string wire = "POST /webhooks/zoom HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n";
  char size[32];
  for (std::size_t at = 0; at < body.size(); at += piece) {
    const std::size_t n = std::min(piece, body.size() - at);
    std::snprintf(size, sizeof size, "%zX%s\r\n", n, at == 0 ? ";ext=1" : "");
    wire += size + body.substr(at, n) + "\r\n";
  }
  return wire + "0\r\n\r\n";
}

TEST_F(HostileInput, ChunkedBodies) {
  start(true);
  const std::string body = Zoom().numbers(one_number("+14155550111")).json();
  TestClient c(static_cast<std::uint16_t>(ingest_port_));
  EXPECT_EQ(send_raw(c, {body}, chunked_request(body, 50)), std::vector<int>{200});
  expect_published("+14155550111");

  const std::string too_large(kMaxBody + 1, ' ');
  TestClient c2(static_cast<std::uint16_t>(ingest_port_));
  EXPECT_EQ(send_raw(c2, {too_large}, chunked_request(too_large, 64 * 1024)), std::vector<int>{413})
      << "chunked framing does not get around the body limit";
}

TEST_F(HostileInput, OversizedHeaders) {
  start(false);
  const std::string body = Zoom().json();
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 2000; ++i) many.emplace_back("X-H" + std::to_string(i), "v");
  const std::vector<std::string> requests{
      TestClient::request("POST", "/webhooks/zoom", body, {{"X-Big", std::string(20000, 'x')}}),
      TestClient::request("POST", "/webhooks/zoom", body, many),
      TestClient::request("POST", "/webhooks/zoom?q=" + std::string(20000, 'q'), body),
  };
  for (const auto& wire : requests) {
    TestClient c(static_cast<std::uint16_t>(ingest_port_));
    EXPECT_EQ(send_raw(c, {body}, wire), std::vector<int>{431});
  }
  expect_metric(R"(numflow_ingest_http_rejections_total{reason="headers_too_large"} 3)");
}

TEST_F(HostileInput, SlowHeadersAreCutAtTheReadTimeout) {
  start(false);
  const std::string wire =
      TestClient::request("POST", "/webhooks/zoom", Zoom().json(), {{"X-Slow", std::string(100, 's')}});
  expect_cut_at_read_timeout(wire.substr(0, 1), wire.substr(1), Zoom().numbers(one_number("+14155550112")).json());
}

TEST_F(HostileInput, SlowBodyIsCutAtTheReadTimeout) {
  start(false);
  const std::string body = Zoom().numbers(one_number("+14155550113")).json();
  const std::string wire = TestClient::request("POST", "/webhooks/zoom", body);
  const std::size_t header_end = wire.find("\r\n\r\n") + 4;
  expect_cut_at_read_timeout(wire.substr(0, header_end), wire.substr(header_end),
                             Zoom().numbers(one_number("+14155550114")).json());
}

TEST_F(HostileInput, ConnectionsOverTheLimit) {
  constexpr std::size_t kLimit = 8;
  start(false, {"--max-connections", std::to_string(kLimit)});
  const auto port = static_cast<std::uint16_t>(ingest_port_);
  // Take every connection; a probe's connection from start() may take a moment to be let go.
  std::vector<std::unique_ptr<TestClient>> held;
  for (int attempt = 0; held.size() < kLimit && attempt < 100; ++attempt) {
    auto c = std::make_unique<TestClient>(port);
    c->send(TestClient::request("GET", "/healthz"));
    const auto r = c->read_response();
    if (r && r->status == 200)
      held.push_back(std::move(c));
    else
      std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(held.size(), kLimit);

  for (int i = 0; i < 20; ++i) {
    TestClient extra(port);
    const auto r = extra.read_response();
    ASSERT_TRUE(r) << "connection " << kLimit + 1 + i << " got no answer";
    EXPECT_EQ(r->status, 503);
    EXPECT_FALSE(r->header("Retry-After").empty());
    EXPECT_TRUE(extra.wait_closed());
  }
  expect_metric(R"(numflow_ingest_http_rejections_total{reason="connection_limit"} 20)");
  const std::string body = Zoom().json();
  EXPECT_EQ(send_raw(*held[0], {body}, TestClient::request("POST", "/webhooks/zoom", body)), std::vector<int>{200})
      << "connections already taken are still served";

  held.clear();
  int status = 0;
  for (int i = 0; i < 40 && status != 200; ++i) {
    status = send(Zoom().numbers(one_number("+14155550116")).json()).status;
    if (status != 200) std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(status, 200) << "served again within 2 s of the connections closing";
}

TEST_F(HostileInput, PipelinedRequests) {
  start(true);
  std::vector<std::string> bodies;
  std::string wire;
  for (int i = 0; i < 5; ++i) {
    bodies.push_back(Zoom().numbers(one_number("+1415555012" + std::to_string(i))).json());
    wire += TestClient::request("POST", "/webhooks/zoom", bodies.back(), {{"Content-Type", "application/json"}});
  }
  TestClient c(static_cast<std::uint16_t>(ingest_port_));
  ASSERT_TRUE(c.send(wire));  // all five in one write
  std::vector<std::string> request_ids;
  for (const auto& body : bodies) {
    const auto r = c.read_response(10000ms);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    request_ids.push_back(r->header("X-Request-Id"));
    must_be_raw_.insert(body);
  }
  std::vector<std::string> raw_ids, raw_bodies;
  for (const auto& rec : read_topic(brokers_, topics_.raw, bodies.size(), 30s)) {
    raw_ids.push_back(rec.header("numflow-request-id"));
    raw_bodies.push_back(rec.value.value_or(""));
  }
  EXPECT_EQ(raw_ids, request_ids) << "answers in the order of the requests, each for its own request";
  EXPECT_EQ(raw_bodies, bodies);
  for (int i = 0; i < 5; ++i) expect_published("+1415555012" + std::to_string(i));
}

TEST_F(HostileInput, ClientGoneBeforeTheAnswer) {
  start(true);
  const auto port = static_cast<std::uint16_t>(ingest_port_);
  const std::string body = Zoom().numbers(one_number("+14155550130")).cnam(R"("GONE")").json();
  {
    TestClient c(port);
    ASSERT_TRUE(c.send(TestClient::request("POST", "/webhooks/zoom", body)));
  }  // closed at once, before any answer
  EXPECT_TRUE(wait_for_record(brokers_, topics_.raw, [&](const KafkaRecord& r) { return r.value == body; }, 20s))
      << "a body received whole is written even though its sender has gone";
  must_be_raw_.insert(body);

  // It got no 2xx, so the provider sends it again: a second copy in the raw topic, the same event
  // (event_id) to the transform, which publishes nothing for it. A newer event about the number,
  // behind it on the one partition, shows the retry has been merged.
  EXPECT_EQ(send(body).status, 200);
  EXPECT_EQ(send(Zoom().numbers(one_number("+14155550130")).cnam(R"("NEWER")").event_ts("1700000000001").json())
                .status,
            200);
  expect_published("+14155550130", 2, cnam_is("NEWER"));

  // A sender gone halfway through its body delivered nothing (TearDown: not in the raw topic).
  TestClient half(port);
  const std::string wire = TestClient::request("POST", "/webhooks/zoom", Zoom().cnam(R"("HALF")").json());
  ASSERT_TRUE(half.send(wire.substr(0, wire.size() - 10)));
  half.close();
}

}  // namespace
}  // namespace numflow::testing
