/*
 * board/common/init.c — PID 1 of the zegel firmware images (QEMU boards and
 * board/mt7621-gnubee-gb-pc1).
 *
 * A separate tiny static binary, not part of zegel, so that a crash of the
 * appliance never takes PID 1 (and with it the kernel) down: init starts
 * zegel and starts it again when it dies, like a watchdog.
 *
 * Boot, in order (each step prints one line on the console):
 *   1. mount devtmpfs on /dev, proc, sysfs, tmpfs on /tmp and /run; the
 *      console (/dev/console) becomes fds 0, 1, 2
 *   2. (no kernel modules: the images' kernels have every driver built in,
 *      toolchain/build-kernel.sh)
 *   3. mount the persistent disk on /data (ext4; the kernel replays its
 *      journal, so a power cut leaves a consistent file system). Without a
 *      disk /data is a tmpfs and the console says the config will not survive
 *   3b. the user zegel (uid/gid 100) of zegel's network process in
 *      /etc/passwd and /etc/group; /data and everything in it becomes
 *      zegel's except the private keys under /data/keys (every regular
 *      file there but the key state file): root's, mode 0600, read only by
 *      zegel's key holder (README "Security model"); the console ttys
 *      become zegel's too (zegel run drops root before it opens them)
 *   4. lo up; eth0 up with an address and a default route (see below);
 *      the interfaces named by zegel_link= up without any address
 *   5. print the firmware version (/etc/firmware-version) and the kernel
 *      (uname; not by running `zegel version`: that second start of the
 *      zegel binary cost 0.3 s of boot under QEMU's MIPS emulation), then
 *      run `zegel run --config /data/zegel.conf`
 *      on the console (plain `zegel run` while that file does not exist yet:
 *      defaults, and `save` writes it); when it exits it is started again
 *      after a back-off (1 s, doubling up to 30 s while it keeps dying
 *      within 10 s)
 *
 * Network settings, later ones win:
 *   built-in      zegel_if=eth0 zegel_ip=10.0.2.15/24 zegel_gw=10.0.2.2
 *                 (the guest side of QEMU's user-mode network)
 *   kernel command line   the same names (the kernel hands unknown
 *                 name=value words to init as environment variables);
 *                 zegel_ip=none leaves the interface down
 *   saved config  a line `interface IF address A.B.C.D/LEN [gateway G]` in
 *                 /data/network.conf
 *   zegel_link=eth1[,IF...]  (kernel command line) interfaces zegel's own
 *                 network stack owns (the lwIP build's `set lwip driver
 *                 packet`, hal/lwip/README.md): brought up with no address,
 *                 the kernel's IPv6 (disable_ipv6) and ARP answers
 *                 (arp_ignore=8) off on them; before each start of zegel
 *                 init prints the addresses the kernel has on them ("none")
 *   zegel_data=/dev/vda picks the data disk (default: first of /dev/vda,
 *   /dev/sda, /dev/hda that appears within 5 s); zegel_data=mtd:NAME names a
 *   flash partition (board/mt7621-gnubee-gb-pc1: mtd:data), whose mount is
 *   tried for up to 5 s while the SPI flash driver probes.
 *   zegel_datafs=jffs2 its file system type (default ext4).
 *
 * Signals (the same as busybox init, so a `reboot` console command can just
 * kill(1, SIGTERM)): SIGTERM reboot, SIGUSR1 halt, SIGUSR2 power off. Each
 * stops zegel (SIGTERM, then SIGKILL after 3 s), syncs, unmounts /data.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define INIT_ZEGEL "/bin/zegel"
#define INIT_CONFIG "/data/zegel.conf"
#define INIT_NETCONF "/data/network.conf"
#define INIT_WAIT_MS 5000
#define INIT_UID 100 /* the user zegel: zegel run's network process */

static volatile sig_atomic_t init_signal;

static void
init_log(const char *fmt, ...)
{
	struct timespec ts;
	char buf[256];
	va_list ap;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(buf, sizeof(buf), "[%4ld.%03ld] init: ", (long)ts.tv_sec,
	    ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(buf);
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, (size_t)n) < 0)
		return;
}

static void
init_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Waits up to INIT_WAIT_MS for path to appear (devtmpfs, sysfs). */
static int
init_wait_for(const char *path)
{
	for (int t = 0; t < INIT_WAIT_MS; t += 20) {
		if (access(path, F_OK) == 0)
			return 1;
		init_sleep_ms(20);
	}
	return 0;
}

