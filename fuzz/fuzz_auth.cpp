// fuzz_auth: a webhook request -> the providers' authenticators (providers/*/..._auth.h), with the
// CIDR parsing of common/net.h.
//
// Input layout:
//   byte 0    bits 0-1: 0 Zoom, 1 RingCentral, 2 8x8, 3 8x8 behind trusted proxies;
//             bits 2-3: what is configured (RingCentral: 0 Verification-Token, 1 query secret,
//             2-3 both; 8x8: 0 source allowlist, 1 Authorization value, 2-3 both)
//   then text: a first line with the request target ("/webhooks/zoom?token=x"), a second with the
//             peer address, header lines "Name: value" up to an empty line, then the body. For 8x8
//             the pseudo headers X-Fuzz-Allow / X-Fuzz-Proxies, when present and valid, replace the
//             configured networks (comma-separated CIDRs, parsed by net::CidrSet).
//
// Beyond sanitizer reports it checks that nothing is let in without its credential: an accepted
// (or answered) Zoom request carries a signature recomputed here with OpenSSL over the exact body
// and a fresh timestamp; an accepted RingCentral request carries the token; an accepted 8x8 request
// the Authorization value and an allowed source; IPv4 CIDR matches agree with a reference. And the
// body's account as ingest reads it for the raw key (only the provider's account paths,
// json::pick_paths) is what account_of() says from the whole body, whenever the body is JSON with
// no member name twice in one object (the one case where they may differ, documented there).
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include <rapidjson/document.h>

#include "common/net.h"
#include "fuzz/fuzz_util.h"
#include "providers/8x8/eight_by_eight_auth.h"
#include "providers/json_paths.h"
#include "providers/registry.h"
#include "providers/ringcentral/ringcentral_auth.h"
#include "providers/zoom/zoom_auth.h"

namespace {

using namespace numflow;
namespace fz = numflow::fuzz;

constexpr std::int64_t kNowSeconds = 1700000000;  // the fixed clock the seeds are signed for
constexpr std::int64_t kMaxSkew = 300;
const std::vector<std::string> kZoomTokens = {"fuzz-secret-old", "fuzz-secret-new"};
constexpr std::string_view kRcToken = "fuzz-verification-token";
constexpr std::string_view kRcQuerySecret = "fuzz-query-secret";
constexpr std::string_view k8x8Authorization = "Bearer fuzz-8x8";
const std::vector<std::string> kAllow = {"192.0.2.0/24", "2001:db8::/32", "10.1.2.3"};
const std::vector<std::string> kProxies = {"127.0.0.1", "10.0.0.0/8", "::1"};

const ZoomAuthenticator& zoom() {
  static const ZoomAuthenticator a(
      ZoomAuthOptions{kZoomTokens, std::chrono::seconds(kMaxSkew), [] { return kNowSeconds; }});
  return a;
}

const RingCentralAuthenticator& ringcentral(int variant) {
  static const RingCentralAuthenticator token(RingCentralAuthOptions{std::string(kRcToken), "", "token"});
  static const RingCentralAuthenticator query(RingCentralAuthOptions{"", std::string(kRcQuerySecret), "token"});
  static const RingCentralAuthenticator both(
      RingCentralAuthOptions{std::string(kRcToken), std::string(kRcQuerySecret), "token"});
  return variant == 0 ? token : variant == 1 ? query : both;
}

std::string hex(const unsigned char* p, unsigned n) {
  static constexpr char k[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += k[p[i] >> 4];
    out += k[p[i] & 15];
  }
  return out;
}

// v0=hex(HMAC-SHA256(secret, "v0:{ts}:{body}")), computed here, independently of common/crypto.
std::string zoom_signature(const std::string& secret, std::string_view ts, std::string_view body) {
  std::string msg = "v0:";
  msg.append(ts).append(":").append(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), mac, &len);
  return "v0=" + hex(mac, len);
}

