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

// Plain runs are skipped eight bytes at a time: each byte must be seen wherever it sits in a word
// or in the tail, next to plain bytes of every kind (0x7f and bytes of 0x80 up need no escape).
TEST(JsonQuote, EveryByteAtEveryPositionOfWordAndTail) {
  for (const char filler : {'a', '\x7f', '\xc3', ' '})
    for (std::size_t len = 1; len <= 19; ++len)
      for (std::size_t at = 0; at < len; ++at)
        for (int b = 0; b < 256; ++b) {
          std::string text(len, filler);
          text[at] = static_cast<char>(b);
          ASSERT_EQ(quote(text), rapidjson_quote(text)) << "byte " << b << " at " << at << " of " << len;
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

// Strings are decoded in place into the document's own copy of the body, and a number's text is
// read forward from where it starts: the caller's buffer may go, and every number keeps its text
// wherever it sits (first, last, nested, the whole body).
TEST(ExactDocument, OwnsItsStringsAndKeepsEveryNumbersText) {
  ExactDocument doc;
  {
    std::string body = R"({"a":"x\"y","n":[0.1234567890123456789,-0, 1e-5 ],"u":"caf\u00e9","z":5.0})";
    ASSERT_FALSE(doc.parse(body));
    body.assign(body.size(), '#');
  }
  const rapidjson::Value& r = doc.root();
  EXPECT_EQ(std::string_view(r["a"].GetString(), r["a"].GetStringLength()), "x\"y");
  EXPECT_EQ(std::string_view(r["u"].GetString(), r["u"].GetStringLength()), "caf\xC3\xA9");
  EXPECT_EQ(doc.number_text(r["n"][0]), "0.1234567890123456789");
  EXPECT_EQ(doc.number_text(r["n"][1]), "-0");
  EXPECT_EQ(doc.number_text(r["n"][2]), "1e-5");
  EXPECT_EQ(doc.number_text(r["z"]), "5.0");
  EXPECT_EQ(text(r, &doc), "{\"a\":\"x\\\"y\",\"n\":[0.1234567890123456789,-0,1e-5],\"u\":\"caf\xC3\xA9\",\"z\":5.0}");

  ExactDocument whole;
  ASSERT_FALSE(whole.parse(" 12.50 "));
  EXPECT_EQ(whole.number_text(whole.root()), "12.50");
  ExactDocument glued;
  EXPECT_TRUE(glued.parse("[1-2]"));  // a number with more after it is no JSON
  ExactDocument lone;
  const auto refused = lone.parse(R"({"a":"ok \\ \udc00"})");
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->find("surrogate"), std::string::npos) << *refused;
}

// A body that ends inside a UTF-8 sequence is refused, and not read past its end: RapidJSON's
// validation takes a lead byte's continuation bytes blindly, and the document's in-situ copy is
// padded for it. (The read past the end is what the fuzzers' clang ASan build reports; gcc's
// sanitizer build did not, so the fuzz corpora replay the reproducers on every run:
// seed-regression-insitu-utf8-lead-at-end.)
TEST(ExactDocument, BodyEndingInsideAUtf8SequenceIsRefused) {
  const std::string text(40, 'R');
  for (const std::string& body : {"\"" + text + "\xF0", "\"" + text + "\xF4\x8F", "{\"a\":\"" + text + "\xE2\x82",
                                  "[\"" + text + "\xC3", "\"caf\xC3\xA9 " + text + "\xF0\x9F\x98"}) {
    SCOPED_TRACE(body);
    ExactDocument doc;
    const auto refused = doc.parse(body);
    ASSERT_TRUE(refused);
    EXPECT_NE(refused->find("not well-formed UTF-8 JSON"), std::string::npos) << *refused;
  }
}

}  // namespace
}  // namespace numflow::json
