#!/usr/bin/env bash
# Installs the system packages the build needs, if they are missing.
# Everything else (protoc included) comes from crates.
#
# - a C/C++ toolchain and make: RocksDB (librocksdb-sys) is C++ built by the
#   cc crate;
# - libclang: bindgen loads it at build time to generate RocksDB's bindings
#   (Debian's libclang-dev provides libclang.so and clang's own headers).
set -euo pipefail

need=()
command -v cc >/dev/null 2>&1 || need+=(build-essential)
command -v c++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)

have_libclang() {
  # bindgen finds libclang through LIBCLANG_PATH, the loader cache or the
  # usual LLVM install directories.
  if [ -n "${LIBCLANG_PATH:-}" ] && ls "$LIBCLANG_PATH"/libclang*.so* >/dev/null 2>&1; then
    return 0
  fi
  ldconfig -p 2>/dev/null | grep -E 'libclang(-[0-9.]+)?\.so' >/dev/null && return 0
  compgen -G '/usr/lib/llvm-*/lib/libclang.so*' >/dev/null || compgen -G '/usr/lib/llvm-*/lib/libclang-[0-9]*.so*' >/dev/null
}
have_libclang || need+=(libclang-dev)

if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
