/*
 * The network process's seccomp filter (privsep.h, CONFIG_PRIVSEP_SECCOMP):
 * a classic BPF allow-list of the system calls zegel run makes, written out
 * here (no libseccomp on the routers). The architecture is checked first
 * (a call through another ABI, x32 on x86-64, is refused). Any other call
 * raises SIGSYS (SECCOMP_RET_TRAP: the call is not made); the handler
 * writes "seccomp: forbidden system call N" to stderr and the process dies
 * of SIGSYS (signal 31 on ARM and x86, 12 on MIPS), so a call missing from
 * the list is found, never passed over silently. init restarts zegel.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "firmware/privsep/privsep.h"

#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000u /* Linux 4.14 */
#endif
#include "zegel/config.h"

#if defined(__x86_64__) && !defined(__ILP32__)
#define ARCH_NR AUDIT_ARCH_X86_64
#elif defined(__i386__)
#define ARCH_NR AUDIT_ARCH_I386
#elif defined(__aarch64__)
#define ARCH_NR AUDIT_ARCH_AARCH64
#elif defined(__arm__) && defined(__ARMEB__)
#define ARCH_NR AUDIT_ARCH_ARMEB
#elif defined(__arm__)
#define ARCH_NR AUDIT_ARCH_ARM
#elif defined(__mips__) && defined(_MIPS_SIM) && _MIPS_SIM == _ABIO32 && defined(__MIPSEB__)
#define ARCH_NR AUDIT_ARCH_MIPS
#elif defined(__mips__) && defined(_MIPS_SIM) && _MIPS_SIM == _ABIO32
#define ARCH_NR AUDIT_ARCH_MIPSEL
#endif

