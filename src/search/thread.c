/*
 * The THREAD algorithms of RFC 5256 4, ORDEREDSUBJECT and REFERENCES,
 * and the thread-list syntax they answer with (RFC 5256 5).
 *
 * Trees can be as deep as the mailbox is large (a reply chain), so every
 * walk over them uses an explicit stack or a node list, never recursion.
 */
#include "search/thread.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/str.h"
#include "lib/util.h"
#include "mime/base-subject.h"
#include "search/sort-msgs.h"

/* Bounds of the REFERENCES work: a longer id is not valid, a longer
 * References list keeps its last ids (the parent is the last one). */
#define THREAD_MAX_ID_LEN 1000
#define THREAD_MAX_REFS   1000
#define THREAD_MAX_IDS    1000000   /* distinct ids in the id table */
#define THREAD_MAX_WALK   100000000 /* parent steps of loop checks */

/* A container of RFC 5256 4 (REFERENCES): a message or a dummy. */
struct thread_node {
	struct thread_node *parent;
	struct thread_node *child;       /* first child */
	struct thread_node *prev, *next; /* siblings */
	const struct sort_msg *msg;      /* NULL for a dummy */
	const char *id;                  /* in the id table, or NULL */
	size_t id_len;
	struct thread_node *all_next; /* every node made, for step 2 */
};

struct thread_ctx {
	struct arena *arena;
	struct thread_node root;    /* parent of the top-level nodes */
	struct thread_node *all;    /* list through all_next */
	size_t node_count;          /* nodes made, root excluded */
	struct thread_node **table; /* id table, open addressing */
	size_t table_size;          /* a power of two */
	size_t table_used;
	uint64_t walk_left; /* loop-check budget */
	bool over_limit;    /* a bound was hit: answer NO */
};

/* ------------------------------------------------------------ tree */

static struct thread_node *
thread_node_new(struct thread_ctx *t)
{
	struct thread_node *n = arena_new(t->arena, struct thread_node);
	n->all_next = t->all;
	t->all = n;
	t->node_count++;
	return n;
}

static void
thread_link(struct thread_node *parent, struct thread_node *child)
{
	child->parent = parent;
	child->prev = NULL;
	child->next = parent->child;
	if (parent->child != NULL)
		parent->child->prev = child;
	parent->child = child;
}

static void
thread_unlink(struct thread_node *child)
{
	if (child->parent == NULL)
		return;
	if (child->prev != NULL)
		child->prev->next = child->next;
	else
		child->parent->child = child->next;
	if (child->next != NULL)
		child->next->prev = child->prev;
	child->parent = child->prev = child->next = NULL;
}

/* Moves every child of from under to. */
static void
thread_move_children(struct thread_node *from, struct thread_node *to)
{
	while (from->child != NULL) {
		struct thread_node *c = from->child;
		thread_unlink(c);
		thread_link(to, c);
	}
}

/* RFC 5256 4 step 1.A: true if making parent the parent of child would
 * make a loop (parent is child or a descendant of it). */
static bool
thread_would_loop(struct thread_ctx *t, const struct thread_node *parent,
                  const struct thread_node *child)
{
	for (const struct thread_node *p = parent; p != NULL; p = p->parent) {
		if (p == child)
			return true;
		if (t->walk_left == 0) {
			t->over_limit = true;
			return true;
		}
		t->walk_left--;
	}
	return false;
}

/* The message a node sorts and is named by: a dummy uses its first
 * child (RFC 5256 4 steps 4, 5.B.i and 6). */
static const struct sort_msg *
thread_node_msg(const struct thread_node *n)
{
	while (n->msg == NULL && n->child != NULL)
		n = n->child;
	return n->msg;
}

static int
thread_node_cmp(const void *pa, const void *pb)
{
	const struct sort_msg *a =
	    thread_node_msg(*(const struct thread_node *const *)pa);
	const struct sort_msg *b =
	    thread_node_msg(*(const struct thread_node *const *)pb);
	return sort_msg_compare_sent(a, b);
}

