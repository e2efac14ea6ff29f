#pragma once
// Settings as contract §5 wants them: every option is a flag `--kebab-name`, an environment
// variable `NUMFLOW_UPPER_SNAKE_NAME`, or a key of the YAML file given by `--config`; flags win
// over the environment, which wins over the file. Secrets may be read from a file
// (`--x-file`, `NUMFLOW_X_FILE`, `x-file:`) so Kubernetes Secrets mount cleanly.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace YAML {
class Node;
}

namespace numflow {

struct Option {
  enum class Kind { string, integer, boolean, list, map };
  std::string name;           // kebab-case, e.g. "zoom-secret-token"
  std::string default_value;  // as it would be typed; "" = none
  std::string help;
  Kind kind = Kind::string;
  bool secret = false;  // value may come from a file; never shown in --help or logs
  // Integer options: the accepted range. Negative counts, sizes and durations are refused unless
  // an option says otherwise; a bound keeps a huge value from overflowing where it is used.
  std::int64_t min = 0;
  std::int64_t max = std::int64_t{1} << 40;
};

class Settings {
 public:
  using Env = std::map<std::string, std::string>;
  using Pairs = std::vector<std::pair<std::string, std::string>>;

  Settings(std::string usage, std::string summary);
  Settings& add(Option option);

  // Parses the arguments after the program name. Returns an error message (naming the option and
  // where it came from) or nullopt. `--help` sets help_requested() and stops parsing.
  std::optional<std::string> parse(const std::vector<std::string>& args, const Env& env);

  bool help_requested() const { return help_requested_; }
  std::string help() const;

  const std::string& str(std::string_view name) const;
  std::int64_t integer(std::string_view name) const;
  bool boolean(std::string_view name) const;
  std::vector<std::string> list(std::string_view name) const;  // comma-separated, trimmed, no empties
  Pairs pairs(std::string_view name) const;                     // map options: key=value entries
  bool is_set(std::string_view name) const;                     // given anywhere but the default
  const std::vector<std::string>& positional() const { return positional_; }

  // Where each option's value came from, secrets masked: for the start-up log line.
  std::vector<std::pair<std::string, std::string>> describe() const;

  // The start of every numflow main(): parse argv and the environment; on --help print the help;
  // on an error print it prefixed with `program`. Returns the exit code to leave with, or nullopt
  // to go on. Also applies `log-level` when the settings have one.
  std::optional<int> parse_command_line(std::string_view program, const std::vector<std::string>& args);

  static std::string env_name(std::string_view option_name);  // "8x8-allow-cidr" -> NUMFLOW_8X8_ALLOW_CIDR
  static Env process_environment();

 private:
  struct Entry {
    Option option;
    std::string value;
    Pairs pairs;
    int rank = 0;  // 0 default, 1 file, 2 env, 3 flag
  };
  Entry* find(std::string_view name);
  const Entry& get(std::string_view name) const;
  std::optional<std::string> assign(Entry& e, std::string value, int rank, std::string_view origin);
  // `prefix` goes before the file's content (a map option's "key=").
  std::optional<std::string> assign_file(Entry& e, const std::string& path, int rank, std::string_view origin,
                                         std::string_view prefix = {});
  std::optional<std::string> load_file(const std::string& path);
  std::optional<std::string> load_yaml(const YAML::Node& root, const std::string& path);

  std::string usage_, summary_;
  std::vector<Entry> entries_;
  std::vector<std::string> positional_;
  bool help_requested_ = false;
};

}  // namespace numflow