/* The allow-list; a name this architecture lacks is left out. */
static const long allowed[] = {
#define A(n) n,
#ifdef __NR_read
	A(__NR_read)
#endif
#ifdef __NR_write
	A(__NR_write)
#endif
#ifdef __NR_readv
	A(__NR_readv)
#endif
#ifdef __NR_writev
	A(__NR_writev)
#endif
#ifdef __NR_pread64
	A(__NR_pread64)
#endif
#ifdef __NR_pwrite64
	A(__NR_pwrite64)
#endif
#ifdef __NR_open
	A(__NR_open)
#endif
#ifdef __NR_openat
	A(__NR_openat)
#endif
#ifdef __NR_close
	A(__NR_close)
#endif
#ifdef __NR_stat
	A(__NR_stat)
#endif
#ifdef __NR_fstat
	A(__NR_fstat)
#endif
#ifdef __NR_lstat
	A(__NR_lstat)
#endif
#ifdef __NR_stat64
	A(__NR_stat64)
#endif
#ifdef __NR_fstat64
	A(__NR_fstat64)
#endif
#ifdef __NR_lstat64
	A(__NR_lstat64)
#endif
#ifdef __NR_newfstatat
	A(__NR_newfstatat)
#endif
#ifdef __NR_fstatat64
	A(__NR_fstatat64)
#endif
#ifdef __NR_statx
	A(__NR_statx)
#endif
#ifdef __NR_lseek
	A(__NR_lseek)
#endif
#ifdef __NR__llseek
	A(__NR__llseek)
#endif
#ifdef __NR_access
	A(__NR_access)
#endif
#ifdef __NR_faccessat
	A(__NR_faccessat)
#endif
#ifdef __NR_faccessat2
	A(__NR_faccessat2)
#endif
#ifdef __NR_poll
	A(__NR_poll)
#endif
#ifdef __NR_ppoll
	A(__NR_ppoll)
#endif
#ifdef __NR_ppoll_time64
	A(__NR_ppoll_time64)
#endif
#ifdef __NR_socket
	A(__NR_socket)
#endif
#ifdef __NR_socketcall
	A(__NR_socketcall)
#endif
#ifdef __NR_connect
	A(__NR_connect)
#endif
#ifdef __NR_bind
	A(__NR_bind)
#endif
#ifdef __NR_listen
	A(__NR_listen)
#endif
#ifdef __NR_accept
	A(__NR_accept)
#endif
#ifdef __NR_accept4
	A(__NR_accept4)
#endif
#ifdef __NR_getsockname
	A(__NR_getsockname)
#endif
#ifdef __NR_getpeername
	A(__NR_getpeername)
#endif
#ifdef __NR_setsockopt
	A(__NR_setsockopt)
#endif
#ifdef __NR_getsockopt
	A(__NR_getsockopt)
#endif
#ifdef __NR_send
	A(__NR_send)
#endif
#ifdef __NR_recv
	A(__NR_recv)
#endif
#ifdef __NR_sendto
	A(__NR_sendto)
#endif
#ifdef __NR_recvfrom
	A(__NR_recvfrom)
#endif
#ifdef __NR_sendmsg
	A(__NR_sendmsg)
#endif
#ifdef __NR_recvmsg
	A(__NR_recvmsg)
#endif
#ifdef __NR_shutdown
	A(__NR_shutdown)
#endif
#ifdef __NR_fcntl
	A(__NR_fcntl)
#endif
#ifdef __NR_fcntl64
	A(__NR_fcntl64)
#endif
#ifdef __NR_ioctl
	A(__NR_ioctl)
#endif
#ifdef __NR_dup
	A(__NR_dup)
#endif
#ifdef __NR_dup2
	A(__NR_dup2)
#endif
#ifdef __NR_dup3
	A(__NR_dup3)
#endif
#ifdef __NR_pipe
	A(__NR_pipe)
#endif
#ifdef __NR_pipe2
	A(__NR_pipe2)
#endif
#ifdef __NR_mkdir
	A(__NR_mkdir)
#endif
#ifdef __NR_mkdirat
	A(__NR_mkdirat)
#endif
#ifdef __NR_rename
	A(__NR_rename)
#endif
#ifdef __NR_renameat
	A(__NR_renameat)
#endif
#ifdef __NR_renameat2
	A(__NR_renameat2)
#endif
#ifdef __NR_link
	A(__NR_link)
#endif
#ifdef __NR_linkat
	A(__NR_linkat)
#endif
#ifdef __NR_unlink
	A(__NR_unlink)
#endif
#ifdef __NR_unlinkat
	A(__NR_unlinkat)
#endif
#ifdef __NR_rmdir
	A(__NR_rmdir)
#endif
#ifdef __NR_chmod
	A(__NR_chmod)
#endif
#ifdef __NR_fchmod
	A(__NR_fchmod)
#endif
#ifdef __NR_fchmodat
	A(__NR_fchmodat)
#endif
#ifdef __NR_ftruncate
	A(__NR_ftruncate)
#endif
#ifdef __NR_ftruncate64
	A(__NR_ftruncate64)
#endif
#ifdef __NR_fsync
	A(__NR_fsync)
#endif
#ifdef __NR_fdatasync
	A(__NR_fdatasync)
#endif
#ifdef __NR_getdents
	A(__NR_getdents)
#endif
#ifdef __NR_getdents64
	A(__NR_getdents64)
#endif
#ifdef __NR_statfs
	A(__NR_statfs)
#endif
#ifdef __NR_statfs64
	A(__NR_statfs64)
#endif
#ifdef __NR_fstatfs
	A(__NR_fstatfs)
#endif
#ifdef __NR_fstatfs64
	A(__NR_fstatfs64)
#endif
#ifdef __NR_readlink
	A(__NR_readlink)
#endif
#ifdef __NR_readlinkat
	A(__NR_readlinkat)
#endif
#ifdef __NR_getcwd
	A(__NR_getcwd)
#endif
#ifdef __NR_umask
	A(__NR_umask)
#endif
#ifdef __NR_clock_gettime
	A(__NR_clock_gettime)
#endif
#ifdef __NR_clock_gettime64
	A(__NR_clock_gettime64)
#endif
#ifdef __NR_clock_getres
	A(__NR_clock_getres)
#endif
#ifdef __NR_clock_getres_time64
	A(__NR_clock_getres_time64)
#endif
#ifdef __NR_gettimeofday
	A(__NR_gettimeofday)
#endif
#ifdef __NR_time
	A(__NR_time)
#endif
#ifdef __NR_clock_settime
	A(__NR_clock_settime)
#endif
#ifdef __NR_clock_settime64
	A(__NR_clock_settime64)
#endif
#ifdef __NR_settimeofday
	A(__NR_settimeofday)
#endif
#ifdef __NR_nanosleep
	A(__NR_nanosleep)
#endif
#ifdef __NR_clock_nanosleep
	A(__NR_clock_nanosleep)
#endif
#ifdef __NR_clock_nanosleep_time64
	A(__NR_clock_nanosleep_time64)
#endif
#ifdef __NR_getrandom
	A(__NR_getrandom)
#endif
#ifdef __NR_brk
	A(__NR_brk)
#endif
#ifdef __NR_mmap
	A(__NR_mmap)
#endif
#ifdef __NR_mmap2
	A(__NR_mmap2)
#endif
#ifdef __NR_munmap
	A(__NR_munmap)
#endif
#ifdef __NR_mremap
	A(__NR_mremap)
#endif
#ifdef __NR_madvise
	A(__NR_madvise)
#endif
#ifdef __NR_rt_sigaction
	A(__NR_rt_sigaction)
#endif
#ifdef __NR_rt_sigprocmask
	A(__NR_rt_sigprocmask)
#endif
#ifdef __NR_rt_sigreturn
	A(__NR_rt_sigreturn)
#endif
#ifdef __NR_sigreturn
	A(__NR_sigreturn)
#endif
#ifdef __NR_sigaltstack
	A(__NR_sigaltstack)
#endif
#ifdef __NR_exit
	A(__NR_exit)
#endif
#ifdef __NR_exit_group
	A(__NR_exit_group)
#endif
#ifdef __NR_getpid
	A(__NR_getpid)
#endif
#ifdef __NR_gettid
	A(__NR_gettid)
#endif
#ifdef __NR_getppid
	A(__NR_getppid)
#endif
#ifdef __NR_getuid
	A(__NR_getuid)
#endif
#ifdef __NR_geteuid
	A(__NR_geteuid)
#endif
#ifdef __NR_getgid
	A(__NR_getgid)
#endif
#ifdef __NR_getegid
	A(__NR_getegid)
#endif
#ifdef __NR_getuid32
	A(__NR_getuid32)
#endif
#ifdef __NR_geteuid32
	A(__NR_geteuid32)
#endif
#ifdef __NR_getgid32
	A(__NR_getgid32)
#endif
#ifdef __NR_getegid32
	A(__NR_getegid32)
#endif
#ifdef __NR_wait4
	A(__NR_wait4) /* the key holder's status when it died */
#endif
#ifdef __NR_waitid
	A(__NR_waitid)
#endif
#ifdef __NR_tgkill
	A(__NR_tgkill)
#endif
#ifdef __NR_tkill
	A(__NR_tkill)
#endif
#ifdef __NR_uname
	A(__NR_uname)
#endif
#ifdef __NR_sysinfo
	A(__NR_sysinfo)
#endif
#ifdef __NR_prlimit64
	A(__NR_prlimit64)
#endif
#ifdef __NR_getrlimit
	A(__NR_getrlimit)
#endif
#ifdef __NR_ugetrlimit
	A(__NR_ugetrlimit)
#endif
#if IS_ENABLED(CONFIG_HAL_NET_LWIP)
	/* lwIP's threads (hal/lwip/README.md): the unix port's tapif reader
	 * waits in select(); glibc grows a thread's malloc arena with mprotect */
#ifdef __NR_select
	A(__NR_select)
#endif
#ifdef __NR__newselect
	A(__NR__newselect)
#endif
#ifdef __NR_pselect6
	A(__NR_pselect6)
#endif
#ifdef __NR_pselect6_time64
	A(__NR_pselect6_time64)
#endif
#ifdef __NR_mprotect
	A(__NR_mprotect)
#endif
	/* a thread pthread_create() started before the filter (TSYNC) can
	 * run its first instructions after it: glibc's start_thread then
	 * registers the thread's robust futex list and rseq area, with every
	 * signal blocked, so a trap there killed the process without a word
	 * (SIGSYS, exit 159, on a loaded machine: issue 14) */
#ifdef __NR_set_robust_list
	A(__NR_set_robust_list)
#endif
#ifdef __NR_rseq
	A(__NR_rseq)
#endif
#endif
#ifdef __NR_futex
	A(__NR_futex)
#endif
#ifdef __NR_futex_time64
	A(__NR_futex_time64)
#endif
#ifdef __NR_sched_yield
	A(__NR_sched_yield)
#endif
#ifdef __NR_restart_syscall
	A(__NR_restart_syscall)
#endif
#ifdef __NR_fadvise64
	A(__NR_fadvise64)
#endif
#ifdef __NR_fadvise64_64
	A(__NR_fadvise64_64)
#endif
#ifdef __NR_arm_fadvise64_64
	A(__NR_arm_fadvise64_64)
#endif
#undef A
};

