#include "providers/phone.h"

#include <gtest/gtest.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <list>
#include <string>
#include <vector>

namespace numflow::phone {
namespace {

TEST(Phone, KeepsE164) {
  const auto n = normalize("+14155550123");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->e164, "+14155550123");
  EXPECT_TRUE(n->valid);
  EXPECT_EQ(n->region, "US");
}

TEST(Phone, DigitsWithoutPlusAreInternational) {
  EXPECT_EQ(normalize("18008001000")->e164, "+18008001000");
  EXPECT_EQ(normalize("447700900123")->e164, "+447700900123");
}

TEST(Phone, PunctuationGoes) {
  EXPECT_EQ(normalize("+1 (415) 555-0123")->e164, "+14155550123");
  EXPECT_EQ(normalize("+44 20.7946.0123")->e164, "+442079460123");
}

TEST(Phone, NationalFormIsCompletedFromTheCountry) {
  EXPECT_EQ(normalize("020 7946 0123", "GB")->e164, "+442079460123");
  EXPECT_EQ(normalize("(415) 555-0123", "US")->e164, "+14155550123");
  EXPECT_EQ(normalize("6123 4567", "SG")->e164, "+6561234567");
}

TEST(Phone, InvalidButWellFormedNumbersStillComeThrough) {
  // The 8x8 seed's example numbers are not valid Singapore numbers: kept, marked invalid.
  const auto n = normalize("+65987654321", "SG");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->e164, "+65987654321");
  EXPECT_FALSE(n->valid);
}

TEST(Phone, ImpossibleNumbersAreRefused) {
  for (const char* bad : {"", "+", "abc", "+1 555 CALL NOW", "+0123456789", "12", "+1234567890123456789", "++44123"})
    EXPECT_FALSE(normalize(bad)) << bad;
}

// Found by the hostile-input tests: libphonenumber 8.12's regular expressions took minutes over a
// 1 MB msisdn. Texts longer than libphonenumber's own limit are not read at all.
TEST(Phone, HugeTextIsRefusedWithoutReadingIt) {
  EXPECT_FALSE(normalize(std::string(1'000'000, '9')));
  EXPECT_FALSE(normalize("+1 415 555 0123" + std::string(300, ' ')));
  EXPECT_EQ(normalize("+1 415 555 0123" + std::string(200, ' '))->e164, "+14155550123");
}

TEST(Phone, RegionOfAnInvalidNumberFromASingleRegionCallingCode) {
  EXPECT_EQ(normalize("+65123456789")->region, "SG");
}

// What normalize answered before its North American fast path: libphonenumber's Parse, Format
// and region search for every number.
Normalized by_parse(const std::string& e164) {
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  i18n::phonenumbers::PhoneNumber n;
  EXPECT_EQ(util.Parse(e164, "ZZ", &n), PhoneNumberUtil::NO_PARSING_ERROR) << e164;
  Normalized out;
  util.Format(n, PhoneNumberUtil::E164, &out.e164);
  util.GetRegionCodeForNumber(n, &out.region);
  out.valid = util.IsValidNumberForRegion(n, out.region);
  if (!out.valid) {
    std::list<std::string> regions;
    util.GetRegionCodesForCountryCallingCode(n.country_code(), &regions);
    out.region = regions.size() == 1 ? regions.front() : "";
  }
  if (out.region == "ZZ" || out.region == "001") out.region.clear();
  return out;
}

// Every area code, valid and invalid exchanges and lines: the US, Canada, the Caribbean, toll-free,
// unassigned codes. Plus +1 forms that are not the fast path's (a national prefix "1" that Parse
// strips, a leading 0) and still go through Parse.
TEST(Phone, NorthAmericanFastPathAnswersAsParseDoes) {
  std::vector<std::string> texts = {"+112125550123", "+11212555012", "+10212555012", "+1212555012"};
  for (int area = 200; area <= 999; ++area)
    for (const char* rest : {"2000000", "5550123", "9111234", "2349999", "0123456", "1234567"})
      texts.push_back("+1" + std::to_string(area) + rest);
  int valid = 0, regions = 0;
  for (const auto& text : texts) {
    const auto got = normalize(text);
    ASSERT_TRUE(got) << text;
    const auto want = by_parse(text);
    EXPECT_EQ(got->e164, want.e164) << text;
    EXPECT_EQ(got->valid, want.valid) << text;
    EXPECT_EQ(got->region, want.region) << text;
    valid += want.valid;
    regions += want.region != "US" && !want.region.empty();
  }
  // The sample holds both answers and regions besides the US (what the shortcut must not hide).
  EXPECT_GT(valid, 1000);
  EXPECT_LT(valid, static_cast<int>(texts.size()) - 1000);
  EXPECT_GT(regions, 100);
}

TEST(Phone, IsE164) {
  EXPECT_TRUE(is_e164("+6512345678"));
  EXPECT_FALSE(is_e164("6512345678"));
  EXPECT_FALSE(is_e164("+0512345678"));
  EXPECT_FALSE(is_e164("+123456"));
}

}  // namespace
}  // namespace numflow::phone
