# The key store: the only code that reads private key files.
src-y += firmware/keys/keys.c
src-y += firmware/keys/sign.c
src-y += firmware/keys/record.c
src-y += firmware/keys/state.c