/* Sorts the children of parent by sent date (sequence number on ties). */
static void
thread_sort_children(struct thread_ctx *t, struct thread_node *parent)
{
	size_t n = 0;
	for (struct thread_node *c = parent->child; c != NULL; c = c->next)
		n++;
	if (n < 2)
		return;
	struct thread_node **v =
	    arena_new_array(t->arena, struct thread_node *, n);
	n = 0;
	for (struct thread_node *c = parent->child; c != NULL; c = c->next)
		v[n++] = c;
	qsort(v, n, sizeof(*v), thread_node_cmp);
	/* Linking at the head, last first, leaves them in order. */
	parent->child = NULL;
	while (n > 0)
		thread_link(parent, v[--n]);
}

/* Every node below the root in pre-order (parents before children);
 * the reverse visits children first.  *count_r gets its length. */
static struct thread_node **
thread_preorder(struct thread_ctx *t, size_t *count_r)
{
	struct thread_node **list =
	    arena_new_array(t->arena, struct thread_node *, t->node_count + 1);
	struct thread_node **stack =
	    arena_new_array(t->arena, struct thread_node *, t->node_count + 1);
	size_t n = 0, depth = 0;
	for (struct thread_node *c = t->root.child; c != NULL; c = c->next)
		stack[depth++] = c;
	while (depth > 0) {
		struct thread_node *node = stack[--depth];
		list[n++] = node;
		for (struct thread_node *c = node->child; c != NULL;
		     c = c->next)
			stack[depth++] = c;
	}
	*count_r = n;
	return list;
}

/* RFC 5256 4 step 6 (and ORDEREDSUBJECT): every sibling set by sent
 * date, deepest first, the top level last. */
static void
thread_sort_all(struct thread_ctx *t)
{
	size_t n;
	struct thread_node **list = thread_preorder(t, &n);
	while (n > 0)
		thread_sort_children(t, list[--n]);
	thread_sort_children(t, &t->root);
}

/* ------------------------------------------------------------ id table */

/* FNV-1a. */
static size_t
thread_hash(const char *s, size_t len, bool casemap)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (casemap && c >= 'a' && c <= 'z')
			c = (unsigned char)(c - 'a' + 'A');
		h = (h ^ c) * 16777619u;
	}
	return h;
}

/* RFC 5256 4 step 1: message ids compare case-sensitively. */
static struct thread_node **
thread_table_slot(struct thread_ctx *t, const char *id, size_t len)
{
	size_t mask = t->table_size - 1;
	for (size_t i = thread_hash(id, len, false) & mask;;
	     i = (i + 1) & mask) {
		struct thread_node *n = t->table[i];
		if (n == NULL ||
		    (n->id_len == len && memcmp(n->id, id, len) == 0))
			return &t->table[i];
	}
}

static void
thread_table_grow(struct thread_ctx *t)
{
	struct thread_node **old = t->table;
	size_t old_size = t->table_size;
	t->table_size = old_size == 0 ? 1024 : old_size * 2;
	t->table =
	    arena_new_array(t->arena, struct thread_node *, t->table_size);
	for (size_t i = 0; i < old_size; i++) {
		if (old[i] != NULL)
			*thread_table_slot(t, old[i]->id, old[i]->id_len) =
			    old[i];
	}
}

/* The container of id, made as a dummy if new; NULL (and over_limit)
 * past THREAD_MAX_IDS. */
static struct thread_node *
thread_lookup(struct thread_ctx *t, const char *id, size_t len)
{
	if ((t->table_used + 1) * 2 > t->table_size)
		thread_table_grow(t);
	struct thread_node **slot = thread_table_slot(t, id, len);
	if (*slot == NULL) {
		if (t->table_used >= THREAD_MAX_IDS) {
			t->over_limit = true;
			return NULL;
		}
		struct thread_node *n = thread_node_new(t);
		n->id = id;
		n->id_len = len;
		*slot = n;
		t->table_used++;
	}
	return *slot;
}

/* ------------------------------------------------------------ msg-id */

/* Index of the next '<' at or after i outside comments and quoted
 * strings, or of the terminating NUL. */
static size_t
thread_skip_to_lt(const char *s, size_t i)
{
	size_t depth = 0;
	bool quoted = false;
	for (; s[i] != '\0'; i++) {
		char c = s[i];
		if (c == '\\' && (depth > 0 || quoted) && s[i + 1] != '\0')
			i++;
		else if (quoted)
			quoted = c != '"';
		else if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (depth == 0 && c == '"')
			quoted = true;
		else if (depth == 0 && c == '<')
			return i;
	}
	return i;
}

