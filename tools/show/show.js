/*
 * show.js - the page of `htable show`: draws the spaces whose picture
 * data (ht_scan_picture, htable.h) the page holds.
 *
 * Theory of operation.  Every address on the page is linear: a VA cut to
 * the mode's va_bits, so the upper (kernel) half follows the lower one
 * with the canonical hole left out, and a 4 KiB page number is below
 * 2^45, exact in a double.  Numbers that need all 64 bits (a VA shown,
 * a PA, an entry) are BigInts, made only for what is shown.
 *
 * The map lays the window [lo, lo + span) pages of the linear space out
 * like text: ROWS rows of the canvas's width in pixels, left to right,
 * top to bottom; zooming changes the window, never the layout.  A range
 * is drawn on every pixel it touches and on at least MIN_PX of them,
 * however small, so nothing mapped is ever invisible; global, accessed
 * and dirty pages get marks on their edges whatever the colouring.
 * Drawing looks at the ranges in the window only (binary search for the
 * first), so it costs the ranges shown, not the space.
 *
 * The walk under the pointer is the MMU's: from the root table, one
 * entry per level, each found in its table's runs (entry index + k holds
 * value + k * step) and each link naming its table; the leaf's rights
 * come from its range.  It is printed exactly as `htable translate`
 * prints it, which the tests check in a browser.
 *
 * Two spaces of a mode can be compared: both maps side by side over one
 * window, and the diff, which is `htable diff`'s sweep (cmd_diff.c) done
 * again here, line for line (the browser test holds the two together).
 */
'use strict';

