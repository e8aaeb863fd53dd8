#!/bin/sh
# mpi_test.sh - checks of the optional MPI launch (tests/mpi.cmake).
#   mpi_test.sh nosym KBENCH                  default build: no MPI symbol in kbench
#   mpi_test.sh smoke SRC BUILD_DIR ARCH [PREFIX]  KB_WITH_MPI=ON build (kbench, test_mpi) +
#                                             mpirun -np 2: list, test_mpi, run (no device)
#   (internal) mpi_test.sh rank KBENCH ARGS.. one rank under mpirun: prints its exit code
# Exit 0 pass, 1 fail, 77 skip (no nm / no MPI installed).
set -u
fail() { echo "FAIL: $*"; exit 1; }
mode=$1; shift
case "$mode" in
nosym)
    command -v nm >/dev/null 2>&1 || { echo "SKIP: no nm"; exit 77; }
    [ -x "$1" ] || fail "no kbench at $1"
    syms=$(nm -C "$1" 2>/dev/null | grep -c 'MPI_\(Init\|Finalize\|Bcast\|Allreduce\|Barrier\)')
    [ "$syms" = 0 ] || fail "default build of kbench has $syms MPI symbols: $(nm -C "$1" | grep MPI_ | head -3)"
    nm "$1" >/dev/null 2>&1 || fail "nm cannot read $1"
    echo "PASS: default kbench has no MPI symbols"
    ;;
rank)
    kb=$1; shift
    "$kb" "$@"
    echo "kbench-rank-exit=$?"
    ;;
smoke)
    src=$1 bdir=$2 arch=$3 prefix=${4:-}
    for t in mpicc mpirun; do
        command -v $t >/dev/null 2>&1 || { echo "SKIP: $t not installed (optional: KB_WITH_MPI)"; exit 77; }
    done
    # mpicc without the development files (e.g. libopenmpi-dev removed): skip too
    printf '#include <mpi.h>\nint main(void) { return MPI_Init(0, 0); }\n' > "$bdir.probe.c" 2>/dev/null ||
        { mkdir -p "$(dirname "$bdir")"; printf '#include <mpi.h>\nint main(void) { return MPI_Init(0, 0); }\n' > "$bdir.probe.c"; }
    mpicc "$bdir.probe.c" -o "$bdir.probe" >/dev/null 2>&1 ||
        { echo "SKIP: MPI development files not usable (mpicc cannot build a test program)"; exit 77; }
    gen=""
    command -v ninja >/dev/null 2>&1 && gen="-G Ninja"
    cfg="-DKB_WITH_MPI=ON -DKB_CUDA_ARCH=$arch"
    [ -n "$prefix" ] && cfg="$cfg -DCMAKE_PREFIX_PATH=$prefix"
    # shellcheck disable=SC2086
    cmake -S "$src" -B "$bdir" $gen $cfg > "$bdir.configure.log" 2>&1 ||
        { tail -20 "$bdir.configure.log"; fail "configure with -DKB_WITH_MPI=ON"; }
    grep -q "kbench: MPI" "$bdir.configure.log" || fail "configure did not report MPI"
    cmake --build "$bdir" --target kbench test_mpi -j2 > "$bdir.build.log" 2>&1 ||
        { tail -30 "$bdir.build.log"; fail "build kbench with -DKB_WITH_MPI=ON"; }
    kb="$bdir/kbench"
    nm -C "$kb" | grep -q 'MPI_Init' || fail "the MPI build has no MPI_Init"
    export CUDA_VISIBLE_DEVICES=   # no GPU, deterministic everywhere
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    # plain launch (no mpirun): no MPI_Init, single-process shapes (loopback, no GPU)
    out=$("$kb" list --op alltoall --shapes small 2>&1) || fail "plain kbench list: $out"
    echo "$out" | grep -q 'b4096_ep4_loopback' || fail "plain kbench list: expected b4096_ep4_loopback: $out"
    mpi="mpirun --allow-run-as-root --oversubscribe -np 2"
    # MPI mode: N = 2 ranks, no loopback; rank 0 alone prints
    out=$($mpi "$0" rank "$kb" list --op alltoall,ep_dispatch --shapes small 2>&1)
    echo "$out"
    [ "$(echo "$out" | grep -c 'kbench-rank-exit=0')" = 2 ] || fail "mpirun kbench list: want exit 0 on both ranks"
    [ "$(echo "$out" | grep -c 'b4096_ep2\b')" = 1 ] || fail "mpirun kbench list: want b4096_ep2 once (rank 0)"
    [ "$(echo "$out" | grep -c 't16_h256_ep2\b')" = 1 ] || fail "mpirun kbench list: want t16_h256_ep2 once"
    echo "$out" | grep -q 'shape .*_loopback' && fail "mpirun kbench list: loopback shapes in MPI mode"
    # the agreement/reduction helpers with two real ranks (tests/test_mpi.c)
    out=$($mpi "$0" rank "$bdir/test_mpi" 2>&1)
    echo "$out"
    [ "$(echo "$out" | grep -c 'kbench-rank-exit=0')" = 2 ] || fail "mpirun test_mpi: want exit 0 on both ranks"
    echo "$out" | grep -q 'mpi: [0-9]* passed, 0 failed' || fail "mpirun test_mpi: no summary from rank 0"
    # run without a device: exit 3 on both ranks, one clear line from rank 0
    out=$($mpi "$0" rank "$kb" run --op alltoall --shapes small 2>&1)
    rc=$?
    echo "$out"
    [ "$(echo "$out" | grep -c 'kbench-rank-exit=3')" = 2 ] || fail "mpirun kbench run: want exit 3 on both ranks"
    [ "$(echo "$out" | grep -c 'no CUDA device')" = 1 ] || fail "mpirun kbench run: want one 'no CUDA device' line"
    echo "PASS: MPI build, mpirun -np 2 list/run (no device: exit 3 on both ranks; mpirun rc $rc)"
    ;;
*) fail "usage: $0 nosym KBENCH | smoke SRC BUILD_DIR ARCH [PREFIX]" ;;
esac
