#pragma once
// Helpers shared by the libFuzzer targets in fuzz/ (see fuzz/README.md).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace numflow::fuzz {

inline std::string_view as_view(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Splits `s` on `sep` into at most `max_parts` parts (the last one keeps the rest).
inline std::vector<std::string_view> split(std::string_view s, std::string_view sep, std::size_t max_parts) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < max_parts) {
    const auto at = s.find(sep);
    if (at == std::string_view::npos) break;
    out.push_back(s.substr(0, at));
    s.remove_prefix(at + sep.size());
  }
  out.push_back(s);
  return out;
}

// NUMFLOW_FUZZ_TOLERATE: comma-separated substrings; a broken invariant whose message contains one
// is printed and tolerated instead of aborting. Only for exploring past a known, reported bug
// (e.g. NUMFLOW_FUZZ_TOLERATE=country_code), with NUMFLOW_FUZZ_MERGE=0: inputs that only pass
// because of it must not reach fuzz/corpus. scripts/fuzz.sh and CI never set it.
inline bool tolerated(std::string_view what) {
  static const std::vector<std::string> tokens = [] {
    std::vector<std::string> out;
    const char* env = std::getenv("NUMFLOW_FUZZ_TOLERATE");
    for (auto t : split(env ? env : "", ",", 64))
      if (!t.empty()) out.emplace_back(t);
    return out;
  }();
  for (const auto& t : tokens)
    if (what.find(t) != std::string_view::npos) return true;
  return false;
}

// A broken invariant (not a sanitizer report): print what and why, then abort so libFuzzer saves
// the input as a crash.
inline void fail(std::string_view what, std::string_view detail = {}) {
  if (tolerated(what)) return;
  std::fprintf(stderr, "\n==numflow-fuzz== INVARIANT BROKEN: %.*s\n%.*s\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(detail.size()), detail.data());
  std::abort();
}

inline void check(bool ok, std::string_view what, std::string_view detail = {}) {
  if (!ok) fail(what, detail);
}

}  // namespace numflow::fuzz
