#!/usr/bin/env bash
# mosquitto: a real MQTT broker for the meter package's MQTT adapter tests.
# The tests start their own broker on a free loopback port with their own
# configuration, so the system service the Debian package installs is not
# needed: it is stopped and disabled right after installing, so that no
# broker is left listening on port 1883.
#
# Sourced by scripts/setup-test-deps (which provides apt_install); also runs
# on its own: bash scripts/setup-test-deps.d/meter.sh
set -euo pipefail

if ! command -v mosquitto >/dev/null && [ ! -x /usr/sbin/mosquitto ]; then
  echo "setup-test-deps: installing mosquitto"
  if declare -F apt_install >/dev/null; then
    apt_install mosquitto
  else
    meter_sudo=""
    if [ "$(id -u)" != 0 ]; then
      if command -v sudo >/dev/null; then meter_sudo="sudo"; else
        echo "setup-test-deps: need root or sudo to install mosquitto" >&2; false
      fi
    fi
    $meter_sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $meter_sudo apt-get install -y -qq --no-install-recommends mosquitto >/dev/null
  fi
  # Stop and disable the packaged service (under systemd, or sysvinit in
  # containers); the tests never use it.
  meter_sudo=""
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then meter_sudo="sudo"; fi
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    $meter_sudo systemctl disable --now mosquitto.service >/dev/null 2>&1 || true
  elif command -v service >/dev/null; then
    $meter_sudo service mosquitto stop >/dev/null 2>&1 || true
    if command -v update-rc.d >/dev/null; then $meter_sudo update-rc.d mosquitto disable >/dev/null 2>&1 || true; fi
  fi
fi
