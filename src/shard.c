/*
 * shard.c - the calling thread's shard (shard.h): claimed the first time
 * the thread asks, given back when it exits.
 *
 * Bit s of shards_taken is set while shard s has an owner.  A thread
 * claims the lowest free bit with a CAS and registers a key whose
 * destructor clears the bit at thread exit; the claim's acquire and the
 * release's release order the old owner's last plain store to a shard
 * before the new owner's first load of it.  With every shard owned, or
 * no key, the thread shares shard 0.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "shard.h"

_Thread_local unsigned shard__mine HT_TLS_IE;

_Static_assert(HAT_SHARDS <= 32, "shards_taken is one word");
static _Atomic uint32_t shards_taken = 1;	/* shard 0 is shared */
static pthread_key_t shard_key;
static pthread_once_t shard_once = PTHREAD_ONCE_INIT;
static int shard_key_ok;

static void
shard_release(void *v)
{
	unsigned s = (unsigned)(uintptr_t)v;

	if (s > 0 && s < HAT_SHARDS)
		atomic_fetch_and_explicit(&shards_taken, ~(1u << s),
		    memory_order_release);
}

static void
shard_init(void)
{
	shard_key_ok = pthread_key_create(&shard_key, shard_release) == 0;
}

unsigned
shard_assign(void)
{
	uint32_t taken;
	unsigned s;

	(void) pthread_once(&shard_once, shard_init);
	taken = atomic_load_explicit(&shards_taken, memory_order_relaxed);
	for (;;) {
		uint32_t free_ = ~taken & ((1u << HAT_SHARDS) - 1);

		/* no key, no way to give it back: share instead */
		if (free_ == 0 || !shard_key_ok) {
			s = SHARD_SHARED;
			break;
		}
		s = (unsigned)__builtin_ctz(free_);
		if (atomic_compare_exchange_weak_explicit(&shards_taken,
		    &taken, taken | (1u << s), memory_order_acquire,
		    memory_order_relaxed)) {
			if (pthread_setspecific(shard_key,
			    (void *)(uintptr_t)s) != 0) {
				shard_release((void *)(uintptr_t)s);
				s = SHARD_SHARED;
			}
			break;
		}
	}
	shard__mine = s;
	return (s);
}
