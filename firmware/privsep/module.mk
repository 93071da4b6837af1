# Privilege separation of `zegel run` (issue 20.2): the key holder, the
# network process's drop of root and its seccomp filter (privsep.h).
src-y += firmware/privsep/msg.c
src-y += firmware/privsep/client.c
src-y += firmware/privsep/holder.c
src-y += firmware/privsep/pool.c
src-y += firmware/privsep/drop.c
src-y += firmware/privsep/seccomp.c
src-y += firmware/privsep/landlock.c
src-y += firmware/privsep/hooks.c
