/*
 * test_x86pte.c - unit tests of the entry layer (x86pte.c): set keeps
 * REF/MOD on the same frame and refuses a large page over a table link,
 * inval with the expected frame, update detects a write through a stale
 * TLB entry, copy and zero, in every mode.
 */
#include <criterion/criterion.h>

#include "fixture.h"
#include "geom.h"
#include "htable_int.h"
#include "x86pte.h"
#include "op.h"

static const ht_mode_t modes[] = { ALL_MODES };
#define NMODES	((int)(sizeof (modes) / sizeof (modes[0])))

static htable_t *
leaf_table(uint64_t va, int level)
{
	int err;
	op_t op;
	/* in an operation: a PAE root link calls the TLB hook (no lock) */
	op_begin(&op, fx.as);
	htable_t *ht = htable_create(fx.as, va, level, NULL, &err);
	op_end(&op);

	cr_assert_not_null(ht, "%s", ht_errdetail());
	return (ht);
}

Test(x86pte, set_keeps_ref_mod_on_same_frame)
{
	for (int i = 0; i < NMODES; i++) {
		fx_setup_mode(modes[i], 0, 16);
		const mmu_t *m = hat_mmu(fx.as);
		htable_t *ht = leaf_table(0x400000, 0);
		x86pte_t a = mkpte(m, 0x10000, 0, HT_W);
		/* the format's REF and MOD (EPT's bits 8 and 9: FX_EPT) */
		x86pte_t rm = m->pt_ref | m->pt_mod;
		op_t op;

		cr_assert_neq(m->pt_ref, 0);
		cr_assert_eq(x86pte_set(ht, 0, a, NULL), 0);
		/* the MMU marks it used */
		cr_assert_eq(x86pte_cas(ht, 0, a, a | rm), a);
		fx_tlb_reset();
		/* same frame, other permission: REF/MOD stay, TLB told */
		x86pte_t b = mkpte(m, 0x10000, 0, 0);
		cr_assert_eq(x86pte_set(ht, 0, b, NULL), a | rm);
		cr_assert_eq(x86pte_get(ht, 0), b | rm);
		cr_assert_eq(fx.ntlb, 1);
		/* identical again: returns new, no change */
		cr_assert_eq(x86pte_set(ht, 0, b, NULL), b);
		/* a new frame starts clean */
		x86pte_t c = mkpte(m, 0x20000, 0, 0);
		cr_assert_eq(x86pte_set(ht, 0, c, NULL), b | rm);
		cr_assert_eq(x86pte_get(ht, 0), c);
		/* inval: wrong expected frame leaves it; right one clears */
		cr_assert_eq(x86pte_inval(ht, 0, a, NULL, 1), c);
		cr_assert_eq(x86pte_get(ht, 0), c);
		op_begin(&op, fx.as);
		fx_tlb_reset();
		cr_assert_eq(x86pte_inval(ht, 0, c, NULL, 1), c);
		op_end(&op);
		cr_assert_eq(fx.ntlb, 0, "never referenced: nothing cached");
		cr_assert_eq(x86pte_get(ht, 0), 0);
		cr_assert_eq(x86pte_inval(ht, 0, 0, NULL, 1), 0);
		fx_release(ht);
		cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
		fx_teardown();
	}
}

Test(x86pte, set_refuses_large_page_over_table)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	const mmu_t *m = hat_mmu(fx.as);
	htable_t *l0 = leaf_table(0x200000, 0);
	htable_t *l1 = l0->ht_parent;
	unsigned e = htable_va2entry(0x200000, l1);
	x86pte_t before = x86pte_get(l1, e);

	cr_assert_eq(x86pte_set(l1, e, mkpte(m, 0x400000, 1, 0), NULL),
	    LPAGE_ERROR);
	cr_assert_eq(x86pte_get(l1, e), before);
	fx_release(l0);
}

/* A CPU that writes through a stale writable TLB entry during the flush. */
static htable_t *stale_ht;
static void
stale_writer(void *arg, ht_as_t *as, ht_va_t va, uint64_t len)
{
	(void) arg; (void) as; (void) va; (void) len;
	x86pte_t cur = x86pte_get(stale_ht, 1);
	(void) x86pte_cas(stale_ht, 1, cur, cur | PT_MOD);
}

Test(x86pte, update_detects_stale_tlb_write)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	const mmu_t *m = hat_mmu(fx.as);
	htable_t *ht = leaf_table(0x1000, 0);
	x86pte_t rw = mkpte(m, 0x7000, 0, HT_W) | PT_REF;
	x86pte_t ro = mkpte(m, 0x7000, 0, 0) | PT_REF;

	(void) x86pte_set(ht, 1, rw, NULL);
	/* clean success returns expect; the TLB is always told */
	fx_tlb_reset();
	cr_assert_eq(x86pte_update(ht, 1, rw, ro), rw);
	cr_assert_eq(x86pte_get(ht, 1), ro);
	cr_assert_eq(fx.ntlb, 1);
	/* a mismatching expect changes nothing and returns what is there */
	cr_assert_eq(x86pte_update(ht, 1, rw, rw), ro);
	cr_assert_eq(x86pte_get(ht, 1), ro);
	/* make it writable again, then race a stale TLB write */
	cr_assert_eq(x86pte_update(ht, 1, ro, rw), ro);
	stale_ht = ht;
	fx.ctx->ctx_cfg.tlb = stale_writer;
	fx.ctx->ctx_tlb_on = 1;
	x86pte_t got = x86pte_update(ht, 1, rw, ro);
	fx.ctx->ctx_cfg.tlb = NULL;
	fx.ctx->ctx_tlb_on = 0;
	cr_assert_neq(got, rw, "the caller must see a failed update");
	cr_assert_eq(x86pte_get(ht, 1), ro | PT_MOD | PT_WRITABLE,
	    "write permission restored, dirty bit kept");
	(void) x86pte_inval(ht, 1, 0, NULL, 0);
	fx_release(ht);
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
}

Test(x86pte, copy_and_zero)
{
	for (int i = 0; i < NMODES; i += 2) {
		fx_setup_mode(modes[i], 0, 16);
		const mmu_t *m = hat_mmu(fx.as);
		htable_t *a = leaf_table(0x400000, 0);
		htable_t *b = leaf_table(0x800000, 0);

		for (unsigned e = 0; e < 8; e++)
			(void) x86pte_set(a, e, mkpte(m, e << 12, 0, HT_W),
			    NULL);
		x86pte_copy(a, b, 2, 4);
		for (unsigned e = 0; e < 8; e++)
			cr_assert_eq(x86pte_get(b, e), (e >= 2 && e < 6) ?
			    x86pte_get(a, e) : 0);
		x86pte_zero(a, 0, 8);
		x86pte_zero(b, 0, 8);
		for (unsigned e = 0; e < 8; e++)
			cr_assert_eq(x86pte_get(a, e), 0);
		fx_release(a);
		fx_release(b);
		cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
		fx_teardown();
	}
}
