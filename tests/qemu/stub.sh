# stub.sh - what the QEMU suite's scripts (test_qemu.sh, test_dumps.sh)
# share about the boot stub (stub.S): sourced, not run.

# num TEXT: a layout-file number (C-style, optional k/m/g) in decimal
num() {
	local v=$1 shift=0
	case $v in
	*[kK]) shift=10; v=${v%?} ;;
	*[mM]) shift=20; v=${v%?} ;;
	*[gG]) shift=30; v=${v%?} ;;
	esac
	echo $(( v << shift ))
}

# What the stub loads for each mode: CR4 (PSE 0x10, PAE 0x20, LA57
# 0x1000) and EFER (LME 0x100, NXE 0x800).
mode_cr4() {
	case $1 in
	32bit) echo 0x10 ;;
	pae) echo 0x30 ;;
	4level) echo 0x20 ;;
	5level) echo 0x1020 ;;
	esac
}
mode_efer() {
	case $1 in
	32bit) echo 0 ;;
	pae) echo 0x800 ;;
	*) echo 0x900 ;;
	esac
}
