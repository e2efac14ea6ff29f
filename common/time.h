#pragma once
// Time as numflow writes it everywhere: RFC 3339, UTC, millisecond precision ("...T05:10:14.760Z").
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace numflow {

std::int64_t now_unix_ms();
std::string format_rfc3339_ms(std::int64_t unix_ms);
inline std::string now_rfc3339_ms() { return format_rfc3339_ms(now_unix_ms()); }

// Accepts what providers send: "2023-02-17T05:10:14.760Z", any number of fraction digits (or none),
// "Z", "+hh:mm", "+hhmm" or no zone (read as UTC), and ' ' in place of 'T'. Returns unix ms.
std::optional<std::int64_t> parse_rfc3339_ms(std::string_view text);

}  // namespace numflow
