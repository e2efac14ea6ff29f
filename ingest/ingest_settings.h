#pragma once
// numflow-ingest's settings (contract §5) and what main() derives from them: the 8x8 poller's
// options with one API key per subaccount, the body size the raw topic must hold, and the raw
// key's account per provider. Kept out of main.cpp so tests can drive them.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/settings.h"
#include "ingest/ingest_handler.h"
#include "ingest/poller.h"
#include "providers/provider.h"

namespace numflow::ingest {

// Every numflow-ingest setting with its default (the Kafka ones included).
Settings ingest_settings();

// The largest raw record body ingest may write: --max-body-bytes (webhooks), or, when the 8x8
// poller runs (--8x8-poll-subaccounts), the larger of that and --8x8-poll-max-body-bytes
// (snapshots). The producer's message.max.bytes and the max.message.bytes of the raw topic ingest
// creates are sized from it, plus room for key and headers. (A raw topic that exists already
// keeps its own max.message.bytes: a snapshot over it is reported as the poll result too_large.)
std::int64_t largest_raw_body(const Settings& s);

// `--8x8-api-keys`: "id=key,id=key" (entries separated by commas or newlines; blanks around them
// ignored). Throws std::invalid_argument for an entry without '=', an empty id or key, or an id
// given twice; the message names the entry's position or id, never a key.
std::vector<std::pair<std::string, std::string>> parse_api_keys(std::string_view text);

// The polled subaccounts (--8x8-poll-subaccounts), each with its own key from --8x8-api-keys,
// else the shared --8x8-api-key. Throws std::invalid_argument (never quoting a key) when a
// subaccount has no key or --8x8-api-keys names a subaccount that is not polled. Empty when no
// subaccount is polled.
std::vector<Subaccount> poll_subaccounts(const Settings& s);

// The poller's options from the settings (all but on_outcome); throws std::invalid_argument as
// poll_subaccounts does.
PollerOptions poller_options(const Settings& s);

// True when a RingCentral event path or URI names its account `~` (".../account/~/...").
bool names_tilde_account(std::string_view path);

// The account of a webhook body for its raw record's key ({provider}:{account}), as the provider
// reads it. For RingCentral, an event whose path (or number uri) names its account `~` gets
// `tilde_account` (--ringcentral-account; contract §3: "when both say ~, the account configured
// for the route"), so the key names the account and the transform reads it from there.
AccountOf account_extractor(const Provider& provider, std::string tilde_account = {});

}  // namespace numflow::ingest
