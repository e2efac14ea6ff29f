#pragma once
// Small helpers for reading provider bodies and writing canonical JSON fragments.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

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

inline std::string quote(std::string_view s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return std::string(buf.GetString(), buf.GetSize());
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
