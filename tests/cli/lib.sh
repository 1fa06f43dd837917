# lib.sh - what the command's shell tests share (sourced, not run): the
# counters and their reporting, and the checks every script makes.  The
# sourcing script sets $htable and $work first.

pass=0; fail=0

ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "[FAIL] $*" >&2; }

# expect NAME STATUS STDERR-REGEX CMD...: exit status and a message
expect() {
	local name=$1 want=$2 re=$3; shift 3
	"$@" >"$work/out" 2>"$work/err"
	local rc=$?
	[ $rc -eq "$want" ] || { bad "$name: exit $rc, want $want"; return; }
	[ -z "$re" ] || grep -Eq -- "$re" "$work/err" ||
	    { bad "$name: stderr '$(head -3 "$work/err")'"; return; }
	ok
}

# put32 FILE OFFSET VALUE: store a little-endian 32-bit entry
put32() {
	local v=$3 s="" i
	for i in 0 1 2 3; do
		s+=$(printf '\\x%02x' $(( (v >> (8 * i)) & 0xff )))
	done
	printf "$s" | dd of="$1" bs=1 seek=$(($2)) conv=notrunc status=none
}

# put64 FILE OFFSET VALUE: store a little-endian 64-bit entry
put64() {
	local v=$3 s="" i
	for i in 0 1 2 3 4 5 6 7; do
		s+=$(printf '\\x%02x' $(( (v >> (8 * i)) & 0xff )))
	done
	printf "$s" | dd of="$1" bs=1 seek=$(($2)) conv=notrunc status=none
}

# err_case NAME LINE TEXT SPEC-LINE...: build refuses the spec with
# FILE:LINE and TEXT, exit 2, and writes no image (nor a temporary file)
err_case() {
	local name=$1 line=$2 text=$3; shift 3
	printf '%s\n' "$@" > "$work/e.spec"
	rm -f "$work/e.img"
	"$htable" build "$work/e.spec" -o "$work/e.img" >/dev/null 2>"$work/err"
	local rc=$?
	[ $rc -eq 2 ] || { bad "$name: exit $rc"; return; }
	grep -q "^$work/e.spec:$line: .*$text" "$work/err" ||
	    { bad "$name: message '$(cat "$work/err")'"; return; }
	[ ! -e "$work/e.img" ] || { bad "$name: image written"; return; }
	ls "$work" | grep -q 'e.img.tmp' && { bad "$name: temp file left"; return; }
	ok
}
