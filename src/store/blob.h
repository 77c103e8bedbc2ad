#ifndef CASELLA_BLOB_H
#define CASELLA_BLOB_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Message bodies as immutable files named by the SHA-256 of their content,
 * DATA/blobs/XX/REST with XX the first two hex digits, so identical bodies
 * (COPY, one delivery to several users) share one file.  Nothing here
 * touches the database: the store decides when a body is installed (under
 * the database write lock, before the commit that references it) and when
 * it may go (under the write lock, once no row references it).
 *
 * Functions returning int give 0, or -1 with errno set and *op_r naming
 * the step that failed (a static string).
 */

#define BLOB_ID_LEN   64 /* hex SHA-256 */
#define BLOB_MAX_SIZE ((size_t)64 * 1024 * 1024)
/* Longest data directory path accepted, so every derived path fits. */
#define BLOB_DATA_DIR_MAX 3800
#define BLOB_PATH_MAX     4096
/* Temporary files older than this are left over from a crash. */
#define BLOB_TMP_MAX_AGE_SECS (24 * 3600)

void blob_id_compute(const void *data, size_t len, char id_r[BLOB_ID_LEN + 1]);
/* True for exactly BLOB_ID_LEN lowercase hex digits. */
bool blob_id_valid(const char *id);

/* Creates DATA, DATA/blobs and DATA/tmp (mode 0700) if missing. */
int blob_dirs_create(const char *data_dir, const char **op_r);
/* Removes temporary files a crashed writer left in DATA/tmp. */
void blob_tmp_cleanup(const char *data_dir);

bool blob_exists(const char *data_dir, const char *id);
/* Writes data to a new file in DATA/tmp and fsyncs it; the file's path
 * goes to tmp_path_r (BLOB_PATH_MAX bytes). */
int blob_tmp_write(const char *data_dir, const void *data, size_t len,
                   char *tmp_path_r, const char **op_r);
/*
 * Makes blob id exist: renames tmp_path into place, or removes tmp_path if
 * the blob exists already.  With tmp_path "", writes data to a temporary
 * file first.  The rename is durable only after blob_dir_sync().
 */
int blob_install(const char *data_dir, const char *id, const char *tmp_path,
                 const void *data, size_t len, const char **op_r);
/* fsyncs the DATA/blobs/XX directory holding id. */
int blob_dir_sync(const char *data_dir, const char *id, const char **op_r);
/* A missing blob is not an error. */
int blob_remove(const char *data_dir, const char *id, const char **op_r);

/* Maps a blob read-only; an empty one maps to "" with length 0. */
int blob_map(const char *data_dir, const char *id, const char **data_r,
             size_t *len_r, const char **op_r);
void blob_unmap(const char *data, size_t len);

#endif
