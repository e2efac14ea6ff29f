#pragma once
// JSON as numflow reads provider bodies and its own internal records: RapidJSON 1.1.0's DOM, plus
// what the DOM loses and what RapidJSON gets wrong on hostile input.
//
//   - Every number keeps the text it was written with. The DOM holds a double, and RapidJSON's
//     normal-precision conversion is not exact: a price of 0.1234567890123456789 came back as
//     0.12345678901234568 and changed again on each trip through the internal topics. The
//     full-precision flag is no way out: 1.1.0 turns 0e-23 into garbage with it. And with
//     kParseNumbersAsStringsFlag numbers become strings in the DOM, which the schema validator
//     then checks as strings ("type": "number" fails). So the DOM is built as RapidJSON's default
//     parse builds it (validation and every typed read, IsInt64, GetDouble, are unchanged), and
//     each number's source text is taken from the input as the reader passes it.
//   - Duplicate member names are refused (I-JSON, RFC 7493 §2.3). RapidJSON keeps both and
//     FindMember() answers the first, while JavaScript, Python and Jackson readers of the raw topic
//     take the last: the same bytes would mean different things to different readers.
//   - A lone low-surrogate escape ("\uDC00") is refused: 1.1.0 writes it out as bytes that are not
//     UTF-8, which would then reach the records.
//   - A byte-order mark is skipped only when whole (RFC 8259 §8.1 allows ignoring it); RapidJSON's
//     stream skips EF, BB and BF one by one, so a body starting with a stray 0xBF was accepted.
//   - A NUL byte after the value is an error: RapidJSON stops reading at it and ignores the rest.
//
// Parsing is iterative (no recursion: nesting depth cannot overflow the stack) and validates
// UTF-8; a number beyond the double range (1e400) is an error, as with RapidJSON's own parse.
#include <rapidjson/document.h>
#include <rapidjson/reader.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace numflow::json {

class ExactDocument {
 public:
  ExactDocument() = default;
  // Values of the DOM are looked up by address: the object must stay where it is.
  ExactDocument(const ExactDocument&) = delete;
  ExactDocument& operator=(const ExactDocument&) = delete;

  // Parses `bytes` (once per object). nullopt when they are acceptable JSON, else why not, ending
  // with the byte offset where that is known: "Invalid encoding in string. at byte 12". The
  // document keeps its own copy of the bytes, which its strings point into: `bytes` may go.
  std::optional<std::string> parse(std::string_view bytes);

  const rapidjson::Document& root() const { return doc_; }

  // The text a number of this document was written with, e.g. "5.0", "-0", "0e-23"; nullopt for
  // anything that is not a number of this document.
  std::optional<std::string_view> number_text(const rapidjson::Value& v) const;

 private:
  std::optional<std::string> check_and_index();

  std::string insitu_;  // the parsed bytes, rewritten by the parse: the DOM's strings live here
  rapidjson::Document doc_;
  std::string texts_;                // every number's text in document order, back to back
  std::vector<std::uint32_t> ends_;  // where each of them ends in texts_
  struct Number {
    const rapidjson::Value* value;
    std::uint32_t begin, end;  // in texts_
  };
  std::vector<Number> numbers_;  // sorted by value address
};

// True when every byte is below 0x80. Such text is valid UTF-8 by construction.
bool is_ascii(std::string_view s);

// Reads `text`, which `stream` reads from, with `reader` and `kFlags`, validating its UTF-8 only
// when it is not ASCII: the per-character validation is the slowest part of reading a string, and
// ASCII cannot fail it. ExactDocument and the internal records' slot check read through it.
template <unsigned kFlags, typename Stream, typename Handler>
rapidjson::ParseResult parse_utf8(rapidjson::Reader& reader, Stream& stream, Handler& handler, std::string_view text) {
  constexpr unsigned kValidating = kFlags | rapidjson::kParseValidateEncodingFlag;
  constexpr unsigned kAscii = kFlags & ~rapidjson::kParseValidateEncodingFlag;
  return is_ascii(text) ? reader.Parse<kAscii>(stream, handler) : reader.Parse<kValidating>(stream, handler);
}

// The longest prefix of `s` of at most `max_bytes` that does not end inside a UTF-8 character: for
// quoting hostile text in error details without letting it make them huge.
std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes);

// Canonical text of a value: what RapidJSON's Writer prints (no spaces, member order kept), except
// that numbers of `source` are written as they were read. Iterative: any depth.
std::string text(const rapidjson::Value& v, const ExactDocument* source = nullptr);

}  // namespace numflow::json
