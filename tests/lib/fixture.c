/*
 * fixture.c - see fixture.h.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "fixture.h"
#include "geom.h"
#include "htable_int.h"
#include "op.h"

fixture_t fx;

static int
fx_alloc(void *arg, ht_pa_t lo, ht_pa_t hi, ht_pfn_t *r_pfn)
{
	if (fx.fail_after == 0 && fx.fail_count != 0) {
		if (fx.fail_count > 0)
			fx.fail_count--;
		return (-HT_ENOFRAME);
	}
	if (fx.fail_after > 0)
		fx.fail_after--;
	int rc = ht_arena_ops()->alloc(arg, lo, hi, r_pfn);
	if (rc == 0)
		fx.allocs++;
	return (rc);
}

static void
fx_free(void *arg, ht_pfn_t pfn)
{
	fx.frees++;
	ht_arena_ops()->free(arg, pfn);
}

static void *
fx_map(void *arg, ht_pfn_t pfn)
{
	return (ht_arena_ops()->map(arg, pfn));
}

static uint64_t
fx_avail(void *arg)
{
	return (ht_arena_ops()->avail(arg));
}

/* No window: every frame access goes through map, as with a VMM. */
static const ht_frame_ops_t fx_ops = {
	.alloc = fx_alloc, .free = fx_free, .map = fx_map, .avail = fx_avail,
};

static void
fx_tlb(void *arg, ht_as_t *as, ht_va_t va, uint64_t len)
{
	(void) arg;
	if (fx.ntlb < FX_MAX_TLB) {
		fx.tlb_as[fx.ntlb] = as;
		fx.tlb_va[fx.ntlb] = va;
		fx.tlb_len[fx.ntlb] = len;
	}
	fx.ntlb++;
}

void
fx_setup_mode(ht_mode_t mode, unsigned pagesizes, unsigned mib)
{
	memset(&fx, 0, sizeof (fx));
	fx.fail_after = -1;
	cr_assert_eq(ht_arena_create(0x100000, (uint64_t)mib << 20, 0,
	    &fx.arena), 0);
	fx.cfg.mode = mode;
	fx.cfg.pagesizes = pagesizes;
	fx.cfg.frame_ops = &fx_ops;
	fx.cfg.frame_arg = fx.arena;
	fx.cfg.tlb = fx_tlb;
	if (mode_ept(ht_geometry(mode)))
		fx.cfg.ept = FX_EPT;
	cr_assert_eq(ht_ctx_create(&fx.cfg, &fx.ctx), 0, "%s",
	    ht_errdetail());
	cr_assert_eq(ht_as_create(fx.ctx, 0, &fx.as), 0);
}

void
fx_teardown(void)
{
	if (fx.as != NULL)
		ht_as_destroy(fx.as);
	fx.as = NULL;
	if (fx.ctx != NULL)
		cr_assert_eq(ht_ctx_destroy(fx.ctx), 0, "%s", ht_errdetail());
	fx.ctx = NULL;
	if (fx.arena != NULL) {
		cr_expect_eq(ht_arena_frames_used(fx.arena), 0,
		    "frames leaked: %llu", (unsigned long long)
		    ht_arena_frames_used(fx.arena));
		cr_expect_eq(fx.allocs, fx.frees);
		ht_arena_destroy(fx.arena);
	}
	fx.arena = NULL;
}

void *
fx_entry(ht_as_t *as, uint64_t va, int level)
{
	const ht_geometry_t *g = ht_ctx_geometry(ht_as_ctx(as));
	ht_pa_t pa = ht_as_root(as);

	for (int l = (int)g->levels - 1; ; l--) {
		unsigned n = l == (int)g->levels - 1 ? g->top_level_count :
		    g->ptes_per_table;
		unsigned e = (unsigned)(va >> g->level_shift[l]) & (n - 1);
		uint8_t *p = (uint8_t *)ht_arena_ptr(fx.arena, pa) +
		    (size_t)e * g->pte_size;
		uint64_t pte = g->pte_size == 8 ? *(uint64_t *)p :
		    *(uint32_t *)p;

		if (l == level)
			return (p);
		if (!(pte & 1) || (pte & 0x80))
			return (NULL);
		pa = pte & (g->pte_size == 8 ? 0x000ffffffffff000ull :
		    0xfffff000ull);
	}
}

int
fx_tlb_covers(ht_as_t *as, uint64_t va, uint64_t len)
{
	for (unsigned i = 0; i < fx.ntlb && i < FX_MAX_TLB; i++) {
		if (fx.tlb_as[i] != as)
			continue;
		if (fx.tlb_len[i] == HT_TLB_ALL)
			return (1);
		if (fx.tlb_va[i] <= va && va + len <= fx.tlb_va[i] +
		    fx.tlb_len[i])
			return (1);
	}
	return (0);
}

void
fx_tlb_reset(void)
{
	fx.ntlb = 0;
}

void
fx_release(struct htable *ht)
{
	op_t op;

	op_begin(&op, ht->ht_hat);
	htable_release(ht);
	op_end(&op);
}
