#pragma once
// IP networks (CIDR) for source allowlists and trusted proxies.
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace numflow::net {

struct Address {
  std::array<unsigned char, 16> bytes{};  // IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d)
};

// "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1"; nullopt when not an IP literal.
std::optional<Address> parse_address(std::string_view text);

class Cidr {
 public:
  // "10.0.0.0/8", "2001:db8::/32", or a single address (a /32 or /128). nullopt when malformed.
  static std::optional<Cidr> parse(std::string_view text);
  bool contains(const Address& a) const;
  const std::string& text() const { return text_; }

 private:
  Address base_;
  int prefix_bits_ = 128;  // in the IPv6 space (IPv4 /n is /96+n)
  std::string text_;
};

class CidrSet {
 public:
  // Throws std::invalid_argument naming the first malformed entry.
  static CidrSet parse(const std::vector<std::string>& entries);
  bool empty() const { return cidrs_.empty(); }
  bool contains(std::string_view ip) const;
  bool contains(const Address& a) const;

 private:
  std::vector<Cidr> cidrs_;
};

}  // namespace numflow::net