/* RFC 5322 3.6.4 id-left "@" id-right, without CFWS inside. */
static bool
thread_id_valid(const char *id, size_t len)
{
	if (len == 0 || len > THREAD_MAX_ID_LEN || memchr(id, '@', len) == NULL)
		return false;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)id[i] <= ' ' || id[i] == 0x7f)
			return false;
	}
	return true;
}

/* The next valid msg-id "<...>" in s from *pos: true with the id, its
 * brackets removed, in *id_r and *len_r; *pos moves past it. */
static bool
thread_next_id(const char *s, size_t *pos, const char **id_r, size_t *len_r)
{
	size_t i = *pos;
	for (;;) {
		i = thread_skip_to_lt(s, i);
		if (s[i] == '\0')
			break;
		size_t start = i + 1, j = start;
		while (s[j] != '\0' && s[j] != '>' && s[j] != '<')
			j++;
		i = s[j] == '>' ? j + 1 : j;
		if (s[j] == '>' && thread_id_valid(s + start, j - start)) {
			*id_r = s + start;
			*len_r = j - start;
			*pos = i;
			return true;
		}
	}
	*pos = i;
	return false;
}

/* ------------------------------------------------------------ REFERENCES */

/* RFC 5256 4 step 1.A: links the References ids parent to child and
 * returns the container of the last one, or without any, of the first
 * In-Reply-To id: the parent for step 1.B.  NULL if none. */
static struct thread_node *
thread_link_refs(struct thread_ctx *t, const struct sort_msg *m)
{
	const char *refs = m->references == NULL ? "" : m->references;
	const char *id;
	size_t len, pos = 0, total = 0;
	while (thread_next_id(refs, &pos, &id, &len))
		total++;
	size_t skip = total > THREAD_MAX_REFS ? total - THREAD_MAX_REFS : 0;
	struct thread_node *prev = NULL;
	pos = 0;
	for (size_t i = 0; thread_next_id(refs, &pos, &id, &len); i++) {
		if (i < skip)
			continue;
		struct thread_node *cur = thread_lookup(t, id, len);
		if (cur == NULL)
			return NULL;
		/* An existing link stays; no link may make a loop. */
		if (prev != NULL && cur->parent == NULL &&
		    !thread_would_loop(t, prev, cur))
			thread_link(prev, cur);
		prev = cur;
	}
	pos = 0;
	if (prev == NULL && m->in_reply_to != NULL &&
	    thread_next_id(m->in_reply_to, &pos, &id, &len))
		prev = thread_lookup(t, id, len);
	return prev;
}

/* RFC 5256 4 step 1 for one message, in sequence order. */
static void
thread_add_msg(struct thread_ctx *t, const struct sort_msg *m)
{
	struct thread_node *node = NULL;
	const char *id;
	size_t len, pos = 0;
	if (m->message_id != NULL &&
	    thread_next_id(m->message_id, &pos, &id, &len)) {
		node = thread_lookup(t, id, len);
		/* A duplicate id stays with the first message; later ones
		   (and messages without an id) get a unique container. */
		if (node != NULL && node->msg != NULL)
			node = NULL;
	}
	if (node == NULL)
		node = thread_node_new(t);
	node->msg = m;
	/* Step 1.B: the message's own last reference is its parent,
	   replacing one guessed from another message's References; with
	   no reference at all it has no parent. */
	struct thread_node *parent = thread_link_refs(t, m);
	if (parent != NULL && node->parent == parent)
		return;
	thread_unlink(node);
	if (parent != NULL && !thread_would_loop(t, parent, node))
		thread_link(parent, node);
}

/* Step 3: dummies without children go; a dummy's children take its
 * place, except at the top where only a single child is promoted. */
static void
thread_prune(struct thread_ctx *t)
{
	size_t n;
	struct thread_node **list = thread_preorder(t, &n);
	while (n > 0) {
		struct thread_node *node = list[--n];
		if (node->msg != NULL)
			continue;
		struct thread_node *parent = node->parent;
		if (parent == &t->root && node->child != NULL &&
		    node->child->next != NULL)
			continue;
		thread_move_children(node, parent);
		thread_unlink(node);
	}
}

