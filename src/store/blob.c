#include "blob.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util.h"

#define BLOB_TMP_PREFIX "blob."

void
blob_id_compute(const void *data, size_t len, char id_r[BLOB_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1 ||
	    md_len * 2 != BLOB_ID_LEN)
		fatal("SHA-256 computation failed");
	for (unsigned int i = 0; i < md_len; i++) {
		id_r[i * 2] = hex[md[i] >> 4];
		id_r[i * 2 + 1] = hex[md[i] & 0x0f];
	}
	id_r[BLOB_ID_LEN] = '\0';
}

bool
blob_id_valid(const char *id)
{
	size_t i;

	for (i = 0; i < BLOB_ID_LEN; i++) {
		char c = id[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return id[i] == '\0';
}

/* Paths below the data directory.  Its length is checked at open, so a
 * path that doesn't fit is a bug. */
static void
blob_check_path(int n)
{
	i_assert(n > 0 && n < BLOB_PATH_MAX);
}

/* DATA/name */
static void
blob_data_path(const char *data_dir, const char *name, char *buf)
{
	blob_check_path(snprintf(buf, BLOB_PATH_MAX, "%s/%s", data_dir, name));
}

/* DATA/blobs/XX */
static void
blob_subdir_path(const char *data_dir, const char *id, char *buf)
{
	blob_check_path(
	    snprintf(buf, BLOB_PATH_MAX, "%s/blobs/%.2s", data_dir, id));
}

/* DATA/blobs/XX/REST */
static void
blob_path(const char *data_dir, const char *id, char *buf)
{
	blob_check_path(snprintf(buf, BLOB_PATH_MAX, "%s/blobs/%.2s/%s",
	                         data_dir, id, id + 2));
}

static int
blob_mkdir(const char *path, bool *created_r)
{
	*created_r = false;
	if (mkdir(path, 0700) == 0) {
		*created_r = true;
		return 0;
	}
	return errno == EEXIST ? 0 : -1;
}

static int
blob_fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int ret = fsync(fd);
	int saved = errno;
	close(fd);
	errno = saved;
	return ret;
}

int
blob_dirs_create(const char *data_dir, const char **op_r)
{
	char path[BLOB_PATH_MAX];
	bool created;

	*op_r = "mkdir data directory";
	if (blob_mkdir(data_dir, &created) < 0)
		return -1;
	*op_r = "mkdir blobs";
	blob_data_path(data_dir, "blobs", path);
	if (blob_mkdir(path, &created) < 0)
		return -1;
	*op_r = "mkdir tmp";
	blob_data_path(data_dir, "tmp", path);
	if (blob_mkdir(path, &created) < 0)
		return -1;
	return 0;
}

void
blob_tmp_cleanup(const char *data_dir)
{
	char path[BLOB_PATH_MAX];

	blob_data_path(data_dir, "tmp", path);
	DIR *dir = opendir(path);
	if (dir == NULL)
		return;
	time_t limit = time(NULL) - BLOB_TMP_MAX_AGE_SECS;
	struct dirent *d;
	while ((d = readdir(dir)) != NULL) {
		struct stat st;
		if (strncmp(d->d_name, BLOB_TMP_PREFIX,
		            strlen(BLOB_TMP_PREFIX)) != 0)
			continue;
		/* A young file may belong to a writer still running. */
		if (fstatat(dirfd(dir), d->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		        0 &&
		    S_ISREG(st.st_mode) && st.st_mtime < limit)
			(void)unlinkat(dirfd(dir), d->d_name, 0);
	}
	closedir(dir);
}

bool
blob_exists(const char *data_dir, const char *id)
{
	char path[BLOB_PATH_MAX];
	struct stat st;

	blob_path(data_dir, id, path);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int
blob_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
blob_tmp_write(const char *data_dir, const void *data, size_t len,
               char *tmp_path_r, const char **op_r)
{
	blob_data_path(data_dir, "tmp/" BLOB_TMP_PREFIX "XXXXXX", tmp_path_r);
	*op_r = "create temporary file";
	int fd = mkostemp(tmp_path_r, O_CLOEXEC);
	if (fd < 0)
		return -1;
	*op_r = "write temporary file";
	int ret = blob_write_all(fd, data, len);
	if (ret == 0) {
		*op_r = "fsync temporary file";
		ret = fsync(fd);
	}
	int saved = errno;
	if (close(fd) < 0 && ret == 0) {
		*op_r = "close temporary file";
		saved = errno;
		ret = -1;
	}
	if (ret < 0) {
		(void)unlink(tmp_path_r);
		tmp_path_r[0] = '\0';
		errno = saved;
	}
	return ret;
}

int
blob_install(const char *data_dir, const char *id, const char *tmp_path,
             const void *data, size_t len, const char **op_r)
{
	char path[BLOB_PATH_MAX], own_tmp[BLOB_PATH_MAX];
	bool created;

	blob_subdir_path(data_dir, id, path);
	*op_r = "mkdir blob directory";
	if (blob_mkdir(path, &created) < 0)
		return -1;
	if (created) {
		/* The new directory's entry must survive a crash too. */
		blob_data_path(data_dir, "blobs", path);
		*op_r = "fsync blobs directory";
		if (blob_fsync_path(path) < 0)
			return -1;
	}
	if (blob_exists(data_dir, id)) {
		if (tmp_path[0] != '\0')
			(void)unlink(tmp_path);
		return 0;
	}
	if (tmp_path[0] == '\0') {
		if (blob_tmp_write(data_dir, data, len, own_tmp, op_r) < 0)
			return -1;
		tmp_path = own_tmp;
	}
	blob_path(data_dir, id, path);
	*op_r = "rename blob into place";
	if (rename(tmp_path, path) < 0) {
		int saved = errno;
		(void)unlink(tmp_path);
		errno = saved;
		return -1;
	}
	return 0;
}

int
blob_dir_sync(const char *data_dir, const char *id, const char **op_r)
{
	char path[BLOB_PATH_MAX];

	blob_subdir_path(data_dir, id, path);
	*op_r = "fsync blob directory";
	return blob_fsync_path(path);
}

int
blob_remove(const char *data_dir, const char *id, const char **op_r)
{
	char path[BLOB_PATH_MAX];

	blob_path(data_dir, id, path);
	*op_r = "remove blob";
	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

int
blob_map(const char *data_dir, const char *id, const char **data_r,
         size_t *len_r, const char **op_r)
{
	char path[BLOB_PATH_MAX];
	struct stat st;

	blob_path(data_dir, id, path);
	*op_r = "open blob";
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	*op_r = "stat blob";
	int err = 0;
	if (fstat(fd, &st) < 0)
		err = errno;
	else if (!S_ISREG(st.st_mode))
		err = EINVAL;
	else if ((uint64_t)st.st_size > BLOB_MAX_SIZE)
		err = EFBIG;
	if (err != 0) {
		close(fd);
		errno = err;
		return -1;
	}
	if (st.st_size == 0) {
		/* mmap() refuses length 0; callers want a valid pointer. */
		close(fd);
		*data_r = "";
		*len_r = 0;
		return 0;
	}
	*op_r = "mmap blob";
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	int saved = errno;
	close(fd);
	if (p == MAP_FAILED) {
		errno = saved;
		return -1;
	}
	*data_r = p;
	*len_r = (size_t)st.st_size;
	return 0;
}

void
blob_unmap(const char *data, size_t len)
{
	if (data != NULL && len > 0)
		(void)munmap((void *)data, len);
}
