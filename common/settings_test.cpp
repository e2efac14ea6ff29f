#include "common/settings.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace numflow {
namespace {

Settings make() {
  Settings s("prog [OPTIONS]", "test");
  s.add({"brokers", "127.0.0.1:9092", "bootstrap"})
      .add({"max-body-bytes", "1048576", "limit", Option::Kind::integer})
      .add({"verbose", "false", "flag", Option::Kind::boolean})
      .add({"8x8-allow-cidr", "", "cidrs", Option::Kind::list})
      .add({"zoom-secret-token", "", "tokens", Option::Kind::list, true})
      .add({"kafka-property", "", "props", Option::Kind::map});
  return s;
}

std::string temp_file(const std::string& content) {
  char name[] = "/tmp/numflow-settings-XXXXXX";
  const int fd = mkstemp(name);
  close(fd);
  std::ofstream(name) << content;
  return name;
}

TEST(Settings, Defaults) {
  Settings s = make();
  ASSERT_FALSE(s.parse({}, {}));
  EXPECT_EQ(s.str("brokers"), "127.0.0.1:9092");
  EXPECT_EQ(s.integer("max-body-bytes"), 1048576);
  EXPECT_FALSE(s.boolean("verbose"));
  EXPECT_FALSE(s.is_set("brokers"));
}

TEST(Settings, FlagsWinOverEnvironmentWhichWinsOverTheFile) {
  const auto file = temp_file("brokers: file:1\nmax-body-bytes: 10\n8x8-allow-cidr: [10.0.0.0/8, 192.168.0.0/16]\n");
  Settings s = make();
  ASSERT_FALSE(s.parse({"--config", file, "--brokers=flag:1"},
                       {{"NUMFLOW_BROKERS", "env:1"}, {"NUMFLOW_MAX_BODY_BYTES", "20"}}));
  EXPECT_EQ(s.str("brokers"), "flag:1");
  EXPECT_EQ(s.integer("max-body-bytes"), 20);
  EXPECT_EQ(s.list("8x8-allow-cidr"), (std::vector<std::string>{"10.0.0.0/8", "192.168.0.0/16"}));
  std::remove(file.c_str());
}

TEST(Settings, EnvironmentNames) {
  EXPECT_EQ(Settings::env_name("8x8-allow-cidr"), "NUMFLOW_8X8_ALLOW_CIDR");
  EXPECT_EQ(Settings::env_name("zoom-secret-token"), "NUMFLOW_ZOOM_SECRET_TOKEN");
}

TEST(Settings, SecretsFromFiles) {
  const auto file = temp_file("s3cret-one,s3cret-two\n");
  Settings a = make();
  ASSERT_FALSE(a.parse({}, {{"NUMFLOW_ZOOM_SECRET_TOKEN_FILE", file}}));
  EXPECT_EQ(a.list("zoom-secret-token"), (std::vector<std::string>{"s3cret-one", "s3cret-two"}));
  Settings b = make();
  ASSERT_FALSE(b.parse({"--zoom-secret-token-file", file}, {}));
  EXPECT_EQ(b.list("zoom-secret-token").size(), 2u);
  for (const auto& [name, value] : b.describe())
    if (name == "zoom-secret-token") {
      EXPECT_EQ(value, "***");
    }
  EXPECT_EQ(b.help().find("s3cret"), std::string::npos);
  std::remove(file.c_str());
}

TEST(Settings, MissingSecretFileIsAClearError) {
  Settings s = make();
  const auto err = s.parse({"--zoom-secret-token-file", "/nonexistent/x"}, {});
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("zoom-secret-token"), std::string::npos);
  EXPECT_NE(err->find("/nonexistent/x"), std::string::npos);
}

TEST(Settings, KafkaPropertiesFromEveryWhere) {
  const auto file = temp_file("kafka-property:\n  linger.ms: 7\n  acks: all\n");
  Settings s = make();
  ASSERT_FALSE(s.parse({"--config", file, "--kafka-property", "acks=1", "--kafka-property", "client.id=x"},
                       {{"NUMFLOW_KAFKA_PROPERTY_SECURITY_PROTOCOL", "SASL_SSL"},
                        {"NUMFLOW_KAFKA_PROPERTY_SASL_PASSWORD", "hunter2"}}));
  const auto p = s.pairs("kafka-property");
  auto get = [&](const std::string& k) {
    for (const auto& [key, v] : p)
      if (key == k) return v;
    return std::string("<none>");
  };
  EXPECT_EQ(get("linger.ms"), "7");
  EXPECT_EQ(get("acks"), "1");
  EXPECT_EQ(get("client.id"), "x");
  EXPECT_EQ(get("security.protocol"), "SASL_SSL");
  for (const auto& [name, value] : s.describe())
    if (name == "kafka-property") {
      EXPECT_EQ(value.find("hunter2"), std::string::npos) << value;
    }
  std::remove(file.c_str());
}

TEST(Settings, BadInputGetsClearErrors) {
  EXPECT_NE(make().parse({"--nope"}, {})->find("unknown option --nope"), std::string::npos);
  EXPECT_NE(make().parse({"--max-body-bytes", "lots"}, {})->find("max-body-bytes"), std::string::npos);
  EXPECT_NE(make().parse({}, {{"NUMFLOW_VERBOSE", "maybe"}})->find("NUMFLOW_VERBOSE"), std::string::npos);
  EXPECT_NE(make().parse({"--brokers"}, {})->find("needs a value"), std::string::npos);
  EXPECT_NE(make().parse({"--kafka-property", "novalue"}, {})->find("key=value"), std::string::npos);
  const auto bad = temp_file("no-such-setting: 1\n");
  EXPECT_NE(make().parse({"--config", bad}, {})->find("unknown setting 'no-such-setting'"), std::string::npos);
  EXPECT_NE(make().parse({"--config", "/nonexistent.yaml"}, {})->find("cannot read config file"), std::string::npos);
  std::remove(bad.c_str());
}

