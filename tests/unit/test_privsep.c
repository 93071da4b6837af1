/*
 * firmware/privsep: the key holder's message format (msg.c), and a real
 * key holder forked by privsep_start() behind the keys door: keys loaded
 * and generated there sign the same as in-process keys, the network side
 * never gets PEM bytes, and after the seal the holder opens nothing outside
 * the allowed directories (no symlink, no other PEM key on the system).
 * Landlock (landlock.c): the rights handled per ABI, and in a forked child
 * on this kernel a file outside the data dir cannot be created, one inside
 * can and moves between its directories (or, on a kernel without Landlock, the state says NOT confined).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/common/hal_backends.h"
#include "firmware/keys/keys.h"
#include "firmware/privsep/msg.h"
#include "firmware/privsep/privsep.h"

int privsep_allow_dir(const char *dir);
int privsep_seal(void);

static void
roundtrip(const struct privsep_msg *m)
{
	uint8_t buf[PRIVSEP_MSG_MAX];
	struct privsep_msg back;
	size_t n = 0;

	assert_int_equal(privsep_msg_encode(m, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, PRIVSEP_HDR_LEN + m->len);
	assert_int_equal(privsep_msg_decode(buf, n, &back), 0);
	assert_int_equal(back.type, m->type);
	assert_int_equal(back.slot, m->slot);
	assert_int_equal(back.id, m->id);
	assert_int_equal(back.status, m->status);
	assert_int_equal(back.len, m->len);
	assert_memory_equal(back.data, m->data, m->len);
	assert_int_equal(back.data[back.len], 0);
	/* one byte more or less is never a message */
	assert_int_equal(privsep_msg_decode(buf, n - 1, &back), -EBADMSG);
	buf[n] = 0;
	assert_int_equal(privsep_msg_decode(buf, n + 1, &back), -EBADMSG);
	/* the reserved byte must be zero */
	buf[3] = 1;
	assert_int_equal(privsep_msg_decode(buf, n, &back), -EBADMSG);
}

