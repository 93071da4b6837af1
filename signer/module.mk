# The DKIM signer library (RFC 6376, RFC 8463): pure, no sockets, no allocation.
src-y += signer/signer.c signer/canon.c signer/record.c
