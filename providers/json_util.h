#pragma once
// Small helpers for reading provider bodies and writing canonical JSON fragments.
#include <rapidjson/document.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "providers/exact_json.h"  // json::text(): a value's canonical text, numbers exact

namespace numflow::json {

inline const rapidjson::Value* member(const rapidjson::Value& obj, std::string_view name) {
  if (!obj.IsObject()) return nullptr;
  const auto it = obj.FindMember(rapidjson::Value(rapidjson::StringRef(name.data(), name.size())));
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

inline std::optional<std::string_view> string_member(const rapidjson::Value& obj, std::string_view name) {
  const auto* v = member(obj, name);
  if (!v || !v->IsString()) return std::nullopt;
  return std::string_view(v->GetString(), v->GetStringLength());
}

// Whether a byte needs an escape in a JSON string: the control characters, '"' and '\\'.
constexpr bool needs_escape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

// Whether any of the eight bytes in `word` needs an escape: below 0x20, '"' or '\\'. Bytes from
// 0x80 up never do. (The classic has-less-than / has-zero-byte tests: each is exact about
// whether some byte qualifies, which is all that is asked.)
constexpr bool needs_escape8(std::uint64_t word) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
  const auto zero_byte = [](std::uint64_t v) { return (v - kOnes) & ~v & kHighs; };
  return (((word - kOnes * 0x20) & ~word & kHighs) | zero_byte(word ^ (kOnes * '"')) |
          zero_byte(word ^ (kOnes * '\\'))) != 0;
}

// Appends s as a JSON string, escaped byte for byte as RapidJSON's Writer escapes strings
// (json::text() writes the records' other strings with it): '"', '\\' and the control
// characters, \u00XX in upper case where JSON has no short form; every other byte as it is.
// Written out because a Writer and its buffer cost two allocations per string, and records
// quote a dozen strings each.
inline void append_quoted(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out += '"';
  std::size_t plain = 0;  // start of the run of bytes that need no escape
  std::size_t i = 0;
  while (i < s.size()) {
    if (i + 8 <= s.size()) {  // eight plain bytes at a time: most strings have no escape at all
      std::uint64_t word;
      std::memcpy(&word, s.data() + i, 8);
      if (!needs_escape8(word)) {
        i += 8;
        continue;
      }
    }
    const auto c = static_cast<unsigned char>(s[i++]);
    if (!needs_escape(c)) continue;
    out.append(s.data() + plain, i - 1 - plain);
    plain = i;
    out += '\\';
    switch (c) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '\b': out += 'b'; break;
      case '\t': out += 't'; break;
      case '\n': out += 'n'; break;
      case '\f': out += 'f'; break;
      case '\r': out += 'r'; break;
      default:
        out += "u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
    }
  }
  out.append(s.data() + plain, s.size() - plain);
  out += '"';
}

inline std::string quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  append_quoted(out, s);
  return out;
}

inline std::string boolean(bool b) { return b ? "true" : "false"; }

// The member as canonical JSON when present (any type), nullopt when absent; its numbers as
// `source` read them.
inline std::optional<std::string> member_text(const rapidjson::Value& obj, std::string_view name,
                                              const ExactDocument* source = nullptr) {
  const auto* v = member(obj, name);
  if (!v) return std::nullopt;
  return text(*v, source);
}

// An object with exactly the given members, each copied from `src` or null when absent: keeps
// records to the documented shape whatever else the provider adds.
template <std::size_t N>
std::string pick(const rapidjson::Value& src, const std::array<std::string_view, N>& names) {
  std::string out = "{";
  for (std::size_t i = 0; i < N; ++i) {
    if (i) out += ',';
    out += quote(names[i]);
    out += ':';
    const auto* v = member(src, names[i]);
    out += v ? text(*v) : "null";
  }
  out += '}';
  return out;
}

}  // namespace numflow::json
