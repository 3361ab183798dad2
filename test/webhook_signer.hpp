// SPDX-License-Identifier: BSL-1.0
// Signs webhook bodies as Wix does (a JWT, RS256, with an app's RSA key) for the tests of
// the verifier and of `wix-inbox webhook decode`. Test code: link OpenSSL::Crypto.
#pragma once

#include "test_base64url.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace test {

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

inline Key newKey()
{
    return Key(EVP_RSA_gen(2048), EVP_PKEY_free);
}

inline std::string publicPem(EVP_PKEY* key)
{
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    PEM_write_bio_PUBKEY(bio.get(), key);
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

inline std::string rs256(EVP_PKEY* key, const std::string& signedPart)
{
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    std::size_t size = 0;
    EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key);
    EVP_DigestSign(ctx.get(), nullptr, &size, reinterpret_cast<const unsigned char*>(signedPart.data()), signedPart.size());
    std::string signature(size, '\0');
    EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                   reinterpret_cast<const unsigned char*>(signedPart.data()), signedPart.size());
    signature.resize(size);
    return signature;
}

} // namespace test
