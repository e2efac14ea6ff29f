#include "common/settings.h"

#include <yaml-cpp/yaml.h>

#include "common/log.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <iostream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace numflow {
namespace {

constexpr int kFile = 1, kEnv = 2, kFlag = 3;

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == ',' || s[i] == '\n') {
      std::string item = trim(s.substr(start, i - start));
      if (!item.empty()) out.push_back(std::move(item));
      start = i + 1;
    }
  }
  return out;
}

// A map option's entries are one per line: a librdkafka value may itself hold commas
// (debug=eos,msg; a password), so commas never split an entry.
std::vector<std::string> split_lines(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '\n') {
      std::string item = trim(s.substr(start, i - start));
      if (!item.empty()) out.push_back(std::move(item));
      start = i + 1;
    }
  }
  return out;
}

std::optional<bool> parse_bool(std::string_view v) {
  std::string l(v);
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  if (l == "true" || l == "1" || l == "yes" || l == "on") return true;
  if (l == "false" || l == "0" || l == "no" || l == "off") return false;
  return std::nullopt;
}

std::optional<std::int64_t> parse_int(std::string_view v) {
  const std::string s = trim(v);
  if (s.empty()) return std::nullopt;
  std::size_t used = 0;
  try {
    const long long n = std::stoll(s, &used, 10);
    if (used != s.size()) return std::nullopt;
    return n;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Environment variables for map options: NUMFLOW_KAFKA_PROPERTY_SECURITY_PROTOCOL=SASL_SSL means
// security.protocol=SASL_SSL (librdkafka property names use dots, never underscores).
std::string env_suffix_to_property(std::string_view suffix) {
  std::string out;
  for (char c : suffix) out.push_back(c == '_' ? '.' : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

}  // namespace

Settings::Settings(std::string usage, std::string summary) : usage_(std::move(usage)), summary_(std::move(summary)) {}

Settings& Settings::add(Option option) {
  Entry e;
  e.value = option.default_value;
  e.option = std::move(option);
  entries_.push_back(std::move(e));
  return *this;
}

std::string Settings::env_name(std::string_view option_name) {
  std::string out = "NUMFLOW_";
  for (char c : option_name) out.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

Settings::Env Settings::process_environment() {
  Env env;
  for (char** p = environ; p && *p; ++p) {
    std::string_view kv(*p);
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    if (kv.substr(0, 8) != "NUMFLOW_") continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

Settings::Entry* Settings::find(std::string_view name) {
  for (auto& e : entries_)
    if (e.option.name == name) return &e;
  return nullptr;
}

const Settings::Entry& Settings::get(std::string_view name) const {
  for (const auto& e : entries_)
    if (e.option.name == name) return e;
  throw std::out_of_range("unknown setting " + std::string(name));
}

std::optional<std::string> Settings::assign(Entry& e, std::string value, int rank, std::string_view origin) {
  if (rank < e.rank) return std::nullopt;  // a stronger source already set it
  const auto bad = [&](std::string_view what) {
    return "invalid value for " + e.option.name + " (from " + std::string(origin) + "): " + std::string(what);
  };
  switch (e.option.kind) {
    case Option::Kind::integer:
      if (const auto n = parse_int(value); !n) {
        return bad("expected an integer, got '" + value + "'");
      } else if (*n < e.option.min || *n > e.option.max) {
        return bad("expected an integer from " + std::to_string(e.option.min) + " to " + std::to_string(e.option.max) +
                   ", got " + value);
      }
      break;
    case Option::Kind::boolean:
      if (!parse_bool(value)) return bad("expected true or false, got '" + value + "'");
      break;
    case Option::Kind::map: {
      // Entries accumulate within one source; a stronger source replaces a key, not the whole map.
      for (const auto& item : split_lines(value)) {
        const auto eq = item.find('=');
        // The entry is not quoted back: it may be part of a secret.
        if (eq == std::string::npos || eq == 0) return bad("expected key=value, got an entry without a key");
        const std::string key = trim(std::string_view(item).substr(0, eq));
        std::string val = trim(std::string_view(item).substr(eq + 1));
        auto it = std::find_if(e.pairs.begin(), e.pairs.end(), [&](const auto& p) { return p.first == key; });
        if (it == e.pairs.end())
          e.pairs.emplace_back(key, std::move(val));
        else
          it->second = std::move(val);
      }
      e.rank = std::max(e.rank, rank);
      return std::nullopt;
    }
    default:
      break;
  }
  e.value = std::move(value);
  e.rank = rank;
  return std::nullopt;
}

std::optional<std::string> Settings::assign_file(Entry& e, const std::string& path, int rank, std::string_view origin,
                                                 std::string_view prefix) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "cannot read " + e.option.name + " from file " + path + " (from " + std::string(origin) + ")";
  std::stringstream ss;
  ss << in.rdbuf();
  return assign(e, std::string(prefix) + trim(ss.str()), rank, origin);
}

std::optional<std::string> Settings::load_file(const std::string& path) {
  // Read the file ourselves: yaml-cpp 0.7's LoadFile leaks its buffer when the stream fails
  // (a directory, say), and its error would not say why.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return "cannot read config file " + path + ": it is a directory";
  std::ifstream in(path, std::ios::binary);
  if (!in) return "cannot read config file " + path + ": " + std::strerror(errno);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return "cannot read config file " + path + ": read error";
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const std::exception& ex) {
    return "cannot read config file " + path + ": " + ex.what();
  }
  if (root.IsNull()) return std::nullopt;
  try {
    return load_yaml(root, path);
  } catch (const YAML::Exception& ex) {
    return "config file " + path + ": a value has the wrong shape (" + ex.what() +
           "); settings take a scalar, a list of scalars, or for kafka-property a mapping of scalars";
  }
}

std::optional<std::string> Settings::load_yaml(const YAML::Node& root, const std::string& path) {
  if (!root.IsMap()) return "config file " + path + " must be a YAML mapping of setting names to values";
  for (const auto& kv : root) {
    std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    bool from_file = false;
    Entry* e = find(key);
    if (!e && key.size() > 5 && key.ends_with("-file")) {
      e = find(std::string_view(key).substr(0, key.size() - 5));
      from_file = e && e->option.secret;
      if (!from_file) e = nullptr;
    }
    if (!e) return "config file " + path + ": unknown setting '" + key + "' (see --help)";
    const std::string origin = "config file " + path;
    std::string value;
    if (v.IsSequence()) {
      for (const auto& item : v) {
        if (!value.empty()) value += ',';
        value += item.as<std::string>();
      }
    } else if (v.IsMap()) {
      for (const auto& item : v) {
        if (!value.empty()) value += '\n';  // a map option's entries are lines (split_lines)
        value += item.first.as<std::string>() + "=" + item.second.as<std::string>();
      }
    } else if (v.IsScalar()) {
      value = v.as<std::string>();
    }
    auto err = from_file ? assign_file(*e, value, kFile, origin) : assign(*e, value, kFile, origin);
    if (err) return err;
  }
  return std::nullopt;
}

std::optional<std::string> Settings::parse(const std::vector<std::string>& args, const Env& env) {
  // The config file is read first (it is the weakest source), wherever --config appears.
  std::string config = env.count("NUMFLOW_CONFIG") ? env.at("NUMFLOW_CONFIG") : "";
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) config = args[i + 1];
    if (args[i].rfind("--config=", 0) == 0) config = args[i].substr(9);
    if (args[i] == "--help" || args[i] == "-h") {
      help_requested_ = true;
      return std::nullopt;
    }
  }
  if (!config.empty())
    if (auto err = load_file(config)) return err;

  for (auto& e : entries_) {
    const std::string name = env_name(e.option.name);
    if (auto it = env.find(name); it != env.end())
      if (auto err = assign(e, it->second, kEnv, "environment " + name)) return err;
    if (e.option.secret)
      if (auto it = env.find(name + "_FILE"); it != env.end())
        if (auto err = assign_file(e, it->second, kEnv, "environment " + name + "_FILE")) return err;
    if (e.option.kind == Option::Kind::map) {
      const std::string prefix = name + "_";
      for (auto it = env.lower_bound(prefix); it != env.end() && it->first.rfind(prefix, 0) == 0; ++it) {
        std::string_view suffix = std::string_view(it->first).substr(prefix.size());
        // ..._SASL_PASSWORD_FILE=/run/secrets/kafka: the value is that file's content (a mounted
        // Secret), as for the other secrets' _FILE forms. No librdkafka property ends in ".file".
        const bool from_file = suffix.size() > 5 && suffix.ends_with("_FILE");
        if (from_file) suffix.remove_suffix(5);
        const std::string key = env_suffix_to_property(suffix) + "=";
        const std::string origin = "environment " + it->first;
        auto err = from_file ? assign_file(e, it->second, kEnv, origin, key) : assign(e, key + it->second, kEnv, origin);
        if (err) return err;
      }
    }
  }

  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      positional_.insert(positional_.end(), args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (a.size() < 3 || a.rfind("--", 0) != 0) {
      positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (name == "config") {
      if (!value) ++i;
      continue;
    }
    bool from_file = false;
    Entry* e = find(name);
    if (!e && name.ends_with("-file")) {
      e = find(std::string_view(name).substr(0, name.size() - 5));
      from_file = e && e->option.secret;
      if (!from_file) e = nullptr;
    }
    if (!e) return "unknown option --" + name + " (see --help)";
    if (!value) {
      if (e->option.kind == Option::Kind::boolean &&
          (i + 1 >= args.size() || !parse_bool(args[i + 1]))) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return "option --" + name + " needs a value";
      }
    }
    const std::string origin = "flag --" + name;
    auto err = from_file ? assign_file(*e, *value, kFlag, origin) : assign(*e, *value, kFlag, origin);
    if (err) return err;
  }
  return std::nullopt;
}

std::string Settings::help() const {
  std::ostringstream out;
  out << "Usage: " << usage_ << "\n\n" << summary_ << "\n\nOptions (flag / environment; flags win over the "
      << "environment, which wins over --config FILE):\n";
  out << "  --config FILE\n      YAML file of settings (keys are the option names below) [env NUMFLOW_CONFIG]\n";
  for (const auto& e : entries_) {
    const auto& o = e.option;
    out << "  --" << o.name;
    switch (o.kind) {
      case Option::Kind::integer: out << " N"; break;
      case Option::Kind::boolean: out << "[=true|false]"; break;
      case Option::Kind::list: out << " A,B,..."; break;
      case Option::Kind::map: out << " KEY=VALUE (repeatable)"; break;
      default: out << " VALUE"; break;
    }
    out << "\n      " << o.help;
    if (!o.default_value.empty() && !o.secret) out << " (default: " << o.default_value << ")";
    out << "\n      [env " << env_name(o.name);
    if (o.secret) out << ", or " << env_name(o.name) << "_FILE / --" << o.name << "-file PATH";
    if (o.kind == Option::Kind::map) out << ", or " << env_name(o.name) << "_<KEY_WITH_UNDERSCORES>";
    out << "]\n";
  }
  out << "  --help\n      Show this help and exit.\n";
  return out.str();
}

std::optional<int> Settings::parse_command_line(std::string_view program, const std::vector<std::string>& args) {
  if (auto err = parse(args, process_environment())) {
    std::cerr << program << ": " << *err << "\n";
    return 2;
  }
  if (help_requested()) {
    std::cout << help();
    return 0;
  }
  for (const auto& e : entries_)
    if (e.option.name == "log-level" && !log::set_level(e.value)) {
      std::cerr << program << ": --log-level must be debug, info, warn or error\n";
      return 2;
    }
  return std::nullopt;
}

const std::string& Settings::str(std::string_view name) const { return get(name).value; }

std::int64_t Settings::integer(std::string_view name) const {
  const auto v = parse_int(get(name).value);
  if (!v) throw std::invalid_argument("setting " + std::string(name) + " is not an integer");
  return *v;
}

bool Settings::boolean(std::string_view name) const {
  const auto& v = get(name).value;
  return v.empty() ? false : parse_bool(v).value_or(false);
}

std::vector<std::string> Settings::list(std::string_view name) const { return split_list(get(name).value); }

Settings::Pairs Settings::pairs(std::string_view name) const {
  const Entry& e = get(name);
  if (e.rank > 0 || e.option.default_value.empty()) return e.pairs;
  Pairs out;
  for (const auto& item : split_list(e.option.default_value)) {
    const auto eq = item.find('=');
    if (eq != std::string::npos) out.emplace_back(item.substr(0, eq), item.substr(eq + 1));
  }
  return out;
}

bool Settings::is_set(std::string_view name) const { return get(name).rank > 0; }

std::vector<std::pair<std::string, std::string>> Settings::describe() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : entries_) {
    std::string v;
    if (e.option.kind == Option::Kind::map) {
      for (const auto& [k, val] : pairs(e.option.name)) {
        const bool sensitive = k.find("password") != std::string::npos || k.find("secret") != std::string::npos ||
                               k.find("key") != std::string::npos;
        if (!v.empty()) v += ',';
        v += k + "=" + (sensitive ? "***" : val);
      }
    } else {
      v = e.option.secret ? (e.value.empty() ? "" : "***") : e.value;
    }
    out.emplace_back(e.option.name, v);
  }
  return out;
}

}  // namespace numflow