/* Step 5.A: the subject_table, base subject (i;ascii-casemap) to node. */
struct thread_subject {
	const char *subject; /* NULL: free slot */
	struct thread_node *node;
};

struct thread_subjects {
	struct thread_subject *slots;
	size_t size; /* a power of two, over twice the entries */
};

static struct thread_subject *
thread_subject_slot(struct thread_subjects *st, const char *subject)
{
	size_t mask = st->size - 1;
	size_t i = thread_hash(subject, strlen(subject), true) & mask;
	while (st->slots[i].subject != NULL &&
	       base_subject_compare(st->slots[i].subject, subject) != 0)
		i = (i + 1) & mask;
	return &st->slots[i];
}

/* Step 5.B.i and ii: the thread subject of a top-level node, or NULL
 * when it is empty. */
static const char *
thread_subject_of(const struct thread_node *n)
{
	const char *s = thread_node_msg(n)->subject;
	return *s == '\0' ? NULL : s;
}

/* Step 5.B: one node per thread subject, preferring dummies, then
 * messages that are not replies or forwards. */
static void
thread_subjects_fill(struct thread_ctx *t, struct thread_subjects *st)
{
	for (struct thread_node *c = t->root.child; c != NULL; c = c->next) {
		const char *s = thread_subject_of(c);
		if (s == NULL)
			continue;
		struct thread_subject *e = thread_subject_slot(st, s);
		if (e->subject == NULL) {
			e->subject = s;
			e->node = c;
		} else if (e->node->msg != NULL &&
		           (c->msg == NULL ||
		            (e->node->msg->reply && !c->msg->reply))) {
			e->node = c;
		}
	}
}

/* Step 5.C.v: merges top-level node c into the one of its subject. */
static void
thread_merge(struct thread_ctx *t, struct thread_subject *e,
             struct thread_node *c)
{
	struct thread_node *tn = e->node;
	if (tn->msg == NULL && c->msg == NULL) {
		thread_move_children(c, tn); /* a. */
		thread_unlink(c);
	} else if (tn->msg == NULL ||
	           (c->msg != NULL && c->msg->reply && !tn->msg->reply)) {
		thread_unlink(c); /* b. and c. */
		thread_link(tn, c);
	} else {
		struct thread_node *d = thread_node_new(t); /* d. */
		thread_unlink(tn);
		thread_unlink(c);
		thread_link(&t->root, d);
		thread_link(d, tn);
		thread_link(d, c);
		e->node = d;
	}
}

/* Step 5: gathers top-level threads with the same base subject. */
static void
thread_group_subjects(struct thread_ctx *t)
{
	size_t n = 0;
	for (struct thread_node *c = t->root.child; c != NULL; c = c->next)
		n++;
	struct thread_subjects st = {.size = 16};
	while (st.size < 2 * n + 2)
		st.size *= 2;
	st.slots = arena_new_array(t->arena, struct thread_subject, st.size);
	thread_subjects_fill(t, &st);

	/* Step 5.C walks a copy: merging moves nodes off the top level. */
	struct thread_node **top =
	    arena_new_array(t->arena, struct thread_node *, n + 1);
	n = 0;
	for (struct thread_node *c = t->root.child; c != NULL; c = c->next)
		top[n++] = c;
	for (size_t i = 0; i < n; i++) {
		struct thread_node *c = top[i];
		const char *s =
		    c->parent == &t->root ? thread_subject_of(c) : NULL;
		if (s == NULL)
			continue;
		struct thread_subject *e = thread_subject_slot(&st, s);
		if (e->node != c)
			thread_merge(t, e, c);
	}
}

/* RFC 5256 4, REFERENCES, steps 1 to 6. */
static void
thread_references(struct thread_ctx *t, const struct sort_msg *msgs,
                  size_t count)
{
	for (size_t i = 0; i < count; i++)
		thread_add_msg(t, &msgs[i]);
	/* Step 2: the parentless containers are the root set. */
	for (struct thread_node *n = t->all; n != NULL; n = n->all_next) {
		if (n->parent == NULL)
			thread_link(&t->root, n);
	}
	thread_prune(t);
	/* Step 4: the root set by date, a dummy by its first child. */
	for (struct thread_node *c = t->root.child; c != NULL; c = c->next) {
		if (c->msg == NULL)
			thread_sort_children(t, c);
	}
	thread_sort_children(t, &t->root);
	thread_group_subjects(t);
	thread_sort_all(t);
}