static void
put_num(char *p, size_t *n, unsigned long v)
{
	char d[24];
	size_t k = 0;

	do
		d[k++] = (char)('0' + v % 10);
	while ((v /= 10) != 0 && k < sizeof(d));
	while (k > 0)
		p[(*n)++] = d[--k];
}

/* A forbidden call: say which, then die of SIGSYS. */
static void
on_sigsys(int sig, siginfo_t *si, void *uc)
{
	static const char a[] = "\nzegel: seccomp: forbidden system call ";
	static const char b[] = ": a call missing from firmware/privsep/seccomp.c, or an attack\n";
	char line[sizeof(a) + sizeof(b) + 24];
	size_t n = 0;
	struct sigaction sa;

	(void)uc;
	memcpy(line, a, sizeof(a) - 1);
	n = sizeof(a) - 1;
#ifdef si_syscall
	put_num(line, &n, (unsigned long)si->si_syscall);
#else
	(void)si;
	line[n++] = '?';
#endif
	memcpy(line + n, b, sizeof(b) - 1);
	n += sizeof(b) - 1;
	(void)!write(STDERR_FILENO, line, n);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
	raise(sig);
	_exit(128 + sig);
}

int
privsep_seccomp_install(char *why, size_t cap)
{
#ifndef ARCH_NR
	snprintf(why, cap, "seccomp: no filter for this architecture (privsep/seccomp.c)");
	return -ENOTSUP;
#else
	enum { N = sizeof(allowed) / sizeof(allowed[0]) };
	static struct sock_filter f[8 + 2 * N];
	struct sock_fprog prog;
	struct sigaction sa;
	unsigned i = 0;

	f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, arch));
	f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH_NR, 1, 0);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, nr));
#if ARCH_NR == AUDIT_ARCH_X86_64
	/* x32 calls have bit 30 set: another ABI, refused */
	f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
#endif
	for (unsigned k = 0; k < N; k++) {
		f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
		    (uint32_t)allowed[k], 0, 1);
		f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	}
	f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSYS, &sa, NULL);
	prog.len = (unsigned short)i;
	prog.filter = f;
#if IS_ENABLED(CONFIG_HAL_NET_LWIP) && defined(__NR_seccomp)
	/* lwIP's threads run already: the filter covers every thread (TSYNC),
	 * not only this one */
	if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) == 0)
		return 0;
	if (errno != ENOSYS) {
		snprintf(why, cap, "seccomp (all threads): %s", strerror(errno));
		return -errno;
	}
	/* no seccomp(2) (before Linux 3.17, qemu-user): prctl, as below */
#endif
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0L, 0L) != 0) {
		snprintf(why, cap, "seccomp: %s", strerror(errno));
		return -errno;
	}
	return 0;
#endif
}