bool fresh(std::string_view ts) {
  if (ts.empty() || ts.size() > 30) return false;
  std::size_t i = ts[0] == '-' ? 1 : 0;
  if (i == ts.size()) return false;
  long double v = 0;
  for (; i < ts.size(); ++i) {
    if (ts[i] < '0' || ts[i] > '9') return false;
    v = v * 10 + (ts[i] - '0');
  }
  if (ts[0] == '-') v = -v;
  const long double skew = static_cast<long double>(kNowSeconds) - v;
  return skew <= kMaxSkew && skew >= -kMaxSkew;
}

void check_zoom(const http::Request& r, const AuthResult& res) {
  if (res.kind == AuthResult::refused) {
    fz::check(res.status == 400 || res.status == 401, "zoom refused with an odd status");
    return;
  }
  const std::string* sig = r.headers.find("x-zm-signature");
  const std::string* ts = r.headers.find("x-zm-request-timestamp");
  fz::check(sig && ts, "zoom let in a request without signature headers");
  fz::check(fresh(*ts), "zoom let in a stale timestamp", *ts);
  bool ok = false;
  for (const auto& t : kZoomTokens) ok |= *sig == zoom_signature(t, *ts, r.body);
  fz::check(ok, "zoom let in a request with a wrong signature", *sig);
}

void check_ringcentral(int variant, const http::Request& r, const AuthResult& res) {
  if (res.kind == AuthResult::answered) {
    fz::check(r.body.empty() && r.headers.contains("Validation-Token"), "ringcentral answered a non-handshake");
    return;
  }
  if (res.kind != AuthResult::accepted) return;
  if (variant != 1) {
    const std::string* t = r.headers.find("Verification-Token");
    fz::check(t && *t == kRcToken, "ringcentral let in a request without its verification token");
  }
  if (variant != 0) {
    const auto q = query_value(r.query(), "token");
    fz::check(q && *q == kRcQuerySecret, "ringcentral let in a request without its query secret");
    fz::check(r.query().find('=') != std::string_view::npos, "ringcentral query secret without '='");
  }
}