static void
test_codec(void **state)
{
	struct privsep_msg m;
	uint8_t buf[PRIVSEP_MSG_MAX];
	size_t n;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.type = PRIVSEP_REQ_LOAD;
	m.len = 12;
	memcpy(m.data, "/k/a/sel.key", 12);
	roundtrip(&m);
	m.data[3] = 0; /* a NUL inside a path */
	assert_int_equal(privsep_msg_encode(&m, buf, sizeof(buf), &n), -EINVAL);
	m.len = PRIVSEP_PATH_MAX; /* too long a path */
	memset(m.data, 'a', m.len);
	assert_int_equal(privsep_msg_encode(&m, buf, sizeof(buf), &n), -EINVAL);

	memset(&m, 0, sizeof(m));
	m.type = PRIVSEP_REQ_GENERATE;
	m.key_type = HAL_KEY_RSA;
	m.bits = 2048;
	m.len = 1;
	m.data[0] = 'k';
	roundtrip(&m);
	m.bits = 8192;
	assert_int_equal(privsep_msg_encode(&m, buf, sizeof(buf), &n), -EINVAL);
	m.key_type = HAL_KEY_ED25519;
	m.bits = 0;
	roundtrip(&m);
	/* an RSA key made in the TPM: RSA-2048 only */
	m.key_type = HAL_KEY_RSA_TPM;
	m.bits = 2048;
	roundtrip(&m);
	m.bits = 4096;
	assert_int_equal(privsep_msg_encode(&m, buf, sizeof(buf), &n), -EINVAL);
	m.bits = 0;
	m.key_type = 7;
	assert_int_equal(privsep_msg_encode(&m, buf, sizeof(buf), &n), -EINVAL);

	memset(&m, 0, sizeof(m));
	m.type = PRIVSEP_REQ_SIGN;
	m.slot = 3;
	m.id = 0xfedcba98u; /* the id comes back whole (answers out of order) */
	m.hash_alg = HAL_HASH_SHA256;
	m.len = 32;
	roundtrip(&m);
	m.hash_alg = 9;
	assert_int_equal(privsep_msg_encode(&m, buf, sizeof(buf), &n), -EINVAL);
	m.hash_alg = HAL_HASH_SHA256;
	m.len = PRIVSEP_SIGN_MAX + 1;
	assert_int_equal(privsep_msg_encode(&m, buf, sizeof(buf), &n), -EINVAL);
	m.len = 0;
	assert_int_equal(privsep_msg_encode(&m, buf, sizeof(buf), &n), -EINVAL);

	memset(&m, 0, sizeof(m));
	m.type = PRIVSEP_RESP_KEY;
	m.slot = 9;
	m.key_type = HAL_KEY_ED25519;
	m.bits = 256;
	m.len = 32;
	roundtrip(&m);
	m.key_type = HAL_KEY_RSA_TPM; /* an answer names the key's type: RSA */
	m.bits = 2048;
	m.len = 270;
	assert_int_equal(privsep_msg_encode(&m, buf, sizeof(buf), &n), -EINVAL);
	m.key_type = HAL_KEY_ED25519;
	m.bits = 256;
	m.len = 32;
	m.status = -2; /* an error carries nothing */
	assert_int_equal(privsep_msg_encode(&m, buf, sizeof(buf), &n), -EINVAL);
	memset(&m, 0, sizeof(m));
	m.type = PRIVSEP_RESP_KEY;
	m.status = -13;
	roundtrip(&m);

	memset(&m, 0, sizeof(m));
	m.type = PRIVSEP_RESP_SIG;
	m.len = PRIVSEP_SIG_MAX;
	roundtrip(&m);
	m.len = PRIVSEP_SIG_MAX + 1;
	assert_int_equal(privsep_msg_encode(&m, buf, sizeof(buf), &n), -EINVAL);

	memset(&m, 0, sizeof(m));
	m.type = PRIVSEP_RESP_STATUS;
	m.status = -1;
	roundtrip(&m);
	m.status = 1; /* no positive status */
	assert_int_equal(privsep_msg_encode(&m, buf, sizeof(buf), &n), -EINVAL);
	m.status = 0;
	m.len = 1;
	assert_int_equal(privsep_msg_encode(&m, buf, sizeof(buf), &n), -EINVAL);
	m.type = 0x42;
	m.len = 0;
	assert_int_equal(privsep_msg_encode(&m, buf, sizeof(buf), &n), -EINVAL);
	assert_int_equal(privsep_msg_encode(&m, buf, 3, &n), -EINVAL);
	/* `set tpm device`: a path like ALLOW_DIR's, nothing else */
	memset(&m, 0, sizeof(m));
	m.type = PRIVSEP_REQ_TPM_DEVICE;
	m.len = (uint16_t)strlen("tcp:127.0.0.1:2321");
	memcpy(m.data, "tcp:127.0.0.1:2321", m.len);
	roundtrip(&m);
	m.slot = 1;
	assert_int_equal(privsep_msg_encode(&m, buf, sizeof(buf), &n), -EINVAL);
	m.slot = 0;
	m.len = 0;
	assert_int_equal(privsep_msg_encode(&m, buf, sizeof(buf), &n), -EINVAL);
	assert_string_equal(privsep_msg_name(PRIVSEP_REQ_TPM_DEVICE), "tpm-device");
	m.type = PRIVSEP_REQ_SEAL;
	assert_int_equal(privsep_msg_encode(&m, buf, 3, &n), -ERANGE);
	assert_string_equal(privsep_msg_name(PRIVSEP_REQ_SIGN), "sign");
	assert_string_equal(privsep_msg_name(0), "?");
	assert_int_equal(privsep_msg_decode(buf, 0, &m), -EBADMSG);
}

static char dir[64], out[64];

