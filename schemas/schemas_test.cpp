// Tests of the JSON Schemas in schemas/ and of the schema store: every schema loads and is
// enforced as written (draft-04, RapidJSON 1.1.0), every provider fixture validates, and for every
// schema a list of bodies that must fail fails with the expected keyword at the expected pointer.

#include "schemas/schema_store.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/pointer.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace fs = std::filesystem;
namespace schemas = numflow::schemas;

namespace {

#ifndef NUMFLOW_SOURCE_DIR
#define NUMFLOW_SOURCE_DIR "."
#endif

fs::path source_dir() { return fs::path(NUMFLOW_SOURCE_DIR); }

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

rapidjson::Document parse(std::string_view text) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (d.HasParseError()) throw std::runtime_error("invalid JSON at offset " + std::to_string(d.GetErrorOffset()));
  return d;
}

std::string to_json(const rapidjson::Value& v) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  v.Accept(w);
  return sb.GetString();
}

// The example record of contract.md section 3, verbatim.
constexpr std::string_view kContractNumberChange = R"json({
  "schema": "numflow.number-change.v1",
  "number": "+6512345678",
  "provider": "8x8",
  "account_id": "MySubAccount",
  "change": "updated",
  "changed_fields": ["status"],
  "event_type": "VIRTUAL_NUMBER_UPDATE",
  "event_id": "…",
  "event_time": "2023-02-17T05:10:14.760Z",
  "processed_at": "2026-11-23T15:00:00.000Z",
  "state": {
    "country_code": "SG",
    "number_valid": false,
    "status": "active",
    "provider_status": "Active",
    "usable_for_new_sessions": true,
    "health": {"check_enabled": false, "healthy": null, "status": null, "last_checked": null},
    "cnam": null,
    "emergency_address": null,
    "carrier_code": null,
    "usage_type": null,
    "number_type": null,
    "payment_type": null,
    "location": null,
    "contact_center_provider": null,
    "reference_id": "MyVirtualNumber-1",
    "pricing": {"rental_price": 5.0, "incoming_rate": 0.05, "billing_unit": 1, "currency": "USD"}
  },
  "source": {"topic": "webhooks.raw", "partition": 0, "offset": 42}
})json";

// What numflow publishes for the RingCentral Extension Info seed (contract section 4).
constexpr std::string_view kExtensionChange = R"json({
  "schema": "numflow.extension-change.v1",
  "provider": "ringcentral",
  "account_id": "37439510",
  "extension_id": "8475874957",
  "change": "updated",
  "hints": ["ExtensionInfo", "CompanyNumbers"],
  "event_id": "ed1cf00c-0420-4bf5-a0ae-e659cc9f77e0",
  "event_time": "2013-06-14T12:00:00.000Z",
  "processed_at": "2026-11-23T15:00:00.000Z",
  "source": {"topic": "webhooks.raw", "partition": 3, "offset": 1017}
})json";

const std::vector<std::string> kStateFields = {
    "country_code", "number_valid", "status",   "provider_status",        "usable_for_new_sessions",
    "health",       "cnam",         "emergency_address", "carrier_code", "usage_type",
    "number_type",  "payment_type", "location", "contact_center_provider", "reference_id",
    "pricing"};

// A document to test: a fixture file (path relative to the source root) or an inline body, with
// one change applied at a JSON pointer: a new value (JSON text) or, with value == nullptr, removal.
struct Case {
  std::string schema;
  std::string base;  // "contract:number-change", "contract:extension-change" or a fixture path
  std::string at;
  const char* value;  // JSON text; nullptr erases the member or element at `at`
  std::string keyword;
  std::string pointer;
};

std::string describe(const Case& c) {
  return c.schema + " <- " + c.base + " with " + (c.at.empty() ? "/" : c.at) + " " +
         (c.value ? std::string("= ") + c.value : std::string("removed"));
}

rapidjson::Document base_document(const std::string& base) {
  if (base == "contract:number-change") return parse(kContractNumberChange);
  if (base == "contract:extension-change") return parse(kExtensionChange);
  return parse(read_file(source_dir() / base));
}

rapidjson::Document build(const Case& c) {
  rapidjson::Document d = base_document(c.base);
  if (c.at.empty()) {
    if (!c.value) throw std::logic_error("cannot erase the root");
    return parse(c.value);
  }
  rapidjson::Pointer p(c.at.c_str());
  if (!p.IsValid()) throw std::logic_error("bad pointer " + c.at);
  if (c.value) {
    rapidjson::Document v(&d.GetAllocator());
    v.Parse(c.value);
    if (v.HasParseError()) throw std::logic_error(std::string("bad JSON in case: ") + c.value);
    p.Set(d, v);  // moves v's value into d (same allocator)
  } else {
    if (!p.Get(d)) throw std::logic_error("nothing to erase at " + c.at);
    p.Erase(d);
  }
  return d;
}

void expect_violation(const Case& c) {
  SCOPED_TRACE(describe(c));
  rapidjson::Document d = build(c);
  auto v = schemas::validate(c.schema, d);
  ASSERT_TRUE(v.has_value()) << "unexpectedly valid: " << to_json(d);
  EXPECT_EQ(v->keyword, c.keyword) << v->detail;
  EXPECT_EQ(v->pointer, c.pointer) << v->detail;
  EXPECT_FALSE(v->detail.empty());
}

void expect_valid(const Case& c) {
  SCOPED_TRACE(describe(c));
  rapidjson::Document d = build(c);
  auto v = schemas::validate(c.schema, d);
  EXPECT_FALSE(v.has_value()) << v->keyword << " at '" << v->pointer << "': " << v->detail;
}

// Which schema a provider fixture is a body of, from its directory and file name:
//   8x8:         webhook-*            -> 8x8/virtual-number-update
//                numbers-api-*        -> 8x8/numbers-api-response
//   zoom:        *cnam-updated*       -> zoom/peering-number-cnam-updated
//                *emergency-address-updated* -> zoom/peering-number-emergency-address-updated
//   ringcentral: phone-number-*       -> ringcentral/contact-center-phone-number
//                extension-*          -> ringcentral/extension-info
//                subscription-renewal* -> ringcentral/subscription-renewal
std::optional<std::string> schema_for_fixture(const std::string& provider, const std::string& file) {
  auto starts = [&](std::string_view p) { return file.rfind(p, 0) == 0; };
  auto has = [&](std::string_view p) { return file.find(p) != std::string::npos; };
  if (provider == "8x8") {
    if (starts("webhook-")) return "8x8/virtual-number-update";
    if (starts("numbers-api-")) return "8x8/numbers-api-response";
  } else if (provider == "zoom") {
    if (has("cnam-updated")) return "zoom/peering-number-cnam-updated";
    if (has("emergency-address-updated")) return "zoom/peering-number-emergency-address-updated";
  } else if (provider == "ringcentral") {
    if (starts("phone-number-")) return "ringcentral/contact-center-phone-number";
    if (starts("extension-")) return "ringcentral/extension-info";
    if (starts("subscription-renewal")) return "ringcentral/subscription-renewal";
  }
  return std::nullopt;
}