/* ------------------------------------------------------------ ORDEREDSUBJECT
 */

static int
thread_subject_cmp(const void *pa, const void *pb)
{
	const struct sort_msg *a = *(const struct sort_msg *const *)pa;
	const struct sort_msg *b = *(const struct sort_msg *const *)pb;
	int r = base_subject_compare(a->subject, b->subject);
	return r != 0 ? r : sort_msg_compare_sent(a, b);
}

/* RFC 5256 4, ORDEREDSUBJECT: by base subject then sent date; the first
 * of each subject is the parent of all the others; threads by the date
 * of their first message. */
static void
thread_orderedsubject(struct thread_ctx *t, const struct sort_msg *msgs,
                      size_t count)
{
	const struct sort_msg **v =
	    arena_new_array(t->arena, const struct sort_msg *, count + 1);
	for (size_t i = 0; i < count; i++)
		v[i] = &msgs[i];
	qsort(v, count, sizeof(*v), thread_subject_cmp);
	size_t i = 0;
	while (i < count) {
		size_t j = i + 1;
		while (j < count &&
		       base_subject_compare(v[i]->subject, v[j]->subject) == 0)
			j++;
		struct thread_node *top = thread_node_new(t);
		top->msg = v[i];
		thread_link(&t->root, top);
		/* Linked at the head, last first: children in date order. */
		for (size_t k = j; k-- > i + 1;) {
			struct thread_node *c = thread_node_new(t);
			c->msg = v[k];
			thread_link(top, c);
		}
		i = j;
	}
	thread_sort_children(t, &t->root);
}

/* ------------------------------------------------------------ response */

/*
 * RFC 5256 5: thread-list = "(" (thread-members / thread-nested) ")",
 * thread-members = nz-number *(SP nz-number) [SP thread-nested],
 * thread-nested = 2*thread-list.  A chain of single children is written
 * flat; two or more children each get their own parentheses.  stack has
 * room for every node.
 */
static void
thread_write_tree(struct str *out, const struct thread_node *top,
                  const struct thread_node **stack, bool uid)
{
	size_t depth = 0;
	const struct thread_node *n = top;
	bool first = true;
	str_append_char(out, '(');
	stack[depth++] = top;
	for (;;) {
		if (n->msg != NULL) {
			str_printf(out, first ? "%u" : " %u",
			           uid ? n->msg->uid : n->msg->seq);
			first = false;
		}
		if (n->child != NULL && n->child->next == NULL) {
			n = n->child;
			continue;
		}
		if (n->child != NULL) {
			str_append_cstr(out, first ? "(" : " (");
			n = stack[depth++] = n->child;
			first = true;
			continue;
		}
		/* A leaf: close lists until one has a next sibling. */
		for (;;) {
			str_append_char(out, ')');
			const struct thread_node *opener = stack[--depth];
			if (depth == 0)
				return;
			if (opener->next != NULL) {
				str_append_char(out, '(');
				n = stack[depth++] = opener->next;
				first = true;
				break;
			}
		}
	}
}

struct thread_ctx *
thread_build(struct arena *arena, const struct sort_msg *msgs, size_t count,
             enum thread_algorithm algorithm)
{
	struct thread_ctx *t = arena_new(arena, struct thread_ctx);
	t->arena = arena;
	t->walk_left = THREAD_MAX_WALK;
	if (algorithm == THREAD_REFERENCES)
		thread_references(t, msgs, count);
	else
		thread_orderedsubject(t, msgs, count);
	return t->over_limit ? NULL : t;
}

void
thread_write(struct str *out, struct thread_ctx *t, bool uid)
{
	const struct thread_node **stack = arena_new_array(
	    t->arena, const struct thread_node *, t->node_count + 2);
	if (t->root.child != NULL)
		str_append_char(out, ' ');
	for (const struct thread_node *c = t->root.child; c != NULL;
	     c = c->next)
		thread_write_tree(out, c, stack, uid);
}
