# The DKIM signer library (RFC 6376, RFC 8463): pure, no sockets, no allocation.
src-y += signer/signer.c signer/sign.c signer/canon.c signer/names.c signer/base64.c signer/record.c
