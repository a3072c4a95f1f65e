/* fuzz-tar.c - the safe layer unpacker fed arbitrary bytes (any compression,
 * any tar dialect libarchive reads), in layer mode and in archive mode.
 * Besides crashes and sanitizer reports it checks the one property that
 * matters: nothing appears next to the target directory.  The target sits
 * three levels below a private temp dir, so a relative escape would land in
 * one of the levels watched here. */
#include "../../src/image/image-internal.h"
#include "../../src/base/fs.h"
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char base[] = "/tmp/fuzz-tar-XXXXXX";
static char *levels[3];

static void cleanup(void)
{
	fs_rm_rf(base, NULL);
}

static void setup(void)
{
	if (levels[0])
		return;
	if (!mkdtemp(base))
		abort();
	atexit(cleanup);
	levels[0] = xasprintf("%s/a", base);
	levels[1] = xasprintf("%s/a/b", base);
	levels[2] = xasprintf("%s/a/b/root", base);
	mkdir(levels[0], 0755);
	mkdir(levels[1], 0755);
}

static void only_child(const char *dir, const char *child)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, child))
			abort(); /* something escaped the target directory */
	if (d)
		closedir(d);
}

static void run(int fd, TarMode mode)
{
	lseek(fd, 0, SEEK_SET);
	if (mkdir(levels[2], 0755) < 0)
		abort();
	int root = open(levels[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	TarResult res;
	Error *e = NULL;
	tar_unpack_stream(fd, root, mode, NULL, &res, &e);
	err_free(e);
	close(root);
	only_child(base, "a");
	only_child(levels[0], "b");
	only_child(levels[1], "root");
	fs_rm_rf(levels[2], NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0 || fs_write_all(fd, data, size) < 0)
		abort();
	run(fd, TAR_LAYER);
	run(fd, TAR_PLAIN);
	close(fd);
	return 0;
}
