#ifndef CASELLA_INDEXER_H
#define CASELLA_INDEXER_H

/*
 * Background full-text indexing.  One thread with its own store handle
 * indexes newly stored bodies in batches (store_index_pending()), at a
 * lower scheduling priority than the workers, so APPEND and delivery don't
 * wait for the index.  Until a body is indexed, SEARCH reads it instead:
 * the index only ever speeds searches up.  indexer_wake() after a commit
 * starts it at once; it also looks every few seconds, for bodies that
 * other processes (casella deliver) stored.
 */
int indexer_start(const char *data_dir, const char **error_r);
void indexer_wake(void);
/* Finishes the batch in progress and joins the thread. */
void indexer_stop(void);

#endif
