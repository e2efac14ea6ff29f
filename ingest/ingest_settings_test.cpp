// numflow-ingest's settings and what main() derives from them (ingest/ingest_settings.h).
#include "ingest/ingest_settings.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>

#include "providers/registry.h"
#include "publish/kafka_settings.h"

namespace numflow::ingest {
namespace {

Settings parsed(const std::vector<std::string>& args, const Settings::Env& env = {}) {
  Settings s = ingest_settings();
  if (auto err = s.parse(args, env)) throw std::runtime_error(*err);
  return s;
}

std::string error_of(const std::vector<std::string>& args, const Settings::Env& env = {}) {
  try {
    (void)poll_subaccounts(parsed(args, env));
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(IngestSettings, PollerBodyLimitDefaultsTo16MiBAndSizesTheRawTopic) {
  const std::vector<std::string> poll = {"--8x8-poll-subaccounts", "Sub", "--8x8-api-key", "k"};
  auto with_poller = [&](std::vector<std::string> more) {
    more.insert(more.end(), poll.begin(), poll.end());
    return more;
  };
  EXPECT_EQ(parsed({}).integer("8x8-poll-max-body-bytes"), 16 * 1024 * 1024);
  EXPECT_EQ(poller_options(parsed(poll)).max_body_bytes, 16u * 1024 * 1024);
  // Without the poller, webhooks alone decide.
  EXPECT_EQ(largest_raw_body(parsed({})), 1024 * 1024);
  EXPECT_EQ(largest_raw_body(parsed({"--8x8-poll-max-body-bytes", "2097152"})), 1024 * 1024);
  // With it, the larger of the two limits, either way round; from flags or the environment.
  EXPECT_EQ(largest_raw_body(parsed(poll)), 16 * 1024 * 1024);
  EXPECT_EQ(largest_raw_body(parsed(with_poller({"--max-body-bytes", "33554432"}))), 33554432);
  EXPECT_EQ(largest_raw_body(parsed(poll, {{"NUMFLOW_8X8_POLL_MAX_BODY_BYTES", "2097152"}})), 2097152);
  EXPECT_EQ(largest_raw_body(parsed(with_poller({"--8x8-poll-max-body-bytes", "4096", "--max-body-bytes", "8192"}))),
            8192);
  // The raw topic ingest creates fits it plus key and headers (publish::topic_specs).
  const Settings s = parsed(with_poller({"--8x8-poll-max-body-bytes", "20000000"}));
  EXPECT_EQ(publish::topic_specs(s, largest_raw_body(s)).front().max_message_bytes,
            20000000 + publish::kRecordOverheadBytes);
  // Bounded: Kafka's requests must still carry it.
  Settings bad = ingest_settings();
  EXPECT_TRUE(bad.parse({"--8x8-poll-max-body-bytes", std::to_string(publish::kLargestBodyBytes + 1)}, {}));
  EXPECT_TRUE(bad.parse({"--8x8-poll-max-body-bytes", "0"}, {}));
}

TEST(IngestSettings, ParseApiKeys) {
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(parse_api_keys(""), Pairs{});
  EXPECT_EQ(parse_api_keys("A=ka,B=kb"), (Pairs{{"A", "ka"}, {"B", "kb"}}));
  EXPECT_EQ(parse_api_keys(" A = ka \n\nB=k=b\r\n,"), (Pairs{{"A", "ka"}, {"B", "k=b"}}));  // a key may hold '='
  auto message_of = [](std::string_view text) -> std::string {
    try {
      parse_api_keys(text);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(message_of("A=ka,s3cret"), "--8x8-api-keys: entry 2 is not id=key (keys are not shown)");
  EXPECT_EQ(message_of("=s3cret"), "--8x8-api-keys: entry 1 has no subaccount id");
  EXPECT_EQ(message_of("A="), "--8x8-api-keys: the key of subaccount 'A' is empty");
  EXPECT_EQ(message_of("A=s3cret,A=other"), "--8x8-api-keys: subaccount 'A' is given twice");
}

TEST(IngestSettings, EachSubaccountHasItsOwnKeyElseTheSharedOne) {
  auto subs = poll_subaccounts(parsed({"--8x8-poll-subaccounts", "SubA,SubB,SubC", "--8x8-api-keys",
                                       "SubA=key-a,SubB=key-b", "--8x8-api-key", "shared"}));
  ASSERT_EQ(subs.size(), 3u);
  EXPECT_EQ(subs[0].id, "SubA");
  EXPECT_EQ(subs[0].api_key, "key-a");
  EXPECT_EQ(subs[1].api_key, "key-b");
  EXPECT_EQ(subs[2].api_key, "shared");

  // Only per-subaccount keys, no shared one.
  subs = poll_subaccounts(parsed({"--8x8-poll-subaccounts", "SubA,SubB", "--8x8-api-keys", "SubB=key-b,SubA=key-a"}));
  ASSERT_EQ(subs.size(), 2u);
  EXPECT_EQ(subs[0].api_key, "key-a");
  EXPECT_EQ(subs[1].api_key, "key-b");

  EXPECT_TRUE(poll_subaccounts(parsed({})).empty());
}

TEST(IngestSettings, ApiKeysComeFromAFileLikeTheOtherSecrets) {
  const std::string path = ::testing::TempDir() + "numflow-api-keys-test";
  std::ofstream(path) << "SubA=file-key-a\nSubB=file-key-b\n";
  for (const auto& s : {parsed({"--8x8-poll-subaccounts", "SubA,SubB", "--8x8-api-keys-file", path}),
                        parsed({"--8x8-poll-subaccounts", "SubA,SubB"}, {{"NUMFLOW_8X8_API_KEYS_FILE", path}})}) {
    const auto subs = poll_subaccounts(s);
    ASSERT_EQ(subs.size(), 2u);
    EXPECT_EQ(subs[0].api_key, "file-key-a");
    EXPECT_EQ(subs[1].api_key, "file-key-b");
    // A secret: masked where the settings are described (the start-up log).
    for (const auto& [name, value] : s.describe()) {
      if (name.find("api-keys") != std::string::npos) {
        EXPECT_EQ(value.find("file-key"), std::string::npos) << value;
      }
    }
  }
  std::remove(path.c_str());
  EXPECT_EQ(ingest_settings().help().find("file-key"), std::string::npos);
}

TEST(IngestSettings, MissingOrStrayKeysAreRefusedWithoutShowingAKey) {
  EXPECT_EQ(error_of({"--8x8-poll-subaccounts", "SubA,SubB", "--8x8-api-keys", "SubA=s3cret"}),
            "8x8 subaccount 'SubB' is polled but has no API key: give it one in --8x8-api-keys (id=key) or set "
            "--8x8-api-key (or their _FILE forms)");
  EXPECT_EQ(error_of({"--8x8-poll-subaccounts", "SubA"}),
            "8x8 subaccount 'SubA' is polled but has no API key: give it one in --8x8-api-keys (id=key) or set "
            "--8x8-api-key (or their _FILE forms)");
  const std::string stray =
      error_of({"--8x8-poll-subaccounts", "SubA", "--8x8-api-keys", "SubA=s3cret,Typo=s3cret", "--8x8-api-key", "x"});
  EXPECT_EQ(stray, "--8x8-api-keys has a key for subaccount 'Typo', which --8x8-poll-subaccounts does not list");
  EXPECT_EQ(stray.find("s3cret"), std::string::npos);
}

TEST(IngestSettings, PollerOptionsFromSettings) {
  const auto o = poller_options(parsed({"--8x8-poll-subaccounts", "SubA", "--8x8-api-key", "k", "--8x8-api-base",
                                        "http://127.0.0.1:1", "--8x8-poll-interval-seconds", "7",
                                        "--8x8-poll-max-body-bytes", "2097152", "--raw-topic", "r",
                                        "--8x8-poll-backoff-min-seconds", "9", "--8x8-poll-backoff-max-seconds", "4"}));
  EXPECT_EQ(o.base_url, "http://127.0.0.1:1");
  EXPECT_EQ(o.interval, std::chrono::seconds(7));
  EXPECT_EQ(o.max_body_bytes, 2097152u);
  EXPECT_EQ(o.raw_topic, "r");
  EXPECT_EQ(o.backoff_min, std::chrono::seconds(4));  // never above the max
  EXPECT_EQ(o.backoff_max, std::chrono::seconds(4));
}

TEST(IngestSettings, NamesTildeAccount) {
  EXPECT_TRUE(names_tilde_account("/restapi/v1.0/account/~/extension/1"));
  EXPECT_TRUE(names_tilde_account("/restapi/v1.0/account/~/phone-number?usageType=ContactCenterNumber"));
  EXPECT_TRUE(names_tilde_account("https://platform.ringcentral.com/restapi/v1.0/account/~"));
  EXPECT_FALSE(names_tilde_account("/restapi/v1.0/account/37439510/extension/1"));
  EXPECT_FALSE(names_tilde_account("/restapi/v1.0/account/~x/extension/1"));
  EXPECT_FALSE(names_tilde_account("/restapi/v1.0/subscription/~?threshold=86400"));
  EXPECT_FALSE(names_tilde_account(""));
}

TEST(IngestSettings, RingCentralTildeEventsGetTheConfiguredAccountInTheRawKey) {
  const Provider& rc = *find_provider("ringcentral");
  const auto with = account_extractor(rc, "99");
  const auto without = account_extractor(rc);
  const std::string tilde_extension =
      R"({"uuid":"u","event":"/restapi/v1.0/account/~/extension/1","body":{"extensionId":"1","eventType":"Update"}})";
  EXPECT_EQ(with(tilde_extension), "99");
  EXPECT_EQ(without(tilde_extension), "");
  // A real account in the event path or the number's uri wins over the setting.
  EXPECT_EQ(with(R"({"event":"/restapi/v1.0/account/123/extension/1","body":{}})"), "123");
  EXPECT_EQ(with(R"({"event":"/restapi/v1.0/account/~/phone-number?usageType=ContactCenterNumber",)"
                 R"("body":{"phoneNumberInfo":{"uri":"https://platform.ringcentral.com/restapi/v1.0/account/456/phone-number/9"}}})"),
            "456");
  // Both say `~` (or a placeholder and `~`): the configured account.
  EXPECT_EQ(with(R"({"event":"/restapi/v1.0/account/~/phone-number?usageType=ContactCenterNumber",)"
                 R"("body":{"phoneNumberInfo":{"uri":"https://platform.ringcentral.com/restapi/v1.0/account/~/phone-number/9"}}})"),
            "99");
  EXPECT_EQ(with(R"({"event":"/restapi/v1.0/account/{accountId}/phone-number",)"
                 R"("body":{"phoneNumberInfo":{"uri":"/restapi/v1.0/account/~/phone-number/9"}}})"),
            "99");
  // Nothing says `~`: no account (a renewal reminder, garbage, a non-object).
  EXPECT_EQ(with(R"({"event":"/restapi/v1.0/subscription/~?threshold=86400","body":{}})"), "");
  EXPECT_EQ(with(R"({"event":"/restapi/v1.0/account/{accountId}/phone-number","body":{}})"), "");
  EXPECT_EQ(with("not json"), "");
  EXPECT_EQ(with("[]"), "");
  // Other providers never use it.
  EXPECT_EQ(account_extractor(*find_provider("zoom"), "99")(R"({"event":"/restapi/v1.0/account/~/extension/1"})"), "");
  EXPECT_EQ(account_extractor(*find_provider("zoom"), "99")(R"({"payload":{"account_id":"z1"}})"), "z1");
}

}  // namespace
}  // namespace numflow::ingest
