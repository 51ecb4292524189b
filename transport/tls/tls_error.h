// OpenSSL's error queue as text and as std::error_code.
//
// A TLS failure on an established stream reaches ByteStream callers as a
// std::error_code in tlsCategory(): its value is OpenSSL's packed error
// (ERR_get_error) and its message() OpenSSL's reason, so that the layers above
// log "decryption failed or bad record mac" rather than a bare number.
#pragma once

#include <string>
#include <system_error>

namespace eccl::transport::tls {

const std::error_category& tlsCategory();

// A certificate this side refused: the value is X509's verify result, the
// message "certificate verify failed: <X509's reason>".
const std::error_category& certificateCategory();

// The peer sent plaintext ECCL where a TLS handshake should be: it has no
// certificates, or another ECCL_TLS_DATA.
std::error_code plaintextPeerError();

// True for a failure that means an identity was refused or never offered:
// this side's check of the peer's certificate (certificateCategory, or
// OpenSSL's reasons for a missing one), the peer's alert refusing ours, or a
// plaintext peer. Layers above report these as authentication errors, not as
// a lost connection.
bool isIdentityRefusal(const std::error_code& ec);

// Empties this thread's OpenSSL error queue into an error_code: the first
// (root-cause) error; connection_aborted when the queue was empty.
std::error_code takeTlsError();

// Empties this thread's OpenSSL error queue into text: the reasons, oldest
// first, joined by "; " ("unknown" when the queue was empty).
std::string takeOpensslErrors();

}  // namespace eccl::transport::tls
