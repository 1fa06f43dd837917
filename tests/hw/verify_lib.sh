# verify_lib.sh - what the `htable verify` hardware tests share (sourced
# by test_verify.sh and test_verify_nested.sh): counters, one verify
# check, building an image from layout lines, editing a bit of an entry.
# The caller sets htable (the command) and work (a scratch directory).
pass=0; fail=0; skip=0
ok()   { pass=$((pass + 1)); }
bad()  { fail=$((fail + 1)); echo "[FAIL] $*" >&2; }
skip() { skip=$((skip + 1)); echo "[SKIP] $*" >&2; }

# verify NAME IMAGE CR3 MODE ENGINE [ARGS...]: one check; VERIFIED is 1
# when it ran and agreed (the caller may then look at $work/out)
verify() {
	local name=$1 img=$2 cr3=$3 mode=$4 eng=$5; shift 5
	"$htable" verify "$img" --cr3 "$cr3" --mode "$mode" --engine "$eng" "$@" \
	    >"$work/out" 2>"$work/err"
	local rc=$?
	VERIFIED=0
	case $rc in
	0)	if grep -q '^probes=[1-9][0-9]* agree=[0-9]* disagree=0' "$work/out"; then
			ok; VERIFIED=1
		else
			bad "$name ($eng): summary '$(tail -n 1 "$work/out")'"
		fi ;;
	4)	skip "$name ($eng): $(grep 'skipped' "$work/out" | head -n 1)" ;;
	*)	bad "$name ($eng): exit $rc"
		grep -E 'DISAGREE|engine' "$work/out" | head -n 12 >&2
		head -n 5 "$work/err" >&2 ;;
	esac
}

# build NAME SPEC-TEXT...: the image; sets CR3
build() {
	local name=$1; shift
	printf '%s\n' "$@" >"$work/$name.spec"
	"$htable" build "$work/$name.spec" -o "$work/$name.img" >"$work/sum" 2>"$work/err" ||
	    { bad "$name: build: $(cat "$work/err")"; return 1; }
	CR3=$(tail -n 1 "$work/sum" | sed 's/.*cr3=\(0x[0-9a-f]*\).*/\1/')
}

# clear_bit IMAGE CR3 MODE VA LEVEL BIT: clear a bit of the entry at LEVEL
# on VA's walk (e.g. U/S in a PDE above a user page); set_bit sets one
clear_bit() { edit_bit "$@" clear; }
set_bit() { edit_bit "$@" set; }
edit_bit() {
	local line at val
	line=$("$htable" translate "$1" --cr3 "$2" --mode "$3" "$4" | grep "^  L$5 ")
	at=$(sed 's/.* at \(0x[0-9a-f]*\):.*/\1/' <<<"$line")
	val=$(sed 's/.*: \(0x[0-9a-f]*\).*/\1/' <<<"$line")
	if [ "$7" = set ]; then
		val=$(( val | (1 << $6) ))
	else
		val=$(( val & ~(1 << $6) ))
	fi
	local s="" i n=8
	[ "$3" = 32bit ] && n=4
	for ((i = 0; i < n; i++)); do s+=$(printf '\\x%02x' $(( (val >> (8 * i)) & 0xff ))); done
	printf "$s" | dd of="$1" bs=1 seek=$((at)) conv=notrunc status=none
}
