#include "transform/normalize_command.h"

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "common/settings.h"
#include "common/time.h"
#include "providers/json_util.h"
#include "providers/registry.h"
#include "transform/core/core.h"

namespace numflow::transform {
namespace {

Settings normalize_settings() {
  Settings s("numflow-transform normalize --provider P [--account A] [FILE|-]",
             "Runs one provider body through the transform's core, offline, as the first event ever seen (no "
             "prior state), and prints one JSON line per record it would publish:\n"
             "  {\"topic\": \"...\", \"key\": \"...\", \"value\": {...}}   (value null for a tombstone)\n"
             "A body that would be dead-lettered prints {\"topic\": \"webhooks.dead-letter\", \"error_code\": "
             "\"...\", \"error_detail\": \"...\"} and exits 1. Reads standard input when FILE is '-' or absent.");
  s.add({"provider", "", "8x8, zoom or ringcentral (required)"})
      .add({"account", "", "account used where the body names none (8x8 numbers API subaccount; RingCentral '~')"})
      .add({"8x8-snapshot-webhooks-complete", "false",
            "treat 8x8 SNAPSHOT webhooks whose totalNumbers matches the list as complete inventories",
            Option::Kind::boolean})
      .add({"number-changes-topic", "number-changes", "topic name printed for number-change records"})
      .add({"extension-changes-topic", "extension-changes", "topic name printed for extension-change records"})
      .add({"dead-letter-topic", "webhooks.dead-letter", "topic name printed for dead letters"});
  return s;
}

bool read_input(const std::vector<std::string>& positional, std::string& out, std::string& error) {
  if (positional.size() > 1) {
    error = "at most one input FILE";
    return false;
  }
  if (positional.empty() || positional[0] == "-") {
    out.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return true;
  }
  std::ifstream in(positional[0], std::ios::binary);
  if (!in) {
    error = "cannot read " + positional[0];
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

}  // namespace

int normalize_command(const std::vector<std::string>& args) {
  Settings s = normalize_settings();
  if (auto err = s.parse(args, {})) {
    std::cerr << "numflow-transform normalize: " << *err << "\n";
    return 2;
  }
  if (s.help_requested()) {
    std::cout << s.help();
    return 0;
  }
  if (!find_provider(s.str("provider"))) {
    std::cerr << "numflow-transform normalize: --provider must be one of 8x8, zoom, ringcentral\n";
    return 2;
  }
  std::string body, error;
  if (!read_input(s.positional(), body, error)) {
    std::cerr << "numflow-transform normalize: " << error << "\n";
    return 2;
  }
  MemoryStateStore state;
  const std::int64_t now = now_unix_ms();
  const RawEvent ev{s.str("provider"), s.str("account"), body, now, std::nullopt};
  const Result r = process(ev, state, CoreOptions{s.boolean("8x8-snapshot-webhooks-complete")}, now);

  int code = 0;
  std::string out;
  for (const Output& o : r.outputs) {
    if (o.topic == Topic::dead_letter) {
      out += "{\"topic\":" + json::quote(s.str("dead-letter-topic")) + ",\"error_code\":" + json::quote(o.error_code) +
             ",\"error_detail\":" + json::quote(o.error_detail) + "}\n";
      code = 1;
      continue;
    }
    const auto& topic = s.str(o.topic == Topic::number_changes ? "number-changes-topic" : "extension-changes-topic");
    out += "{\"topic\":" + json::quote(topic) + ",\"key\":" + json::quote(o.key) + ",\"value\":" +
           (o.value ? *o.value : std::string("null")) + "}\n";
  }
  std::cout << out << std::flush;
  if (r.outcome == Outcome::skipped) std::cerr << "skipped: " << r.detail << "\n";
  return code;
}

}  // namespace numflow::transform
