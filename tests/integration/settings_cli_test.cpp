// The real binaries' settings (contract §5): --help shows every option with its default and its
// environment variable; a setting given by environment variable, or by --config YAML file, takes
// effect; a flag beats the environment, which beats the file; a bad value stops the binary with
// exit 2 and a line naming the option. No broker is needed: the services start without one.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>

#include <fstream>
#include <string>

#include "tests/support/http_client.h"
#include "tests/support/pipeline_fixture.h"
#include "tests/support/process.h"

namespace numflow::testing {
namespace {

using namespace std::chrono_literals;

// `BINARY --help`: what it prints on standard output; it must exit 0.
std::string run_help(const char* binary) {
  FILE* f = ::popen((std::string(binary) + " --help 2>&1").c_str(), "r");
  EXPECT_NE(f, nullptr);
  if (!f) return "";
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  const int status = ::pclose(f);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << binary << " --help: status " << status;
  return out;
}

TEST(SettingsCli, HelpListsEveryContractSettingWithDefaultAndEnvironment) {
  const std::string ingest = run_help(NUMFLOW_INGEST_BIN);
  for (const char* s : {"--brokers", "127.0.0.1:9092", "NUMFLOW_BROKERS", "--listen", "0.0.0.0:8080", "--metrics-listen",
                        "--raw-topic", "webhooks.raw", "--max-body-bytes", "--zoom-secret-token", "--zoom-auth",
                        "--ringcentral-verification-token", "--8x8-allow-cidr", "--trusted-proxies", "--kafka-property",
                        "--config", "--8x8-poll-subaccounts", "--8x8-api-keys", "--shed-backlog-ms"})
    EXPECT_NE(ingest.find(s), std::string::npos) << s << "\n" << ingest;
  const std::string transform = run_help(NUMFLOW_TRANSFORM_BIN);
  for (const char* s : {"--brokers", "NUMFLOW_BROKERS", "--group-id", "--metrics-listen", "--number-changes-topic",
                        "number-changes", "--extension-changes-topic", "extension-changes", "--dead-letter-topic",
                        "webhooks.dead-letter", "--instance-id", "--batch-max-ms", "normalize"})
    EXPECT_NE(transform.find(s), std::string::npos) << s << "\n" << transform;
}

// Starts numflow-transform against no broker and answers whether /healthz is served on `port`.
bool transform_serves_on(int port, const std::vector<std::string>& args, const std::string& log) {
  Process p(NUMFLOW_TRANSFORM_BIN, args, log);
  const bool ok = wait_http_ok(port, "/healthz", 10s);
  p.signal(SIGTERM);
  p.wait(15s);
  return ok;
}

TEST(SettingsCli, EnvironmentAndConfigFileTakeEffectAndFlagsWin) {
  const int from_file = free_port(), from_env = free_port(), from_flag = free_port();
  const std::string config = "/tmp/numflow-test-settings-" + std::to_string(from_file) + ".yaml";
  std::ofstream(config) << "brokers: 127.0.0.1:1\nmetrics-listen: 127.0.0.1:" << from_file << "\n";

  EXPECT_TRUE(transform_serves_on(from_file, {"--config", config}, "/tmp/numflow-test-settings-file.log"));

  ::setenv("NUMFLOW_METRICS_LISTEN", ("127.0.0.1:" + std::to_string(from_env)).c_str(), 1);
  EXPECT_TRUE(transform_serves_on(from_env, {"--config", config}, "/tmp/numflow-test-settings-env.log"))
      << "the environment beats the file";
  EXPECT_TRUE(transform_serves_on(from_flag, {"--config", config, "--metrics-listen", "127.0.0.1:" + std::to_string(from_flag)},
                                  "/tmp/numflow-test-settings-flag.log"))
      << "a flag beats the environment";
  ::unsetenv("NUMFLOW_METRICS_LISTEN");
}

TEST(SettingsCli, BadValuesStopTheBinariesWithExitTwoNamingTheOption) {
  Process ingest(NUMFLOW_INGEST_BIN, {"--max-body-bytes", "lots", "--8x8-auth", "none", "--zoom-auth", "none",
                                      "--ringcentral-auth", "none"},
                 "/tmp/numflow-test-settings-bad-ingest.log");
  EXPECT_EQ(ingest.wait(10s), 2);
  EXPECT_NE(ingest.log().find("max-body-bytes"), std::string::npos) << ingest.log();
  Process transform(NUMFLOW_TRANSFORM_BIN, {"--no-such-option"}, "/tmp/numflow-test-settings-bad-transform.log");
  EXPECT_EQ(transform.wait(10s), 2);
  EXPECT_NE(transform.log().find("no-such-option"), std::string::npos) << transform.log();
}

}  // namespace
}  // namespace numflow::testing
