# qemu-user-static runs the linux/arm64 and linux/arm test binaries of the
# deterministic packages (make cross-test). Sourced by scripts/setup-test-deps.
if ! command -v qemu-aarch64-static >/dev/null || ! command -v qemu-arm-static >/dev/null; then
  echo "setup-test-deps: installing qemu-user-static"
  apt_install qemu-user-static
fi
