#include "providers/nanp_verdict.h"

#include <phonenumbers/phonemetadata.pb.h>
#include <phonenumbers/phonenumberutil.h>
#include <unicode/regex.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <list>
#include <map>
#include <memory>
#include <vector>

namespace i18n::phonenumbers {
// libphonenumber's compiled-in metadata, the serialized PhoneMetadataCollection its
// PhoneNumberUtil loads (declared in its src/phonenumbers/metadata.h, which Debian does not
// install; the two functions are exported from libphonenumber.so).
int metadata_size();
const void* metadata_get();
}  // namespace i18n::phonenumbers

namespace numflow::phone {
namespace {

using i18n::phonenumbers::PhoneMetadata;
using i18n::phonenumbers::PhoneMetadataCollection;
using i18n::phonenumbers::PhoneNumberDesc;
using i18n::phonenumbers::PhoneNumberUtil;

constexpr int kNanpCallingCode = 1;
constexpr int kNoPattern = -1;

// A PhoneNumberDesc as PhoneNumberUtil::IsNumberMatchingDesc reads it: the number's length must
// be one of the possible lengths when there are any, then its pattern must match it whole.
struct Desc {
  std::vector<int> lengths;
  int pattern = kNoPattern;  // an empty pattern matches nothing (RegexBasedMatcher)
};

struct Region {
  std::string code;
  int leading_digits = kNoPattern;  // has_leading_digits(): the region is chosen by prefix alone
  Desc general;
  std::vector<Desc> types;  // GetNumberTypeHelper's types; the number is valid if one matches
};

struct Compiled {
  std::vector<std::unique_ptr<icu::RegexPattern>> patterns;
  std::vector<Region> regions;  // in the order GetRegionCodeForNumber tries them
};

// Compiles as libphonenumber's IcuRegExp does (UTF-8 pattern, no flags); kNoPattern on error.
int compile(Compiled& c, const std::string& pattern) {
  UParseError parse_error;
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::RegexPattern> p(
      icu::RegexPattern::compile(icu::UnicodeString::fromUTF8(pattern), 0, parse_error, status));
  if (U_FAILURE(status) || !p) return kNoPattern;
  c.patterns.push_back(std::move(p));
  return static_cast<int>(c.patterns.size()) - 1;
}

bool add_desc(Compiled& c, const PhoneNumberDesc& d, Desc& out) {
  out.lengths.assign(d.possible_length().begin(), d.possible_length().end());
  if (d.national_number_pattern().empty()) return true;
  out.pattern = compile(c, d.national_number_pattern());
  return out.pattern != kNoPattern;
}

bool add_region(Compiled& c, const std::string& code, const PhoneMetadata& m) {
  Region r;
  r.code = code;
  if (m.has_leading_digits() && (r.leading_digits = compile(c, m.leading_digits())) == kNoPattern) return false;
  if (!add_desc(c, m.general_desc(), r.general)) return false;
  std::vector<const PhoneNumberDesc*> types = {&m.premium_rate(), &m.toll_free(), &m.shared_cost(),
                                               &m.voip(),         &m.personal_number(),
                                               &m.pager(),        &m.uan(),
                                               &m.voicemail(),    &m.fixed_line()};
  // With equal patterns a number matching mobile matched fixed_line already.
  if (!m.same_mobile_and_fixed_line_pattern()) types.push_back(&m.mobile());
  for (const PhoneNumberDesc* d : types)
    if (!add_desc(c, *d, r.types.emplace_back())) return false;
  c.regions.push_back(std::move(r));
  return true;
}

// nullptr when the metadata is not what this code expects (then libphonenumber answers itself).
std::unique_ptr<Compiled> build() {
  PhoneMetadataCollection collection;
  if (!collection.ParseFromArray(i18n::phonenumbers::metadata_get(), i18n::phonenumbers::metadata_size()))
    return nullptr;
  std::map<std::string, const PhoneMetadata*> by_region;
  for (const PhoneMetadata& m : collection.metadata())
    if (m.country_code() == kNanpCallingCode) by_region[m.id()] = &m;
  std::list<std::string> order;
  PhoneNumberUtil::GetInstance()->GetRegionCodesForCountryCallingCode(kNanpCallingCode, &order);
  auto c = std::make_unique<Compiled>();
  for (const std::string& code : order) {
    const auto it = by_region.find(code);
    if (it == by_region.end() || !add_region(*c, code, *it->second)) return nullptr;
  }
  if (c->regions.empty()) return nullptr;
  return c;
}

const Compiled* compiled() {
  // Built once and never destroyed: threads' matchers point into its patterns until they exit.
  static const Compiled* const c = build().release();
  return c;
}

// One matcher per pattern per thread (an ICU RegexMatcher is not thread-safe), made on first use.
icu::RegexMatcher* matcher(const Compiled& c, int pattern) {
  thread_local std::vector<std::unique_ptr<icu::RegexMatcher>> matchers;
  if (matchers.size() < c.patterns.size()) matchers.resize(c.patterns.size());
  auto& m = matchers[static_cast<std::size_t>(pattern)];
  if (!m) {
    UErrorCode status = U_ZERO_ERROR;
    m.reset(c.patterns[static_cast<std::size_t>(pattern)]->matcher(status));
    if (U_FAILURE(status)) m.reset();
  }
  return m.get();
}

// IcuRegExp::FullMatch (matches) or Consume without captures (lookingAt).
bool match(const Compiled& c, int pattern, const icu::UnicodeString& number, bool whole) {
  if (pattern == kNoPattern) return false;
  icu::RegexMatcher* m = matcher(c, pattern);
  if (!m) return false;
  m->reset(number);
  UErrorCode status = U_ZERO_ERROR;
  const bool matched = whole ? m->matches(status) : m->lookingAt(status);
  return matched && U_SUCCESS(status);
}

bool matches_desc(const Compiled& c, const Desc& d, const icu::UnicodeString& number) {
  if (!d.lengths.empty() && std::find(d.lengths.begin(), d.lengths.end(), number.length()) == d.lengths.end())
    return false;
  return match(c, d.pattern, number, true);
}

// GetNumberTypeHelper(...) != UNKNOWN.
bool valid_in(const Compiled& c, const Region& r, const icu::UnicodeString& number) {
  if (!matches_desc(c, r.general, number)) return false;
  return std::any_of(r.types.begin(), r.types.end(), [&](const Desc& d) { return matches_desc(c, d, number); });
}

// GetRegionCodeForNumberFromRegionList: the first region whose leading digits begin the number,
// or without leading digits, for which the number is valid.
const Region* region_for(const Compiled& c, const icu::UnicodeString& number) {
  for (const Region& r : c.regions) {
    if (r.leading_digits != kNoPattern ? match(c, r.leading_digits, number, false) : valid_in(c, r, number))
      return &r;
  }
  return nullptr;
}

}  // namespace

std::optional<NanpVerdict> nanp_verdict(std::string_view national) {
  const Compiled* c = compiled();
  if (!c) return std::nullopt;
  char16_t digits[16];
  if (national.size() > std::size(digits)) return std::nullopt;
  const std::size_t n = national.size();
  for (std::size_t i = 0; i < n; ++i) digits[i] = static_cast<char16_t>(static_cast<unsigned char>(national[i]));
  const icu::UnicodeString number(false, digits, static_cast<int32_t>(n));  // read-only alias
  const Region* r = region_for(*c, number);
  // A region chosen by its leading digits still has to find the number valid (as
  // IsValidNumberForRegion does); one chosen by validity did.
  if (r && (r->leading_digits == kNoPattern || valid_in(*c, *r, number))) return NanpVerdict{true, r->code};
  return NanpVerdict{false, {}};
}

}  // namespace numflow::phone