/* The key holder: every key of this process goes through it from here on. */
static void
test_holder(void **state)
{
	char p[160], q[160], why[200], pem[KEYS_PEM_MAX];
	struct hal_key k, local, g;
	uint8_t digest[32], s1[512], s2[512], pub1[600], pub2[600];
	size_t l1, l2, n;

	(void)state;
	strcpy(dir, "/tmp/zt-privsep-unit.XXXXXX");
	strcpy(out, "/tmp/zt-privsep-out.XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_non_null(mkdtemp(out));
	/* an RSA key made in this process, written by the local code */
	snprintf(p, sizeof(p), "%s/rsa.key", dir);
	assert_int_equal(keys_generate_file(p, HAL_KEY_RSA, 1024, &local), 0);
	snprintf(q, sizeof(q), "%s/other.key", out);
	assert_int_equal(keys_generate_file(q, HAL_KEY_ED25519, 0, NULL), 0);

	assert_int_equal(privsep_start(why, sizeof(why)), 0);
	assert_true(privsep_holder_pid() > 0);
	assert_int_equal(keys_load_file(&k, p), 0);
	assert_string_equal(k.ops->name, "key-holder");
	assert_int_equal(k.type, HAL_KEY_RSA);
	assert_int_equal(k.bits, 1024);
	/* no PEM ever leaves the key holder */
	assert_int_equal(hal_key_write_pem(&k, pem, sizeof(pem), &n), -ENOTSUP);
	assert_int_equal(hal_key_public(&k, pub1, sizeof(pub1), &l1), 0);
	assert_int_equal(hal_key_public(&local, pub2, sizeof(pub2), &l2), 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(pub1, pub2, l1);
	/* PKCS#1 v1.5 is deterministic: the same signature as in-process */
	memset(digest, 0x5a, sizeof(digest));
	assert_int_equal(hal_key_sign(&k, HAL_HASH_SHA256, digest, 32, s1, sizeof(s1), &l1), 0);
	assert_int_equal(hal_key_sign(&local, HAL_HASH_SHA256, digest, 32, s2, sizeof(s2), &l2), 0);
	assert_int_equal(l1, 128);
	assert_int_equal(l1, l2);
	assert_memory_equal(s1, s2, l1);
	/* a generated Ed25519 key: file 0600, its signature verifies */
	snprintf(p, sizeof(p), "%s/ed.key", dir);
	assert_int_equal(keys_generate_file(p, HAL_KEY_ED25519, 0, &g), 0);
	{
		struct stat st;

		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	assert_int_equal(hal_key_public(&g, pub1, sizeof(pub1), &l1), 0);
	assert_int_equal(l1, 32);
	assert_int_equal(hal_key_sign(&g, HAL_HASH_SHA256, digest, 32, s1, sizeof(s1), &l1), 0);
	assert_int_equal(hal_ed25519_verify(pub1, digest, 32, s1), 0);
	/* never over an existing file */
	assert_int_equal(keys_generate_file(p, HAL_KEY_ED25519, 0, NULL), -EEXIST);
	/* errors come back as they are */
	snprintf(p, sizeof(p), "%s/missing.key", dir);
	assert_int_equal(keys_load_file(&g, p), -ENOENT);
	hal_key_free(&g);
	/* before the seal: any file */
	assert_int_equal(keys_load_file(&g, q), 0);
	hal_key_free(&g);

	/* `set tpm device`: also after the seal, only a TPM device or TCP;
	 * the key holder checks it itself */
	assert_int_equal(privsep_tpm_device("tcp:127.0.0.1:2321"), 0);
	assert_int_equal(privsep_tpm_device("/etc/shadow"), -EINVAL);
	assert_int_equal(privsep_tpm_device(""), 0);

	/* the seal: only dir from now on */
	assert_int_equal(privsep_allow_dir(dir), 0);
	assert_int_equal(privsep_seal(), 0);
	assert_int_equal(privsep_allow_dir(out), -EPERM);
	assert_int_equal(privsep_tpm_device("/dev/tpm0"), 0);
	assert_int_equal(privsep_tpm_device("/dev/sda"), -EINVAL);
	assert_int_equal(privsep_tpm_device(""), 0);
	assert_int_equal(keys_load_file(&g, q), -EACCES);
	snprintf(q, sizeof(q), "%s/new.key", out);
	assert_int_equal(keys_generate_file(q, HAL_KEY_ED25519, 0, NULL), -EACCES);
	assert_int_equal(access(q, F_OK), -1);
	/* a symlink in the allowed directory to a key outside */
	snprintf(p, sizeof(p), "%s/link.key", dir);
	snprintf(q, sizeof(q), "%s/other.key", out);
	assert_int_equal(symlink(q, p), 0);
	assert_true(keys_load_file(&g, p) < 0);
	/* a path through .. out of it */
	snprintf(p, sizeof(p), "%s/../%s/other.key", dir, out + 5);
	assert_int_equal(keys_load_file(&g, p), -EACCES);
	/* keys inside still load and sign */
	snprintf(p, sizeof(p), "%s/ed.key", dir);
	assert_int_equal(keys_load_file(&g, p), 0);
	assert_int_equal(hal_key_sign(&g, HAL_HASH_SHA256, digest, 32, s1, sizeof(s1), &l1), 0);
	hal_key_free(&g);
	hal_key_free(&k);
	hal_key_free(&local);
	snprintf(why, sizeof(why), "rm -rf '%s' '%s'", dir, out);
	assert_int_equal(system(why), 0);
}

static void
test_landlock_rights(void **state)
{
	const uint64_t writes = (1ull << 1) | (0x7full << 4) | (1ull << 11) | (1ull << 12);

	assert_true(privsep_landlock_rights(-38) == 0); /* -ENOSYS */
	assert_true(privsep_landlock_rights(0) == 0);
	assert_true(privsep_landlock_rights(1) == 0); /* no REFER: not used */
	assert_true(privsep_landlock_rights(2) == (writes | (1ull << 13)));
	assert_true(privsep_landlock_rights(3) == (writes | (1ull << 13) | (1ull << 14)));
	assert_true(privsep_landlock_rights(7) == privsep_landlock_rights(3));
	/* never a read right: reads stay with the file permissions */
	for (int abi = 0; abi < 8; abi++)
		assert_true((privsep_landlock_rights(abi) & ((1ull << 0) | (1ull << 2) | (1ull << 3))) == 0);
	assert_true(privsep_landlock_file_rights(privsep_landlock_rights(2)) == (1ull << 1));
	assert_true(privsep_landlock_file_rights(privsep_landlock_rights(3)) ==
	    ((1ull << 1) | (1ull << 14)));
}

static struct zcfg llcfg;

/* Child: confine, then try both files; exit code: bit 0 outside created,
 * bit 1 inside created, bit 2 confined, 100+ setup errors. */
static int
landlock_child(const char *data, const char *out, const char *in)
{
	char state[700], why[300];
	int fd, r = 0;

	snprintf(llcfg.data_dir, sizeof(llcfg.data_dir), "%s", data);
	llcfg.relay.kind = ZCFG_RELAY_SMARTHOST;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0)
		return 100;
	if (privsep_landlock(&llcfg, NULL, state, sizeof(state), why, sizeof(why)) != 0)
		return 101;
	if (strncmp(state, "writes confined by landlock", 27) == 0)
		r |= 4;
	else if (strncmp(state, "writes NOT confined (landlock", 29) != 0)
		return 102;
	if ((fd = open(out, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0) {
		close(fd);
		r |= 1;
	} else if (errno != EACCES) {
		return 103;
	}
	if ((fd = open(in, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0) {
		char a[200], b[200];

		close(fd);
		/* the spool -> queue hand-over: a rename into another directory
		 * beneath the data dir (REFER) */
		snprintf(a, sizeof(a), "%s/spool", data);
		snprintf(b, sizeof(b), "%s/queue", data);
		if (mkdir(a, 0700) != 0 || mkdir(b, 0700) != 0)
			return 104;
		snprintf(a, sizeof(a), "%s/spool/m", data);
		snprintf(b, sizeof(b), "%s/queue/m", data);
		if (rename(in, a) != 0 || rename(a, b) != 0 || rename(b, in) != 0)
			return 105;
		r |= 2;
	}
	return r;
}

static void
test_landlock_confines(void **state)
{
	char top[] = "/tmp/zt-landlock-unit.XXXXXX", data[64], out[80], in[80];
	int st = 0;
	pid_t p;

	assert_non_null(mkdtemp(top));
	snprintf(data, sizeof(data), "%s/data", top);
	snprintf(out, sizeof(out), "%s/outside", top);
	snprintf(in, sizeof(in), "%s/data/inside", top);
	/* the appliance's data dir exists before it confines itself (Landlock
	 * or not: without Landlock nothing makes it) */
	assert_int_equal(mkdir(data, 0700), 0);
	p = fork();
	assert_true(p >= 0);
	if (p == 0)
		_exit(landlock_child(data, out, in));
	assert_int_equal(waitpid(p, &st, 0), p);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) & 4) { /* confined: outside refused, inside made */
		assert_int_equal(WEXITSTATUS(st), 4 | 2);
		assert_int_equal(access(out, F_OK), -1);
	} else { /* this kernel has no Landlock (ABI >= 2): said so, nothing refused */
		print_message("landlock not available on this kernel: checked the NOT confined path\n");
		assert_int_equal(WEXITSTATUS(st), 1 | 2);
	}
	assert_int_equal(access(in, F_OK), 0);
	unlink(in);
	unlink(out);
	snprintf(out, sizeof(out), "%s/data/spool", top);
	rmdir(out);
	snprintf(out, sizeof(out), "%s/data/queue", top);
	rmdir(out);
	rmdir(data);
	rmdir(top);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec),
		cmocka_unit_test(test_holder),
		cmocka_unit_test(test_landlock_rights),
		cmocka_unit_test(test_landlock_confines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
