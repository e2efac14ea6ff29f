#include "common/net.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <stdexcept>

namespace numflow::net {

std::optional<Address> parse_address(std::string_view text) {
  const std::string s(text);
  Address a;
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    a.bytes[10] = 0xff;
    a.bytes[11] = 0xff;
    std::memcpy(&a.bytes[12], &v4, 4);
    return a;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(a.bytes.data(), &v6, 16);
    return a;
  }
  return std::nullopt;
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  Cidr c;
  c.text_ = std::string(text);
  const auto slash = text.find('/');
  const auto addr = parse_address(text.substr(0, slash));
  if (!addr) return std::nullopt;
  const bool v4 = text.substr(0, slash).find(':') == std::string_view::npos;
  int bits = v4 ? 32 : 128;
  if (slash != std::string_view::npos) {
    const auto p = text.substr(slash + 1);
    const auto r = std::from_chars(p.data(), p.data() + p.size(), bits);
    if (r.ec != std::errc() || r.ptr != p.data() + p.size() || bits < 0 || bits > (v4 ? 32 : 128))
      return std::nullopt;
  }
  c.prefix_bits_ = v4 ? 96 + bits : bits;
  c.base_ = *addr;
  return c;
}

bool Cidr::contains(const Address& a) const {
  int bits = prefix_bits_;
  for (std::size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const unsigned mask = bits >= 8 ? 0xffu : (0xffu << (8 - bits)) & 0xffu;
    if ((a.bytes[i] & mask) != (base_.bytes[i] & mask)) return false;
  }
  return true;
}

CidrSet CidrSet::parse(const std::vector<std::string>& entries) {
  CidrSet set;
  for (const auto& e : entries) {
    auto c = Cidr::parse(e);
    if (!c) throw std::invalid_argument("not an IP network (CIDR): '" + e + "'");
    set.cidrs_.push_back(std::move(*c));
  }
  return set;
}

bool CidrSet::contains(const Address& a) const {
  for (const auto& c : cidrs_)
    if (c.contains(a)) return true;
  return false;
}

bool CidrSet::contains(std::string_view ip) const {
  const auto a = parse_address(ip);
  return a && contains(*a);
}

}  // namespace numflow::net
