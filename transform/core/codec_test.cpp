#include "transform/core/codec.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

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

namespace numflow::transform {
namespace {

NumberFragment sample_fragment() {
  NumberFragment f;
  f.provider = "zoom";
  f.account_id = "acct-1";
  f.event_type = "number_management.peering_number_cnam_updated";
  f.source = SourcePosition{"webhooks.raw", 2, 1234567890123};
  f.update.number = "+14155550123";
  f.update.event_id = "e1";
  f.update.event_time_ms = -5;  // negative and large integers round-trip (zigzag varints)
  f.update.slots.set(Slot::cnam, "\"ACME \\\"Ltd\\\" \\u00e9\"");
  f.update.slots.set(Slot::emergency_address, R"({"street":"1 Main St","zip":null})");
  return f;
}

// Every proper prefix of a record is refused: a truncated message never decodes into something.
TEST(Codec, TruncatedBinaryRecordsAreRefused) {
  const std::string fragment = encode_fragment(sample_fragment());
  NumberState s;
  s.recent_event_ids = {"a", "b"};
  s.slots[static_cast<std::size_t>(Slot::status)] = SlotValue{"\"active\"", 1700000000000};
  const std::string state = encode_state(s);
  for (std::size_t n = 0; n < fragment.size(); ++n) EXPECT_FALSE(decode_fragment(fragment.substr(0, n))) << n;
  for (std::size_t n = 0; n < state.size(); ++n) EXPECT_FALSE(decode_state(state.substr(0, n))) << n;
  EXPECT_FALSE(decode_fragment(fragment + "x")) << "trailing bytes";
  EXPECT_FALSE(decode_state(state + "x")) << "trailing bytes";
}

// A slot value goes verbatim into the records analytics read: one JSON value or nothing.
TEST(Codec, BinarySlotValuesMustBeJson) {
  NumberFragment f = sample_fragment();
  for (const char* bad : {"", "ACME", "\"open", "1 2", "{\"a\":}", "\"\xff\"", "\"", "\"a\"b\"", "\"a\\\"",
                          "\"tab\there\"", "truex", "nul"}) {
    SCOPED_TRACE(bad);
    f.update.slots.set(Slot::cnam, bad);
    EXPECT_FALSE(decode_fragment(encode_fragment(f)));
    NumberState s;
    s.slots[static_cast<std::size_t>(Slot::cnam)] = SlotValue{bad, 1};
    EXPECT_FALSE(decode_state(encode_state(s)));
  }
  f.update.slots.set(Slot::cnam, std::string(100000, '[') + std::string(100000, ']'));  // deep, not recursive
  EXPECT_TRUE(decode_fragment(encode_fragment(f)));
  // Told valid by a look at their bytes (plain strings, literals) or by RapidJSON (the rest).
  for (const char* good :
       {"\"\"", "\"ACME Support\"", "true", "false", "null", "\"a\\\"b\"", "\"caf\xc3\xa9\"", "-1.5e3"}) {
    SCOPED_TRACE(good);
    f.update.slots.set(Slot::cnam, good);
    const auto d = decode_fragment(encode_fragment(f));
    ASSERT_TRUE(d);
    EXPECT_EQ(std::get<NumberFragment>(*d).update.slots.get(Slot::cnam), good);
  }
}

TEST(Codec, BinaryRecordsAreSmallerThanTheirJson) {
  const NumberFragment f = sample_fragment();
  const auto d = decode_fragment(encode_fragment(f));
  ASSERT_TRUE(d);
  const auto& g = std::get<NumberFragment>(*d);
  EXPECT_EQ(g.update.event_time_ms, -5);
  EXPECT_EQ(g.source->offset, 1234567890123);
  EXPECT_EQ(g.update.slots.get(Slot::cnam), f.update.slots.get(Slot::cnam));
  EXPECT_LT(encode_fragment(f).size(), 250u);
}

// Changelogs and fragments written by numflow before the binary form still restore.
TEST(Codec, JsonVersionOneRecordsAreStillRead) {
  const auto state = decode_state(
      R"({"v":1,"provider":"8x8","account":"sub-1","inventory":"8x8:sub-1","snapshot_ms":5,"deleted_at":-1,)"
      R"("ids":["a","b"],"slots":{"status":{"t":10,"v":"active"},"pricing.rental_price":{"t":11,"v":5.0}}})");
  ASSERT_TRUE(state);
  EXPECT_EQ(state->account_id, "sub-1");
  EXPECT_EQ(state->recent_event_ids.size(), 2u);
  EXPECT_EQ(state->slots[static_cast<std::size_t>(Slot::status)]->json, "\"active\"");
  EXPECT_EQ(state->slots[static_cast<std::size_t>(Slot::pricing_rental_price)]->json, "5.0");
  const auto again = decode_state(encode_state(*state));  // and are written back in binary
  ASSERT_TRUE(again);
  EXPECT_EQ(encode_state(*again), encode_state(*state));
  EXPECT_EQ(encode_state(*state).substr(0, 1), "\x02");

  const auto fragment = decode_fragment(
      R"({"v":1,"type":"update","provider":"zoom","account":"a","event_type":"x","number":"+14155550123",)"
      R"("hint":"created","event_id":"e","event_time":7,"inventory":"","snapshot_ms":-1,"source":null,)"
      R"("slots":{"cnam":"ACME"}})");
  ASSERT_TRUE(fragment);
  const auto& u = std::get<NumberFragment>(*fragment).update;
  EXPECT_EQ(u.hint, ChangeHint::created);
  EXPECT_EQ(u.slots.get(Slot::cnam), "\"ACME\"");
}

}  // namespace
}  // namespace numflow::transform

namespace numflow::transform {
namespace {

std::string seed(const std::string& name) {
  std::ifstream in("fuzz/corpus/fuzz_codec/seed-" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// fuzz/make_corpus.py writes the binary seeds with its own encoder: both must agree on the format,
// or the fuzzer would only ever explore refusals.
TEST(Codec, TheFuzzersBinarySeedsAreWhatNumflowWrites) {
  for (const char* name : {"fragment", "fragment-deleted", "snapshot-end"}) {
    SCOPED_TRACE(name);
    const std::string bytes = seed(name), json = seed(std::string("json-") + name);
    const auto binary = decode_fragment(bytes), from_json = decode_fragment(json);
    ASSERT_TRUE(binary);
    ASSERT_TRUE(from_json);
    if (const auto* f = std::get_if<NumberFragment>(&*binary)) {
      EXPECT_EQ(encode_fragment(*f), bytes);
      EXPECT_EQ(encode_fragment(std::get<NumberFragment>(*from_json)), bytes);
    } else {
      EXPECT_EQ(encode_snapshot_end(std::get<SnapshotEnd>(*binary)), bytes);
      EXPECT_EQ(encode_snapshot_end(std::get<SnapshotEnd>(*from_json)), bytes);
    }
  }
  for (const char* name : {"state", "state-deleted"}) {
    SCOPED_TRACE(name);
    const std::string bytes = seed(name);
    const auto binary = decode_state(bytes), from_json = decode_state(seed(std::string("json-") + name));
    ASSERT_TRUE(binary);
    ASSERT_TRUE(from_json);
    EXPECT_EQ(encode_state(*binary), bytes);
    EXPECT_EQ(encode_state(*from_json), bytes);
  }
}

}  // namespace
}  // namespace numflow::transform