static void
init_mount(const char *src, const char *dir, const char *type, unsigned long fl,
    const char *opt)
{
	mkdir(dir, 0755);
	if (mount(src, dir, type, fl, opt) != 0 && errno != EBUSY)
		init_log("mount %s on %s: %s", type, dir, strerror(errno));
}

static void
init_console(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);

	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++)
		if (fd != i)
			dup2(fd, i);
	if (fd > 2)
		close(fd);
}

static void
init_data(void)
{
	static const char *const guess[] = { "/dev/vda", "/dev/sda", "/dev/hda" };
	const char *dev = getenv("zegel_data");
	const char *fs = getenv("zegel_datafs");
	/* An MTD partition named mtd:NAME has no device node to wait for (JFFS2
	 * mounts it by name): its mount is tried again until the flash is there. */
	int tries = 1;

	if (fs == NULL || fs[0] == '\0')
		fs = "ext4";
	mkdir("/data", 0755);
	if (dev != NULL && strncmp(dev, "mtd:", 4) == 0) {
		tries = INIT_WAIT_MS / 100;
	} else if (dev == NULL) {
		for (int t = 0; t < INIT_WAIT_MS && dev == NULL; t += 20) {
			for (size_t i = 0; i < sizeof(guess) / sizeof(guess[0]); i++)
				if (access(guess[i], F_OK) == 0) {
					dev = guess[i];
					break;
				}
			if (dev == NULL)
				init_sleep_ms(20);
		}
	} else if (!init_wait_for(dev)) {
		init_log("data disk %s did not appear", dev);
		dev = NULL;
	}
	if (dev != NULL) {
		for (int i = 0; i < tries; i++) {
			if (i > 0)
				init_sleep_ms(100);
			if (mount(dev, "/data", fs, MS_NOATIME | MS_NODEV | MS_NOSUID, "") == 0) {
				init_log("%s mounted on /data (%s)", dev, fs);
				return;
			}
		}
		init_log("mount %s on /data (%s): %s", dev, fs, strerror(errno));
	}
	init_mount("tmpfs", "/data", "tmpfs", MS_NODEV | MS_NOSUID, "size=8m,mode=0755");
	init_log("WARNING: no persistent disk; /data is in RAM and `save` will not "
	    "survive a reboot");
}

static void
init_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		init_log("%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* Owners below dir: the user's, but private keys (in_keys: every regular
 * file under /data/keys except the state file and its temporaries) stay
 * root's with mode 0600. Symlinks are neither followed nor changed. */
static void
init_own_tree(const char *dir, int in_keys, int depth)
{
	DIR *d;
	struct dirent *e;
	char path[512];
	struct stat st;

	if (lchown(dir, INIT_UID, INIT_UID) != 0)
		init_log("chown %s: %s", dir, strerror(errno));
	if (depth > 8 || (d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path) ||
		    lstat(path, &st) != 0 || S_ISLNK(st.st_mode))
			continue;
		if (S_ISDIR(st.st_mode)) {
			init_own_tree(path, in_keys || (depth == 0 && strcmp(e->d_name, "keys") == 0),
			    depth + 1);
		} else if (in_keys && S_ISREG(st.st_mode) && strcmp(e->d_name, "state") != 0 &&
		    strncmp(e->d_name, "state.tmp.", 10) != 0) {
			if (chown(path, 0, 0) != 0 || chmod(path, 0600) != 0)
				init_log("%s: %s", path, strerror(errno));
		} else if (lchown(path, INIT_UID, INIT_UID) != 0) {
			init_log("chown %s: %s", path, strerror(errno));
		}
	}
	closedir(d);
}

static void
init_users(void)
{
	static const char *const ttys[] = { "/dev/console", "/dev/ttyS0", "/dev/ttyAMA0" };

	mkdir("/etc", 0755);
	init_write("/etc/passwd", "root:x:0:0:root:/:/bin/false\n"
				  "zegel:x:100:100:zegel network process:/data:/bin/false\n");
	init_write("/etc/group", "root:x:0:\nzegel:x:100:\n");
	init_own_tree("/data", 0, 0);
	for (size_t i = 0; i < sizeof(ttys) / sizeof(ttys[0]); i++)
		if (access(ttys[i], F_OK) == 0 && chown(ttys[i], INIT_UID, INIT_UID) != 0)
			init_log("chown %s: %s", ttys[i], strerror(errno));
	init_log("user zegel (uid %d) owns /data, the private keys in /data/keys are root's",
	    INIT_UID);
}

struct init_net {
	char ifname[IFNAMSIZ];
	char addr[20];
	int prefix;
	char gw[20];
};