(function () {
	const ROWS = 96, ROW_H = 6, AXIS_EVERY = 12, MIN_SPAN = 16, MIN_PX = 3;
	const DIFF_LINES = 5000;
	/* the marks over a range: global, accessed, dirty */
	const MARK_G = '#000000', MARK_A = '#ffffff', MARK_D = '#000000';
	const LEVEL_NAMES = ['PTE', 'PDE', 'PDPTE', 'PML4E', 'PML5E'];
	const KIND_LEAF = 0, KIND_LINK = 1, KIND_SELF = 2, KIND_NP = 3,
	    KIND_RSVD = 4;

	const $ = (id) => document.getElementById(id);
	const el = (tag, props, ...kids) => {
		const e = document.createElement(tag);
		Object.assign(e, props || {});
		for (const k of kids)
			e.append(k);
		return e;
	};
	const hex = (v, w) => v.toString(16).padStart(w || 0, '0');
	const big = (h) => BigInt('0x' + h);

	/* ---------------------------------------------------------- */
	/* The data                                                    */
	/* ---------------------------------------------------------- */

	/*
	 * Is p picture data the page can draw and walk without going wrong?
	 * A data file may come from anywhere: every number the page uses is
	 * checked here, once, so that nothing later throws or reads outside
	 * an array.  Throws an Error naming the first problem.
	 */
	function check(p, n) {
		const bad = (what) => {
			throw new Error('space ' + n + ': ' + what);
		};
		const int = (v, lo, hi) => Number.isSafeInteger(v) && v >= lo &&
		    v <= hi;
		const hexs = (v) => typeof v === 'string' &&
		    /^[0-9a-f]{1,16}$/.test(v);
		const g = p.geometry;
		if (!g || !int(g.levels, 2, 5) || !int(g.va_bits, 32, 57) ||
		    (g.pte_size !== 4 && g.pte_size !== 8) ||
		    !int(g.top, 1, 1024) || !int(g.entries, 1, 1024) ||
		    !Array.isArray(g.shift) || g.shift.length !== g.levels ||
		    !g.shift.every((v) => int(v, 12, 56)))
			bad('a geometry the page does not know');
		if (!p.bits || typeof p.bits !== 'object' ||
		    !Object.values(p.bits).every((v) => int(v, 0, 2 ** 32 - 1)))
			bad('no attribute bits');
		if (typeof p.mode !== 'string' || !hexs(p.cr3) ||
		    !hexs(p.root))
			bad('no mode, cr3 or root');
		const total = Math.pow(2, g.va_bits - 12);
		if (!Array.isArray(p.ranges))
			bad('no ranges');
		let end = 0;
		p.ranges.forEach((x, i) => {
			if (!Array.isArray(x) || x.length !== 6 ||
			    !int(x[0], end, total - 1) || !int(x[1], 1, total) ||
			    x[0] + x[1] > total || !int(x[2], 0, 2 ** 40) ||
			    !int(x[3], 0, g.levels - 1) ||
			    !int(x[4], 0, 2 ** 32 - 1) || !int(x[5], 0, 2 ** 32 - 1))
				bad('range ' + i + ' is not one the page can draw ' +
				    '(out of order, overlapping or out of the space)');
			end = x[0] + x[1];
		});
		const t = p.tables, nt = Array.isArray(t) ? t.length : 0;
		if (nt === 0 || !Array.isArray(t[0]) || t[0][1] !== g.levels - 1)
			bad('no root table');
		t.forEach((x, i) => {
			if (!Array.isArray(x) || x.length !== 5 || !hexs(x[0]) ||
			    !int(x[1], 0, g.levels - 1) || !int(x[2], 0, total) ||
			    !Array.isArray(x[4]))
				bad('table ' + i + ' is not one the page can read');
			const cap = i === 0 ? g.top : g.entries;
			let next = 0;
			for (const e of x[4]) {
				const link = Array.isArray(e) &&
				    (e[2] === KIND_LINK || e[2] === KIND_SELF);
				if (!Array.isArray(e) || e.length !== 5 ||
				    !int(e[0], next, cap - 1) ||
				    !int(e[1], 1, cap - e[0]) ||
				    !int(e[2], 0, 4) || !hexs(e[3]) ||
				    (link ? !(int(e[4], 1, nt - 1) && e[1] === 1 &&
				    t[e[4]][1] === x[1] - 1) : !hexs(e[4])))
					bad('table ' + i + ' has an entry the ' +
					    'page cannot follow');
				next = e[0] + e[1];
			}
		});
		if (!Array.isArray(p.reached) || p.reached.length !== nt ||
		    !p.stats || typeof p.stats !== 'object')
			bad('no reached counts or stats');
	}

	/* One space, ready to draw and walk; throws on data it cannot read. */
	function prepare(p, n) {
		if (p === null || typeof p !== 'object' ||
		    p.htable_picture !== 1)
			throw new Error('space ' + n + ': not picture data ' +
			    'of version 1');
		check(p, n);
		const g = p.geometry, r = p.ranges, nr = r.length;
		const s = {
			name: String(p.name || 'space ' + n), mode: p.mode,
			cr3: p.cr3, root: p.root, ept: p.ept | 0,
			isEpt: /^ept/.test(p.mode), g: g, bits: p.bits,
			tables: p.tables, reached: p.reached, stats: p.stats,
			vpn: new Float64Array(nr), end: new Float64Array(nr),
			ppn: new Float64Array(nr), level: new Uint8Array(nr),
			eff: new Uint32Array(nr), attr: new Uint32Array(nr),
			total: Math.pow(2, g.va_bits - 12)
		};
		for (let i = 0; i < nr; i++) {
			const x = r[i];
			s.vpn[i] = x[0];
			s.end[i] = x[0] + x[1];
			s.ppn[i] = x[2];
			s.level[i] = x[3];
			s.eff[i] = x[4];
			s.attr[i] = x[5];
		}
		s.half = g.hole ? s.total / 2 : s.total;
		s.selfmaps = [];
		s.perLevel = [];
		for (let l = 0; l < g.levels; l++)
			s.perLevel.push({ tables: 0, shared: 0, unbacked: 0 });
		s.tables.forEach((t, i) => {
			const pl = s.perLevel[t[1]];
			pl.tables++;
			if (s.reached[i] > 1)
				pl.shared++;
			if (t[3])
				pl.unbacked++;
			for (const e of t[4])
				if (e[2] === KIND_SELF)
					s.selfmaps.push({ table: i, idx: e[0],
					    child: e[4] });
		});
		return s;
	}

	/* The canonical VA (BigInt) of linear byte address lin (BigInt). */
	function canon(s, lin) {
		if (s.g.hole && lin >= (1n << BigInt(s.g.va_bits - 1)))
			return lin + ((1n << 64n) - (1n << BigInt(s.g.va_bits)));
		return lin;
	}

	/* The linear byte address of VA va (BigInt), or null if invalid. */
	function linear(s, va) {
		const vb = BigInt(s.g.va_bits);
		if (va < 0n || va >= (1n << 64n))
			return null;
		if (s.g.hole) {
			const top = va >> (vb - 1n);
			if (top !== 0n && top !== (1n << (65n - vb)) - 1n)
				return null;
			return va & ((1n << vb) - 1n);
		}
		return va < (1n << vb) ? va : null;
	}

	/* The first range ending after linear page vpn. */
	function firstAfter(s, vpn) {
		let lo = 0, hi = s.vpn.length;
		while (lo < hi) {
			const mid = (lo + hi) >> 1;
			if (s.end[mid] <= vpn)
				lo = mid + 1;
			else
				hi = mid;
		}
		return lo;
	}

	/* The range holding linear page vpn, or -1. */
	function rangeAt(s, vpn) {
		const i = firstAfter(s, vpn);
		return i < s.vpn.length && s.vpn[i] <= vpn ? i : -1;
	}

	/* ---------------------------------------------------------- */
	/* Words, as htable dump and translate print them              */
	/* ---------------------------------------------------------- */

	function pageSize(s, level) {
		const b = s.g.shift[level];
		return { 12: '4k', 21: '2m', 22: '4m', 30: '1g' }[b] || '?';
	}

	function swText(s, attr) {
		const sw = (attr & (s.bits.sw_mask | s.bits.sw9)) >>> 16;
		return sw !== 0 ? ' sw=0x' + sw.toString(16) : '';
	}

	/* fmt_ept_text: an EPT leaf's rights, memory type and flags. */
	function eptText(s, eff, attr, sep) {
		const b = s.bits;
		const mt = ['uc', 'wc', 'mt2', 'mt3', 'wt', 'wp', 'wb',
		    'mt7'][(attr >>> 4) & 7];
		let t = ((eff & b.noread) ? '-' : 'r') +
		    ((eff & b.w) ? 'w' : '-') + ((eff & b.x) ? 'x' : '-');
		if (s.ept & b.ept_mbec)
			t += (eff & b.u) ? 'u' : '-';
		t += sep + mt;
		if (s.ept & b.ept_ad)
			t += ' ' + ((attr & b.a) ? 'A' : '-') +
			    ((attr & b.d) ? 'D' : '-');
		if (attr & b.g)
			t += ' ipat';
		if (attr & b.sve)
			t += ' sve';
		if (attr & b.vgp)
			t += ' vgp';
		if (attr & b.pw)
			t += ' pw';
		return t;
	}

	function patIndex(s, attr) {
		const b = s.bits;
		return ((attr & b.pat) ? 4 : 0) | ((attr & b.pcd) ? 2 : 0) |
		    ((attr & b.pwt) ? 1 : 0);
	}

	/* x86 rights and attributes: "r-x u, --- pat0" (sep ", ") */
	function x86Text(s, eff, attr, sep) {
		const b = s.bits;
		return 'r' + ((eff & b.w) ? 'w' : '-') +
		    ((eff & b.x) ? 'x' : '-') + ' ' + ((eff & b.u) ? 'u' : 's') +
		    sep + ((attr & b.g) ? 'G' : '-') + ((attr & b.a) ? 'A' : '-') +
		    ((attr & b.d) ? 'D' : '-') + ' pat' + patIndex(s, attr);
	}

	/* Range i as a line of `htable dump`. */
	function rangeLine(s, i) {
		const va = canon(s, BigInt(s.vpn[i]) << 12n);
		const last = canon(s, (BigInt(s.end[i]) << 12n) - 1n);
		return hex(va, 16) + '-' + hex(last, 16) + ' ' +
		    pieceText(s, i, s.vpn[i]);
	}

	/* Range i's text after its PA: "SIZE PERM ..." as dump prints it. */
	function attrText(s, i) {
		return pageSize(s, s.level[i]) + ' ' + (s.isEpt ?
		    eptText(s, s.eff[i], s.attr[i], ' ') :
		    x86Text(s, s.eff[i], s.attr[i], ' ')) +
		    swText(s, s.attr[i]);
	}

	/* Range i from linear page pg on, as dump prints it after START-LAST */
	function pieceText(s, i, pg) {
		const pa = (BigInt(s.ppn[i]) + BigInt(pg - s.vpn[i])) << 12n;
		return hex(pa, 16) + ' ' + attrText(s, i);
	}

	/*
	 * What changed from space a to b, as `htable diff` prints it
	 * (cmd_diff.c has the theory): one sweep over the boundaries of
	 * both range lists, pieces added (+), removed (-) or changed (~),
	 * consecutive ones of a kind joined while they continue.  Returns
	 * { lines, pieces: [{kind, start, end}] (linear pages), summary }.
	 */
	function diff(a, b) {
		const na = a.vpn.length, nb = b.vpn.length;
		const lines = [], pieces = [], n = [0, 0, 0], pages = [0, 0, 0];
		let i = 0, j = 0, pg = 0, p = null;
		const flush = () => {
			if (p === null)
				return;
			const k = '+-~'.indexOf(p.kind);
			n[k]++;
			pages[k] += p.end - p.start;
			let t = p.kind + ' ' + pageText(a, p.start) + '-' +
			    hex(canon(a, (BigInt(p.end) << 12n) - 1n), 16) + ' ' +
			    (p.kind === '+' ? pieceText(b, p.ib, p.start) :
			    pieceText(a, p.ia, p.start));
			if (p.kind === '~')
				t += ' => ' + pieceText(b, p.ib, p.start);
			lines.push(t);
			pieces.push({ kind: p.kind, start: p.start, end: p.end });
			p = null;
		};
		const piece = (ia, ib, start, end) => {
			const kind = ia < 0 ? '+' : ib < 0 ? '-' : '~';
			const pa = ia < 0 ? 0 : a.ppn[ia] + (start - a.vpn[ia]);
			const pb = ib < 0 ? 0 : b.ppn[ib] + (start - b.vpn[ib]);
			if (kind === '~' && pieceText(a, ia, start) ===
			    pieceText(b, ib, start)) {
				flush();
				return;
			}
			/* never across the canonical hole */
			if (p !== null && p.kind === kind && start === p.end &&
			    !(a.g.hole && start === a.half) &&
			    (ia < 0 || (pa === p.pa && attrText(a, ia) ===
			    attrText(a, p.ia))) &&
			    (ib < 0 || (pb === p.pb && attrText(b, ib) ===
			    attrText(b, p.ib)))) {
				p.end = end;
				p.pa = pa + (end - start);
				p.pb = pb + (end - start);
				return;
			}
			flush();
			p = { kind: kind, start: start, end: end, ia: ia, ib: ib,
			    pa: pa + (end - start), pb: pb + (end - start) };
		};
		for (;;) {
			while (i < na && a.end[i] <= pg)
				i++;
			while (j < nb && b.end[j] <= pg)
				j++;
			if (i === na && j === nb)
				break;
			const sa = i < na ? Math.max(a.vpn[i], pg) : Infinity;
			const sb = j < nb ? Math.max(b.vpn[j], pg) : Infinity;
			const start = Math.min(sa, sb);
			const ina = sa === start, inb = sb === start;
			let end = ina ? a.end[i] : Infinity;
			if (inb)
				end = Math.min(end, b.end[j]);
			if (!ina)
				end = Math.min(end, sa);
			if (!inb)
				end = Math.min(end, sb);
			piece(ina ? i : -1, inb ? j : -1, start, end);
			pg = end;
		}
		flush();
		const bytes = (k) => (BigInt(pages[k]) << 12n).toString();
		return { lines: lines, pieces: pieces, summary: 'added ' + n[0] +
		    ' (' + bytes(0) + ' bytes), removed ' + n[1] + ' (' +
		    bytes(1) + ' bytes), changed ' + n[2] + ' (' + bytes(2) +
		    ' bytes)' };
	}

	/* The entry idx of table t: {kind, value (BigInt), child}. */
	function entryOf(t, idx) {
		const runs = t[4];
		let lo = 0, hi = runs.length;
		while (lo < hi) {
			const mid = (lo + hi) >> 1;
			if (runs[mid][0] + runs[mid][1] <= idx)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo === runs.length || runs[lo][0] > idx)
			return { kind: KIND_NP, value: 0n, child: -1 };
		const r = runs[lo], k = r[2];
		if (k === KIND_LINK || k === KIND_SELF)
			return { kind: k, value: big(r[3]), child: r[4] };
		const v = (big(r[3]) + BigInt(idx - r[0]) * big(r[4])) &
		    ((1n << 64n) - 1n);
		return { kind: k, value: v, child: -1 };
	}

	/*
	 * The walk of va (BigInt) as `htable translate` prints it:
	 * { text, range (or -1) }.
	 */
	function walk(s, va) {
		const g = s.g, mode = s.mode;
		let head = 'va 0x' + va.toString(16) + ': ';
		const lin = linear(s, va);
		if (lin === null) {
			if (g.va_bits === 32)
				head += 'beyond 4 GiB: ' + mode + ' paging has ' +
				    '32-bit linear addresses';
			else if (!g.hole)
				head += 'beyond the ' + g.va_bits + '-bit ' +
				    'guest-physical space of ' + mode + ' paging';
			else
				head += 'not canonical for ' + mode +
				    ' paging (the CPU raises #GP)';
			return { text: head + '\n', range: -1 };
		}
		const w = g.pte_size === 4 ? 8 : 16;
		const name = (l) => (g.levels === 2 && l === 1) ? 'PDE' :
		    (LEVEL_NAMES[l] || '?');
		let t = 0, steps = '', range = -1;
		for (let l = g.levels - 1; l >= 0; l--) {
			const tab = s.tables[t];
			const n = l === g.levels - 1 ? g.top : g.entries;
			const idx = Number((lin >> BigInt(g.shift[l])) &
			    BigInt(n - 1));
			const e = entryOf(tab, idx);
			const addr = big(tab[0]) + BigInt(idx * g.pte_size);
			steps += '  L' + l + ' ' + name(l).padEnd(5) + ' [' +
			    String(idx).padStart(4) + '] at 0x' +
			    hex(addr, w) + ': 0x' + hex(e.value, w) +
			    (tab[3] ? ' (not in the image: read as zero)' :
			    '') + '\n';
			if (e.kind === KIND_LINK || e.kind === KIND_SELF) {
				t = e.child;
				continue;
			}
			if (e.kind === KIND_LEAF) {
				range = rangeAt(s, Number(lin >> 12n));
				if (range < 0) {
					head += 'a leaf the ranges do not hold';
					break;
				}
				const pa = (BigInt(s.ppn[range]) << 12n) +
				    (lin - (BigInt(s.vpn[range]) << 12n));
				head += 'pa 0x' + pa.toString(16) + ', ' +
				    pageSize(s, l) + ' page, ' + (s.isEpt ?
				    eptText(s, s.eff[range], s.attr[range],
				    ', ') : x86Text(s, s.eff[range],
				    s.attr[range], ', ')) +
				    swText(s, s.attr[range]);
				break;
			}
			head += 'not mapped: the ' + name(l) + ' (level ' + l +
			    ') ' + (e.kind === KIND_NP ? (s.isEpt ?
			    'is not present (an EPT violation)' :
			    'is not present') : (s.isEpt ? 'is misconfigured: ' +
			    'reserved bits or rights it may not have (an EPT ' +
			    'misconfiguration)' : 'has reserved bits set (a ' +
			    'reserved-bit page fault)'));
			break;
		}
		return { text: head + '\n' + steps, range: range };
	}

	/* ---------------------------------------------------------- */
	/* Colours                                                     */
	/* ---------------------------------------------------------- */

	const COLOURINGS = {
		rights: {
			label: 'rights',
			of: (s, i) => {
				const b = s.bits, e = s.eff[i];
				if (s.isEpt) {
					const r = !(e & b.noread), w = e & b.w,
					    x = e & b.x;
					return r ? (w ? (x ? 'rwx' : 'rw-') :
					    (x ? 'r-x' : 'r--')) : (x ? '--x' :
					    '---');
				}
				return ((e & b.u) ? 'u ' : 's ') + 'r' +
				    ((e & b.w) ? 'w' : '-') + ((e & b.x) ? 'x' :
				    '-');
			},
			colours: {
				's r--': '#8da0cb', 's rw-': '#3b6fc9',
				's r-x': '#8e44ad', 's rwx': '#d62728',
				'u r--': '#a6d96a', 'u rw-': '#1a9850',
				'u r-x': '#f39c12', 'u rwx': '#e7298a',
				'r--': '#8da0cb', 'rw-': '#3b6fc9',
				'r-x': '#8e44ad', 'rwx': '#d62728',
				'--x': '#f39c12', '---': '#999999'
			}
		},
		size: {
			label: 'page size',
			of: (s, i) => pageSize(s, s.level[i]),
			colours: { '4k': '#66c2a5', '2m': '#fc8d62',
			    '4m': '#fc8d62', '1g': '#8da0cb', '?': '#999' }
		},
		ad: {
			label: 'accessed / dirty',
			of: (s, i) => {
				const a = s.attr[i], b = s.bits;
				return ((a & b.a) ? 'A' : '-') +
				    ((a & b.d) ? 'D' : '-');
			},
			colours: { '--': '#bbbbbb', 'A-': '#74add1',
			    'AD': '#d73027', '-D': '#fdae61' }
		},
		global: {
			label: 'global (EPT: ignore PAT)',
			of: (s, i) => (s.attr[i] & s.bits.g) ? 'G' : '-',
			colours: { 'G': '#e6550d', '-': '#9ecae1' }
		},
		memtype: {
			label: 'memory type',
			of: (s, i) => s.isEpt ? ['uc', 'wc', 'mt2', 'mt3', 'wt',
			    'wp', 'wb', 'mt7'][(s.attr[i] >>> 4) & 7] :
			    'pat' + patIndex(s, s.attr[i]),
			colours: { 'pat0': '#1b9e77', 'pat1': '#d95f02',
			    'pat2': '#7570b3', 'pat3': '#e7298a',
			    'pat4': '#66a61e', 'pat5': '#e6ab02',
			    'pat6': '#a6761d', 'pat7': '#666666',
			    'wb': '#1b9e77', 'uc': '#e7298a', 'wc': '#d95f02',
			    'wt': '#7570b3', 'wp': '#66a61e', 'mt2': '#666',
			    'mt3': '#666', 'mt7': '#666' }
		}
	};

	/* ---------------------------------------------------------- */
	/* The page                                                    */
	/* ---------------------------------------------------------- */

	const state = { spaces: [], cur: 0, lo: 0, span: 1, colour: 'rights',
	    pinned: null, drag: null, cmp: -1, diff: null, marks: true };

	function fail(msg) {
		$('app').textContent = '';
		$('app').append(el('p', { className: 'error', id: 'error',
		    textContent: 'htable show: ' + msg }));
	}

	function build() {
		const app = $('app');
		app.textContent = '';
		const sel = el('select', { id: 'space' });
		state.spaces.forEach((s, i) => sel.append(el('option',
		    { value: i, textContent: s.name + ' (' + s.mode +
		    ', cr3 0x' + s.cr3 + ', ' + s.vpn.length + ' ranges)' })));
		sel.onchange = () => select(Number(sel.value));
		const col = el('select', { id: 'colour' });
		for (const k in COLOURINGS)
			col.append(el('option', { value: k,
			    textContent: COLOURINGS[k].label }));
		col.onchange = () => { state.colour = col.value; draw(); };
		const cmp = el('select', { id: 'cmp' });
		cmp.onchange = () => compare(Number(cmp.value));
		const marks = el('input', { id: 'marks', type: 'checkbox',
		    checked: true });
		marks.onchange = () => { state.marks = marks.checked; draw(); };
		const go = el('input', { id: 'goto', placeholder:
		    'go to a VA (hex)', size: 22 });
		go.onkeydown = (ev) => { if (ev.key === 'Enter') goTo(go.value); };
		const btn = (label, id, fn) => {
			const b = el('button', { id: id, textContent: label });
			b.onclick = fn;
			return b;
		};
		app.append(
		    el('header', {}, el('h1', { textContent: 'htable show' }),
			el('label', { textContent: 'space ' }), sel,
			el('label', { textContent: ' compare with ' }), cmp,
			el('label', { textContent: ' colour by ' }), col,
			el('label', { textContent: ' G/A/D marks ' }), marks, ' ',
			go, ' ',
			btn('whole space', 'whole', () => view(0,
			    cur().total)),
			btn('lower half', 'lower', () => view(0, cur().half)),
			btn('upper half', 'upper', () => view(cur().total -
			    cur().half, cur().half)),
			btn('zoom out', 'zoomout', () => zoom(4,
			    state.lo + state.span / 2))),
		    el('div', { id: 'main' },
			el('div', { id: 'mapbox' },
			    el('div', { id: 'window' }),
			    el('div', { id: 'maprow' },
				el('canvas', { id: 'axis' }),
				el('canvas', { id: 'map' }),
				el('canvas', { id: 'mapb' })),
			    el('div', { id: 'legend' }),
			    el('div', { id: 'counts' },
				'ranges ', el('span', { id: 'nranges' }),
				', drawn here ', el('span', { id: 'ndrawn' }),
				', leaves ', el('span', { id: 'nleaves' }))),
			el('div', { id: 'side' },
			    el('h2', { textContent: 'Range' }),
			    el('pre', { id: 'rangeline' }),
			    el('h2', { textContent: 'Walk' }),
			    el('pre', { id: 'walk' }),
			    el('div', { id: 'sideb' },
				el('h2', { id: 'bname' }),
				el('pre', { id: 'rangelineb' }),
				el('pre', { id: 'walkb' })),
			    el('p', { className: 'hint', textContent:
				'Wheel: zoom at the pointer.  Drag: move.  ' +
				'Click: keep this walk (click again to ' +
				'let go).' }),
			    el('h2', { textContent: 'Where the mappings are' }),
			    el('div', { id: 'outline' }))),
		    el('section', { id: 'diffsec' },
			el('h2', { id: 'diffhead' }),
			el('pre', { id: 'difftext' })),
		    el('section', { id: 'tablesec' },
			el('h2', { textContent: 'Tables' }),
			el('div', { id: 'tablestats' }),
			el('canvas', { id: 'phys' }),
			el('div', { id: 'physlabel' }),
			el('div', { id: 'notable' })));
		const map = $('map');
		for (const m of [map, $('mapb')]) {
			m.onmousemove = (ev) => hover(ev);
			m.onmouseleave = () => {
				if (!state.pinned)
					info(null);
			};
			m.onwheel = (ev) => {
				ev.preventDefault();
				zoom(ev.deltaY > 0 ? 2 : 0.5, pageAt(ev).page);
			};
			m.onmousedown = (ev) => {
				state.drag = { x: ev.clientX, y: ev.clientY,
				    lo: state.lo, moved: false };
			};
		}
		window.onmouseup = (ev) => {
			const d = state.drag;
			state.drag = null;
			if (d && !d.moved && (ev.target === map ||
			    ev.target === $('mapb'))) {
				state.pinned = state.pinned ? null :
				    pageAt(ev);
				if (state.pinned)
					info(state.pinned);
			}
		};
		window.onmousemove = (ev) => {
			const d = state.drag;
			if (!d)
				return;
			const dx = ev.clientX - d.x, dy = ev.clientY - d.y;
			if (Math.abs(dx) + Math.abs(dy) > 3)
				d.moved = true;
			if (!d.moved)
				return;
			const ppp = state.span / (mapWidth() * ROWS);
			const shift = -(Math.round(dy / ROW_H) * mapWidth() +
			    dx) * ppp;
			view(d.lo + shift, state.span);
		};
		window.onresize = () => draw();
		select(0);
	}

	const cur = () => state.spaces[state.cur];
	/* the space compared with, or null */
	const other = () => state.cmp >= 0 ? state.spaces[state.cmp] : null;
	const mapWidth = () => $('map').width;

	function select(i) {
		state.cur = i;
		state.pinned = null;
		$('space').value = String(i);
		const s = cur();
		$('nranges').textContent = String(s.vpn.length);
		$('nleaves').textContent = String(s.stats.leaves);
		state.lo = 0;
		state.span = s.total;
		const cmp = $('cmp');
		cmp.textContent = '';
		cmp.append(el('option', { value: -1, textContent: '(none)' }));
		state.spaces.forEach((o, k) => {
			if (k !== i && o.mode === s.mode)
				cmp.append(el('option', { value: k,
				    textContent: o.name }));
		});
		compare(-1, true);
		tablesPanel();
		outline();
		draw();
		info(null);
	}

	/*
	 * The outline: the root's entries that map something, each with the
	 * entries of the table it links that do; a click zooms the map to
	 * one.  The counts are of ranges (binary searches: no scan).
	 */
	function outline() {
		const s = cur(), g = s.g, box = $('outline');
		box.textContent = '';
		const top = g.levels - 1;
		const item = (lvpn, l, idx, parentEl) => {
			const span = Math.pow(2, g.shift[l] - 12);
			const n = firstAfter(s, lvpn + span) - firstAfter(s, lvpn);
			const name = (g.levels === 2 && l === 1) ? 'PDE' :
			    LEVEL_NAMES[l];
			const a = el('a', { href: '#', textContent: name + ' ' +
			    idx + ': ' + pageText(s, lvpn) + ' (' + n +
			    ' range' + (n === 1 ? '' : 's') + ')' });
			a.onclick = (ev) => {
				ev.preventDefault();
				view(lvpn, span);
			};
			parentEl.append(a);
			return n;
		};
		const root = s.tables[0];
		let shown = 0;
		for (const r of root[4]) {
			if (r[2] === KIND_NP || r[2] === KIND_RSVD)
				continue;
			for (let k = 0; k < r[1] && shown < 256; k++) {
				const idx = r[0] + k;
				const lvpn = idx * Math.pow(2, g.shift[top] - 12);
				const d = el('details', {});
				const sum = el('summary', {});
				d.append(sum);
				if (item(lvpn, top, idx, sum) === 0)
					continue;
				shown++;
				if (r[2] === KIND_LINK && top > 0) {
					const t = s.tables[r[4]];
					const ul = el('ul', {});
					for (const e of t[4]) {
						if (e[2] === KIND_NP ||
						    e[2] === KIND_RSVD)
							continue;
						for (let j = 0; j < e[1] &&
						    ul.children.length < 512; j++) {
							const li = el('li', {});
							if (item(lvpn + (e[0] + j) *
							    Math.pow(2, g.shift[top - 1] -
							    12), top - 1, e[0] + j,
							    li) > 0)
								ul.append(li);
						}
					}
					d.append(ul);
				}
				box.append(d);
			}
		}
		if (shown === 0)
			box.append(el('p', { textContent: 'Nothing is mapped.' }));
	}

	/* Show [lo, lo + span) pages, kept inside the space. */
	function view(lo, span) {
		const s = cur();
		span = Math.min(Math.max(span, MIN_SPAN), s.total);
		lo = Math.min(Math.max(lo, 0), s.total - span);
		state.lo = lo;
		state.span = span;
		draw();
	}

	function zoom(f, at) {
		const span = state.span * f;
		view(at - (at - state.lo) * f, span);
	}

	/* The page under a mouse event: {page (float), a, b} */
	function pageAt(ev) {
		const map = ev.target === $('mapb') ? $('mapb') : $('map');
		const r = map.getBoundingClientRect();
		const x = Math.floor((ev.clientX - r.left) * map.width /
		    r.width);
		const row = Math.floor((ev.clientY - r.top) * map.height /
		    r.height / ROW_H);
		const ppp = state.span / (map.width * ROWS);
		const p = Math.max(0, Math.min(row, ROWS - 1)) * map.width +
		    Math.max(0, Math.min(x, map.width - 1));
		return { page: state.lo + p * ppp, a: state.lo + p * ppp,
		    b: state.lo + (p + 1) * ppp };
	}

	/*
	 * The VA a pixel stands for: the first mapped byte in it if a range
	 * touches it, else its first byte.  {va (BigInt), range}
	 */
	function vaOfPixel(s, px) {
		const i = firstAfter(s, px.a);
		let page = px.a;
		if (i < s.vpn.length && s.vpn[i] < px.b)
			page = Math.max(s.vpn[i], px.a);
		const whole = Math.floor(page);
		let off = Math.floor((page - whole) * 4096);
		off = Math.min(Math.max(off, 0), 4095);
		const lin = (BigInt(whole) << 12n) + BigInt(off);
		return canon(s, lin);
	}

	function hover(ev) {
		if (state.drag && state.drag.moved)
			return;
		if (!state.pinned)
			info(pageAt(ev));
	}

	/* Fill the range line and the walk for a pixel (null: clear). */
	function info(px) {
		const s = cur();
		if (px === null) {
			$('walk').textContent = '';
			$('rangeline').textContent = '(point at the map)';
			return;
		}
		showVa(s, px.va !== undefined ? px.va : vaOfPixel(s, px));
	}

	function showVa(s, va) {
		const w = walk(s, va);
		$('walk').textContent = w.text;
		$('rangeline').textContent = w.range >= 0 ?
		    rangeLine(s, w.range) : 'not mapped';
		const b = other();
		if (b) {
			const wb = walk(b, va);
			$('walkb').textContent = wb.text;
			$('rangelineb').textContent = wb.range >= 0 ?
			    rangeLine(b, wb.range) : 'not mapped';
		}
	}

	/*
	 * Compare the current space with space k (-1: none): both maps side
	 * by side, the diff's pieces marked, its lines below.
	 */
	function compare(k, quiet) {
		state.cmp = k;
		$('cmp').value = String(k);
		const b = other();
		$('sideb').style.display = b ? '' : 'none';
		$('diffsec').style.display = b ? '' : 'none';
		if (!b) {
			state.diff = null;
			if (!quiet)
				draw();
			return;
		}
		const d = state.diff = diff(cur(), b);
		$('bname').textContent = 'In ' + b.name;
		$('diffhead').textContent = 'From ' + cur().name + ' to ' +
		    b.name + ': ' + d.summary;
		const pre = $('difftext');
		pre.textContent = '';
		d.lines.slice(0, DIFF_LINES).forEach((t, n) => {
			const line = el('span', { className: 'dl', textContent:
			    t + '\n' });
			line.onclick = () => {
				const pc = d.pieces[n];
				const span = Math.max(MIN_SPAN, (pc.end -
				    pc.start) * 4);
				view(pc.start - span / 4, span);
			};
			pre.append(line);
		});
		if (d.lines.length > DIFF_LINES)
			pre.append('… ' + (d.lines.length - DIFF_LINES) +
			    ' more lines (htable diff prints them all)\n');
		pre.dataset.lines = String(d.lines.length);
		if (!quiet)
			draw();
	}

	function goTo(text) {
		const s = cur();
		let va;
		try {
			va = BigInt(/^0x/i.test(text.trim()) ? text.trim() :
			    '0x' + text.trim());
		} catch (e) {
			$('walk').textContent = 'not a hex address: ' + text;
			return;
		}
		const lin = linear(s, va);
		if (lin !== null) {
			const page = Number(lin >> 12n);
			const span = 512;
			view(page - span / 2, span);
		}
		state.pinned = { va: va };
		showVa(s, va);
	}

	function legend() {
		const c = COLOURINGS[state.colour], s = cur();
		const seen = new Set();
		for (let i = 0; i < s.vpn.length; i++)
			seen.add(c.of(s, i));
		const box = $('legend');
		box.textContent = '';
		for (const k of Object.keys(c.colours))
			if (seen.has(k))
				box.append(el('span', { className: 'key' },
				    el('i', { style: 'background:' +
				    c.colours[k] }), k));
		box.append(el('span', { className: 'key' },
		    el('i', { className: 'none' }), 'not mapped'));
		if (state.marks)
			box.append(el('span', { className: 'key marks',
			    textContent: 'marks: a black top edge global' +
			    (s.isEpt ? ' (x86 only)' : '') + ', a bottom ' +
			    'edge white accessed, black dirty' }));
	}

	/* The canonical VA text of linear page p (float). */
	function pageText(s, p) {
		return hex(canon(s, BigInt(Math.floor(p)) << 12n), 16);
	}

	/*
	 * Pixel run [p0, p1) of a W-wide map: a rectangle per row, h pixels
	 * high from y pixels below the row's top (default: the whole row).
	 */
	function fillCells(ctx, W, p0, p1, y, h) {
		y = y || 0;
		h = h || ROW_H - 1;
		while (p0 < p1) {
			const row = Math.floor(p0 / W), x = p0 % W;
			const n = Math.min(p1 - p0, W - x);
			ctx.fillRect(x, row * ROW_H + y, n, h);
			p0 += n;
		}
	}

	/*
	 * Draw space s on canvas map, W pixels wide, over the window; with
	 * a diff, its pieces of the kinds in `kinds` on top.  Returns the
	 * number of ranges drawn.
	 */
	function drawMap(map, s, W, d, kinds) {
		if (map.width !== W)
			map.width = W;
		map.height = ROWS * ROW_H;
		const ctx = map.getContext('2d');
		ctx.fillStyle = '#eeeeee';
		ctx.fillRect(0, 0, W, map.height);
		const cells = W * ROWS, ppp = state.span / cells;
		const lo = state.lo, hi = lo + state.span;
		const col = COLOURINGS[state.colour];
		const px = (a, b) => {
			const p0 = Math.floor((Math.max(a, lo) - lo) / ppp);
			/* at least MIN_PX pixels: a page in 128 PiB shows */
			const p1 = Math.ceil((Math.min(b, hi) - lo) / ppp);
			return [p0, Math.min(Math.max(p1, p0 + MIN_PX), cells)];
		};
		let drawn = 0, lastStyle = '';
		for (let i = firstAfter(s, lo); i < s.vpn.length &&
		    s.vpn[i] < hi; i++) {
			drawn++;
			const style = col.colours[col.of(s, i)] || '#444';
			if (style !== lastStyle) {
				ctx.fillStyle = style;
				lastStyle = style;
			}
			const r = px(s.vpn[i], s.end[i]);
			fillCells(ctx, W, r[0], r[1]);
			/* the marks: global on top, accessed / dirty below */
			const at = s.attr[i], bt = s.bits;
			if (state.marks && (at & (bt.g | bt.a | bt.d))) {
				if (at & bt.g && !s.isEpt) {
					ctx.fillStyle = MARK_G;
					fillCells(ctx, W, r[0], r[1], 0, 1);
				}
				if (at & (bt.a | bt.d)) {
					ctx.fillStyle = (at & bt.d) ? MARK_D :
					    MARK_A;
					fillCells(ctx, W, r[0], r[1], ROW_H - 2,
					    1);
				}
				lastStyle = '';
			}
		}
		/* page boundaries, when a page is wide enough to see */
		if (1 / ppp >= 6) {
			ctx.fillStyle = 'rgba(255,255,255,0.8)';
			for (let p = Math.ceil(lo); p < hi; p++) {
				const q = Math.round((p - lo) / ppp);
				ctx.fillRect(q % W, Math.floor(q / W) * ROW_H, 1,
				    ROW_H - 1);
			}
		}
		/* a diff's pieces: hatched over the ranges */
		if (d) {
			const hue = { '+': 'rgba(0,170,0,0.55)',
			    '-': 'rgba(220,0,0,0.55)', '~': 'rgba(255,140,0,0.6)' };
			for (const pc of d.pieces) {
				if (pc.end <= lo || pc.start >= hi ||
				    kinds.indexOf(pc.kind) < 0)
					continue;
				ctx.fillStyle = hue[pc.kind];
				const r = px(pc.start, pc.end);
				fillCells(ctx, W, r[0], r[1]);
			}
		}
		/* the canonical hole, between the halves */
		if (s.g.hole && s.half > lo && s.half < hi) {
			const q = Math.round((s.half - lo) / ppp);
			ctx.fillStyle = '#d62728';
			ctx.fillRect(q % W, Math.floor(q / W) * ROW_H - 1, W -
			    q % W, 2);
			ctx.fillRect(0, Math.floor(q / W) * ROW_H + ROW_H - 1,
			    q % W, 2);
		}
		return drawn;
	}

	function draw() {
		const s = cur(), map = $('map'), axis = $('axis');
		const box = $('mapbox'), b = other();
		let W = Math.max(256, Math.floor(box.clientWidth - 150));
		if (b)
			W = Math.max(200, Math.floor((W - 10) / 2));
		axis.width = 140;
		axis.height = ROWS * ROW_H;
		const d = b ? state.diff : null;
		const drawn = drawMap(map, s, W, d, '-~');
		$('mapb').style.display = b ? '' : 'none';
		if (b)
			drawMap($('mapb'), b, W, d, '+~');
		$('ndrawn').textContent = String(drawn);
		map.dataset.drawn = String(drawn);
		const lo = state.lo, hi = lo + state.span;
		const ppp = state.span / (W * ROWS);
		/* the axis: the first VA of every AXIS_EVERY-th row */
		const a = axis.getContext('2d');
		a.clearRect(0, 0, axis.width, axis.height);
		a.fillStyle = '#333';
		a.font = '10px monospace';
		a.textBaseline = 'top';
		for (let r = 0; r < ROWS; r += AXIS_EVERY)
			a.fillText(pageText(s, lo + r * W * ppp), 2,
			    r * ROW_H);
		const bytes = ppp * 4096;
		const unit = (v) => v >= 2 ** 40 ? (v / 2 ** 40).toFixed(1) +
		    ' TiB' : v >= 2 ** 30 ? (v / 2 ** 30).toFixed(1) + ' GiB' :
		    v >= 2 ** 20 ? (v / 2 ** 20).toFixed(1) + ' MiB' :
		    v >= 1024 ? (v / 1024).toFixed(1) + ' KiB' :
		    v.toFixed(0) + ' B';
		$('window').textContent = 'VA ' + pageText(s, lo) + ' – ' +
		    hex(canon(s, (BigInt(Math.ceil(hi)) << 12n) - 1n), 16) +
		    ' (' + unit(state.span * 4096) + ', ' + unit(bytes) +
		    ' a pixel)' + (s.g.hole ? '; red line: the ' +
		    'canonical hole, upper half above it sign-extended' : '') +
		    (b ? '; left: ' + s.name + ', right: ' + b.name +
		    ' (green added, red removed, orange changed)' : '');
		legend();
	}


	/* ---------------------------------------------------------- */
	/* Tables                                                      */
	/* ---------------------------------------------------------- */

	function tablesPanel() {
		const s = cur(), g = s.g;
		/* tables every other space holds too (frame and level) */
		const others = new Map();
		state.spaces.forEach((o, k) => {
			if (k === state.cur)
				return;
			for (const t of o.tables) {
				const key = t[0] + '/' + t[1];
				if (!others.has(key))
					others.set(key, []);
				others.get(key).push(o.name);
			}
		});
		const st = $('tablestats');
		st.textContent = '';
		const tb = el('table', { id: 'levels' });
		tb.append(el('tr', {}, el('th', { textContent: 'level' }),
		    el('th', { textContent: 'tables' }),
		    el('th', { textContent: 'reached twice or more' }),
		    el('th', { textContent: 'in other spaces' }),
		    el('th', { textContent: 'not in the image' })));
		const inOthers = new Array(g.levels).fill(0);
		s.tables.forEach((t) => {
			if (others.has(t[0] + '/' + t[1]))
				inOthers[t[1]]++;
		});
		for (let l = g.levels - 1; l >= 0; l--) {
			const pl = s.perLevel[l];
			tb.append(el('tr', {}, el('td', { textContent: 'L' + l +
			    ' ' + ((g.levels === 2 && l === 1) ? 'PD' :
			    LEVEL_NAMES[l].replace(/E$/, '')) }),
			    el('td', { textContent: pl.tables }),
			    el('td', { textContent: pl.shared }),
			    el('td', { textContent: inOthers[l] }),
			    el('td', { textContent: pl.unbacked })));
		}
		st.append(tb, el('p', { textContent: s.tables.length +
		    ' tables, ' + s.stats.leaves + ' leaves, ' +
		    s.selfmaps.length + ' self-map entr' +
		    (s.selfmaps.length === 1 ? 'y' : 'ies') + ', ' +
		    s.stats.reserved + ' entries with reserved bits' +
		    (s.isEpt ? ' (misconfigured)' : '') + ', root at 0x' +
		    s.root }));
		physStrip(s);
		/* the notable tables: self-maps, shared, in other spaces */
		const list = $('notable');
		list.textContent = '';
		const rows = [];
		for (const m of s.selfmaps)
			rows.push({ t: m.table, why: 'self-map: entry ' + m.idx +
			    ' links frame 0x' + s.tables[m.child][0] +
			    ' as a level ' + s.tables[m.child][1] + ' table' });
		s.tables.forEach((t, i) => {
			if (s.reached[i] > 1)
				rows.push({ t: i, why: 'reached ' + s.reached[i] +
				    ' times' });
			const o = others.get(t[0] + '/' + t[1]);
			if (o)
				rows.push({ t: i, why: 'also in ' + o.join(', ') });
		});
		if (rows.length === 0) {
			list.append(el('p', { textContent: 'No table is shared ' +
			    'or reached twice, and there is no self-map.' }));
			return;
		}
		const ul = el('ul', {});
		for (const r of rows.slice(0, 300)) {
			const t = s.tables[r.t], l = t[1];
			const span = (l === g.levels - 1 ? g.top : g.entries) *
			    Math.pow(2, g.shift[l] - 12);
			const a = el('a', { href: '#', textContent: 'L' + l +
			    ' table at 0x' + t[0] + ' (VA ' +
			    pageText(s, t[2]) + ')' });
			a.onclick = (ev) => {
				ev.preventDefault();
				view(t[2], span);
			};
			ul.append(el('li', {}, a, ' ' + r.why));
		}
		if (rows.length > 300)
			ul.append(el('li', { textContent: '… and ' +
			    (rows.length - 300) + ' more' }));
		list.append(ul);
	}

	/* Where the tables sit in physical memory, one tick each. */
	function physStrip(s) {
		const c = $('phys');
		c.width = Math.max(256, $('tablesec').clientWidth - 20);
		c.height = 24;
		const ctx = c.getContext('2d');
		ctx.fillStyle = '#f4f4f4';
		ctx.fillRect(0, 0, c.width, c.height);
		let min = Infinity, max = 0;
		const pfn = s.tables.map((t) => Number(big(t[0]) >> 12n));
		for (const p of pfn) {
			min = Math.min(min, p);
			max = Math.max(max, p);
		}
		if (pfn.length === 0)
			return;
		const colours = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a',
		    '#66a61e'];
		const span = Math.max(1, max - min + 1);
		s.tables.forEach((t, i) => {
			const x = Math.floor((pfn[i] - min) / span * c.width);
			ctx.fillStyle = colours[t[1]];
			ctx.fillRect(x, 4 + t[1] * 4, 1, 4);
		});
		$('physlabel').textContent = 'Table frames by level (L0 top ' +
		    'row to L' + (s.g.levels - 1) + ') in PA 0x' +
		    hex(BigInt(min) << 12n) + ' – 0x' +
		    hex((BigInt(max) << 12n) + 0xfffn);
	}

	/* ---------------------------------------------------------- */
	/* Start, and what the tests ask of the page                   */
	/* ---------------------------------------------------------- */

	window.htShow = {
		ready: false,
		/* client coordinates of the pixel that holds VA vahex */
		pointOf: (vahex) => {
			const s = cur(), lin = linear(s, BigInt(vahex));
			if (lin === null)
				return null;
			const page = Number(lin) / 4096;
			const map = $('map'), r = map.getBoundingClientRect();
			const ppp = state.span / (map.width * ROWS);
			if (page < state.lo || page >= state.lo + state.span)
				return null;
			const p = Math.floor((page - state.lo) / ppp);
			return { x: r.left + ((p % map.width) + 0.5) *
			    r.width / map.width, y: r.top +
			    (Math.floor(p / map.width) * ROW_H + 1.5) *
			    r.height / map.height };
		},
		select: (i) => select(i),
		compare: (k) => compare(k),
		diffText: () => state.diff ? state.diff.lines.join('\n') +
		    (state.diff.lines.length ? '\n' : '') +
		    state.diff.summary + '\n' : null,
		view: (lo, span) => view(lo, span),
		goTo: (t) => goTo(t),
		unpin: () => { state.pinned = null; },
		spaces: () => state.spaces.map((s) => ({ name: s.name,
		    mode: s.mode, cr3: s.cr3, ranges: s.vpn.length,
		    tables: s.tables.length }))
	};

	try {
		const data = JSON.parse($('htdata').textContent);
		if (!Array.isArray(data) || data.length === 0)
			throw new Error('the page holds no space');
		state.spaces = data.map(prepare);
	} catch (e) {
		fail('cannot read the picture data: ' + e.message);
		window.htShow.error = e.message;
		window.htShow.ready = true;
		return;
	}
	build();
	window.htShow.openMs = performance.now();
	window.htShow.ready = true;
	document.body.dataset.ready = '1';
})();
