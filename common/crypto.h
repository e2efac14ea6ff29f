#pragma once
// The few cryptographic primitives numflow needs, on OpenSSL.
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

namespace numflow::crypto {

std::string sha256_hex(std::string_view data);
// Raw 32-byte HMAC-SHA256 of data under key.
std::string hmac_sha256(std::string_view key, std::string_view data);
std::string to_hex(std::string_view bytes);

// An HMAC-SHA256 key prepared once: the digest states after its inner and outer pad blocks
// (RFC 2104) are kept, so signing a message hashes only the message and the inner digest.
// EVP_MAC_init redid both pad blocks and OpenSSL's parameter handling on every message: 1.5 us
// against 0.9 us for a 720-byte Zoom body. Signing from several threads at once is safe (the
// prepared states are only read; each thread works in its own context).
class HmacSha256Key {
 public:
  explicit HmacSha256Key(std::string_view key);
  ~HmacSha256Key();
  HmacSha256Key(HmacSha256Key&&) noexcept;
  HmacSha256Key& operator=(HmacSha256Key&&) noexcept;

  // Raw 32-byte HMAC of the concatenation of `parts` (no need to join them first).
  std::string sign(std::initializer_list<std::string_view> parts) const;

 private:
  struct States;
  std::unique_ptr<States> states_;
};
// Compares in time that depends only on the lengths, never on where the inputs differ, so a
// signature or token cannot be guessed byte by byte from response timing.
bool constant_time_equal(std::string_view a, std::string_view b);
// 128 random bits as 32 hex characters.
std::string random_hex_id();
// 32 hex characters unique within this process and, with 64 random bits per thread, across
// processes: request ids. Not secret (predictable from earlier ids of the same thread) and
// without a syscall per call, unlike random_hex_id(), whose RAND_bytes checks getpid() each time
// (one syscall per webhook in ingest's profile). Not for processes that fork after using it.
std::string unique_hex_id();

}  // namespace numflow::crypto
