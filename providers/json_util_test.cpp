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

// The readers skip encoding validation for ASCII text: one byte of 0x80 or above, wherever it
// sits (in the word-at-a-time part or the tail), must send the text to the validating path.
TEST(IsAscii, AnyHighByteAnywhereIsSeen) {
  EXPECT_TRUE(is_ascii(""));
  for (std::size_t len = 1; len <= 24; ++len) {
    const std::string plain(len, '\x7f');
    EXPECT_TRUE(is_ascii(plain));
    for (std::size_t at = 0; at < len; ++at)
      for (const char high : {'\x80', '\xC3', '\xFF'}) {
        std::string s = plain;
        s[at] = high;
        EXPECT_FALSE(is_ascii(s)) << "length " << len << ", byte at " << at;
      }
  }
}

TEST(ExactDocument, AsciiAndNonAsciiBodiesReadTheSame) {
  ExactDocument ascii, utf8, bad;
  EXPECT_FALSE(ascii.parse(R"({"name":"Cafe \u00e9","n":1.50})"));
  EXPECT_FALSE(utf8.parse("{\"name\":\"Cafe \xC3\xA9\",\"n\":1.50}"));
  EXPECT_EQ(text(ascii.root(), &ascii), text(utf8.root(), &utf8));
  const auto refused = bad.parse("{\"name\":\"Cafe \xC3\x28\"}");  // a lead byte without its continuation
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->find("not well-formed UTF-8 JSON"), std::string::npos) << *refused;
}

}  // namespace
}  // namespace numflow::json
