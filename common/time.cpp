#include "common/time.h"

#include <chrono>
#include <cstdio>

namespace numflow {
namespace {

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm): avoids
// timegm() and the process-global TZ state.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool read_digits(std::string_view s, std::size_t& pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += n;
  out = v;
  return true;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
  if (pos < s.size() && s[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

}  // namespace

std::int64_t now_unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_rfc3339_ms(std::int64_t unix_ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> tp{milliseconds{unix_ms}};
  const auto day = floor<days>(tp);
  const year_month_day ymd{day};
  const hh_mm_ss hms{tp - day};
  const int year = static_cast<int>(ymd.year());
  if (year < 0 || year > 9999) {  // not an RFC 3339 year; kept readable for logs
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", year, static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                  static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                  static_cast<int>(hms.subseconds().count()));
    return buf;
  }
  // Digits by hand: every record carries a few of these, and snprintf was 2% of the transform.
  std::string out = "0000-00-00T00:00:00.000Z";
  auto put = [&out](std::size_t end, long long v) {
    for (std::size_t i = end; v > 0; --i, v /= 10) out[i] = static_cast<char>('0' + v % 10);
  };
  put(3, year);
  put(6, static_cast<unsigned>(ymd.month()));
  put(9, static_cast<unsigned>(ymd.day()));
  put(12, hms.hours().count());
  put(15, hms.minutes().count());
  put(18, hms.seconds().count());
  put(22, hms.subseconds().count());
  return out;
}

std::optional<std::int64_t> parse_rfc3339_ms(std::string_view s) {
  std::size_t p = 0;
  int y, mo, d, h, mi, sec;
  if (!read_digits(s, p, 4, y) || !expect(s, p, '-') || !read_digits(s, p, 2, mo) || !expect(s, p, '-') ||
      !read_digits(s, p, 2, d))
    return std::nullopt;
  if (!(expect(s, p, 'T') || expect(s, p, 't') || expect(s, p, ' '))) return std::nullopt;
  if (!read_digits(s, p, 2, h) || !expect(s, p, ':') || !read_digits(s, p, 2, mi) || !expect(s, p, ':') ||
      !read_digits(s, p, 2, sec))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  int ms = 0;
  if (expect(s, p, '.') || expect(s, p, ',')) {
    int scale = 100, digits = 0;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      ms += (s[p] - '0') * scale;
      scale /= 10;
      ++p;
      ++digits;
    }
    if (digits == 0) return std::nullopt;
  }
  int offset_min = 0;
  if (p < s.size()) {
    if (s[p] == 'Z' || s[p] == 'z') {
      ++p;
    } else if (s[p] == '+' || s[p] == '-') {
      const int sign = s[p] == '-' ? -1 : 1;
      ++p;
      int oh, om;
      if (!read_digits(s, p, 2, oh)) return std::nullopt;
      expect(s, p, ':');
      if (!read_digits(s, p, 2, om)) return std::nullopt;
      offset_min = sign * (oh * 60 + om);
    } else {
      return std::nullopt;
    }
  }
  if (p != s.size()) return std::nullopt;
  const std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const std::int64_t secs = days * 86400 + h * 3600 + mi * 60 + std::min(sec, 59) - offset_min * 60;
  // An offset can carry a time past either end of the four-digit years ("0000-01-01T00:00+01:00"),
  // which format_rfc3339_ms could not write back.
  constexpr std::int64_t kFirstMs = -62167219200000, kLastMs = 253402300799999;  // 0000-01-01, 9999-12-31
  const std::int64_t result = secs * 1000 + ms;
  if (result < kFirstMs || result > kLastMs) return std::nullopt;
  return result;
}

}  // namespace numflow
