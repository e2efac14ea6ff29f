// time, crypto and log: small pieces every record and request depends on.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "common/crypto.h"
#include "common/log.h"
#include "common/log_budget.h"
#include "common/time.h"

namespace numflow {
namespace {

TEST(Time, FormatsRfc3339UtcWithMilliseconds) {
  EXPECT_EQ(format_rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(1676610614760), "2023-02-17T05:10:14.760Z");
}

// The digits are written by hand: every field at every width, across the years RFC 3339 allows.
TEST(Time, FormatsEveryFieldAndReadsBackTheSameInstant) {
  EXPECT_EQ(format_rfc3339_ms(-62167219200000), "0000-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(253402300799999), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339_ms(1004579405007), "2001-11-01T01:50:05.007Z");
  std::int64_t ms = -62167219200000;
  for (int i = 0; i < 20000; ++i, ms += 15811200003317) {  // steps that vary every field
    if (ms > 253402300799999) ms -= 315537897600000;
    const std::string s = format_rfc3339_ms(ms);
    ASSERT_EQ(s.size(), 24u) << s;
    ASSERT_EQ(parse_rfc3339_ms(s), ms) << s;
  }
}

TEST(Time, ParsesWhatProvidersSend) {
  EXPECT_EQ(parse_rfc3339_ms("2023-02-17T05:10:14.760Z"), 1676610614760);
  EXPECT_EQ(parse_rfc3339_ms("2023-02-17T05:10:14Z"), 1676610614000);
  EXPECT_EQ(parse_rfc3339_ms("2023-02-17T05:10:14.7601234Z"), 1676610614760);
  EXPECT_EQ(parse_rfc3339_ms("2023-02-17T13:10:14.760+08:00"), 1676610614760);
  EXPECT_EQ(parse_rfc3339_ms("2023-02-17T00:10:14.760-0500"), 1676610614760);
  EXPECT_EQ(parse_rfc3339_ms("2023-02-17 05:10:14"), 1676610614000);
  // Only times format_rfc3339_ms can write back, with a four-digit year.
  EXPECT_EQ(format_rfc3339_ms(*parse_rfc3339_ms("0000-01-01T00:00:00Z")), "0000-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(*parse_rfc3339_ms("9999-12-31T23:59:59.999Z")), "9999-12-31T23:59:59.999Z");
  EXPECT_FALSE(parse_rfc3339_ms("0000-01-01T00:00:00+01:00"));
  EXPECT_FALSE(parse_rfc3339_ms("9999-12-31T23:59:59-00:01"));
  for (const char* bad : {"", "string", "2023-02-17", "2023-13-01T00:00:00Z", "2023-02-17T05:10:14.Z",
                          "2023-02-17T05:10:14Zjunk"})
    EXPECT_FALSE(parse_rfc3339_ms(bad)) << bad;
}

TEST(Crypto, HmacSha256KnownVector) {
  // RFC 4231 test case 2.
  EXPECT_EQ(crypto::to_hex(crypto::hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(crypto::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// One context per thread serves every key and message: each call must start from its own key,
// including an empty one, and nothing of the previous message may carry over.
TEST(Crypto, ReusedContextsStartOverOnEveryCall) {
  const std::string rfc4231_case1_key(20, '\x0b');
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(crypto::to_hex(crypto::hmac_sha256(rfc4231_case1_key, "Hi There")),
              "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    EXPECT_EQ(crypto::to_hex(crypto::hmac_sha256("", "")),
              "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    EXPECT_EQ(crypto::to_hex(crypto::hmac_sha256("Jefe", "what do ya want for nothing?")),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    EXPECT_EQ(crypto::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(crypto::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  }
  // Another thread has its own contexts.
  std::string other;
  std::thread([&] { other = crypto::to_hex(crypto::hmac_sha256("Jefe", "what do ya want for nothing?")); }).join();
  EXPECT_EQ(other, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// A prepared key gives RFC 4231's answers: a short key, an empty one, one longer than the block
// (hashed down first, case 6), a message given in parts, and the same key used again and from
// another thread at once.
TEST(Crypto, PreparedHmacKeyMatchesRfc4231) {
  const crypto::HmacSha256Key jefe("Jefe");
  EXPECT_EQ(crypto::to_hex(jefe.sign({"what do ya want for nothing?"})),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(crypto::to_hex(jefe.sign({"what do ya ", "", "want for nothing?"})),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(crypto::to_hex(crypto::HmacSha256Key("").sign({""})),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  const crypto::HmacSha256Key long_key(std::string(131, '\xaa'));
  EXPECT_EQ(crypto::to_hex(long_key.sign({"Test Using Larger Than Block-Size Key - Hash Key First"})),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  // Interleaved with the one-shot function, which shares this thread's digest context.
  EXPECT_EQ(crypto::to_hex(crypto::hmac_sha256("Jefe", "x")), crypto::to_hex(jefe.sign({"x"})));
  std::vector<std::string> from_threads(4);
  std::vector<std::thread> threads;
  for (auto& out : from_threads)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) out = crypto::to_hex(jefe.sign({"what do ya want for nothing?"}));
    });
  for (auto& t : threads) t.join();
  for (const auto& out : from_threads) EXPECT_EQ(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Crypto, ConstantTimeEqual) {
  EXPECT_TRUE(crypto::constant_time_equal("abc", "abc"));
  EXPECT_FALSE(crypto::constant_time_equal("abc", "abd"));
  EXPECT_FALSE(crypto::constant_time_equal("abc", "abcd"));
  EXPECT_TRUE(crypto::constant_time_equal("", ""));
  EXPECT_NE(crypto::random_hex_id(), crypto::random_hex_id());
  EXPECT_EQ(crypto::random_hex_id().size(), 32u);
}

TEST(Crypto, UniqueHexIdsDoNotRepeatWithinOrAcrossThreads) {
  std::vector<std::vector<std::string>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& ids : per_thread)
    threads.emplace_back([&ids] {
      for (int i = 0; i < 50000; ++i) ids.push_back(crypto::unique_hex_id());
    });
  for (auto& t : threads) t.join();
  std::unordered_set<std::string> all;
  for (const auto& ids : per_thread)
    for (const auto& id : ids) {
      ASSERT_EQ(id.size(), 32u);
      ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
      all.insert(id);
    }
  EXPECT_EQ(all.size(), 200000u);
  // Each thread has its own random prefix.
  EXPECT_NE(per_thread[0][0].substr(0, 16), per_thread[1][0].substr(0, 16));
  EXPECT_EQ(per_thread[0][0].substr(0, 16), per_thread[0][1].substr(0, 16));
}

TEST(Log, OneJsonObjectPerLineWithEscaping) {
  const auto line = log::render(log::Level::warn, "hello \"world\"\n", {{"n", 3}, {"ok", true}, {"s", "a\tb"}});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find(R"("level":"warn","msg":"hello \"world\"\n","n":3,"ok":true,"s":"a\tb")"), std::string::npos)
      << line;
  EXPECT_TRUE(log::set_level("error"));
  EXPECT_FALSE(log::enabled(log::Level::warn));
  EXPECT_FALSE(log::set_level("loud"));
  log::set_level(log::Level::info);
}

}  // namespace
}  // namespace numflow

namespace {
TEST(LogBudget, AdmitsAFewLinesASecondAndSaysHowManyWereLeftOut) {
  using numflow::log::LogBudget;
  LogBudget budget(3);
  const auto t0 = LogBudget::Clock::now();
  EXPECT_EQ(budget.admit(t0), 0);
  EXPECT_EQ(budget.admit(t0 + std::chrono::milliseconds(1)), 0);
  EXPECT_EQ(budget.admit(t0 + std::chrono::milliseconds(2)), 0);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(budget.admit(t0 + std::chrono::milliseconds(10 + i)), -1);
  EXPECT_EQ(budget.admit(t0 + std::chrono::milliseconds(1000)), 100) << "a new second: logged, with the count";
  EXPECT_EQ(budget.admit(t0 + std::chrono::milliseconds(1001)), 0);
}
}  // namespace
