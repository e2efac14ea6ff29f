// json::quote writes strings by hand; records must stay byte for byte what RapidJSON's Writer,
// which writes every other string in them, would have written.
#include <gtest/gtest.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>

#include "providers/json_util.h"

namespace numflow::json {
namespace {

std::string rapidjson_quote(std::string_view s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return std::string(buf.GetString(), buf.GetSize());
}

TEST(JsonQuote, EveryByteAsRapidJsonWritesIt) {
  for (int b = 0; b < 256; ++b) {
    const std::string one(1, static_cast<char>(b));
    EXPECT_EQ(quote(one), rapidjson_quote(one)) << "byte " << b;
    const std::string among = "a" + one + "b" + one;
    EXPECT_EQ(quote(among), rapidjson_quote(among)) << "byte " << b;
  }
}

TEST(JsonQuote, MixedTextAndAppending) {
  const std::string text = std::string("Caf\xC3\xA9 \"Main\" \\ line\nnext\ttab\x01 end/") + std::string(1, '\0');
  EXPECT_EQ(quote(text), rapidjson_quote(text));
  EXPECT_EQ(quote(""), "\"\"");
  std::string out = "{\"k\":";
  append_quoted(out, "v\"");
  EXPECT_EQ(out, "{\"k\":\"v\\\"\"");
}

}  // namespace
}  // namespace numflow::json