/* "A.B.C.D/LEN" or "none"; 0 if accepted. */
static int
init_net_addr(struct init_net *n, const char *v)
{
	const char *slash = strchr(v, '/');
	struct in_addr a;
	char ip[20];

	if (strcmp(v, "none") == 0) {
		n->addr[0] = '\0';
		return 0;
	}
	if (slash == NULL || (size_t)(slash - v) >= sizeof(ip))
		return -1;
	memcpy(ip, v, (size_t)(slash - v));
	ip[slash - v] = '\0';
	char *end;
	long len = strtol(slash + 1, &end, 10);
	if (*end != '\0' || len < 0 || len > 32 || inet_pton(AF_INET, ip, &a) != 1)
		return -1;
	strcpy(n->addr, ip);
	n->prefix = (int)len;
	return 0;
}

static int
init_net_gw(struct init_net *n, const char *v)
{
	struct in_addr a;

	if (strlen(v) >= sizeof(n->gw) || inet_pton(AF_INET, v, &a) != 1)
		return -1;
	strcpy(n->gw, v);
	return 0;
}

/* interface IF address A.B.C.D/LEN [gateway G] */
static void
init_net_file(struct init_net *n)
{
	char line[160], ifn[IFNAMSIZ + 8], addr[40], gwkw[16], gw[40];
	FILE *f = fopen(INIT_NETCONF, "re");
	int lno = 0;

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		lno++;
		if (line[0] == '#' || line[strspn(line, " \t\r\n")] == '\0')
			continue;
		int k = sscanf(line, "interface %23s address %39s %15s %39s", ifn, addr, gwkw, gw);
		struct init_net t = *n;
		if ((k == 2 || (k == 4 && strcmp(gwkw, "gateway") == 0)) &&
		    strlen(ifn) < IFNAMSIZ && init_net_addr(&t, addr) == 0 &&
		    (k == 2 || init_net_gw(&t, gw) == 0)) {
			strcpy(t.ifname, ifn);
			if (k == 2)
				t.gw[0] = '\0';
			*n = t;
		} else {
			init_log("%s:%d: not understood (want: interface IF address "
			    "A.B.C.D/LEN [gateway G]); ignored", INIT_NETCONF, lno);
		}
	}
	fclose(f);
}

static int
init_ifreq_addr(int s, const char *ifn, unsigned long req, in_addr_t a)
{
	struct ifreq ifr;
	struct sockaddr_in sin;

	memset(&ifr, 0, sizeof(ifr));
	memset(&sin, 0, sizeof(sin));
	strncpy(ifr.ifr_name, ifn, IFNAMSIZ - 1);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = a;
	memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
	return ioctl(s, req, &ifr);
}

static int
init_if_up(int s, const char *ifn, const char *ip, int prefix)
{
	struct ifreq ifr;
	in_addr_t a, mask;

	a = inet_addr(ip);
	mask = prefix == 0 ? 0 : htonl(0xffffffffu << (32 - prefix));
	if (init_ifreq_addr(s, ifn, SIOCSIFADDR, a) != 0 ||
	    init_ifreq_addr(s, ifn, SIOCSIFNETMASK, mask) != 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, ifn, IFNAMSIZ - 1);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
		return -1;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return ioctl(s, SIOCSIFFLAGS, &ifr);
}

static int
init_route_default(int s, const char *gw)
{
	struct rtentry rt;
	struct sockaddr_in sin;

	memset(&rt, 0, sizeof(rt));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	memcpy(&rt.rt_dst, &sin, sizeof(sin));
	memcpy(&rt.rt_genmask, &sin, sizeof(sin));
	sin.sin_addr.s_addr = inet_addr(gw);
	memcpy(&rt.rt_gateway, &sin, sizeof(sin));
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	return ioctl(s, SIOCADDRT, &rt) == 0 || errno == EEXIST ? 0 : -1;
}

/* zegel_link= interfaces (see the top of this file) */
#define INIT_LINKS_MAX 4
static char init_links[INIT_LINKS_MAX][IFNAMSIZ];
static int init_nlinks;

static void
init_sysctl_if(const char *fmt, const char *ifn, const char *val)
{
	char path[96];
	FILE *f;

	snprintf(path, sizeof(path), fmt, ifn);
	if ((f = fopen(path, "w")) == NULL) {
		if (errno != ENOENT) /* a kernel without IPv6 has no such file */
			init_log("%s: %s", path, strerror(errno));
		return;
	}
	if (fputs(val, f) < 0 || fclose(f) != 0)
		init_log("%s: %s", path, strerror(errno));
}

