/*
 * shard.h - the calling thread's shard (shard.c): a small number each
 * thread holds while it runs, so that counters it changes at every call
 * live on a cache line of its own (a space's leaf counts and cache of
 * free tables, types.h hat_pm_t), not on one line that every thread of
 * the process writes.
 *
 * Shards 1 .. HAT_SHARDS - 1 are each owned by one thread at a time: a
 * thread claims the lowest free one the first time it asks and gives it
 * back when it exits.  Its owner alone writes a counter in it, with a
 * load and a store.  A thread that finds every shard owned (or cannot
 * register its exit) gets SHARD_SHARED, and counts in shard 0 with
 * atomic adds.
 *
 * Nothing here takes a lock: the claim is one CAS on a word of bits.
 */
#ifndef HT_SHARD_H
#define HT_SHARD_H

#include "debug.h"

/* The shards of each set of per-thread counters; shard 0 is shared. */
#define HAT_SHARDS	16
/* What shard_assign returns when the thread has no shard of its own. */
#define SHARD_SHARED	HAT_SHARDS

/*
 * initial-exec: in a shared library the default TLS model calls
 * __tls_get_addr at every access (8-17% of a one-page map in
 * libhtable.so); initial-exec reads the variable at a fixed offset from
 * the thread pointer.  The library's few bytes of it come from the static
 * TLS surplus glibc keeps for libraries loaded later with dlopen (as
 * jemalloc does).
 */
#define HT_TLS_IE	__attribute__((tls_model("initial-exec")))

/* The thread's shard: 0, then 1..HAT_SHARDS-1 or SHARD_SHARED. */
extern _Thread_local unsigned shard__mine HT_INTERNAL HT_TLS_IE;

/* Claim a shard for the calling thread (shard__mine is 0): the new value. */
unsigned shard_assign(void);

/* The calling thread's shard, claimed on first use. */
static inline unsigned
shard_mine(void)
{
	unsigned s = shard__mine;

	return (HT_LIKELY(s != 0) ? s : shard_assign());
}

/*
 * The calling thread's slot in an array of HAT_SHARDS per-thread lines:
 * its own shard's, or 0, which threads without one share (and so change
 * only atomically).
 */
static inline unsigned
shard_slot(void)
{
	unsigned s = shard_mine();

	return (s < HAT_SHARDS ? s : 0);
}

#endif /* HT_SHARD_H */
