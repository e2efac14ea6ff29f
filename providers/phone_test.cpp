#include "providers/phone.h"

#include <gtest/gtest.h>

#include <string>

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

TEST(Phone, IsE164) {
  EXPECT_TRUE(is_e164("+6512345678"));
  EXPECT_FALSE(is_e164("6512345678"));
  EXPECT_FALSE(is_e164("+0512345678"));
  EXPECT_FALSE(is_e164("+123456"));
}

}  // namespace
}  // namespace numflow::phone
