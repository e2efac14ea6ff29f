#include "providers/exact_json.h"

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "schemas/schema_store.h"

namespace numflow::json {
namespace {

using rapidjson::SizeType;
using rapidjson::Value;

// Iterative (any depth), strings decoded in place (below); parse_utf8 adds UTF-8 validation.
constexpr unsigned kParseFlags = rapidjson::kParseIterativeFlag | rapidjson::kParseInsituFlag;
constexpr std::string_view kBom = "\xEF\xBB\xBF";
constexpr std::size_t kUtf8Lookahead = 3;  // continuation bytes of a 4-byte UTF-8 sequence
constexpr std::size_t kMaxNameInDetail = 64;

std::string_view view(const Value& s) { return {s.GetString(), s.GetStringLength()}; }

// A "\uDC00".."\uDFFF" escape without its high half decodes to ED B0..BF: RapidJSON 1.1.0 accepts
// it (it checks only high surrogates for a partner). Raw surrogate bytes are refused by encoding
// validation already, so any such sequence in a decoded string came from a lone escape.
bool has_lone_surrogate(std::string_view s) {
  // A plain loop: string_view::find per string cost as much as the whole parse (measured).
  for (std::size_t i = 0; i + 1 < s.size(); ++i)
    if (s[i] == '\xED' && (static_cast<unsigned char>(s[i + 1]) & 0xE0) == 0xA0) return true;
  return false;
}

bool is_number_char(char c) {
  return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

// The reader's input is a copy of the body into which RapidJSON decodes each string in place
// (kParseInsituFlag), so the DOM's strings point into that copy. Read from a MemoryStream, every
// byte of every string went onto the reader's stack one Push at a time and was then copied again
// into the document: a third of the parse of a 545-byte 8x8 body.
//
// The Builder builds the DOM exactly as RapidJSON's own parse does (every event goes to the
// document's handler), and keeps each number's text on the side. An InsituStringStream is copied
// by the reader into a local for the length of each value it reads (StreamTraits::copyOptimization:
// that local is what lets the compiler keep the string loop in registers), and written back after
// the value: so while a number's handler runs, our stream still stands on the number's first
// character. A JSON number is one run of [0-9+-.eE], and what may follow it (',', ']', '}',
// whitespace, the end) is never one of those; anything else is a parse error, which discards the
// document. The text is taken from the input as given: decoding in place rewrites the copy.
// (kParseNumbersAsStringsFlag would give the text too, but then the typed value would have to be
// parsed a second time: this costs nothing beyond copying the text.)
static_assert(rapidjson::StreamTraits<rapidjson::InsituStringStream>::copyOptimization == 1,
              "keep_text() expects the reader to advance a local copy of the stream within a number");

class Builder {
 public:
  Builder(rapidjson::Document& doc, std::string_view input, rapidjson::InsituStringStream& stream, std::string& texts,
          std::vector<std::uint32_t>& ends)
      : doc_(doc),
        input_(input),
        escapes_(input.find('\\') != std::string_view::npos),
        stream_(stream),
        texts_(texts),
        ends_(ends) {}

  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  bool Int(int i) { return keep_text() && doc_.Int(i); }
  bool Uint(unsigned u) { return keep_text() && doc_.Uint(u); }
  bool Int64(std::int64_t i) { return keep_text() && doc_.Int64(i); }
  bool Uint64(std::uint64_t u) { return keep_text() && doc_.Uint64(u); }
  bool Double(double d) { return keep_text() && doc_.Double(d); }
  bool RawNumber(const char*, SizeType, bool) { return false; }  // not asked for (no NumbersAsStrings)
  bool String(const char* s, SizeType n, bool copy) { return checked(s, n) && doc_.String(s, n, copy); }
  bool Key(const char* s, SizeType n, bool copy) { return checked(s, n) && doc_.Key(s, n, copy); }
  bool StartObject() { return doc_.StartObject(); }
  bool EndObject(SizeType members) { return doc_.EndObject(members); }
  bool StartArray() { return doc_.StartArray(); }
  bool EndArray(SizeType elements) { return doc_.EndArray(elements); }

  const std::string& refusal() const { return refusal_; }

 private:
  bool keep_text() {
    const std::size_t begin = stream_.Tell();
    std::size_t end = begin;
    while (end < input_.size() && is_number_char(input_[end])) ++end;
    texts_.append(input_.substr(begin, end - begin));
    ends_.push_back(static_cast<std::uint32_t>(texts_.size()));
    return true;
  }

  bool checked(const char* s, SizeType n) {
    if (!escapes_ || !has_lone_surrogate({s, n})) return true;  // only a \u escape can make one
    refusal_ = "a \\u escape names half of a UTF-16 surrogate pair";
    return false;
  }

  rapidjson::Document& doc_;
  std::string_view input_;
  bool escapes_;  // whether the input has a backslash at all
  rapidjson::InsituStringStream& stream_;  // Tell() is not const
  std::string& texts_;
  std::vector<std::uint32_t>& ends_;
  std::string refusal_;
};

// Visits a value and everything inside it in document order without recursion (a hostile body
// nests 100,000 deep): enter(value, name) for each value (name: its member name, or null), and
// leave(container) after a container's contents. Either returning false stops the walk.
class Walk {
 public:
  template <typename Enter, typename Leave>
  bool run(const Value& root, Enter&& enter, Leave&& leave) {
    stack_.clear();
    if (!visit(root, nullptr, enter)) return false;
    while (!stack_.empty()) {
      const Value& c = *stack_.back().container;
      const SizeType i = stack_.back().next++;  // before visit(): it may grow the stack
      if (i == (c.IsObject() ? c.MemberCount() : c.Size())) {
        stack_.pop_back();
        if (!leave(c)) return false;
        continue;
      }
      const bool go_on = c.IsObject() ? visit((c.MemberBegin() + i)->value, &(c.MemberBegin() + i)->name, enter)
                                      : visit(c[i], nullptr, enter);
      if (!go_on) return false;
    }
    return true;
  }

  // The JSON pointer of the value enter() refused.
  std::string pointer() const {
    std::string out;
    for (const Frame& f : stack_) {
      const SizeType i = f.next - 1;  // the child being visited
      out += '/';
      out += f.container->IsObject() ? schemas::escape_token(view((f.container->MemberBegin() + i)->name))
                                     : std::to_string(i);
    }
    return out;
  }

 private:
  template <typename Enter>
  bool visit(const Value& v, const Value* name, Enter& enter) {
    if (!enter(v, name)) return false;
    if (v.IsObject() || v.IsArray()) stack_.push_back({&v, 0});
    return true;
  }

  struct Frame {
    const Value* container;
    SizeType next;  // index of the next member or element to visit
  };
  std::vector<Frame> stack_;
};

// A member name the object has more than once, or nullopt.
std::optional<std::string_view> duplicate_name(const Value& object) {
  const SizeType n = object.MemberCount();
  const auto name = [&](SizeType i) { return view((object.MemberBegin() + i)->name); };
  if (n <= 16) {  // provider objects are small: no allocation
    for (SizeType i = 1; i < n; ++i)
      for (SizeType j = 0; j < i; ++j)
        if (name(i) == name(j)) return name(i);
    return std::nullopt;
  }
  std::vector<std::string_view> names;  // big objects: n log n, never n²
  names.reserve(n);
  for (SizeType i = 0; i < n; ++i) names.push_back(name(i));
  std::sort(names.begin(), names.end());
  const auto it = std::adjacent_find(names.begin(), names.end());
  if (it == names.end()) return std::nullopt;
  return *it;
}

}  // namespace

bool is_ascii(std::string_view s) {
  std::size_t i = 0;
  std::uint64_t high = 0;  // the top bit of every byte seen, eight at a time
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, s.data() + i, 8);
    high |= word;
  }
  for (; i < s.size(); ++i) high |= static_cast<unsigned char>(s[i]);
  return (high & 0x8080808080808080ULL) == 0;
}

