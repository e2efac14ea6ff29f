// fuzz_settings: command line + environment + YAML config file -> numflow::Settings::parse
// (common/settings.h), with the options numflow-ingest and numflow-transform declare (every kind:
// string, integer, boolean, list, map, secret), then every accessor.
//
// Input layout: three sections separated by "\0\0":
//   1. the arguments after the program name, separated by "\0";
//   2. the environment, "NAME=value" entries separated by "\0";
//   3. a YAML document, written to a private temporary file and given as `--config FILE` (first,
//      so flags in section 1 may still name another --config).
//
// Settings may name files (--config, --x-file, NUMFLOW_X_FILE, x-file:). Reading a regular file is
// fine, but /dev/zero or /dev/stdin would hang or fill memory for reasons that are not bugs (only
// the operator chooses those paths), so inputs that could name /dev, /proc or /sys are skipped.
//
// Checks, beyond sanitizer reports: parse() returns its errors rather than throwing; a value accepted for an integer option
// reads back as an integer; secrets are masked in describe(), and so are sensitive kafka-property
// keys.
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <string>

#include "common/settings.h"
#include "fuzz/fuzz_util.h"
#include "publish/kafka_settings.h"

namespace {

using namespace numflow;
namespace fz = numflow::fuzz;
using Kind = Option::Kind;

Settings make_settings() {
  Settings s("numflow-fuzz [OPTIONS]", "settings under fuzzing");
  publish::add_kafka_options(s);
  // A cross-section of numflow-ingest's and numflow-transform's options (their main.cpp).
  s.add({"listen", "0.0.0.0:8080", "address"})
      .add({"max-body-bytes", "1048576", "largest accepted body", Kind::integer})
      .add({"zoom-auth", "", "'none'"})
      .add({"zoom-secret-token", "", "Zoom secret token(s)", Kind::list, true})
      .add({"zoom-max-skew", "300", "seconds", Kind::integer})
      .add({"ringcentral-verification-token", "", "token", Kind::string, true})
      .add({"8x8-allow-cidr", "", "source networks", Kind::list})
      .add({"8x8-auth-header", "", "Authorization value", Kind::string, true})
      .add({"8x8-api-key", "", "API key", Kind::string, true})
      .add({"8x8-poll-subaccounts", "", "subaccounts", Kind::list})
      .add({"8x8-snapshot-webhooks-complete", "false", "complete snapshots", Kind::boolean})
      .add({"batch-max-messages", "1000", "messages per transaction", Kind::integer})
      .add({"log-level", "info", "debug, info, warn or error"});
  return s;
}

// Could these bytes name a special file (see above)? Letters only, so "/d/e/v", "d\\\nev" or
// "de\"\"v" are caught too; YAML's \x, \u and \U escapes could spell any byte, so they count too.
bool names_special_files(std::string_view in) {
  std::string letters;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(in[i]);
    if (c == '\\' && i + 1 < in.size() && (in[i + 1] == 'x' || in[i + 1] == 'u' || in[i + 1] == 'U')) return true;
    if (std::isalpha(c)) letters += static_cast<char>(std::tolower(c));
  }
  for (const char* bad : {"dev", "proc", "sys"})
    if (letters.find(bad) != std::string::npos) return true;
  return false;
}

struct TempConfig {
  std::string dir, path;
  TempConfig() {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/numflow-fuzz-settings-XXXXXX";
    if (!mkdtemp(templ.data())) std::abort();
    dir = templ;
    path = dir + "/config.yaml";
  }
  ~TempConfig() {
    unlink(path.c_str());
    rmdir(dir.c_str());
  }
  void write(std::string_view text) const {
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) std::abort();
    std::size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
      if (n <= 0) std::abort();
      done += static_cast<std::size_t>(n);
    }
    close(fd);
  }
};

const TempConfig& temp_config() {
  static const TempConfig t;
  return t;
}

bool sensitive_key(const std::string& k) {
  return k.find("password") != std::string::npos || k.find("secret") != std::string::npos ||
         k.find("key") != std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fz::as_view(data, size);
  if (names_special_files(input)) return -1;
  const auto sections = fz::split(input, std::string_view("\0\0", 2), 3);

  std::vector<std::string> args;
  if (sections.size() > 2) {
    temp_config().write(sections[2]);
    args = {"--config", temp_config().path};
  }
  if (!sections[0].empty())
    for (auto a : fz::split(sections[0], std::string_view("\0", 1), 64)) args.emplace_back(a);
  Settings::Env env;
  if (sections.size() > 1 && !sections[1].empty())
    for (auto kv : fz::split(sections[1], std::string_view("\0", 1), 64)) {
      const auto eq = kv.find('=');
      if (eq != std::string_view::npos) env[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
    }

  Settings s = make_settings();
  std::optional<std::string> err;
  try {
    err = s.parse(args, env);  // documented to return its errors, never to throw
  } catch (const std::exception& e) {
    fz::fail("Settings::parse threw instead of returning an error", e.what());
    return 0;
  }
  if (err || s.help_requested()) {
    if (s.help_requested()) (void)s.help();
    return 0;
  }

  const auto described = s.describe();
  for (const auto& [name, shown] : described) {
    if (name == "kafka-property") {
      std::string want;
      for (const auto& [k, v] : s.pairs(name)) {
        if (!want.empty()) want += ',';
        want += k + "=" + (sensitive_key(k) ? std::string("***") : v);
      }
      fz::check(shown == want, "describe() of kafka-property is not the masked pairs", shown);
      continue;
    }
    // Secret options are shown as "***" or not at all.
    if (name == "zoom-secret-token" || name == "ringcentral-verification-token" || name == "8x8-auth-header" ||
        name == "8x8-api-key")
      fz::check(shown.empty() || shown == "***", "describe() shows a secret", name);
    (void)s.str(name);
    (void)s.is_set(name);
    (void)s.list(name);
  }
  for (const char* n : {"max-body-bytes", "zoom-max-skew", "batch-max-messages", "topic-partitions",
                        "topic-replication-factor"}) {
    try {
      (void)s.integer(n);
    } catch (const std::exception& e) {
      fz::fail("an accepted integer setting does not read back", std::string(n) + ": " + e.what());
    }
  }
  (void)s.boolean("8x8-snapshot-webhooks-complete");
  (void)publish::kafka_properties(s);
  (void)publish::topic_specs(s);
  (void)s.positional();
  return 0;
}
