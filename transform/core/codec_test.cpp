#include "transform/core/codec.h"

#include <gtest/gtest.h>

namespace numflow::transform {
namespace {

TEST(Codec, FragmentRoundTrip) {
  NumberFragment f;
  f.provider = "8x8";
  f.account_id = "acme";
  f.event_type = "NUMBERS_API_SNAPSHOT";
  f.inventory = "8x8:acme";
  f.snapshot_ms = 1234;
  f.source = SourcePosition{"webhooks.raw", 3, 99};
  f.update.number = "+6561234567";
  f.update.hint = ChangeHint::listed_in_snapshot;
  f.update.event_id = "abc";
  f.update.event_time_ms = 1700000000000;
  f.update.slots.set(Slot::status, "\"active\"");
  f.update.slots.set(Slot::pricing_rental_price, "5.0");
  f.update.slots.set(Slot::emergency_address, R"({"city":"San Jose","zip":null})");
  const auto d = decode_fragment(encode_fragment(f));
  ASSERT_TRUE(d);
  const auto& g = std::get<NumberFragment>(*d);
  EXPECT_EQ(encode_fragment(g), encode_fragment(f));
  EXPECT_EQ(g.update.slots.get(Slot::pricing_rental_price), "5.0");
  EXPECT_EQ(g.update.hint, ChangeHint::listed_in_snapshot);
  EXPECT_EQ(g.source->offset, 99);
}

TEST(Codec, SnapshotEndRoundTrip) {
  SnapshotEnd e{"8x8", "acme", "NUMBERS_API_SNAPSHOT", "8x8:acme", 42, SourcePosition{"r", 0, 1}};
  const auto d = decode_fragment(encode_snapshot_end(e));
  ASSERT_TRUE(d);
  EXPECT_EQ(encode_snapshot_end(std::get<SnapshotEnd>(*d)), encode_snapshot_end(e));
}

TEST(Codec, StateRoundTrip) {
  NumberState s;
  s.provider = "zoom";
  s.account_id = "z";
  s.inventory = "8x8:a";
  s.snapshot_ms = 7;
  s.recent_event_ids = {"a", "b"};
  s.slots[static_cast<std::size_t>(Slot::cnam)] = SlotValue{"\"ACME\"", 10};
  s.slots[static_cast<std::size_t>(Slot::health_healthy)] = SlotValue{"false", 11};
  const auto d = decode_state(encode_state(s));
  ASSERT_TRUE(d);
  EXPECT_EQ(encode_state(*d), encode_state(s));
  NumberState marker;
  marker.deleted_at_ms = 99;
  EXPECT_TRUE(decode_state(encode_state(marker))->deleted());
}

TEST(Codec, GarbageIsRefused) {
  EXPECT_FALSE(decode_fragment("nope"));
  EXPECT_FALSE(decode_fragment(R"({"v":2})"));
  EXPECT_FALSE(decode_state("[]"));
}

}  // namespace
}  // namespace numflow::transform

namespace numflow::transform {
namespace {
// Found by fuzz_codec.
TEST(Codec, HostileInternalRecordsAreRefusedNotCrashed) {
  const auto e = decode_fragment(R"({"v":1,"type":"snapshot_end","source":{"topic":7,"partition":0,"offset":0}})");
  ASSERT_TRUE(e);
  EXPECT_FALSE(std::get<SnapshotEnd>(*e).source.has_value());
  EXPECT_FALSE(decode_fragment(R"({"v":1,"x":)" + std::string(200000, '[')));
  EXPECT_FALSE(decode_state(std::string(200000, '[')));
}
}  // namespace
}  // namespace numflow::transform

namespace numflow::transform {
namespace {
// fuzz_transform_core's precision mismatch: a price re-read as a double on the repartition topic
// or the changelog came out as other digits. Slot values keep their numbers' text both ways.
TEST(Codec, NumbersKeepTheirExactTextThroughBothTopics) {
  for (const char* price : {"0.1234567890123456789", "1.9223372036854775807", "-0", "0e-23", "1e-400", "5.0"}) {
    SCOPED_TRACE(price);
    NumberFragment f;
    f.update.number = "+14155550123";
    f.update.slots.set(Slot::pricing_rental_price, price);
    const auto d = decode_fragment(encode_fragment(f));
    ASSERT_TRUE(d);
    EXPECT_EQ(std::get<NumberFragment>(*d).update.slots.get(Slot::pricing_rental_price), price);

    NumberState s;
    s.slots[static_cast<std::size_t>(Slot::pricing_incoming_rate)] = SlotValue{price, 1};
    const auto back = decode_state(encode_state(s));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->slots[static_cast<std::size_t>(Slot::pricing_incoming_rate)]->json, price);
  }
}
}  // namespace
}  // namespace numflow::transform
