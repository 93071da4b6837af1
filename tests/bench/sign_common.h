/* Shared by the signing benchmark loops: load files into memory, a clock
 * (process CPU time: the machine is shared, wall time is too noisy). */
#ifndef BENCH_SIGN_COMMON_H
#define BENCH_SIGN_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct blob {
	unsigned char *p;
	size_t n;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct blob
slurp(const char *path)
{
	struct blob b = { NULL, 0 };
	FILE *f = fopen(path, "rb");
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "%s: cannot read\n", path);
		exit(2);
	}
	b.p = malloc((size_t)n + 1);
	if (b.p == NULL || fread(b.p, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "%s: cannot read\n", path);
		exit(2);
	}
	b.n = (size_t)n;
	b.p[n] = 0;
	fclose(f);
	return b;
}

/* LISTFILE: one message path per line. */
static struct blob *
slurp_list(const char *list, size_t *count)
{
	FILE *f = fopen(list, "r");
	char line[4096];
	struct blob *v = NULL;
	size_t n = 0;

	if (f == NULL) {
		fprintf(stderr, "%s: cannot read\n", list);
		exit(2);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = 0;
		if (line[0] == 0)
			continue;
		v = realloc(v, (n + 1) * sizeof(*v));
		v[n++] = slurp(line);
	}
	fclose(f);
	*count = n;
	return v;
}

#endif