TEST(Settings, BooleanFlagsAndPositional) {
  Settings s = make();
  ASSERT_FALSE(s.parse({"--verbose", "input.json"}, {}));
  EXPECT_TRUE(s.boolean("verbose"));
  EXPECT_EQ(s.positional(), std::vector<std::string>{"input.json"});
}

TEST(Settings, HelpListsEverySettingWithDefaultsAndEnvironment) {
  Settings s = make();
  ASSERT_FALSE(s.parse({"--help"}, {}));
  EXPECT_TRUE(s.help_requested());
  const auto h = s.help();
  for (const char* needle : {"--brokers", "127.0.0.1:9092", "NUMFLOW_BROKERS", "--8x8-allow-cidr",
                             "NUMFLOW_ZOOM_SECRET_TOKEN_FILE", "--config FILE"})
    EXPECT_NE(h.find(needle), std::string::npos) << needle;
}

}  // namespace
}  // namespace numflow

namespace numflow {
namespace {
// Found by fuzz_settings: a nested YAML value is a clear error, not an exception.
TEST(Settings, NestedYamlValueIsAClearError) {
  const auto file = temp_file("kafka-property:\n  a: [1]\n");
  const auto err = make().parse({"--config", file}, {});
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("wrong shape"), std::string::npos) << *err;
  std::remove(file.c_str());
}
}  // namespace
}  // namespace numflow

namespace numflow {
namespace {
// Found by fuzz_settings: --config naming a directory is a clear error, not a crash.
TEST(Settings, ConfigThatIsADirectoryIsAClearError) {
  const auto err = make().parse({"--config=/tmp"}, {});
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("cannot read config file"), std::string::npos) << *err;
}
}  // namespace
}  // namespace numflow

namespace numflow {
namespace {
TEST(Settings, EmptyConfigFileSetsNothing) {
  const std::string path = ::testing::TempDir() + "numflow-empty-config.yaml";
  { std::ofstream(path).flush(); }
  EXPECT_FALSE(make().parse({"--config=" + path}, {}));
}

TEST(Settings, MissingConfigFileIsAClearError) {
  const auto err = make().parse({"--config=/nonexistent/numflow.yaml"}, {});
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("cannot read config file /nonexistent/numflow.yaml"), std::string::npos) << *err;
}
}  // namespace
}  // namespace numflow

namespace numflow {
namespace {
// librdkafka values may hold commas (debug=eos,msg; a SASL password): an entry is one per line.
TEST(Settings, KafkaPropertyValuesKeepTheirCommas) {
  Settings s = make();
  ASSERT_FALSE(s.parse({"--kafka-property", "debug=eos,msg"}, {{"NUMFLOW_KAFKA_PROPERTY_SASL_PASSWORD", "a,b=c"}}));
  const auto p = s.pairs("kafka-property");
  EXPECT_EQ(p, (Settings::Pairs{{"sasl.password", "a,b=c"}, {"debug", "eos,msg"}}));
}

// A mounted Secret: NUMFLOW_KAFKA_PROPERTY_SASL_PASSWORD_FILE names the file holding the value.
TEST(Settings, KafkaPropertyFromAFile) {
  const std::string path = ::testing::TempDir() + "numflow-kafka-password";
  std::ofstream(path) << "s3cret,with=comma\n";
  Settings s = make();
  ASSERT_FALSE(s.parse({}, {{"NUMFLOW_KAFKA_PROPERTY_SASL_PASSWORD_FILE", path}}));
  EXPECT_EQ(s.pairs("kafka-property"), (Settings::Pairs{{"sasl.password", "s3cret,with=comma"}}));
  const auto err = make().parse({}, {{"NUMFLOW_KAFKA_PROPERTY_SASL_PASSWORD_FILE", "/nonexistent/pw"}});
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("/nonexistent/pw"), std::string::npos) << *err;
}

// An entry without '=' is refused without being quoted: it may be the tail of a secret.
TEST(Settings, MalformedKafkaPropertyIsNotQuoted) {
  const auto err = make().parse({}, {{"NUMFLOW_KAFKA_PROPERTY", "sasl.password=x\nhunter2"}});
  ASSERT_TRUE(err);
  EXPECT_EQ(err->find("hunter2"), std::string::npos) << *err;
}
}  // namespace
}  // namespace numflow

namespace numflow {
namespace {
// Found reviewing ingest for docs/SECURITY.md: a negative size became a huge unsigned one.
TEST(Settings, IntegersOutsideTheirRangeAreRefused) {
  const auto negative = make().parse({"--max-body-bytes", "-1"}, {});
  ASSERT_TRUE(negative);
  EXPECT_NE(negative->find("expected an integer from 0 to"), std::string::npos) << *negative;
  Settings s("prog", "test");
  s.add({"skew", "300", "seconds", Option::Kind::integer, false, 0, 86400})
      .add({"partitions", "-1", "n", Option::Kind::integer, false, -1, 100});
  EXPECT_TRUE(s.parse({"--skew", "9223372036854775807"}, {}));
  EXPECT_FALSE(s.parse({"--skew", "86400", "--partitions", "-1"}, {}));
  EXPECT_EQ(s.integer("skew"), 86400);
}
}  // namespace
}  // namespace numflow