std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  std::size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // not inside a character
  return s.substr(0, n);
}

std::optional<std::string> ExactDocument::parse(std::string_view bytes) {
  const std::size_t skipped = bytes.substr(0, kBom.size()) == kBom ? kBom.size() : 0;
  bytes.remove_prefix(skipped);
  // The DOM's strings point into this copy. It ends in four NULs: one because the stream reads a
  // NUL as the end, and three because RapidJSON's UTF-8 validation takes a lead byte's
  // continuation bytes without looking at them, so a body ending in a lead byte (0xF0) is read up
  // to three bytes past its end before it is refused (found by fuzz_codec; a MemoryStream stopped
  // at its end by itself).
  insitu_.reserve(bytes.size() + kUtf8Lookahead);
  insitu_.assign(bytes);
  insitu_.append(kUtf8Lookahead, '\0');
  rapidjson::InsituStringStream ms(insitu_.data());
  Builder builder(doc_, bytes, ms, texts_, ends_);
  rapidjson::Reader reader;
  rapidjson::ParseResult result;
  auto generate = [&](rapidjson::Document&) {
    return !(result = parse_utf8<kParseFlags>(reader, ms, builder, bytes)).IsError();
  };
  doc_.Populate(generate);
  const auto at = [&](std::size_t offset) { return " at byte " + std::to_string(offset + skipped); };
  if (result.IsError()) {
    const std::string why = !builder.refusal().empty() ? builder.refusal()
                                                       : rapidjson::GetParseError_En(result.Code());
    return "not well-formed UTF-8 JSON: " + why + at(result.Offset());
  }
  // The reader treats a NUL byte like the end of the input: anything after it went unread.
  if (ms.Tell() != bytes.size()) return "not well-formed UTF-8 JSON: a NUL byte after the value" + at(ms.Tell());
  return check_and_index();
}

