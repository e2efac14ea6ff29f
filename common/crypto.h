#pragma once
// The few cryptographic primitives numflow needs, on OpenSSL.
#include <string>
#include <string_view>

namespace numflow::crypto {

std::string sha256_hex(std::string_view data);
// Raw 32-byte HMAC-SHA256 of data under key.
std::string hmac_sha256(std::string_view key, std::string_view data);
std::string to_hex(std::string_view bytes);
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
