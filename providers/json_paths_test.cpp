#include "providers/json_paths.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "providers/json_util.h"

#include "providers/registry.h"
#include "tests/support/normalize_helpers.h"

namespace numflow::json {
namespace {

using numflow::testing::parse;
using numflow::testing::read_file;

std::string dump(const rapidjson::Value& v) { return json::text(v); }

TEST(PickPaths, KeepsOnlyTheValuesAtThePaths) {
  const auto d = pick_paths(R"({"event":"e","n":1.5,"payload":{"account_id":"a\"1","object":{"account_id":"no"}},"x":[1]})",
                            {{"event"}, {"payload", "account_id"}});
  EXPECT_EQ(dump(d), R"({"event":"e","payload":{"account_id":"a\"1"}})");
}

TEST(PickPaths, IntegersAreKeptOtherScalarsAndContainersAreNot) {
  EXPECT_EQ(dump(pick_paths(R"({"a":{"id":42}})", {{"a", "id"}})), R"({"a":{"id":42}})");
  EXPECT_EQ(dump(pick_paths(R"({"a":{"id":-7}})", {{"a", "id"}})), R"({"a":{"id":-7}})");
  EXPECT_EQ(dump(pick_paths(R"({"a":{"id":true,"x":null}})", {{"a", "id"}})), "{}");
  EXPECT_EQ(dump(pick_paths(R"({"a":{"id":{"deeper":"x"}}})", {{"a", "id"}})), "{}");
  EXPECT_EQ(dump(pick_paths(R"({"a":{"id":["x"]}})", {{"a", "id"}})), "{}");
}

TEST(PickPaths, NothingInsideArraysMatches) {
  EXPECT_EQ(dump(pick_paths(R"({"a":[{"id":"x"}],"b":[["id","y"]]})", {{"a", "id"}, {"id"}})), "{}");
  EXPECT_EQ(dump(pick_paths(R"([{"id":"x"}])", {{"id"}})), "{}");
}

TEST(PickPaths, SameNamesAtOtherDepthsDoNotMatch) {
  const auto d = pick_paths(R"({"id":"top","a":{"b":{"id":"deep"},"id":"mid"}})", {{"a", "id"}});
  EXPECT_EQ(dump(d), R"({"a":{"id":"mid"}})");
}

TEST(PickPaths, StopsOnceEveryPathIsSeenAndTheFirstValueWins) {
  // Invalid after the value: the parse had stopped already.
  EXPECT_EQ(dump(pick_paths(R"({"a":{"id":"x"}, oops)", {{"a", "id"}})), R"({"a":{"id":"x"}})");
  EXPECT_EQ(dump(pick_paths(R"({"a":{"id":"x","id":"y"}})", {{"a", "id"}})), R"({"a":{"id":"x"}})");
}

TEST(PickPaths, InvalidOrOtherBodiesGiveWhatWasFoundBeforeTheError) {
  EXPECT_EQ(dump(pick_paths("", {{"a"}})), "{}");
  EXPECT_EQ(dump(pick_paths("not json", {{"a"}})), "{}");
  EXPECT_EQ(dump(pick_paths(R"("a")", {{"a"}})), "{}");
  EXPECT_EQ(dump(pick_paths(R"({"b":1,"a":)", {{"a"}})), "{}");
  EXPECT_EQ(dump(pick_paths(R"({"a":"x","b":)", {{"a"}, {"b"}})), R"({"a":"x"})");
  EXPECT_EQ(dump(pick_paths(R"({"a":"x"})", {})), "{}");
  EXPECT_THROW(pick_paths("{}", std::vector<MemberPath>(33, MemberPath{"a"})), std::invalid_argument);
}

TEST(PickPaths, EscapesAndEmbeddedNulsSurvive) {
  const auto d = pick_paths(R"({"a\u0062":"x\u0000y\u00e9"})", {{"ab"}});
  ASSERT_TRUE(d.HasMember("ab"));
  EXPECT_EQ(std::string(d["ab"].GetString(), d["ab"].GetStringLength()), std::string("x\0y\xc3\xa9", 5));
}

TEST(PickPaths, DeepNestingIsNoStackProblem) {
  std::string body(100000, '[');
  body += std::string(100000, ']');
  EXPECT_EQ(dump(pick_paths("{\"a\":" + body + ",\"id\":\"x\"}", {{"id"}})), R"({"id":"x"})");
}

// The contract of Provider::account_paths(): for every fixture of every provider, account_of()
// answers the same from the picked values as from the whole body.
TEST(PickPaths, EveryProvidersAccountIsTheSameFromItsPaths) {
  int bodies = 0;
  for (const Provider* p : all_providers()) {
    // Tests run in the source tree (numflow_test), as the providers' own tests read fixtures.
    const auto dir = std::filesystem::path("providers") / std::string(p->name()) / "fixtures";
    ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
      const std::string body = read_file(f.path().string());
      const std::string full = p->account_of(parse(body));
      EXPECT_EQ(p->account_of(pick_paths(body, p->account_paths())), full) << p->name() << " " << f.path();
      ++bodies;
    }
  }
  EXPECT_GE(bodies, 20);
}

}  // namespace
}  // namespace numflow::json
