// `numflow-transform normalize` (contract §5), the real binary run as a child process:
//
//   normalize_cli_test PATH/TO/numflow-transform SOURCE_DIR     (tests/CMakeLists.txt passes both)
//
// Every fixture in providers/*/fixtures goes through it; its output must be the contract's line
// format and exactly what the transform's core (transform::process, linked here) produces for the
// same body and account, and its exit code 0 without dead letters, 1 with one. Then usage errors
// (exit 2), FILE vs '-' vs no argument, --account, --help.
#include <fcntl.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "transform/core/core.h"

extern char** environ;

namespace {

std::string g_binary;      // numflow-transform
std::filesystem::path g_source;  // the repository

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct CliRun {
  int code = -1;
  std::string out, err;
  std::vector<std::string> lines() const {
    std::vector<std::string> v;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) v.push_back(line);
    return v;
  }
};

// Runs `numflow-transform normalize ARGS...` with `stdin_data` (nullptr: /dev/null) on its
// standard input; stdout and stderr captured through files.
CliRun normalize(std::vector<std::string> args, const std::string* stdin_data = nullptr) {
  static int counter = 0;
  const fs::path dir = fs::temp_directory_path() / ("numflow-normalize-cli-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string n = std::to_string(counter++);
  const fs::path in = dir / ("in" + n), out = dir / ("out" + n), err = dir / ("err" + n);
  std::ofstream(in, std::ios::binary) << (stdin_data ? *stdin_data : std::string());

  args.insert(args.begin(), {g_binary, "normalize"});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, stdin_data ? in.c_str() : "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, g_binary.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  CliRun r;
  if (rc != 0) {
    r.err = "cannot start " + g_binary;
    return r;
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(out);
  r.err = read_file(err);
  fs::remove(in);
  fs::remove(out);
  fs::remove(err);
  return r;
}

std::string describe(const CliRun& r) { return "exit " + std::to_string(r.code) + "\nstdout:\n" + r.out + "stderr:\n" + r.err; }

std::string serialize(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return buf.GetString();
}

// Removes what depends on the time of the run from a record value: processed_at, and event_time
// when it is that same time (an event that carries no time of its own gets the time it was
// received, which offline is now).
void drop_run_time(rapidjson::Value& v) {
  if (!v.IsObject()) return;
  if (v.HasMember("processed_at") && v.HasMember("event_time") && v["event_time"] == v["processed_at"])
    v.RemoveMember("event_time");
  v.RemoveMember("processed_at");
}

// A record value without its time of the run, as canonical text.
std::string without_run_time(std::string_view json) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  if (d.HasParseError() || !d.IsObject()) return "<not a JSON object: " + std::string(json) + ">";
  drop_run_time(d);
  return serialize(d);
}

std::vector<std::string> member_names(const rapidjson::Value& o) {
  std::vector<std::string> names;
  for (const auto& m : o.GetObject()) names.emplace_back(m.name.GetString());
  std::sort(names.begin(), names.end());
  return names;
}

struct Fixture {
  std::string provider;
  fs::path path;
  std::string relative() const { return fs::relative(path, g_source).string(); }
};

std::vector<Fixture> all_fixtures() {
  std::vector<Fixture> out;
  for (const auto& dir : fs::directory_iterator(g_source / "providers")) {
    const fs::path fixtures = dir.path() / "fixtures";
    if (!fs::is_directory(fixtures)) continue;
    for (const auto& f : fs::directory_iterator(fixtures))
      if (f.is_regular_file() && f.path().extension() == ".json")
        out.push_back({dir.path().filename().string(), f.path()});
  }
  std::sort(out.begin(), out.end(), [](const Fixture& a, const Fixture& b) { return a.path < b.path; });
  return out;
}

// Checks one run's output against the contract's line format and against transform::process on
// the same input (no prior state, as the command promises). Sets `dead` to the dead-letter lines.
void check_against_core(const CliRun& r, std::string_view provider, std::string_view account, const std::string& body,
                        const std::string& what, int& dead) {
  SCOPED_TRACE(what + "\n" + describe(r));
  numflow::transform::MemoryStateStore state;
  const std::int64_t now = 1700000000000;
  const numflow::transform::RawEvent ev{provider, account, body, now, std::nullopt};
  const auto expected = numflow::transform::process(ev, state, numflow::transform::CoreOptions{}, now);

  const auto lines = r.lines();
  EXPECT_TRUE(r.out.empty() || r.out.back() == '\n') << "every line ends with a newline";
  EXPECT_EQ(lines.size(), expected.outputs.size());
  dead = 0;
  std::set<std::string> deleted;  // keys whose `deleted` record came: a tombstone must follow
  for (std::size_t i = 0; i < lines.size(); ++i) {
    SCOPED_TRACE("line " + std::to_string(i + 1) + ": " + lines[i]);
    rapidjson::Document d;
    d.Parse(lines[i].data(), lines[i].size());
    ASSERT_FALSE(d.HasParseError());
    ASSERT_TRUE(d.IsObject());
    ASSERT_TRUE(d.HasMember("topic") && d["topic"].IsString());
    const std::string topic = d["topic"].GetString();
    if (topic == "webhooks.dead-letter") {
      ++dead;
      EXPECT_EQ(member_names(d), (std::vector<std::string>{"error_code", "error_detail", "topic"}));
      ASSERT_TRUE(d["error_code"].IsString() && d["error_detail"].IsString());
      EXPECT_FALSE(std::string(d["error_code"].GetString()).empty());
    } else {
      EXPECT_TRUE(topic == "number-changes" || topic == "extension-changes") << topic;
      EXPECT_EQ(member_names(d), (std::vector<std::string>{"key", "topic", "value"}));
      ASSERT_TRUE(d["key"].IsString());
      const std::string key = d["key"].GetString();
      ASSERT_TRUE(d["value"].IsObject() || d["value"].IsNull()) << "value is a record or null (a tombstone)";
      if (d["value"].IsNull()) {
        EXPECT_EQ(deleted.count(key), 1u) << "a tombstone follows its key's deleted record";
      } else {
        const auto& v = d["value"];
        EXPECT_TRUE(v.HasMember("schema") && v["schema"].IsString());
        ASSERT_TRUE(v.HasMember("change") && v["change"].IsString());
        if (std::string(v["change"].GetString()) == "deleted") deleted.insert(key);
        EXPECT_TRUE(v.HasMember("source") && v["source"].IsNull()) << "source is null offline";
        if (topic == "number-changes") {
          EXPECT_EQ(key, v["number"].GetString());
        }
      }
    }
    if (i >= expected.outputs.size()) continue;
    // Exactly what the core produces, in its order.
    const auto& o = expected.outputs[i];
    using numflow::transform::Topic;
    const char* want_topic = o.topic == Topic::dead_letter      ? "webhooks.dead-letter"
                             : o.topic == Topic::number_changes ? "number-changes"
                                                                : "extension-changes";
    EXPECT_EQ(topic, want_topic);
    if (o.topic == Topic::dead_letter) {
      EXPECT_EQ(std::string(d["error_code"].GetString()), o.error_code);
      EXPECT_EQ(std::string(d["error_detail"].GetString()), o.error_detail);
    } else {
      EXPECT_EQ(std::string(d["key"].GetString()), o.key);
      EXPECT_EQ(d["value"].IsNull(), !o.value.has_value());
      if (o.value && d["value"].IsObject()) {
        EXPECT_EQ(without_run_time(serialize(d["value"])), without_run_time(*o.value));
      }
    }
  }
  EXPECT_EQ(r.code, dead > 0 ? 1 : 0) << "exit 1 exactly when something would be dead-lettered";
}

TEST(NormalizeCli, EveryFixtureAsFileAndOnStandardInput) {
  const auto fixtures = all_fixtures();
  std::set<std::string> providers;
  for (const auto& f : fixtures) providers.insert(f.provider);
  ASSERT_EQ(providers, (std::set<std::string>{"8x8", "ringcentral", "zoom"}));
  ASSERT_GE(fixtures.size(), 15u);
  int dead_lettering = 0, tombstones = 0, records = 0;
  for (const auto& f : fixtures) {
    const std::string body = read_file(f.path);
    for (const std::string& account : {std::string(), std::string("Acct-77")}) {
      std::vector<std::string> args{"--provider", f.provider};
      if (!account.empty()) args.insert(args.end(), {"--account", account});
      const CliRun from_file = normalize([&] { auto a = args; a.push_back(f.path.string()); return a; }());
      int dead = 0;
      check_against_core(from_file, f.provider, account, body, f.relative() + " --account '" + account + "'", dead);
      dead_lettering += dead > 0 ? 1 : 0;
      for (const auto& line : from_file.lines()) {
        tombstones += line.ends_with(",\"value\":null}") ? 1 : 0;
        records += line.find("\"value\":{") != std::string::npos ? 1 : 0;
      }
      // '-' and no FILE read standard input: the same lines (the time of the run aside), the same code.
      for (const bool dash : {true, false}) {
        auto a = args;
        if (dash) a.push_back("-");
        const CliRun from_stdin = normalize(a, &body);
        SCOPED_TRACE(f.relative() + (dash ? " on stdin with '-'" : " on stdin without FILE"));
        EXPECT_EQ(from_stdin.code, from_file.code) << describe(from_stdin);
        const auto x = from_file.lines(), y = from_stdin.lines();
        ASSERT_EQ(x.size(), y.size()) << describe(from_stdin);
        for (std::size_t i = 0; i < x.size(); ++i) {
          rapidjson::Document dx, dy;
          dx.Parse(x[i].c_str());
          dy.Parse(y[i].c_str());
          ASSERT_TRUE(dx.IsObject() && dy.IsObject());
          if (dx.HasMember("value")) drop_run_time(dx["value"]);
          if (dy.HasMember("value")) drop_run_time(dy["value"]);
          EXPECT_EQ(serialize(dx), serialize(dy));
        }
      }
    }
  }
  // The fixtures exercise every kind of line.
  EXPECT_GT(dead_lettering, 0);
  EXPECT_GT(tombstones, 0);
  EXPECT_GT(records, 0);
}

// A few fixtures pinned by hand: the exit codes and keys a user sees.
TEST(NormalizeCli, KnownFixturesPinned) {
  const fs::path p = g_source / "providers";
  // 8x8 webhook seed: two numbers, exit 0.
  CliRun r = normalize({"--provider", "8x8", (p / "8x8/fixtures/webhook-seed.json").string()});
  ASSERT_EQ(r.code, 0) << describe(r);
  auto lines = r.lines();
  ASSERT_EQ(lines.size(), 2u) << describe(r);
  EXPECT_TRUE(lines[0].starts_with(R"({"topic":"number-changes","key":"+65123456789","value":{)")) << lines[0];
  EXPECT_TRUE(lines[1].starts_with(R"({"topic":"number-changes","key":"+65987654321","value":{)")) << lines[1];

  // The 8x8 numbers API seed lists the placeholder msisdn "string": invalid_number, exit 1.
  r = normalize({"--provider", "8x8", (p / "8x8/fixtures/numbers-api-seed.json").string()});
  EXPECT_EQ(r.code, 1) << describe(r);
  ASSERT_FALSE(r.lines().empty()) << describe(r);
  EXPECT_TRUE(r.lines().back().starts_with(R"({"topic":"webhooks.dead-letter","error_code":"invalid_number","error_detail":")"))
      << describe(r);

  // A RingCentral deletion: the deleted record, then the tombstone `null`.
  r = normalize({"--provider", "ringcentral", (p / "ringcentral/fixtures/phone-number-deleted.json").string()});
  ASSERT_EQ(r.code, 0) << describe(r);
  lines = r.lines();
  ASSERT_EQ(lines.size(), 2u) << describe(r);
  EXPECT_NE(lines[0].find(R"("change":"deleted")"), std::string::npos);
  EXPECT_EQ(lines[1], R"({"topic":"number-changes","key":"+442071234567","value":null})");

  // A subscription renewal reminder is skipped: no line, exit 0, the reason on stderr.
  r = normalize({"--provider", "ringcentral", (p / "ringcentral/fixtures/subscription-renewal-reminder.json").string()});
  EXPECT_EQ(r.code, 0) << describe(r);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("skipped"), std::string::npos) << describe(r);

  // Not JSON: invalid_json, exit 1.
  const std::string garbage = "this is not json";
  r = normalize({"--provider", "zoom", "-"}, &garbage);
  EXPECT_EQ(r.code, 1) << describe(r);
  ASSERT_EQ(r.lines().size(), 1u) << describe(r);
  EXPECT_TRUE(r.lines()[0].starts_with(R"({"topic":"webhooks.dead-letter","error_code":"invalid_json",)")) << r.out;
}

TEST(NormalizeCli, AccountFillsWhatTheBodyDoesNotName) {
  const fs::path p = g_source / "providers";
  auto first_value = [](const CliRun& r, std::size_t line = 0) {
    rapidjson::Document d;
    const auto lines = r.lines();
    if (lines.size() > line) d.Parse(lines[line].c_str());
    return d;
  };
  // The 8x8 numbers API names no subaccount: --account is the polled one.
  CliRun without = normalize({"--provider", "8x8", (p / "8x8/fixtures/numbers-api-response.json").string()});
  CliRun with = normalize({"--provider", "8x8", "--account", "MySubAccount", (p / "8x8/fixtures/numbers-api-response.json").string()});
  ASSERT_EQ(with.code, 0) << describe(with);
  EXPECT_STREQ(first_value(without)["value"]["account_id"].GetString(), "");
  EXPECT_STREQ(first_value(with)["value"]["account_id"].GetString(), "MySubAccount");
  EXPECT_STREQ(first_value(with)["value"]["event_type"].GetString(), "NUMBERS_API_SNAPSHOT");

  // A RingCentral extension event on account `~`: the account goes into the record and its key.
  with = normalize({"--provider", "ringcentral", "--account", "99", (p / "ringcentral/fixtures/extension-update-seed.json").string()});
  ASSERT_EQ(with.code, 0) << describe(with);
  EXPECT_STREQ(first_value(with)["key"].GetString(), "ringcentral:99:8475874957");
  EXPECT_STREQ(first_value(with)["value"]["account_id"].GetString(), "99");

  // A body that names its account keeps it: --account only fills a gap.
  with = normalize({"--provider", "ringcentral", "--account", "99", (p / "ringcentral/fixtures/phone-number-created-seed.json").string()});
  ASSERT_EQ(with.code, 0) << describe(with);
  EXPECT_STREQ(first_value(with)["value"]["account_id"].GetString(), "37439510");
  with = normalize({"--provider", "8x8", "--account", "Other", (p / "8x8/fixtures/webhook-seed.json").string()});
  EXPECT_STREQ(first_value(with)["value"]["account_id"].GetString(), "MySubAccount");
}

TEST(NormalizeCli, UsageAndInputErrorsExit2) {
  const std::string fixture = (g_source / "providers/8x8/fixtures/webhook-seed.json").string();
  const std::string body = read_file(fixture);
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{fixture}, "--provider must be one of 8x8, zoom, ringcentral"},
           {{"--provider", "bandwidth", fixture}, "--provider must be one of 8x8, zoom, ringcentral"},
           {{"--provider", "8x8", "/nonexistent/body.json"}, "cannot read /nonexistent/body.json"},
           {{"--provider", "8x8", fixture, fixture}, "at most one input FILE"},
           {{"--provider", "8x8", "--no-such-option", "x", fixture}, "unknown option --no-such-option"},
           {{"--provider"}, "needs a value"},
       }) {
    std::string joined;
    for (const auto& a : c.args) joined += " " + a;
    const CliRun r = normalize(c.args, &body);
    EXPECT_EQ(r.code, 2) << joined << "\n" << describe(r);
    EXPECT_EQ(r.out, "") << joined << ": nothing on stdout";
    EXPECT_NE(r.err.find("numflow-transform normalize: "), std::string::npos) << joined << "\n" << describe(r);
    EXPECT_NE(r.err.find(c.message), std::string::npos) << joined << "\n" << describe(r);
  }
}

TEST(NormalizeCli, Help) {
  for (const char* flag : {"--help", "-h"}) {
    const CliRun r = normalize({flag});
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_NE(r.out.find("numflow-transform normalize --provider P [--account A] [FILE|-]"), std::string::npos) << r.out;
    for (const char* option : {"--provider", "--account", "--8x8-snapshot-webhooks-complete"})
      EXPECT_NE(r.out.find(option), std::string::npos) << option << "\n" << r.out;
  }
  // Also after other arguments, and without reading standard input.
  const CliRun r = normalize({"--provider", "8x8", "--help"});
  EXPECT_EQ(r.code, 0) << describe(r);
  EXPECT_NE(r.out.find("--provider"), std::string::npos);
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc != 3) {
    std::cerr << "usage: normalize_cli_test PATH/TO/numflow-transform SOURCE_DIR [gtest flags]\n";
    return 2;
  }
  g_binary = argv[1];
  g_source = fs::absolute(argv[2]);
  return RUN_ALL_TESTS();
}