/* Up, no address: a packet socket of zegel's owns the frames. */
static void
init_net_links(int s, const char *eth)
{
	char list[64], *save = NULL, sys[64];
	const char *v = getenv("zegel_link");
	struct ifreq ifr;

	if (v == NULL || snprintf(list, sizeof(list), "%s", v) >= (int)sizeof(list))
		return;
	for (char *ifn = strtok_r(list, ",", &save); ifn != NULL; ifn = strtok_r(NULL, ",", &save)) {
		if (strlen(ifn) >= IFNAMSIZ || strcmp(ifn, eth) == 0 ||
		    init_nlinks == INIT_LINKS_MAX) {
			init_log("zegel_link=%s: not a free interface name (%s has the kernel's "
			    "address; at most %d); ignored", ifn, eth, INIT_LINKS_MAX);
			continue;
		}
		snprintf(sys, sizeof(sys), "/sys/class/net/%s", ifn);
		if (!init_wait_for(sys)) {
			init_log("%s: no such interface (zegel_link)", ifn);
			continue;
		}
		/* before it is up: no IPv6 link-local address ever appears */
		init_sysctl_if("/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifn, "1");
		/* the kernel answers no ARP request there, not even for eth0's address */
		init_sysctl_if("/proc/sys/net/ipv4/conf/%s/arp_ignore", ifn, "8");
		memset(&ifr, 0, sizeof(ifr));
		strncpy(ifr.ifr_name, ifn, IFNAMSIZ - 1);
		if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) {
			init_log("%s: %s", ifn, strerror(errno));
			continue;
		}
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) {
			init_log("%s: up: %s", ifn, strerror(errno));
			continue;
		}
		strcpy(init_links[init_nlinks++], ifn);
		init_log("%s up without an address, for zegel's own network stack (zegel_link)", ifn);
	}
}

/* What the kernel has on the zegel_link interfaces: none, as set up above. */
static void
init_links_report(void)
{
	for (int i = 0; i < init_nlinks; i++) {
		char have[160] = "", line[200], a6[40], dev[IFNAMSIZ + 1];
		struct ifreq ifr;
		FILE *f;
		int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		memset(&ifr, 0, sizeof(ifr));
		strncpy(ifr.ifr_name, init_links[i], IFNAMSIZ - 1);
		if (s >= 0 && ioctl(s, SIOCGIFADDR, &ifr) == 0) {
			struct sockaddr_in sin;

			memcpy(&sin, &ifr.ifr_addr, sizeof(sin));
			snprintf(have, sizeof(have), " %s", inet_ntoa(sin.sin_addr));
		}
		if (s >= 0)
			close(s);
		/* if_inet6: address (32 hex digits), index, prefix, scope, flags, name */
		if ((f = fopen("/proc/net/if_inet6", "r")) != NULL) {
			while (fgets(line, sizeof(line), f) != NULL)
				if (sscanf(line, "%39s %*s %*s %*s %*s %16s", a6, dev) == 2 &&
				    strcmp(dev, init_links[i]) == 0 &&
				    strlen(have) + strlen(a6) + 2 < sizeof(have)) {
					strcat(have, " ");
					strcat(have, a6);
				}
			fclose(f);
		}
		init_log("%s: the kernel's addresses on it:%s", init_links[i], have[0] ? have : " none");
	}
}

static void
init_net(void)
{
	struct init_net n = { "eth0", "10.0.2.15", 24, "10.0.2.2" };
	const char *v;
	char sys[64];
	int s;

	if ((v = getenv("zegel_if")) != NULL && strlen(v) < IFNAMSIZ)
		strcpy(n.ifname, v);
	if ((v = getenv("zegel_ip")) != NULL && init_net_addr(&n, v) != 0)
		init_log("zegel_ip=%s: want A.B.C.D/LEN or none; ignored", v);
	if ((v = getenv("zegel_gw")) != NULL && init_net_gw(&n, v) != 0)
		init_log("zegel_gw=%s: want A.B.C.D; ignored", v);
	init_net_file(&n);

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		init_log("socket: %s", strerror(errno));
		return;
	}
	if (init_if_up(s, "lo", "127.0.0.1", 8) != 0)
		init_log("lo: %s", strerror(errno));
	if (n.addr[0] == '\0') {
		init_log("%s left down (zegel_ip=none)", n.ifname);
	} else {
		snprintf(sys, sizeof(sys), "/sys/class/net/%s", n.ifname);
		if (!init_wait_for(sys))
			init_log("%s: no such interface (NIC driver missing?)", n.ifname);
		else if (init_if_up(s, n.ifname, n.addr, n.prefix) != 0)
			init_log("%s: %s", n.ifname, strerror(errno));
		else if (n.gw[0] != '\0' && init_route_default(s, n.gw) != 0)
			init_log("%s up %s/%d; default route via %s: %s", n.ifname, n.addr,
			    n.prefix, n.gw, strerror(errno));
		else
			init_log("%s up %s/%d%s%s", n.ifname, n.addr, n.prefix,
			    n.gw[0] ? " via " : "", n.gw);
	}
	init_net_links(s, n.addr[0] ? n.ifname : "");
	close(s);
}

