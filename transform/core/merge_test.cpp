#include "transform/core/merge.h"

#include <gtest/gtest.h>

namespace numflow::transform {
namespace {

NumberUpdate update(std::int64_t t, std::initializer_list<std::pair<Slot, std::string>> slots,
                    ChangeHint hint = ChangeHint::updated, std::string id = "") {
  NumberUpdate u;
  u.number = "+6561234567";
  u.event_time_ms = t;
  u.hint = hint;
  u.event_id = id.empty() ? "e" + std::to_string(t) + "-" + std::to_string(slots.size()) : id;
  for (const auto& [s, v] : slots) u.slots.set(s, v);
  return u;
}

TEST(Merge, FirstEventSetsEveryFieldItCarries) {
  const auto m = merge(nullptr, update(10, {{Slot::status, "\"active\""}, {Slot::health_check_enabled, "true"}}));
  EXPECT_EQ(m.verdict, Verdict::record);
  EXPECT_EQ(m.changed_fields, (std::vector<Field>{Field::status, Field::health}));
  EXPECT_EQ(m.change, Change::updated);
}

TEST(Merge, NothingChangedProducesNoRecord) {
  auto first = merge(nullptr, update(10, {{Slot::status, "\"active\""}}));
  EXPECT_EQ(merge(&first.state, update(20, {{Slot::status, "\"active\""}})).verdict, Verdict::unchanged);
}

TEST(Merge, ARedeliveredEventIsADuplicate) {
  auto first = merge(nullptr, update(10, {{Slot::status, "\"active\""}}, ChangeHint::updated, "same"));
  auto second = merge(&first.state, update(10, {{Slot::status, "\"inactive\""}}, ChangeHint::updated, "same"));
  EXPECT_EQ(second.verdict, Verdict::duplicate);
}

TEST(Merge, OlderEventDoesNotRegressANewerField) {
  auto first = merge(nullptr, update(20, {{Slot::status, "\"inactive\""}}));
  EXPECT_EQ(merge(&first.state, update(10, {{Slot::status, "\"active\""}})).verdict, Verdict::unchanged);
}

TEST(Merge, OlderEventStillSetsFieldsNoNewerEventSet) {
  auto cnam = merge(nullptr, update(20, {{Slot::cnam, "\"ACME\""}}));
  auto late = merge(&cnam.state, update(10, {{Slot::status, "\"active\""}, {Slot::cnam, "\"OLD\""}}));
  ASSERT_EQ(late.verdict, Verdict::record);
  EXPECT_EQ(late.changed_fields, std::vector<Field>{Field::status});
  EXPECT_EQ(late.state.slots[static_cast<std::size_t>(Slot::cnam)]->json, "\"ACME\"");
}

TEST(Merge, CreatedOnlyWhenUnknownBefore) {
  EXPECT_EQ(merge(nullptr, update(1, {{Slot::status, "\"active\""}}, ChangeHint::created)).change, Change::created);
  EXPECT_EQ(merge(nullptr, update(1, {{Slot::status, "\"active\""}}, ChangeHint::listed_in_snapshot)).change,
            Change::created);
  auto known = merge(nullptr, update(1, {{Slot::status, "\"active\""}}));
  EXPECT_EQ(merge(&known.state, update(2, {{Slot::status, "\"expiring\""}}, ChangeHint::listed_in_snapshot)).change,
            Change::updated);
}

TEST(Merge, DeletionIsAlwaysARecordWithChangedFields) {
  auto known = merge(nullptr, update(1, {{Slot::status, "\"active\""}}));
  const auto d = merge(&known.state, update(2, {}, ChangeHint::deleted));
  ASSERT_EQ(d.verdict, Verdict::record);
  EXPECT_EQ(d.change, Change::deleted);
  EXPECT_EQ(d.changed_fields, std::vector<Field>{Field::status});
}

TEST(Merge, ALateDeletionOlderThanTheStateIsStale) {
  auto known = merge(nullptr, update(10, {{Slot::status, "\"active\""}}));
  EXPECT_EQ(merge(&known.state, update(5, {}, ChangeHint::deleted)).verdict, Verdict::stale);
}

TEST(Merge, DeletedNumbersComeBackCreatedButNotFromOlderEvents) {
  auto known = merge(nullptr, update(10, {{Slot::status, "\"active\""}}));
  auto d = merge(&known.state, update(20, {}, ChangeHint::deleted));
  const NumberState marker = deletion_marker(d.state, 20);
  EXPECT_EQ(merge(&marker, update(15, {{Slot::cnam, "\"X\""}})).verdict, Verdict::stale);
  const auto back = merge(&marker, update(30, {{Slot::status, "\"active\""}}));
  EXPECT_EQ(back.verdict, Verdict::record);
  EXPECT_EQ(back.change, Change::created);
  EXPECT_EQ(back.changed_fields, std::vector<Field>{Field::status});
}

TEST(Merge, HealthMembersMergeSeparately) {
  // The numbers API knows health details; a later webhook only says the check is enabled.
  auto api = merge(nullptr, update(10, {{Slot::health_check_enabled, "true"}, {Slot::health_healthy, "false"}}));
  auto hook = merge(&api.state, update(20, {{Slot::health_check_enabled, "true"}}));
  EXPECT_EQ(hook.verdict, Verdict::unchanged);
  EXPECT_EQ(hook.state.slots[static_cast<std::size_t>(Slot::health_healthy)]->json, "false");
}

TEST(Merge, SnapshotListingRecordsTheInventory) {
  auto m = merge(nullptr, update(10, {{Slot::status, "\"active\""}}, ChangeHint::listed_in_snapshot), "8x8:a", 100);
  EXPECT_EQ(m.state.inventory, "8x8:a");
  EXPECT_EQ(m.state.snapshot_ms, 100);
  auto again = merge(&m.state, update(10, {{Slot::status, "\"active\""}}, ChangeHint::listed_in_snapshot, "x"),
                     "8x8:a", 200);
  EXPECT_EQ(again.verdict, Verdict::unchanged);
  EXPECT_EQ(again.state.snapshot_ms, 200);
}

}  // namespace
}  // namespace numflow::transform
