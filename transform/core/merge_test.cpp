#include "transform/core/merge.h"

#include <gtest/gtest.h>

namespace numflow::transform {
namespace {

NumberUpdate update(std::int64_t t, std::initializer_list<std::pair<Slot, std::string>> slots,
                    ChangeHint hint = ChangeHint::updated) {
  NumberUpdate u;
  u.number = "+6561234567";
  u.event_time_ms = t;
  u.hint = hint;
  for (const auto& [s, v] : slots) u.slots.set(s, v);
  return u;
}

TEST(Merge, FirstEventSetsEveryFieldItCarries) {
  const auto m = merge(nullptr, update(10, {{Slot::status, "\"active\""}, {Slot::health_check_enabled, "true"}}));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->changed_fields, (std::vector<Field>{Field::status, Field::health}));
  EXPECT_EQ(m->change, Change::updated);
}

TEST(Merge, NothingChangedProducesNoRecord) {
  auto first = merge(nullptr, update(10, {{Slot::status, "\"active\""}}));
  EXPECT_FALSE(merge(&first->state, update(20, {{Slot::status, "\"active\""}})));
}

TEST(Merge, OlderEventDoesNotRegressANewerField) {
  auto first = merge(nullptr, update(20, {{Slot::status, "\"inactive\""}}));
  EXPECT_FALSE(merge(&first->state, update(10, {{Slot::status, "\"active\""}})));
}

TEST(Merge, OlderEventStillSetsFieldsNoNewerEventSet) {
  auto cnam = merge(nullptr, update(20, {{Slot::cnam, "\"ACME\""}}));
  auto late = merge(&cnam->state, update(10, {{Slot::status, "\"active\""}, {Slot::cnam, "\"OLD\""}}));
  ASSERT_TRUE(late);
  EXPECT_EQ(late->changed_fields, std::vector<Field>{Field::status});
  EXPECT_EQ(late->state.slots[static_cast<std::size_t>(Slot::cnam)]->json, "\"ACME\"");
}

TEST(Merge, CreatedOnlyWhenUnknownBefore) {
  EXPECT_EQ(merge(nullptr, update(1, {{Slot::status, "\"active\""}}, ChangeHint::created))->change, Change::created);
  EXPECT_EQ(merge(nullptr, update(1, {{Slot::status, "\"active\""}}, ChangeHint::listed_in_snapshot))->change,
            Change::created);
  auto known = merge(nullptr, update(1, {{Slot::status, "\"active\""}}));
  EXPECT_EQ(merge(&known->state, update(2, {{Slot::status, "\"expiring\""}}, ChangeHint::listed_in_snapshot))->change,
            Change::updated);
}

TEST(Merge, DeletionIsAlwaysARecordWithChangedFields) {
  auto known = merge(nullptr, update(1, {{Slot::status, "\"active\""}}));
  const auto d = merge(&known->state, update(2, {}, ChangeHint::deleted));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->change, Change::deleted);
  EXPECT_EQ(d->changed_fields, std::vector<Field>{Field::status});
}

TEST(Merge, HealthMembersMergeSeparately) {
  // The numbers API knows health details; a later webhook only says the check is enabled.
  auto api = merge(nullptr, update(10, {{Slot::health_check_enabled, "true"}, {Slot::health_healthy, "false"}}));
  auto hook = merge(&api->state, update(20, {{Slot::health_check_enabled, "true"}}));
  EXPECT_FALSE(hook);
  EXPECT_EQ(api->state.slots[static_cast<std::size_t>(Slot::health_healthy)]->json, "false");
}

}  // namespace
}  // namespace numflow::transform