static char *const init_env[] = {
	"PATH=/bin",
	"HOME=/data",
	"TERM=vt100",
	NULL,
};

static pid_t
init_spawn(char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGUSR1, SIG_DFL);
		signal(SIGUSR2, SIG_DFL);
		setsid();
		execve(argv[0], argv, init_env);
		init_log("exec %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	if (pid < 0)
		init_log("fork: %s", strerror(errno));
	return pid;
}

static void
init_on_signal(int sig)
{
	init_signal = sig;
}

static long
init_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
init_shutdown(pid_t child, int sig)
{
	const char *what = sig == SIGUSR1 ? "halt" : sig == SIGUSR2 ? "power off" : "reboot";

	init_log("%s: stopping zegel", what);
	if (child > 0) {
		kill(child, SIGTERM);
		for (int t = 0; t < 3000; t += 50) {
			if (waitpid(child, NULL, WNOHANG) == child) {
				child = 0;
				break;
			}
			init_sleep_ms(50);
		}
		if (child > 0)
			kill(child, SIGKILL);
	}
	sync();
	if (umount("/data") != 0)
		init_log("umount /data: %s", strerror(errno));
	sync();
	init_log("%s", what);
	reboot(sig == SIGUSR1 ? RB_HALT_SYSTEM : sig == SIGUSR2 ? RB_POWER_OFF : RB_AUTOBOOT);
	for (;;)
		pause();
}

/* The firmware version and the running kernel, as `zegel version` names them. */
static void
init_version(void)
{
	char fw[128] = "unknown";
	struct utsname u;
	FILE *f = fopen("/etc/firmware-version", "r");

	if (f != NULL) {
		if (fgets(fw, sizeof(fw), f) == NULL)
			snprintf(fw, sizeof(fw), "unknown");
		fclose(f);
		fw[strcspn(fw, "\r\n")] = '\0';
	}
	if (uname(&u) != 0)
		memset(&u, 0, sizeof(u));
	init_log("firmware %s, kernel %s %s %s", fw, u.sysname, u.release, u.machine);
}

int
main(void)
{
	static char *run_argv[] = { INIT_ZEGEL, "run", "--config", INIT_CONFIG, NULL };
	static char *first_argv[] = { INIT_ZEGEL, "run", NULL };
	struct sigaction sa;
	long started, backoff = 1000;
	pid_t child, pid;
	int st;

	if (getpid() != 1) {
		fprintf(stderr, "init: must run as PID 1 (the firmware image's /init)\n");
		return 2;
	}
	init_mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	init_console();
	init_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "");
	init_mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "");
	init_mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=1777");
	init_mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755");
	if (sethostname("zegel", 5) != 0)
		init_log("sethostname: %s", strerror(errno));

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = init_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);

	init_data();
	init_users();
	init_net();

	init_version();

	for (;;) {
		/* First boot: no saved file yet. `zegel run` then starts from the
		 * defaults, whose data-dir is /data, and `save` writes INIT_CONFIG. */
		int saved = access(INIT_CONFIG, F_OK) == 0;
		init_links_report();
		init_log("starting zegel run%s%s", saved ? " --config " : " (no saved config yet)",
		    saved ? INIT_CONFIG : "");
		started = init_now_ms();
		child = init_spawn(saved ? run_argv : first_argv);
		for (;;) {
			if (init_signal != 0)
				init_shutdown(child, init_signal);
			pid = wait(&st);
			if (pid < 0 && errno == EINTR)
				continue;
			if (pid < 0 || pid == child)
				break;
			/* an orphan reaped; keep waiting for zegel */
		}
		if (pid < 0)
			init_sleep_ms(1000);
		else if (WIFSIGNALED(st))
			init_log("zegel killed by signal %d", WTERMSIG(st));
		else
			init_log("zegel exited with status %d", WEXITSTATUS(st));
		if (init_now_ms() - started > 10000)
			backoff = 1000;
		init_log("restarting zegel in %ld s", backoff / 1000);
		for (long t = 0; t < backoff && init_signal == 0; t += 100)
			init_sleep_ms(100);
		if (init_signal != 0)
			init_shutdown(0, init_signal);
		backoff = backoff * 2 > 30000 ? 30000 : backoff * 2;
	}
}