std::optional<std::uint32_t> ipv4(std::string_view s) {
  const std::string z(s);
  in_addr a{};
  if (inet_pton(AF_INET, z.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

// Reference for IPv4 networks: "a.b.c.d/n" or "a.b.c.d".
std::optional<bool> ipv4_contains(std::string_view cidr, std::string_view ip) {
  const auto slash = cidr.find('/');
  const auto base = ipv4(cidr.substr(0, slash));
  const auto addr = ipv4(ip);
  if (!base || !addr) return std::nullopt;
  int bits = 32;
  if (slash != std::string_view::npos) {
    const auto p = cidr.substr(slash + 1);
    if (p.empty() || p.size() > 3) return std::nullopt;
    bits = 0;
    for (char c : p) {
      if (c < '0' || c > '9') return std::nullopt;
      bits = bits * 10 + (c - '0');
    }
    if (bits > 32) return std::nullopt;
  }
  const std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
  return (*base & mask) == (*addr & mask);
}

std::vector<std::string> list(std::string_view v) {
  std::vector<std::string> out;
  for (auto item : fz::split(v, ",", 64)) {
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
  }
  return out;
}

void check_eight_by_eight(const EightByEightAuthOptions& o, bool allow, bool header, const http::Request& r,
                          const AuthResult& res) {
  fz::check(res.kind != AuthResult::answered, "8x8 has no handshake");
  if (res.kind != AuthResult::accepted) return;
  if (header) {
    const std::string* a = r.headers.find("Authorization");
    fz::check(a && *a == k8x8Authorization, "8x8 let in a request without its Authorization value");
  }
  if (allow) {
    const std::string client = client_address(r, o.trusted_proxies);
    fz::check(o.allow.contains(client), "8x8 let in a source outside the allowlist", client);
    if (!o.trusted_proxies.contains(r.remote_ip))
      fz::check(client == r.remote_ip, "8x8 believed X-Forwarded-For from an untrusted peer", r.remote_ip);
  }
}

void fuzz_cidrs(const std::vector<std::string>& cidrs, const http::Request& r) {
  std::vector<std::string> addresses = {r.remote_ip};
  for (const auto& [name, value] : r.headers)
    if (http::iequals(name, "X-Forwarded-For"))
      for (auto& a : list(value)) addresses.push_back(std::move(a));
  for (const auto& c : cidrs) {
    const auto cidr = net::Cidr::parse(c);
    for (const auto& a : addresses) {
      const auto addr = net::parse_address(a);
      if (!cidr || !addr) continue;
      const bool got = cidr->contains(*addr);
      if (c.find(':') == std::string::npos)
        if (const auto want = ipv4_contains(c, a))
          fz::check(got == *want, "Cidr::contains disagrees with the IPv4 reference", c + " vs " + a);
    }
  }
}

// Without recursion: an iterative parse accepts nesting deeper than any stack.
bool has_duplicate_names(const rapidjson::Value& root) {
  std::vector<const rapidjson::Value*> todo = {&root};
  std::vector<std::string_view> names;
  while (!todo.empty()) {
    const rapidjson::Value* v = todo.back();
    todo.pop_back();
    if (v->IsArray()) {
      for (const auto& e : v->GetArray()) todo.push_back(&e);
    } else if (v->IsObject()) {
      names.clear();
      for (const auto& m : v->GetObject()) {
        names.emplace_back(m.name.GetString(), m.name.GetStringLength());
        todo.push_back(&m.value);
      }
      std::sort(names.begin(), names.end());
      if (std::adjacent_find(names.begin(), names.end()) != names.end()) return true;
    }
  }
  return false;
}

void check_account(std::string_view provider, const std::string& body) {
  const Provider* p = find_provider(provider);
  const std::string picked = p->account_of(json::pick_paths(body, p->account_paths()));
  rapidjson::Document whole;
  whole.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (whole.HasParseError() || has_duplicate_names(whole)) return;
  fz::check(picked == p->account_of(whole), "the account read from its paths differs from the whole body's", picked);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return -1;
  const int kind = data[0] & 3, variant = std::min((data[0] >> 2) & 3, 2);
  const auto sections = fz::split(fz::as_view(data + 1, size - 1), "\n\n", 2);
  const auto lines = fz::split(sections[0], "\n", 256);

  http::Request r;
  r.method = "POST";
  r.target = lines.size() > 0 ? std::string(lines[0]) : "/";
  r.remote_ip = lines.size() > 1 ? std::string(lines[1]) : "192.0.2.10";
  for (std::size_t i = 2; i < lines.size(); ++i) {
    const auto colon = lines[i].find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = lines[i].substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    r.headers.add(std::string(lines[i].substr(0, colon)), std::string(value));
  }
  if (sections.size() > 1) r.body = std::string(sections[1]);
  r.received_at = std::chrono::steady_clock::now();

  query_value(r.query(), "token");
  check_account(kind == 0 ? "zoom" : kind == 1 ? "ringcentral" : "8x8", r.body);
  switch (kind) {
    case 0:
      check_zoom(r, zoom().check(r));
      break;
    case 1:
      check_ringcentral(variant, r, ringcentral(variant).check(r));
      break;
    default: {
      const bool allow = variant != 1, header = variant != 0;
      std::vector<std::string> allow_list = kAllow, proxies = kind == 3 ? kProxies : std::vector<std::string>{};
      if (const auto* v = r.headers.find("X-Fuzz-Allow")) allow_list = list(*v);
      if (const auto* v = r.headers.find("X-Fuzz-Proxies")) proxies = list(*v);
      fuzz_cidrs(allow_list, r);
      fuzz_cidrs(proxies, r);
      EightByEightAuthOptions o;
      try {
        o.allow = net::CidrSet::parse(allow_list);
        o.trusted_proxies = net::CidrSet::parse(proxies);
      } catch (const std::invalid_argument&) {
        o.allow = net::CidrSet::parse(kAllow);
        o.trusted_proxies = net::CidrSet::parse(kind == 3 ? kProxies : std::vector<std::string>{});
      }
      if (!allow) o.allow = {};
      if (header) o.authorization = std::string(k8x8Authorization);
      if (o.allow.empty() && o.authorization.empty()) o.authorization = std::string(k8x8Authorization);
      const bool want_header = !o.authorization.empty();
      const bool want_allow = !o.allow.empty();
      const EightByEightAuthenticator a(o);
      check_eight_by_eight(o, want_allow, want_header, r, a.check(r));
      break;
    }
  }
  return 0;
}