// Fixtures that are bodies a provider documents but that numflow must refuse, with the reason.
struct ExpectedFailure {
  std::string keyword;
  std::string pointer;
};
const std::map<std::string, ExpectedFailure> kFixturesThatFail = {
    // Zoom's documented examples list no phone number at all: nothing to publish, a schema violation.
    {"providers/zoom/fixtures/cnam-updated-seed.json", {"minItems", "/payload/object/phone_numbers"}},
    {"providers/zoom/fixtures/emergency-address-updated-seed.json", {"minItems", "/payload/object/phone_numbers"}},
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// The store

TEST(SchemaStore, ListsEverySchema) {
  const std::vector<std::string_view> expected = {
      "8x8/numbers-api-response",
      "8x8/virtual-number-update",
      "extension-change.v1",
      "number-change.v1",
      "ringcentral/contact-center-phone-number",
      "ringcentral/extension-info",
      "ringcentral/subscription-renewal",
      "zoom/peering-number-cnam-updated",
      "zoom/peering-number-emergency-address-updated",
  };
  auto names = schemas::names();
  for (auto n : expected) EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

TEST(SchemaStore, EverySchemaParsesAndIsDraft04WithIdTitleDescription) {
  for (auto name : schemas::names()) {
    SCOPED_TRACE(std::string(name));
    const std::string_view text = schemas::source(name);
    ASSERT_FALSE(text.empty());
    rapidjson::Document d = parse(text);
    ASSERT_TRUE(d.IsObject());
    EXPECT_STREQ(d["$schema"].GetString(), "http://json-schema.org/draft-04/schema#");
    for (const char* m : {"id", "title", "description"}) {
      ASSERT_TRUE(d.HasMember(m)) << m;
      EXPECT_TRUE(d[m].IsString() && d[m].GetStringLength() > 0) << m;
    }
    EXPECT_NO_THROW(schemas::check_draft04(d));
    EXPECT_NO_THROW(schemas::schema(name));
    // The embedded text is the file in schemas/, byte for byte.
    EXPECT_EQ(text, read_file(source_dir() / "schemas" / (std::string(name) + ".schema.json")));
  }
}

TEST(SchemaStore, EverySchemaFileIsEmbedded) {
  auto names = schemas::names();
  size_t files = 0;
  for (const auto& f : fs::recursive_directory_iterator(source_dir() / "schemas")) {
    const std::string p = fs::relative(f.path(), source_dir() / "schemas").generic_string();
    const std::string suffix = ".schema.json";
    if (p.size() <= suffix.size() || p.compare(p.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    ++files;
    const std::string name = p.substr(0, p.size() - suffix.size());
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name << " is not embedded: re-run cmake";
  }
  EXPECT_EQ(files, names.size());
}

TEST(SchemaStore, UnknownNameThrowsOutOfRange) {
  rapidjson::Document d = parse("{}");
  EXPECT_THROW(schemas::schema("8x8/nope"), std::out_of_range);
  EXPECT_THROW(schemas::schema("number-change.v1.schema.json"), std::out_of_range);
  EXPECT_THROW(schemas::source(""), std::out_of_range);
  EXPECT_THROW(schemas::validate("number-change.v2", d), std::out_of_range);
}

TEST(SchemaStore, SchemaDocumentIsUsableDirectly) {
  rapidjson::Document d = parse(read_file(source_dir() / "providers/8x8/fixtures/webhook-seed.json"));
  rapidjson::SchemaValidator v(schemas::schema("8x8/virtual-number-update"));
  EXPECT_TRUE(d.Accept(v));
  EXPECT_EQ(&schemas::schema("8x8/virtual-number-update"), &schemas::schema("8x8/virtual-number-update"));
}

// RapidJSON 1.1.0 silently ignores what it does not understand; the store refuses such schemas.
TEST(SchemaStore, RefusesSchemasRapidJsonWouldNotEnforce) {
  auto refused = [](std::string_view schema) {
    rapidjson::Document d = parse(schema);
    try {
      schemas::check_draft04(d);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string head = R"("$schema": "http://json-schema.org/draft-04/schema#", )";
  EXPECT_EQ(refused("{" + head + R"("type": "object", "properties": {"a": {"type": "string", "pattern": "^[0-9]+$"}}})"), "");
  EXPECT_NE(refused(R"({"type": "object"})"), "");
  EXPECT_NE(refused(R"({"$schema": "http://json-schema.org/draft-07/schema#"})"), "");
  EXPECT_NE(refused("{" + head + R"("properties": {"a": {"pattern": "^\\d+$"}}})"), "");
  EXPECT_NE(refused("{" + head + R"("properties": {"a": {"const": 1}}})"), "");
  EXPECT_NE(refused("{" + head + R"("items": {"format": "date-time"}})"), "");
  EXPECT_NE(refused("{" + head + R"("if": {}, "then": {}})"), "");
  EXPECT_NE(refused("{" + head + R"("properties": {"a": {"$ref": "#/definitions/missing"}}})"), "");
  EXPECT_NE(refused("{" + head + R"("properties": {"a": {"$ref": "other.json#/x"}}})"), "");
  EXPECT_NE(refused("{" + head + R"("minimum": 0, "exclusiveMinimum": 0})"), "");
  // A property *named* like a newer keyword is fine: only schema positions are checked.
  EXPECT_EQ(refused("{" + head + R"("properties": {"const": {"type": "string"}, "format": {}}})"), "");
  EXPECT_NE(refused("{" + head + R"("properties": {"a": {"type": "string", "pattern": "^\\d+$"}}})")
                .find("/properties/a/pattern"),
            std::string::npos);

  // Why: with \d the pattern is dropped and anything validates.
  rapidjson::Document sd = parse(R"({"type": "string", "pattern": "^\\d+$"})");
  rapidjson::SchemaDocument lax(sd);
  rapidjson::Document letters = parse(R"("letters")");
  rapidjson::SchemaValidator v(lax);
  EXPECT_TRUE(letters.Accept(v)) << "RapidJSON now enforces \\d: the guard may be relaxed";
}

// ---------------------------------------------------------------------------------------------
// Fixtures

TEST(Fixtures, EveryProviderFixtureValidatesAgainstItsSchema) {
  std::map<std::string, int> per_schema;
  for (const std::string provider : {"8x8", "zoom", "ringcentral"}) {
    const fs::path dir = source_dir() / "providers" / provider / "fixtures";
    ASSERT_TRUE(fs::is_directory(dir)) << dir;
    for (const auto& f : fs::directory_iterator(dir)) {
      if (!f.is_regular_file() || f.path().extension() != ".json") continue;
      const std::string file = f.path().filename().string();
      const std::string rel = "providers/" + provider + "/fixtures/" + file;
      SCOPED_TRACE(rel);
      auto schema = schema_for_fixture(provider, file);
      ASSERT_TRUE(schema.has_value()) << "no schema for this fixture name (see schema_for_fixture)";
      rapidjson::Document d;
      ASSERT_NO_THROW(d = parse(read_file(f.path())));
      auto v = schemas::validate(*schema, d);
      if (auto fail = kFixturesThatFail.find(rel); fail != kFixturesThatFail.end()) {
        ASSERT_TRUE(v.has_value()) << "expected to fail against " << *schema;
        EXPECT_EQ(v->keyword, fail->second.keyword) << v->detail;
        EXPECT_EQ(v->pointer, fail->second.pointer) << v->detail;
      } else {
        EXPECT_FALSE(v.has_value()) << *schema << ": " << v->keyword << " at '" << v->pointer << "': " << v->detail;
      }
      ++per_schema[*schema];
    }
  }
  // The scan is not vacuous: every provider schema has fixtures.
  for (auto name : schemas::names()) {
    if (name.find('/') == std::string_view::npos) continue;  // numflow's own records
    EXPECT_GT(per_schema[std::string(name)], 0) << name << " has no fixture";
  }
  for (const auto& [rel, _] : kFixturesThatFail) EXPECT_TRUE(fs::exists(source_dir() / rel)) << rel;
}

TEST(Fixtures, SeedExamplesArePresentVerbatim) {
  // Spot checks that the seed examples were not "fixed": they are what the providers document.
  auto webhook = parse(read_file(source_dir() / "providers/8x8/fixtures/webhook-seed.json"));
  EXPECT_STREQ(webhook["payload"]["virtualNumbers"][0]["msisdn"].GetString(), "+65123456789");
  EXPECT_TRUE(webhook["payload"]["virtualNumbers"][0]["rentalPrice"].IsDouble());
  auto api = parse(read_file(source_dir() / "providers/8x8/fixtures/numbers-api-seed.json"));
  EXPECT_STREQ(api["numbers"][0]["msisdn"].GetString(), "string");
  auto zoom = parse(read_file(source_dir() / "providers/zoom/fixtures/cnam-updated-seed.json"));
  EXPECT_STREQ(zoom["event"].GetString(), "");
  EXPECT_TRUE(zoom["payload"]["object"]["phone_numbers"].Empty());
  auto rc = parse(read_file(source_dir() / "providers/ringcentral/fixtures/phone-number-created-seed.json"));
  EXPECT_STREQ(rc["event"].GetString(), "/restapi/v1.0/account/{accountId}/phone-number?usageType=ContactCenterNumber");
  auto ext = parse(read_file(source_dir() / "providers/ringcentral/fixtures/extension-update-seed.json"));
  EXPECT_EQ(ext["body"]["hints"].Size(), 2u);
}

// ---------------------------------------------------------------------------------------------
// Bodies that must fail, and variations that must still pass (open enums, unknown fields, nulls).

namespace {
const std::string k8x8 = "8x8/virtual-number-update";
const std::string k8x8Api = "8x8/numbers-api-response";
const std::string kCnam = "zoom/peering-number-cnam-updated";
const std::string kE911 = "zoom/peering-number-emergency-address-updated";
const std::string kRcNumber = "ringcentral/contact-center-phone-number";
const std::string kRcExt = "ringcentral/extension-info";
const std::string kRcRenewal = "ringcentral/subscription-renewal";
const std::string kNumberChange = "number-change.v1";
const std::string kExtChange = "extension-change.v1";

const std::string kWebhook = "providers/8x8/fixtures/webhook-multi-country.json";
const std::string kApi = "providers/8x8/fixtures/numbers-api-response.json";
const std::string kZoomCnam = "providers/zoom/fixtures/cnam-updated.json";
const std::string kZoomE911 = "providers/zoom/fixtures/emergency-address-updated.json";
const std::string kRcUpdated = "providers/ringcentral/fixtures/phone-number-updated.json";
const std::string kRcExtSeed = "providers/ringcentral/fixtures/extension-update-seed.json";
const std::string kRcRenewalFixture = "providers/ringcentral/fixtures/subscription-renewal-reminder.json";
const std::string kNc = "contract:number-change";
const std::string kEc = "contract:extension-change";
}  // namespace

TEST(MustFail, EightByEightWebhook) {
  const std::vector<Case> cases = {
      {k8x8, kWebhook, "", "[]", "type", ""},
      {k8x8, kWebhook, "", R"("VIRTUAL_NUMBER_UPDATE")", "type", ""},
      {k8x8, kWebhook, "/eventType", nullptr, "required", "/eventType"},
      {k8x8, kWebhook, "/eventType", "7", "type", "/eventType"},
      {k8x8, kWebhook, "/payload", nullptr, "required", "/payload"},
      {k8x8, kWebhook, "/payload", "[]", "type", "/payload"},
      {k8x8, kWebhook, "/payload/subAccountId", nullptr, "required", "/payload/subAccountId"},
      {k8x8, kWebhook, "/payload/subAccountId", "42", "type", "/payload/subAccountId"},
      {k8x8, kWebhook, "/payload/virtualNumbers", nullptr, "required", "/payload/virtualNumbers"},
      {k8x8, kWebhook, "/payload/virtualNumbers", R"({"msisdn": "+6561234567"})", "type", "/payload/virtualNumbers"},
      {k8x8, kWebhook, "/payload/virtualNumbers/3", R"("+4930123456")", "type", "/payload/virtualNumbers/3"},
      {k8x8, kWebhook, "/payload/virtualNumbers/1/msisdn", nullptr, "required", "/payload/virtualNumbers/1/msisdn"},
      {k8x8, kWebhook, "/payload/virtualNumbers/0/msisdn", "6561234567", "type", "/payload/virtualNumbers/0/msisdn"},
      {k8x8, kWebhook, "/payload/virtualNumbers/0/msisdn", "null", "type", "/payload/virtualNumbers/0/msisdn"},
      {k8x8, kWebhook, "/payload/virtualNumbers/4/msisdn", R"("")", "minLength", "/payload/virtualNumbers/4/msisdn"},
      {k8x8, kWebhook, "/payload/virtualNumbers/2/rentalPrice", R"("1.25")", "type",
       "/payload/virtualNumbers/2/rentalPrice"},
      {k8x8, kWebhook, "/payload/virtualNumbers/2/billingUnit", "1.5", "type", "/payload/virtualNumbers/2/billingUnit"},
      {k8x8, kWebhook, "/payload/virtualNumbers/2/numberHealthCheckEnabled", R"("true")", "type",
       "/payload/virtualNumbers/2/numberHealthCheckEnabled"},
      {k8x8, kWebhook, "/payload/virtualNumbers/1/operationalStatus", "1", "type",
       "/payload/virtualNumbers/1/operationalStatus"},
      {k8x8, kWebhook, "/payload/virtualNumbers/1/updatedTimestamp", "1676610614760", "type",
       "/payload/virtualNumbers/1/updatedTimestamp"},
      {k8x8, kWebhook, "/payload/totalNumbers", R"("5")", "type", "/payload/totalNumbers"},
      {k8x8, kWebhook, "/payload/totalNumbers", "-1", "minimum", "/payload/totalNumbers"},
  };
  for (const auto& c : cases) expect_violation(c);
}

TEST(MustPass, EightByEightWebhookIsOpen) {
  const std::vector<Case> cases = {
      {k8x8, kWebhook, "/eventType", R"("VIRTUAL_NUMBER_UPDATE_V2")", "", ""},
      {k8x8, kWebhook, "/payload/updateEventType", R"("PARTIAL")", "", ""},
      {k8x8, kWebhook, "/payload/virtualNumbers/0/operationalStatus", R"("Quarantined")", "", ""},
      {k8x8, kWebhook, "/payload/virtualNumbers/0/updateStatus", R"("REMOVED")", "", ""},
      {k8x8, kWebhook, "/payload/virtualNumbers/0/someFutureField", R"({"nested": [1, 2, 3]})", "", ""},
      {k8x8, kWebhook, "/payload/virtualNumbers/0/msisdn", R"("+65 6123 4567")", "", ""},
      {k8x8, kWebhook, "/payload/virtualNumbers", "[]", "", ""},
      {k8x8, kWebhook, "/namespace", nullptr, "", ""},
      {k8x8, kWebhook, "/payload/virtualNumbers/0/rentalPrice", "5", "", ""},
  };
  for (const auto& c : cases) expect_valid(c);
}

TEST(MustFail, EightByEightNumbersApi) {
  const std::vector<Case> cases = {
      {k8x8Api, kApi, "/numbers", nullptr, "required", "/numbers"},
      {k8x8Api, kApi, "/numbers", "{}", "type", "/numbers"},
      {k8x8Api, kApi, "/numbers/2/msisdn", nullptr, "required", "/numbers/2/msisdn"},
      {k8x8Api, kApi, "/numbers/1/msisdn", "447700900123", "type", "/numbers/1/msisdn"},
      {k8x8Api, kApi, "/numbers/0/numberHealth", R"("HEALTHY")", "type", "/numbers/0/numberHealth"},
      {k8x8Api, kApi, "/numbers/0/numberHealth/isHealthy", R"("yes")", "type", "/numbers/0/numberHealth/isHealthy"},
      {k8x8Api, kApi, "/numbers/0/numberHealth/lastCheckedTime", "0", "type",
       "/numbers/0/numberHealth/lastCheckedTime"},
      {k8x8Api, kApi, "/numbers/0/billingUnit", R"("60")", "type", "/numbers/0/billingUnit"},
      {k8x8Api, kApi, "/totalNumbers", "3.0", "type", "/totalNumbers"},
      {k8x8Api, kApi, "/statusCode", R"("0")", "type", "/statusCode"},
  };
  for (const auto& c : cases) expect_violation(c);
  expect_valid({k8x8Api, kApi, "/numbers/0/numberHealth/status", "null", "", ""});
  expect_valid({k8x8Api, kApi, "/numbers/0/numberHealth", nullptr, "", ""});
  expect_valid({k8x8Api, kApi, "/numbers", "[]", "", ""});
}

TEST(MustFail, ZoomCnamUpdated) {
  const std::vector<Case> cases = {
      {kCnam, kZoomCnam, "/event", nullptr, "required", "/event"},
      {kCnam, kZoomCnam, "/event_ts", nullptr, "required", "/event_ts"},
      {kCnam, kZoomCnam, "/event_ts", R"("1741176139512")", "type", "/event_ts"},
      {kCnam, kZoomCnam, "/event_ts", "1741176139512.5", "type", "/event_ts"},
      {kCnam, kZoomCnam, "/payload", nullptr, "required", "/payload"},
      {kCnam, kZoomCnam, "/payload/account_id", nullptr, "required", "/payload/account_id"},
      {kCnam, kZoomCnam, "/payload/object", nullptr, "required", "/payload/object"},
      {kCnam, kZoomCnam, "/payload/object/carrier_code", nullptr, "required", "/payload/object/carrier_code"},
      {kCnam, kZoomCnam, "/payload/object/carrier_code", R"("1214")", "type", "/payload/object/carrier_code"},
      {kCnam, kZoomCnam, "/payload/object/phone_numbers", nullptr, "required", "/payload/object/phone_numbers"},
      {kCnam, kZoomCnam, "/payload/object/phone_numbers", "[]", "minItems", "/payload/object/phone_numbers"},
      {kCnam, kZoomCnam, "/payload/object/phone_numbers", R"("+14155550123")", "type", "/payload/object/phone_numbers"},
      {kCnam, kZoomCnam, "/payload/object/phone_numbers/1", "14155550124", "type", "/payload/object/phone_numbers/1"},
      {kCnam, kZoomCnam, "/payload/object/phone_numbers/0", R"("")", "minLength", "/payload/object/phone_numbers/0"},
      {kCnam, kZoomCnam, "/payload/object/cnam", "5", "type", "/payload/object/cnam"},
  };
  for (const auto& c : cases) expect_violation(c);
  expect_valid({kCnam, kZoomCnam, "/payload/object/cnam", nullptr, "", ""});
  expect_valid({kCnam, kZoomCnam, "/event", R"("phone.peering_number_cnam_updated")", "", ""});
  expect_valid({kCnam, kZoomCnam, "/payload/object/extra", R"({"a": null})", "", ""});
}

TEST(MustFail, ZoomEmergencyAddressUpdated) {
  const std::vector<Case> cases = {
      {kE911, kZoomE911, "/payload/object/emergency_address", nullptr, "required", "/payload/object/emergency_address"},
      {kE911, kZoomE911, "/payload/object/emergency_address", "null", "type", "/payload/object/emergency_address"},
      {kE911, kZoomE911, "/payload/object/emergency_address/city", "95113", "type",
       "/payload/object/emergency_address/city"},
      {kE911, kZoomE911, "/payload/object/emergency_address/zip", "95113", "type",
       "/payload/object/emergency_address/zip"},
      {kE911, kZoomE911, "/payload/object/phone_numbers", "[]", "minItems", "/payload/object/phone_numbers"},
      {kE911, kZoomE911, "/payload/object/carrier_code", nullptr, "required", "/payload/object/carrier_code"},
      {kE911, kZoomE911, "/event_ts", R"("1741176201077")", "type", "/event_ts"},
      {kE911, kZoomE911, "/payload/account_id", "123", "type", "/payload/account_id"},
  };
  for (const auto& c : cases) expect_violation(c);
  expect_valid({kE911, kZoomE911, "/payload/object/emergency_address/address_line2", "null", "", ""});
  expect_valid({kE911, kZoomE911, "/payload/object/emergency_address/address_line2", nullptr, "", ""});
  expect_valid({kE911, kZoomE911, "/payload/object/emergency_address", "{}", "", ""});
}

TEST(MustFail, RingCentralContactCenterPhoneNumber) {
  const std::vector<Case> cases = {
      {kRcNumber, kRcUpdated, "/uuid", nullptr, "required", "/uuid"},
      {kRcNumber, kRcUpdated, "/event", nullptr, "required", "/event"},
      {kRcNumber, kRcUpdated, "/timestamp", nullptr, "required", "/timestamp"},
      {kRcNumber, kRcUpdated, "/timestamp", "1371211200000", "type", "/timestamp"},
      {kRcNumber, kRcUpdated, "/body", nullptr, "required", "/body"},
      {kRcNumber, kRcUpdated, "/body/eventType", nullptr, "required", "/body/eventType"},
      {kRcNumber, kRcUpdated, "/body/phoneNumberInfo", nullptr, "required", "/body/phoneNumberInfo"},
      {kRcNumber, kRcUpdated, "/body/phoneNumberInfo/phoneNumber", nullptr, "required",
       "/body/phoneNumberInfo/phoneNumber"},
      {kRcNumber, kRcUpdated, "/body/phoneNumberInfo/phoneNumber", "14155550177", "type",
       "/body/phoneNumberInfo/phoneNumber"},
      {kRcNumber, kRcUpdated, "/body/phoneNumberInfo/phoneNumber", R"("")", "minLength",
       "/body/phoneNumberInfo/phoneNumber"},
      {kRcNumber, kRcUpdated, "/body/phoneNumberInfo/status", "null", "type", "/body/phoneNumberInfo/status"},
      {kRcNumber, kRcUpdated, "/body/phoneNumberInfo/contactCenterProvider", R"("RingCX")", "type",
       "/body/phoneNumberInfo/contactCenterProvider"},
      {kRcNumber, kRcUpdated, "/body/phoneNumberInfo/contactCenterProvider/id", "12345", "type",
       "/body/phoneNumberInfo/contactCenterProvider/id"},
  };
  for (const auto& c : cases) expect_violation(c);
  expect_valid({kRcNumber, kRcUpdated, "/body/eventType", R"("Converted")", "", ""});
  expect_valid({kRcNumber, kRcUpdated, "/body/phoneNumberInfo/status", R"("PortedIn")", "", ""});
  expect_valid({kRcNumber, kRcUpdated, "/body/phoneNumberInfo/usageType", R"("MainCompanyNumber")", "", ""});
  expect_valid({kRcNumber, kRcUpdated, "/body/phoneNumberInfo/contactCenterProvider", nullptr, "", ""});
}

TEST(MustFail, RingCentralExtensionInfo) {
  const std::vector<Case> cases = {
      {kRcExt, kRcExtSeed, "/uuid", nullptr, "required", "/uuid"},
      {kRcExt, kRcExtSeed, "/body", nullptr, "required", "/body"},
      {kRcExt, kRcExtSeed, "/body/extensionId", nullptr, "required", "/body/extensionId"},
      {kRcExt, kRcExtSeed, "/body/extensionId", "8475874957", "type", "/body/extensionId"},
      {kRcExt, kRcExtSeed, "/body/extensionId", R"("")", "minLength", "/body/extensionId"},
      {kRcExt, kRcExtSeed, "/body/eventType", nullptr, "required", "/body/eventType"},
      {kRcExt, kRcExtSeed, "/body/hints", R"("ExtensionInfo")", "type", "/body/hints"},
      {kRcExt, kRcExtSeed, "/body/hints/1", "7", "type", "/body/hints/1"},
  };
  for (const auto& c : cases) expect_violation(c);
  expect_valid({kRcExt, kRcExtSeed, "/body/hints", nullptr, "", ""});
  expect_valid({kRcExt, kRcExtSeed, "/body/hints", "[]", "", ""});
  expect_valid({kRcExt, kRcExtSeed, "/body/hints/2", R"("SomeFutureHint")", "", ""});
}

TEST(MustFail, RingCentralSubscriptionRenewal) {
  const std::vector<Case> cases = {
      {kRcRenewal, kRcRenewalFixture, "/event", nullptr, "required", "/event"},
      {kRcRenewal, kRcRenewalFixture, "/body", nullptr, "required", "/body"},
      {kRcRenewal, kRcRenewalFixture, "/body", "[]", "type", "/body"},
      {kRcRenewal, kRcRenewalFixture, "/body/expiresIn", R"("44")", "type", "/body/expiresIn"},
  };
  for (const auto& c : cases) expect_violation(c);
  expect_valid({kRcRenewal, kRcRenewalFixture, "/body", "{}", "", ""});
  expect_valid({kRcRenewal, kRcRenewalFixture, "/uuid", nullptr, "", ""});
}

// ---------------------------------------------------------------------------------------------
// numflow's own records

TEST(NumberChange, ContractExampleValidates) {
  auto d = parse(kContractNumberChange);
  auto v = schemas::validate(kNumberChange, d);
  EXPECT_FALSE(v.has_value()) << v->keyword << " at " << v->pointer << ": " << v->detail;
}

// The example in shared/contract.md itself, when the checkout has it beside the source tree.
TEST(NumberChange, ContractDocumentExampleValidates) {
  const fs::path contract = source_dir() / ".." / "shared" / "contract.md";
  if (!fs::exists(contract)) GTEST_SKIP() << contract << " not found";
  const std::string text = read_file(contract);
  const auto section = text.find("## 3.");
  ASSERT_NE(section, std::string::npos);
  const auto begin = text.find("```json\n", section);
  ASSERT_NE(begin, std::string::npos);
  const auto end = text.find("```", begin + 8);
  ASSERT_NE(end, std::string::npos);
  auto d = parse(std::string_view(text).substr(begin + 8, end - begin - 8));
  auto v = schemas::validate(kNumberChange, d);
  EXPECT_FALSE(v.has_value()) << v->keyword << " at " << v->pointer << ": " << v->detail;
  EXPECT_EQ(to_json(d), to_json(parse(kContractNumberChange))) << "contract example changed: update this test";
}

TEST(NumberChange, EveryFieldIsRequired) {
  const auto schema = parse(schemas::source(kNumberChange));
  for (const auto& f : schema["required"].GetArray()) {
    const std::string name = f.GetString();
    expect_violation({kNumberChange, kNc, "/" + name, nullptr, "required", "/" + name});
  }
  EXPECT_EQ(schema["required"].Size(), 12u);
  for (const auto& f : kStateFields)
    expect_violation({kNumberChange, kNc, "/state/" + f, nullptr, "required", "/state/" + f});
  for (const auto& f : {"check_enabled", "healthy", "status", "last_checked"})
    expect_violation({kNumberChange, kNc, std::string("/state/health/") + f, nullptr, "required",
                      std::string("/state/health/") + f});
  for (const auto& f : {"rental_price", "incoming_rate", "billing_unit", "currency"})
    expect_violation({kNumberChange, kNc, std::string("/state/pricing/") + f, nullptr, "required",
                      std::string("/state/pricing/") + f});
  for (const auto& f : {"topic", "partition", "offset"})
    expect_violation(
        {kNumberChange, kNc, std::string("/source/") + f, nullptr, "required", std::string("/source/") + f});
}

TEST(NumberChange, MutationsFail) {
  const std::vector<Case> cases = {
      {kNumberChange, kNc, "/schema", R"("numflow.number-change.v2")", "enum", "/schema"},
      {kNumberChange, kNc, "/provider", R"("twilio")", "enum", "/provider"},
      {kNumberChange, kNc, "/provider", R"("8X8")", "enum", "/provider"},
      {kNumberChange, kNc, "/change", R"("modified")", "enum", "/change"},
      {kNumberChange, kNc, "/account_id", "null", "type", "/account_id"},
      // changed_fields
      {kNumberChange, kNc, "/changed_fields", "[]", "minItems", "/changed_fields"},
      {kNumberChange, kNc, "/changed_fields", R"(["status", "status"])", "uniqueItems", "/changed_fields/1"},
      {kNumberChange, kNc, "/changed_fields", R"(["colour"])", "enum", "/changed_fields/0"},
      {kNumberChange, kNc, "/changed_fields", R"(["status", "number"])", "enum", "/changed_fields/1"},
      {kNumberChange, kNc, "/changed_fields", R"("status")", "type", "/changed_fields"},
      // number
      {kNumberChange, kNc, "/number", R"("6512345678")", "pattern", "/number"},
      {kNumberChange, kNc, "/number", R"("+0512345678")", "pattern", "/number"},
      {kNumberChange, kNc, "/number", R"("+65 1234 5678")", "pattern", "/number"},
      {kNumberChange, kNc, "/number", R"("+123456")", "pattern", "/number"},
      {kNumberChange, kNc, "/number", R"("+1234567890123456")", "pattern", "/number"},
      {kNumberChange, kNc, "/number", R"("+6512345678\n")", "pattern", "/number"},
      {kNumberChange, kNc, "/number", "6512345678", "type", "/number"},
      // times
      {kNumberChange, kNc, "/event_time", R"("2023-02-17T05:10:14Z")", "pattern", "/event_time"},
      {kNumberChange, kNc, "/event_time", R"("2023-02-17T05:10:14.76Z")", "pattern", "/event_time"},
      {kNumberChange, kNc, "/event_time", R"("2023-02-17T05:10:14.760+00:00")", "pattern", "/event_time"},
      {kNumberChange, kNc, "/event_time", R"("2023-02-17 05:10:14.760Z")", "pattern", "/event_time"},
      {kNumberChange, kNc, "/event_time", R"("x2023-02-17T05:10:14.760Z")", "pattern", "/event_time"},
      {kNumberChange, kNc, "/event_time", "1676610614760", "type", "/event_time"},
      {kNumberChange, kNc, "/processed_at", R"("2026-11-23T15:00:00.000")", "pattern", "/processed_at"},
      {kNumberChange, kNc, "/event_id", R"("")", "minLength", "/event_id"},
      // state
      {kNumberChange, kNc, "/state", "null", "type", "/state"},
      {kNumberChange, kNc, "/state/status", R"("Active")", "enum", "/state/status"},
      {kNumberChange, kNc, "/state/status", R"("suspended")", "enum", "/state/status"},
      {kNumberChange, kNc, "/state/status", "1", "enum", "/state/status"},
      {kNumberChange, kNc, "/state/country_code", R"("sg")", "pattern", "/state/country_code"},
      {kNumberChange, kNc, "/state/country_code", R"("SGP")", "pattern", "/state/country_code"},
      {kNumberChange, kNc, "/state/number_valid", "null", "type", "/state/number_valid"},
      {kNumberChange, kNc, "/state/usable_for_new_sessions", R"("yes")", "type", "/state/usable_for_new_sessions"},
      {kNumberChange, kNc, "/state/health", R"({"check_enabled": false})", "required", "/state/health/healthy"},
      {kNumberChange, kNc, "/state/health/healthy", R"("true")", "type", "/state/health/healthy"},
      {kNumberChange, kNc, "/state/health", "true", "type", "/state/health"},
      {kNumberChange, kNc, "/state/emergency_address",
       R"({"country": "US", "address_line1": "55 Almaden Blvd", "address_line2": null, "city": "San Jose", "state_code": "CA"})",
       "required", "/state/emergency_address/zip"},
      {kNumberChange, kNc, "/state/carrier_code", "1.5", "type", "/state/carrier_code"},
      {kNumberChange, kNc, "/state/carrier_code", R"("1214")", "type", "/state/carrier_code"},
      {kNumberChange, kNc, "/state/contact_center_provider", R"({"id": 12345, "name": "RingCX"})", "type",
       "/state/contact_center_provider/id"},
      {kNumberChange, kNc, "/state/pricing/billing_unit", "1.5", "type", "/state/pricing/billing_unit"},
      {kNumberChange, kNc, "/state/pricing/rental_price", R"("5.0")", "type", "/state/pricing/rental_price"},
      // source
      {kNumberChange, kNc, "/source/partition", "-1", "minimum", "/source/partition"},
      {kNumberChange, kNc, "/source/offset", "-42", "minimum", "/source/offset"},
      {kNumberChange, kNc, "/source/offset", R"("42")", "type", "/source/offset"},
      {kNumberChange, kNc, "/source/topic", R"("")", "minLength", "/source/topic"},
      {kNumberChange, kNc, "/source", R"("webhooks.raw")", "type", "/source"},
  };
  for (const auto& c : cases) expect_violation(c);
}

TEST(NumberChange, VariationsPass) {
  const std::vector<Case> cases = {
      {kNumberChange, kNc, "/source", "null", "", ""},
      {kNumberChange, kNc, "/future_field", R"({"added": "within v1"})", "", ""},
      {kNumberChange, kNc, "/state/future_field", "1", "", ""},
      {kNumberChange, kNc, "/number", R"("+123456789012345")", "", ""},
      {kNumberChange, kNc, "/number", R"("+1234567")", "", ""},
      {kNumberChange, kNc, "/change", R"("created")", "", ""},
      {kNumberChange, kNc, "/change", R"("deleted")", "", ""},
      {kNumberChange, kNc, "/provider", R"("zoom")", "", ""},
      {kNumberChange, kNc, "/state/status", "null", "", ""},
      {kNumberChange, kNc, "/state/status", R"("unknown")", "", ""},
      {kNumberChange, kNc, "/state/country_code", "null", "", ""},
      {kNumberChange, kNc, "/state/health", "null", "", ""},
      {kNumberChange, kNc, "/state/pricing", "null", "", ""},
      {kNumberChange, kNc, "/state/pricing/rental_price", "5", "", ""},
      {kNumberChange, kNc, "/state/carrier_code", "1214", "", ""},
      {kNumberChange, kNc, "/state/emergency_address",
       R"({"country": "US", "address_line1": "55 Almaden Blvd", "address_line2": null, "city": "San Jose", "zip": "95113", "state_code": "CA"})",
       "", ""},
      {kNumberChange, kNc, "/state/contact_center_provider", R"({"id": "12345", "name": null})", "", ""},
      {kNumberChange, kNc, "/source/offset", "9007199254740993", "", ""},
  };
  for (const auto& c : cases) expect_valid(c);

  // Every state field name is allowed in changed_fields, all at once.
  std::string all = "[";
  for (const auto& f : kStateFields) all += (all.size() > 1 ? ", \"" : "\"") + f + "\"";
  all += "]";
  expect_valid({kNumberChange, kNc, "/changed_fields", all.c_str(), "", ""});
}

TEST(ExtensionChange, ExampleValidatesAndMutationsFail) {
  expect_valid({kExtChange, kEc, "/hints", "[]", "", ""});
  expect_valid({kExtChange, kEc, "/change", R"("deleted")", "", ""});
  expect_valid({kExtChange, kEc, "/source", "null", "", ""});
  expect_valid({kExtChange, kEc, "/future_field", "true", "", ""});
  const auto schema = parse(schemas::source(kExtChange));
  EXPECT_EQ(schema["required"].Size(), 10u);
  for (const auto& f : schema["required"].GetArray()) {
    const std::string name = f.GetString();
    expect_violation({kExtChange, kEc, "/" + name, nullptr, "required", "/" + name});
  }
  const std::vector<Case> cases = {
      {kExtChange, kEc, "/schema", R"("numflow.number-change.v1")", "enum", "/schema"},
      {kExtChange, kEc, "/provider", R"("8x8")", "enum", "/provider"},
      {kExtChange, kEc, "/change", R"("created")", "enum", "/change"},
      {kExtChange, kEc, "/extension_id", R"("")", "minLength", "/extension_id"},
      {kExtChange, kEc, "/extension_id", "8475874957", "type", "/extension_id"},
      {kExtChange, kEc, "/hints", R"("ExtensionInfo")", "type", "/hints"},
      {kExtChange, kEc, "/hints/0", "null", "type", "/hints/0"},
      {kExtChange, kEc, "/event_time", R"("2013-06-14T12:00:00Z")", "pattern", "/event_time"},
      {kExtChange, kEc, "/processed_at", R"("yesterday")", "pattern", "/processed_at"},
      {kExtChange, kEc, "/source/partition", "-3", "minimum", "/source/partition"},
  };
  for (const auto& c : cases) expect_violation(c);
}

// ---------------------------------------------------------------------------------------------
// Violation details

TEST(Violation, DetailsAreUseful) {
  auto check = [](const Case& c, const std::string& detail) {
    SCOPED_TRACE(describe(c));
    auto d = build(c);
    auto v = schemas::validate(c.schema, d);
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(v->keyword, c.keyword);
    EXPECT_EQ(v->pointer, c.pointer);
    EXPECT_EQ(v->detail, detail);
  };
  check({k8x8, kWebhook, "/payload/virtualNumbers/1/msisdn", nullptr, "required", "/payload/virtualNumbers/1/msisdn"},
        "missing required property 'msisdn' at /payload/virtualNumbers/1");
  check({k8x8, kWebhook, "/eventType", nullptr, "required", "/eventType"},
        "missing required property 'eventType' at the document root");
  check({k8x8, kWebhook, "/payload/virtualNumbers/0/msisdn", "6561234567", "type", "/payload/virtualNumbers/0/msisdn"},
        "expected string at /payload/virtualNumbers/0/msisdn, found integer");
  check({kCnam, kZoomCnam, "/event_ts", R"("1741176139512")", "type", "/event_ts"},
        "expected integer at /event_ts, found string");
  check({kCnam, kZoomCnam, "/event_ts", "1741176139512.5", "type", "/event_ts"},
        "expected integer at /event_ts, found a number with a fraction or exponent");
  check({kCnam, kZoomCnam, "/payload/object/phone_numbers", "[]", "minItems", "/payload/object/phone_numbers"},
        "array at /payload/object/phone_numbers is empty, at least 1 item required");
  check({kNumberChange, kNc, "/state/status", R"("Active")", "enum", "/state/status"},
        R"(value at /state/status is not one of "active", "unhealthy", "expiring", "inactive", "pending", "unknown", null (found "Active"))");
  check({kNumberChange, kNc, "/state/carrier_code", R"("1214")", "type", "/state/carrier_code"},
        "expected integer or null at /state/carrier_code, found string");
  check({kNumberChange, kNc, "/changed_fields", R"(["status", "status"])", "uniqueItems", "/changed_fields/1"},
        "duplicate item at /changed_fields/1");
  check({kNumberChange, kNc, "/source/partition", "-1", "minimum", "/source/partition"},
        "value -1 at /source/partition is below the minimum 0");
  check({kRcNumber, kRcUpdated, "/body/phoneNumberInfo/phoneNumber", R"("")", "minLength",
         "/body/phoneNumberInfo/phoneNumber"},
        "string at /body/phoneNumberInfo/phoneNumber must not be empty");

  // Several missing members: all named, the pointer at the first.
  rapidjson::Document d = parse(R"({"eventType": "VIRTUAL_NUMBER_UPDATE", "payload": {}})");
  auto v = schemas::validate(k8x8, d);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->pointer, "/payload/subAccountId");
  EXPECT_EQ(v->detail, "missing required properties 'subAccountId', 'virtualNumbers' at /payload");

  // A pattern failure names the rule, never the (possibly personal) value.
  auto bad = build({kNumberChange, kNc, "/number", R"("+0512345678")", "pattern", "/number"});
  v = schemas::validate(kNumberChange, bad);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->detail.find("0512345678"), std::string::npos) << v->detail;
  EXPECT_NE(v->detail.find("^\\+[1-9][0-9]{6,14}$"), std::string::npos) << v->detail;

  // Member names that need escaping in a JSON pointer.
  rapidjson::Document odd = parse(R"({"eventType": "x", "payload": {"subAccountId": "a", "virtualNumbers": [],
                                      "a/b~c": {"x": 1}}})");
  EXPECT_FALSE(schemas::validate(k8x8, odd).has_value());
}

// ---------------------------------------------------------------------------------------------
// Robustness

TEST(Robustness, DeepNestingIsRefusedQuicklyWithoutRecursion) {
  auto nested = [](size_t n) { return std::string(n, '[') + std::string(n, ']'); };
  const auto start = std::chrono::steady_clock::now();
  // 500k levels: what a 1 MiB body can hold. Parsed iteratively, refused at kMaxDepth.
  const std::string body = R"({"eventType": "VIRTUAL_NUMBER_UPDATE", "payload": {"subAccountId": "a",
      "virtualNumbers": [{"msisdn": "+6561234567", "junk": )" + nested(500000) + "}]}}";
  rapidjson::Document d = parse(body);
  auto v = schemas::validate(k8x8, d);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->keyword, "maxDepth");
  std::string expected = "/payload/virtualNumbers/0/junk";
  // junk is level 5; the first container past the limit is level kMaxDepth + 1.
  for (size_t level = 6; level <= schemas::kMaxDepth + 1; ++level) expected += "/0";
  EXPECT_EQ(v->pointer, expected);
  EXPECT_EQ(v->detail, "value at " + expected + " is nested deeper than 64 levels");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));

  // The limit counts the root object as level 1: 63 levels of junk below it pass, 64 do not.
  auto with_junk = [&](size_t n) {
    return parse(R"({"eventType": "x", "payload": {"subAccountId": "a", "virtualNumbers": []}, "junk": )" +
                 nested(n) + "}");
  };
  auto ok = with_junk(schemas::kMaxDepth - 1);
  EXPECT_FALSE(schemas::validate(k8x8, ok).has_value());
  auto deep = with_junk(schemas::kMaxDepth);
  v = schemas::validate(k8x8, deep);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->keyword, "maxDepth");

  // Member names in the pointer are escaped.
  auto odd = parse(R"({"a/b~c": )" + nested(100) + "}");
  v = schemas::validate(kRcRenewal, odd);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->pointer.rfind("/a~1b~0c/0/0", 0), 0u) << v->pointer;
}

TEST(Robustness, ValidatorIsReusableAfterAFailure) {
  auto good = parse(read_file(source_dir() / kWebhook));
  auto bad = build({k8x8, kWebhook, "/payload/virtualNumbers/1/msisdn", nullptr, "required", ""});
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(schemas::validate(k8x8, bad).has_value());
    EXPECT_FALSE(schemas::validate(k8x8, good).has_value());
  }
}

// Patterns (number-change.v1) included: RapidJSON 1.1.0 regexes are not safe to share.
TEST(Robustness, ConcurrentValidation) {
  auto good = parse(read_file(source_dir() / kWebhook));
  auto bad = build({k8x8, kWebhook, "/payload/virtualNumbers/0/msisdn", "6561234567", "type", ""});
  auto record = parse(kContractNumberChange);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (schemas::validate(k8x8, good)) ++wrong;
        auto v = schemas::validate(k8x8, bad);
        if (!v || v->pointer != "/payload/virtualNumbers/0/msisdn") ++wrong;
        if (schemas::validate(kNumberChange, record)) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}
