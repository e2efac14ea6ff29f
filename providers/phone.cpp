#include "providers/phone.h"

#include "providers/nanp_verdict.h"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <cctype>
#include <cstdint>
#include <unordered_map>

namespace numflow::phone {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

// Keeps digits and a leading '+'; refuses letters and anything else that is not punctuation a
// human would put in a number, so "call me" or "+1 555 CALL" never becomes a key.
std::optional<std::string> strip(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool seen_digit = false;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      out.push_back(c);
      seen_digit = true;
    } else if (c == '+' && !seen_digit && out.empty()) {
      out.push_back('+');
    } else if (c == ' ' || c == '-' || c == '(' || c == ')' || c == '.' || c == '/' || c == '\t') {
      continue;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

// Also answers whether the number is valid. libphonenumber's IsValidNumber is
// GetRegionCodeForNumber followed by IsValidNumberForRegion; calling it and then asking for the
// region ran the region search twice. Each search matches the number against regions' metadata
// (ICU regular expressions): one of the three matches after the parse is saved.
std::string region_of(const PhoneNumberUtil& util, const PhoneNumber& n, bool& valid) {
  std::string region;
  util.GetRegionCodeForNumber(n, &region);
  valid = util.IsValidNumberForRegion(n, region);
  if (!valid) {
    region.clear();
    // An invalid number still has a country when its calling code belongs to one region only.
    std::list<std::string> regions;
    util.GetRegionCodesForCountryCallingCode(n.country_code(), &regions);
    if (regions.size() == 1) region = regions.front();
  }
  return region == "ZZ" || region == "001" ? std::string() : region;
}

// The number libphonenumber's Parse gives for "+1" and ten digits, the first 2-9 (the E.164 form
// of every North American number, and what the providers send), built without Parse. Parse costs
// ~17 us, more than half of a never-seen number's cost: its regular expressions look for
// extensions, IDD and national prefixes that this form cannot hold. It reads such a text as
// country code 1 and the ten digits (no extension; NANP's national prefix "1" is never stripped
// from a national number starting 2-9). phone_test checks the answers equal Parse's.
std::optional<PhoneNumber> nanp_e164(std::string_view s) {
  if (s.size() != 12 || s[0] != '+' || s[1] != '1' || s[2] < '2' || s[2] > '9') return std::nullopt;
  std::uint64_t national = 0;
  for (std::size_t i = 2; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    national = national * 10 + static_cast<std::uint64_t>(s[i] - '0');
  }
  PhoneNumber n;
  n.set_country_code(1);
  n.set_national_number(national);
  return n;
}

// region_of for a +1 number in nanp_e164's form: the same answer from libphonenumber's metadata
// compiled once (nanp_verdict.h), libphonenumber itself if that metadata could not be read.
std::string nanp_region_of(const PhoneNumberUtil& util, const PhoneNumber& n, std::string_view e164, bool& valid) {
  if (const auto verdict = nanp_verdict(e164.substr(2))) {
    valid = verdict->valid;
    return verdict->region;
  }
  return region_of(util, n, valid);
}

}  // namespace

bool is_e164(std::string_view s) {
  if (s.size() < 8 || s.size() > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9') return false;
  for (std::size_t i = 2; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

namespace {

std::optional<Normalized> normalize_uncached(std::string_view text, std::string_view country);

// libphonenumber is the core's most expensive step (its metadata regular expressions run for
// every number), and a provider's inventory names the same numbers event after event: remember
// recent answers, per thread, in a bounded map (cleared when full: no locks, bounded memory).
constexpr std::size_t kCacheEntries = 1 << 16;

}  // namespace

// Longest text read as a phone number: libphonenumber's own limit (kMaxInputStringLength), which
// the 8.12 in Debian does not enforce. Its ICU regular expressions took minutes over a 1 MB msisdn
// (found by the hostile-input tests), stalling the whole partition; and each such text would have
// been a 1 MB key in the cache below. An E.164 number has at most 15 digits, so nothing is lost.
constexpr std::size_t kMaxInputLength = 250;

std::optional<Normalized> normalize(std::string_view text, std::string_view country) {
  if (text.size() > kMaxInputLength) return std::nullopt;
  thread_local std::unordered_map<std::string, std::optional<Normalized>> cache;
  std::string key;
  key.reserve(country.size() + 1 + text.size());
  key.append(country).push_back('\0');
  key.append(text);
  if (const auto it = cache.find(key); it != cache.end()) return it->second;
  if (cache.size() >= kCacheEntries) cache.clear();
  auto result = normalize_uncached(text, country);
  cache.emplace(std::move(key), result);
  return result;
}

namespace {

std::optional<Normalized> normalize_uncached(std::string_view text, std::string_view country) {
  const auto stripped = strip(text);
  if (!stripped || stripped->empty() || *stripped == "+") return std::nullopt;
  const bool international = (*stripped)[0] == '+' || country.empty();
  const std::string candidate = (*stripped)[0] == '+' ? *stripped : (international ? "+" + *stripped : *stripped);

  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber parsed;
  const std::string region_hint = international ? "ZZ" : std::string(country);
  Normalized out;
  if (const auto nanp = nanp_e164(candidate)) {
    out.e164 = candidate;
    out.region = nanp_region_of(util, *nanp, candidate, out.valid);
  } else if (util.Parse(candidate, region_hint, &parsed) == PhoneNumberUtil::NO_PARSING_ERROR) {
    util.Format(parsed, PhoneNumberUtil::E164, &out.e164);
    out.region = region_of(util, parsed, out.valid);
  } else if (international) {
    out.e164 = candidate;  // libphonenumber refused it; the E.164 shape check below decides
  } else {
    return std::nullopt;
  }
  if (!is_e164(out.e164)) return std::nullopt;
  return out;
}

}  // namespace

}  // namespace numflow::phone
