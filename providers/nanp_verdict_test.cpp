#include "providers/nanp_verdict.h"

#include <gtest/gtest.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace numflow::phone {
namespace {

using i18n::phonenumbers::PhoneNumberUtil;

// libphonenumber's own answer for +1 and these ten digits: region search, then validity there.
NanpVerdict by_libphonenumber(const std::string& national) {
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  i18n::phonenumbers::PhoneNumber n;
  n.set_country_code(1);
  n.set_national_number(std::stoull(national));
  NanpVerdict out;
  util.GetRegionCodeForNumber(n, &out.region);
  out.valid = util.IsValidNumberForRegion(n, out.region);
  if (!out.valid) out.region.clear();
  return out;
}

std::string national(int area, std::uint32_t rest) {
  return std::to_string(area) + std::to_string(10000000 + rest % 10000000).substr(1);
}

// nanp_verdict's answer for these digits, and whether it is libphonenumber's.
struct Compared {
  std::optional<NanpVerdict> got;
  NanpVerdict want;
  bool same() const { return got && got->valid == want.valid && got->region == want.region; }
};

Compared compare(const std::string& digits) { return {nanp_verdict(digits), by_libphonenumber(digits)}; }

void expect_same(const Compared& c, const std::string& digits) {
  ASSERT_TRUE(c.got) << digits;
  EXPECT_EQ(c.got->valid, c.want.valid) << digits;
  EXPECT_EQ(c.got->region, c.want.region) << digits;
}

// Compares n numbers per area code: 200-999, each with exchanges and lines from a fixed seed.
// Returns how many were valid and the regions seen.
std::pair<int, std::set<std::string>> compare_sample(int per_area, std::uint32_t seed) {
  std::mt19937 rng(seed);
  int valid = 0;
  std::set<std::string> regions;
  for (int area = 200; area <= 999; ++area) {
    for (int i = 0; i < per_area; ++i) {
      const std::string digits = national(area, static_cast<std::uint32_t>(rng()));
      const Compared c = compare(digits);
      expect_same(c, digits);
      if (!c.got) return {valid, regions};
      valid += c.want.valid;
      if (c.want.valid) regions.insert(c.want.region);
    }
  }
  return {valid, regions};
}

// 800 area codes x 40 numbers. The sample must hold both verdicts and NANP's regions besides the
// US, chosen both by validity (CA) and by leading digits (the Caribbean's).
TEST(NanpVerdict, AnswersAsLibphonenumberDoes) {
  const auto [valid, regions] = compare_sample(40, 20261129);
  EXPECT_GT(valid, 5000);
  EXPECT_LT(valid, 800 * 40 - 5000);
  for (const char* r : {"US", "CA", "PR", "JM", "BS", "DO", "TT", "GU", "VI"}) EXPECT_TRUE(regions.count(r)) << r;
}

// Lines at the edges of their exchange, where patterns ending in a digit range decide.
TEST(NanpVerdict, EdgesOfEveryExchangeOfSomeAreaCodes) {
  for (int area : {201, 212, 242, 264, 268, 284, 305, 340, 345, 441, 473, 649, 664, 670, 671, 684,
                   721, 758, 767, 784, 787, 800, 809, 829, 849, 868, 869, 876, 900, 939}) {
    for (int exchange = 0; exchange <= 999; ++exchange) {
      for (std::uint32_t line : {0u, 1u, 5550u, 9999u}) {
        const std::string digits = national(area, static_cast<std::uint32_t>(exchange) * 10000 + line);
        expect_same(compare(digits), digits);
        if (HasFatalFailure()) return;
      }
    }
  }
}

// Matchers are per thread: threads asking at once get the answers one thread gets.
TEST(NanpVerdict, ThreadsGetTheSameAnswers) {
  std::vector<std::string> numbers;
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) numbers.push_back(national(200 + static_cast<int>(rng() % 800), static_cast<std::uint32_t>(rng())));
  std::vector<NanpVerdict> want;
  for (const auto& n : numbers) want.push_back(*nanp_verdict(n));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (std::size_t i = 0; i < numbers.size(); ++i) {
        const auto got = nanp_verdict(numbers[i]);
        if (!got || got->valid != want[i].valid || got->region != want[i].region) ++mismatches[static_cast<std::size_t>(t)];
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST(NanpVerdict, RefusesWhatIsNotTenDigitsLong) {
  EXPECT_FALSE(nanp_verdict(std::string(17, '2')));
  EXPECT_FALSE(nanp_verdict("2125550123")->region.empty());
}

// Every area code and exchange (800,000 numbers, each with three lines) against libphonenumber:
// ~46 s in a release build, so only when asked (NUMFLOW_NANP_EXHAUSTIVE=1).
TEST(NanpVerdict, EveryExchangeWhenAsked) {
  if (!std::getenv("NUMFLOW_NANP_EXHAUSTIVE")) GTEST_SKIP() << "set NUMFLOW_NANP_EXHAUSTIVE=1";
  std::mt19937 rng(11);
  long compared = 0, differ = 0;
  for (int area = 200; area <= 999; ++area)
    for (std::uint32_t exchange = 0; exchange <= 999; ++exchange)
      for (std::uint32_t line : {0u, static_cast<std::uint32_t>(rng() % 10000), 9999u}) {
        const std::string digits = national(area, exchange * 10000 + line);
        ++compared;
        if (!compare(digits).same() && ++differ <= 20) ADD_FAILURE() << digits;
      }
  EXPECT_EQ(differ, 0) << "of " << compared;
}

}  // namespace
}  // namespace numflow::phone