std::optional<std::string> ExactDocument::check_and_index() {
  std::size_t next_number = 0;
  std::optional<std::string_view> duplicate;
  Walk walk;
  const bool ok = walk.run(
      doc_,
      [&](const Value& v, const Value*) {
        if (v.IsNumber() && next_number < ends_.size()) {  // as many as the Builder saw
          const std::uint32_t begin = next_number ? ends_[next_number - 1] : 0;
          numbers_.push_back({&v, begin, ends_[next_number++]});
        } else if (v.IsObject()) {
          duplicate = duplicate_name(v);
        }
        return !duplicate;
      },
      [](const Value&) { return true; });
  if (!ok) {
    return "member name '" + std::string(utf8_prefix(*duplicate, kMaxNameInDetail)) +
           "' appears twice in the object at " + (walk.pointer().empty() ? "/" : walk.pointer()) +
           ": names must be unique (RFC 7493), so what it means would depend on the reader";
  }
  std::sort(numbers_.begin(), numbers_.end(), [](const Number& a, const Number& b) { return a.value < b.value; });
  return std::nullopt;
}

std::optional<std::string_view> ExactDocument::number_text(const Value& v) const {
  const auto it = std::lower_bound(numbers_.begin(), numbers_.end(), &v,
                                   [](const Number& n, const Value* p) { return n.value < p; });
  if (it == numbers_.end() || it->value != &v) return std::nullopt;
  return std::string_view(texts_).substr(it->begin, it->end - it->begin);
}

std::string text(const Value& v, const ExactDocument* source) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  Walk().run(
      v,
      [&](const Value& x, const Value* name) {
        if (name) w.Key(name->GetString(), name->GetStringLength());
        if (x.IsObject()) return w.StartObject();
        if (x.IsArray()) return w.StartArray();
        const auto exact = x.IsNumber() && source ? source->number_text(x) : std::nullopt;
        // Writer::RawNumber would quote it (1.1.0): RawValue writes the text as it is.
        if (exact) return w.RawValue(exact->data(), exact->size(), rapidjson::kNumberType);
        return x.Accept(w);  // a scalar: no recursion
      },
      [&](const Value& c) { return c.IsObject() ? w.EndObject(c.MemberCount()) : w.EndArray(c.Size()); });
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace numflow::json
