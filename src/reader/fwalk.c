/*
 * fwalk.c - the walk of one address through foreign tables (reader.h):
 * the single-address half of the reader, under ht_scan_translate and
 * ht_scan_access.  The whole-image scan (scan.c) shares its reading and
 * its reading of an entry (rd_read, rd_classify), not its loop.
 *
 * Every entry is read through the caller's read function, one entry at a
 * time and whole (4 or 8 bytes), as the MMU reads it: a reader over live
 * memory (ht_access's, over our own frames) gives each entry as it was
 * before or after a racing change, never a mix.
 */
#include "reader.h"
#include "debug.h"

int
rd_read(const ht_scan_cfg_t *cfg, int strict, ht_pa_t pa, void *buf,
    size_t len)
{
	int rc = cfg->read(cfg->read_arg, pa, buf, len);

	if (rc == 0 || rc == 1 || rc < 0)
		return (rc);
	if (!strict)
		return (0);
	return (ht__fail(HT_EPROVIDER, "image reader returned %d at pa "
	    "0x%llx", rc, (unsigned long long)pa));
}

int
rd_eptp(const ht_scan_cfg_t *cfg, unsigned *r_ept)
{
	const ht_geometry_t *g = ht_geometry(cfg->mode);
	unsigned pwl = (unsigned)(cfg->cr3 >> 3) & 7;

	*r_ept = 0;
	if (cfg->mode != HT_MODE_EPT4 && cfg->mode != HT_MODE_EPT5)
		return (0);
	if (pwl != 0 && pwl != g->levels - 1)
		return (ht__fail(HT_EINVAL, "EPTP 0x%llx: page-walk length "
		    "%u, but %s walks %u levels", (unsigned long long)cfg->cr3,
		    pwl + 1, ht_mode_name(cfg->mode), g->levels));
	if (cfg->cr3 & 0x40)
		*r_ept = HT_EPT_AD;
	return (0);
}

int
rd_classify(const mmu_t *m, int qemu, uint64_t pte, int level,
    ht_pa_t *r_next)
{
	int leaf;

	if (!pte_valid(m, pte))
		return (0);
	if (qemu) {
		/* PS counts in PDEs, and in PDPTEs of 4/5-level paging */
		leaf = level == 0 || ((pte & PT_PAGESIZE) && (level == 1 ||
		    (level == 2 && m->num_level >= 4)));
		if (!leaf)
			*r_next = pte & (m->pte_size == 4 ? 0xfffff000ull :
			    QEMU_ADDR_MASK);
		return (leaf ? 2 : 1);
	}
	leaf = level == 0 || (pte & PT_PAGESIZE);
	if (pte_reserved(m, pte, level))
		return (-1);
	if (!leaf)
		*r_next = pte & m->paddr_mask;
	return (leaf ? 2 : 1);
}

int
rd_walk(const mmu_t *m, const ht_scan_cfg_t *cfg, int strict, int qemu,
    ht_pa_t root, ht_va_t va, ht_scan_step_t *steps, unsigned *r_nsteps,
    rd_walk_t *r)
{
	ht_pa_t table = root;

	r->eff = HT_W | HT_U | HT_X;
	for (int level = m->max_level; level >= 0; level--) {
		unsigned i = (unsigned)(va >> LEVEL_SHIFT(m, level)) &
		    m->idx_mask[level];
		ht_scan_step_t *st = &steps[(*r_nsteps)++];
		uint64_t pte = 0;
		ht_pa_t next = 0;
		int rc;

		st->addr = table + ((ht_pa_t)i << m->pte_shift);
		st->level = (unsigned)level;
		st->index = i;
		rc = rd_read(cfg, strict, st->addr, &pte, (size_t)m->pte_size);
		if (rc < 0)
			return (rc);
		st->unbacked = rc == 1;
		st->pte = pte;
		r->level = level;
		r->pte = pte;
		switch (rd_classify(m, qemu, pte, level, &next)) {
		case 0:
			r->stop = HT_STOP_NOTPRESENT;
			return (0);
		case -1:
			r->stop = HT_STOP_RESERVED;
			return (0);
		case 1:
			r->eff = pte_eff(m, r->eff, pte, level);
			table = next;
			continue;
		default:
			r->eff = pte_eff(m, r->eff, pte, level);
			r->stop = HT_STOP_MAPPED;
			return (0);
		}
	}
	HT_ASSERT(0);	/* level 0 entries are leaves or not present */
	return (ht__fail(HT_EINVAL, "walk fell through"));
}
