#pragma once
// Test helpers: run a body through the core and look at the records as parsed JSON.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "transform/core/core.h"

namespace numflow::testing {

// 2026-11-24T00:00:00.000Z: every test's processed_at.
inline constexpr std::int64_t kNow = 1795478400000;

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline transform::Result run(std::string_view provider, std::string_view body, std::string_view account = {},
                             transform::StateStore* state = nullptr, transform::CoreOptions options = {}) {
  transform::MemoryStateStore scratch;
  transform::RawEvent ev{provider, account, body, kNow, std::nullopt};
  return transform::process(ev, state ? *state : scratch, options, kNow);
}

inline rapidjson::Document parse(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str(), json.size());
  EXPECT_FALSE(d.HasParseError()) << json;
  return d;
}

// The record's value, parsed; the record must be a number change with a value.
inline rapidjson::Document value_of(const transform::Output& o) {
  EXPECT_TRUE(o.value.has_value());
  return parse(o.value.value_or("null"));
}

inline rapidjson::Document expected(const char* json) { return parse(json); }

}  // namespace numflow::testing
